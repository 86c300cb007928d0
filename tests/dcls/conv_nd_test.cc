// The dense N-D conv under DCLS: values against the naive unravelled loop of
// dcls_test_util, float64 finite differences of x, weight and bias, partial
// requests, and float32/bfloat16/float16 against float64.

#include "ops/conv_nd.h"

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/dcls/dcls_test_util.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

struct ConvCase {
  std::string name;
  Dims x_shape, w_shape;  // w: (C_out, C_in/groups, *k)
  ConvNdArgs args;
  bool bias;
};

std::vector<ConvCase> Cases() {
  return {
      {"1d plain", {2, 3, 9}, {4, 3, 3}, {{1}, {0}, {1}, 1}, true},
      {"1d stride pad dil", {2, 4, 11}, {6, 2, 3}, {{2}, {2}, {3}, 2}, true},
      {"1d depthwise", {1, 3, 8}, {3, 1, 5}, {{3}, {2}, {1}, 3}, false},
      {"2d per-axis",
       {2, 2, 7, 6},
       {3, 2, 3, 2},
       {{2, 1}, {1, 0}, {1, 2}, 1},
       true},
      {"2d groups", {1, 4, 6, 5}, {4, 2, 2, 3}, {{1}, {1}, {2}, 2}, false},
      {"2d kernel = input",
       {1, 2, 3, 4},
       {2, 2, 3, 4},
       {{1}, {0}, {1}, 1},
       true},
      {"3d",
       {1, 2, 4, 5, 3},
       {2, 1, 2, 3, 2},
       {{1, 2, 1}, {1, 0, 1}, {1}, 2},
       true},
      {"3d dilated",
       {2, 1, 5, 4, 6},
       {2, 1, 2, 2, 3},
       {{2}, {1}, {2, 1, 2}, 1},
       false},
  };
}

struct ConvRun {
  HostTensor x, w, b, y;
  std::optional<TensorRef> bias_ref() const {
    if (b.numel() == 0) return std::nullopt;
    return b.ref();
  }
};

ConvRun MakeRun(const ConvCase& c, DType dtype, std::mt19937_64& rng) {
  ConvRun r;
  r.x = Uniform(dtype, c.x_shape, rng);
  r.w = Uniform(dtype, c.w_shape, rng);
  if (c.bias) r.b = Uniform(dtype, {c.w_shape[0]}, rng);
  r.y = HostTensor(dtype, NaiveConvOutputShape(c.args, c.x_shape, c.w_shape));
  r.y.Fill(5.0);  // outputs are overwritten, never accumulated into
  return r;
}

void Forward(const ConvCase& c, ConvRun& r) {
  const absl::Status s = ops::ConvNdForward(
      c.args, {r.x.ref(), r.w.ref(), r.bias_ref(), r.y.ref()});
  ASSERT_TRUE(s.ok()) << s;
}

int64_t ReductionLength(const ConvCase& c) {
  int64_t n = c.w_shape[1];
  for (size_t i = 2; i < c.w_shape.size(); ++i) n *= c.w_shape[i];
  return n;
}

TEST(ConvNdTest, MatchesTheNaiveLoop) {
  std::mt19937_64 rng(31);
  for (const ConvCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    ConvRun r = MakeRun(c, DType::kF64, rng);
    Forward(c, r);
    std::vector<double> bias;
    if (c.bias) bias = r.b.ToDoubles();
    ExpectAllClose(r.y.ToDoubles(),
                   NaiveConvNd(c.args, c.x_shape, r.x.ToDoubles(), c.w_shape,
                               r.w.ToDoubles(), bias),
                   1e-13, 1e-13, c.name);
  }
}

TEST(ConvNdTest, HandComputed1d) {
  // x = 1..5, w = (1, 0, -1), padding 1, stride 2: y[o] = x[2o-1] - x[2o+1].
  HostTensor x(DType::kF64, {1, 1, 5}), w(DType::kF64, {1, 1, 3});
  HostTensor y(DType::kF64, {1, 1, 3});
  x.SetFromDoubles({1, 2, 3, 4, 5});
  w.SetFromDoubles({1, 0, -1});
  ASSERT_TRUE(ops::ConvNdForward({{2}, {1}, {1}, 1},
                                 {x.ref(), w.ref(), std::nullopt, y.ref()})
                  .ok());
  EXPECT_EQ(y.ToDoubles(), (std::vector<double>{0 - 2, 2 - 4, 4 - 0}));
}

TEST(ConvNdTest, GradientsMatchFiniteDifferences) {
  std::mt19937_64 rng(32);
  for (const ConvCase& c : Cases()) {
    SCOPED_TRACE(c.name);
    ConvRun r = MakeRun(c, DType::kF64, rng);
    const HostTensor cot = Uniform(DType::kF64, r.y.shape(), rng);
    const auto loss = [&] {
      Forward(c, r);
      return Dot(r.y.ToDoubles(), cot.ToDoubles());
    };
    HostTensor dx(DType::kF64, c.x_shape), dw(DType::kF64, c.w_shape);
    HostTensor db(DType::kF64, {c.w_shape[0]});
    dx.Fill(3.0);
    dw.Fill(3.0);
    db.Fill(3.0);
    ASSERT_TRUE(
        ops::ConvNdBackwardInput(c.args, {cot.ref(), r.w.ref(), dx.ref()})
            .ok());
    ASSERT_TRUE(ops::ConvNdBackwardParams(
                    c.args, {cot.ref(), r.x.ref(), dw.ref(), db.ref()})
                    .ok());
    ExpectGradientMatchesFiniteDifferences(loss, r.x, dx.ToDoubles(),
                                           c.name + " dx", rng);
    ExpectGradientMatchesFiniteDifferences(loss, r.w, dw.ToDoubles(),
                                           c.name + " dweight", rng);
    if (c.bias) {
      ExpectGradientMatchesFiniteDifferences(loss, r.b, db.ToDoubles(),
                                             c.name + " dbias", rng);
    }
    // dbias alone and dweight alone give the same values.
    HostTensor db_only(DType::kF64, {c.w_shape[0]});
    ASSERT_TRUE(ops::ConvNdBackwardParams(
                    c.args, {cot.ref(), r.x.ref(), std::nullopt, db_only.ref()})
                    .ok());
    ExpectAllClose(db_only.ToDoubles(), db.ToDoubles(), 0, 0, "dbias alone");
    HostTensor dw_only(DType::kF64, c.w_shape);
    ASSERT_TRUE(ops::ConvNdBackwardParams(
                    c.args, {cot.ref(), r.x.ref(), dw_only.ref(), std::nullopt})
                    .ok());
    ExpectAllClose(dw_only.ToDoubles(), dw.ToDoubles(), 0, 0, "dweight alone");
  }
}

TEST(ConvNdTest, ReducedPrecisionMatchesFloat64) {
  std::mt19937_64 rng(33);
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (const ConvCase& c : Cases()) {
      const std::string what = c.name + " " + std::string(DTypeName(dtype));
      SCOPED_TRACE(what);
      ConvRun low = MakeRun(c, dtype, rng);
      ConvRun high;
      high.x = Converted(low.x, DType::kF64);
      high.w = Converted(low.w, DType::kF64);
      if (c.bias) high.b = Converted(low.b, DType::kF64);
      high.y = HostTensor(DType::kF64, low.y.shape());
      Forward(c, low);
      Forward(c, high);
      const std::vector<double> expected = high.y.ToDoubles();
      const double tol = Tolerance(dtype, ReductionLength(c));
      ExpectAllClose(low.y.ToDoubles(), expected, tol * Scale(expected), tol,
                     what + " y");

      const HostTensor cot_low = Uniform(dtype, low.y.shape(), rng);
      const HostTensor cot_high = Converted(cot_low, DType::kF64);
      HostTensor dx_low(dtype, c.x_shape), dx_high(DType::kF64, c.x_shape);
      ASSERT_TRUE(ops::ConvNdBackwardInput(
                      c.args, {cot_low.ref(), low.w.ref(), dx_low.ref()})
                      .ok());
      ASSERT_TRUE(ops::ConvNdBackwardInput(
                      c.args, {cot_high.ref(), high.w.ref(), dx_high.ref()})
                      .ok());
      const std::vector<double> dx_expected = dx_high.ToDoubles();
      ExpectAllClose(dx_low.ToDoubles(), dx_expected, tol * Scale(dx_expected),
                     tol, what + " dx");
      HostTensor dw_low(dtype, c.w_shape), dw_high(DType::kF64, c.w_shape);
      HostTensor db_low(dtype, {c.w_shape[0]});
      HostTensor db_high(DType::kF64, {c.w_shape[0]});
      ASSERT_TRUE(
          ops::ConvNdBackwardParams(
              c.args, {cot_low.ref(), low.x.ref(), dw_low.ref(), db_low.ref()})
              .ok());
      ASSERT_TRUE(
          ops::ConvNdBackwardParams(c.args, {cot_high.ref(), high.x.ref(),
                                             dw_high.ref(), db_high.ref()})
              .ok());
      // dweight and dbias reduce over the batch and the output positions.
      const int64_t n = cot_low.numel();
      const double ptol = Tolerance(dtype, n);
      const std::vector<double> dw_expected = dw_high.ToDoubles();
      const std::vector<double> db_expected = db_high.ToDoubles();
      ExpectAllClose(dw_low.ToDoubles(), dw_expected, ptol * Scale(dw_expected),
                     ptol, what + " dweight");
      ExpectAllClose(db_low.ToDoubles(), db_expected, ptol * Scale(db_expected),
                     ptol, what + " dbias");
    }
  }
}

}  // namespace
}  // namespace tapconv::testing
