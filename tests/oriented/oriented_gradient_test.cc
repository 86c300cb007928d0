// The backward ops of the oriented conv, in float64: backward_input is the
// exact adjoint of the forward, <forward(x), dy> = <x, backward_input(dy)>;
// dweight and dbias satisfy <forward(x; w, b), dy> = <w~, dweight> + <b, dbias>
// (the forward is linear in w and b; w~ has the residual's +1 on the centre
// tap); and all three match central finite differences of <forward(x, w, b),
// g>. Over strides 1-3, dilations, both tap rules, both layouts, the fused
// residual and ragged sizes.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/oriented_conv.h"
#include "tests/oriented/oriented_test_support.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

struct GradCase {
  int64_t n, c, h, w, k, stride, dilation;
  TapRule rule;
  Layout layout;
  bool residual;
};

std::string Describe(const GradCase& g) {
  return absl::StrCat("N=", g.n, " C=", g.c, " H=", g.h, " W=", g.w, " K=", g.k,
                      " stride=", g.stride, " dilation=", g.dilation,
                      g.rule == TapRule::kTrunc ? " trunc" : " line",
                      g.layout == Layout::kNCHW ? " NCHW" : " NHWC",
                      g.residual ? " residual" : "");
}

OrientedConvArgs ArgsOf(const GradCase& g) {
  OrientedConvArgs args;
  args.stride = g.stride;
  args.dilation = g.dilation;
  args.tap_rule = g.rule;
  args.layout = g.layout;
  args.residual = g.residual;
  return args;
}

// Angles cycled over the channels: axis-aligned, the model's oblique ones and
// arbitrary ones.
HostTensor Angles(int64_t channels) {
  const double cycle[] = {0.0,     kPi / 8, kPi / 4, 3 * kPi / 8,
                          kPi / 2, 2.2,     -0.4};
  std::vector<double> a;
  for (int64_t c = 0; c < channels; ++c) a.push_back(cycle[c % 7]);
  return ThetaTensor(a, DType::kF64);
}

std::vector<GradCase> AdjointCases() {
  std::vector<GradCase> cases;
  struct Size {
    int64_t h, w, k;
  };
  const Size sizes[] = {{7, 5, 7}, {13, 10, 15}, {1, 1, 3},
                        {1, 6, 5}, {6, 1, 5},    {4, 4, 1}};
  for (const Size& s : sizes) {
    for (int64_t stride : {1, 2, 3}) {
      for (int64_t dilation : {1, 2}) {
        for (TapRule rule : {TapRule::kTrunc, TapRule::kLine}) {
          for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
            for (bool residual : {false, true}) {
              cases.push_back({2, 7, s.h, s.w, s.k, stride, dilation, rule,
                               layout, residual});
            }
          }
        }
      }
    }
  }
  return cases;
}

Dims XShape(const GradCase& g) {
  return ActivationShape(g.layout, g.n, g.c, g.h, g.w);
}
Dims YShape(const GradCase& g) {
  return ActivationShape(g.layout, g.n, g.c, OrientedOutputSize(g.h, g.stride),
                         OrientedOutputSize(g.w, g.stride));
}

TEST(OrientedGradientTest, BackwardInputIsTheAdjointOfTheForward) {
  std::mt19937_64 rng(21);
  for (const GradCase& g : AdjointCases()) {
    const std::string what = Describe(g);
    const OrientedConvArgs args = ArgsOf(g);
    const HostTensor x = Uniform(DType::kF64, XShape(g), rng);
    const HostTensor w = Uniform(DType::kF64, {g.c, 1, 1, g.k}, rng);
    const HostTensor dy = Uniform(DType::kF64, YShape(g), rng);
    const HostTensor theta = Angles(g.c);
    auto y = RunForward(args, x, w, theta);
    auto dx = RunBackwardInput(args, dy, w, theta, x.shape());
    ASSERT_TRUE(y.ok() && dx.ok()) << what;
    const double lhs = Dot(y->ToDoubles(), dy.ToDoubles());
    const double rhs = Dot(x.ToDoubles(), dx->ToDoubles());
    EXPECT_NEAR(lhs, rhs, Tolerance(DType::kF64, x.numel() * (g.k + 1)))
        << what;
  }
}

TEST(OrientedGradientTest, ParamGradientsSatisfyTheLinearityIdentity) {
  // <forward(x; w, b), dy> = <w~, dweight> + <b, dbias>.
  std::mt19937_64 rng(22);
  for (const GradCase& g : AdjointCases()) {
    const std::string what = Describe(g);
    const OrientedConvArgs args = ArgsOf(g);
    const HostTensor x = Uniform(DType::kF64, XShape(g), rng);
    const HostTensor w = Uniform(DType::kF64, {g.c, 1, 1, g.k}, rng);
    const HostTensor b = Uniform(DType::kF64, {g.c}, rng);
    const HostTensor dy = Uniform(DType::kF64, YShape(g), rng);
    const HostTensor theta = Angles(g.c);
    auto y = RunForward(args, x, w, theta, &b);
    auto grads = RunBackwardParams(args, dy, x, theta, g.k);
    ASSERT_TRUE(y.ok() && grads.ok()) << what;
    std::vector<double> w_eff = w.ToDoubles();
    if (g.residual) {
      for (int64_t c = 0; c < g.c; ++c) w_eff[c * g.k + g.k / 2] += 1.0;
    }
    const double lhs = Dot(y->ToDoubles(), dy.ToDoubles());
    const double rhs = Dot(w_eff, grads->dweight->ToDoubles()) +
                       Dot(b.ToDoubles(), grads->dbias->ToDoubles());
    EXPECT_NEAR(lhs, rhs, Tolerance(DType::kF64, x.numel() * (g.k + 2)))
        << what;
  }
}

TEST(OrientedGradientTest, GradientsMatchFiniteDifferences) {
  std::mt19937_64 rng(23);
  const GradCase cases[] = {
      {2, 4, 7, 6, 7, 1, 1, TapRule::kTrunc, Layout::kNCHW, true},
      {1, 3, 9, 5, 5, 2, 2, TapRule::kLine, Layout::kNHWC, false},
      {2, 2, 5, 8, 9, 3, 1, TapRule::kTrunc, Layout::kNHWC, true},
      {1, 5, 6, 6, 3, 2, 1, TapRule::kTrunc, Layout::kNCHW, false},
  };
  for (const GradCase& g : cases) {
    const std::string what = Describe(g);
    const OrientedConvArgs args = ArgsOf(g);
    HostTensor x = Uniform(DType::kF64, XShape(g), rng);
    HostTensor w = Uniform(DType::kF64, {g.c, 1, 1, g.k}, rng);
    HostTensor b = Uniform(DType::kF64, {g.c}, rng);
    const HostTensor cotangent = Uniform(DType::kF64, YShape(g), rng);
    const HostTensor theta = Angles(g.c);
    auto loss = [&]() {
      auto y = RunForward(args, x, w, theta, &b);
      EXPECT_TRUE(y.ok()) << y.status();
      return y.ok() ? Dot(y->ToDoubles(), cotangent.ToDoubles()) : 0.0;
    };
    auto dx = RunBackwardInput(args, cotangent, w, theta, x.shape());
    auto grads = RunBackwardParams(args, cotangent, x, theta, g.k);
    ASSERT_TRUE(dx.ok() && grads.ok()) << what;
    ExpectGradientMatchesFiniteDifferences(loss, x, dx->ToDoubles(),
                                           what + " x", rng);
    ExpectGradientMatchesFiniteDifferences(loss, w, grads->dweight->ToDoubles(),
                                           what + " weight", rng);
    ExpectGradientMatchesFiniteDifferences(loss, b, grads->dbias->ToDoubles(),
                                           what + " bias", rng);
  }
}

TEST(OrientedGradientTest, DweightAndDbiasCanBeRequestedAlone) {
  std::mt19937_64 rng(24);
  const GradCase g{2, 3, 9, 7, 7, 2, 1, TapRule::kTrunc, Layout::kNHWC, false};
  const OrientedConvArgs args = ArgsOf(g);
  const HostTensor x = Uniform(DType::kF64, XShape(g), rng);
  const HostTensor dy = Uniform(DType::kF64, YShape(g), rng);
  const HostTensor theta = Angles(g.c);
  auto both = RunBackwardParams(args, dy, x, theta, g.k);
  auto weight_only = RunBackwardParams(args, dy, x, theta, g.k, true, false);
  auto bias_only = RunBackwardParams(args, dy, x, theta, g.k, false, true);
  ASSERT_TRUE(both.ok() && weight_only.ok() && bias_only.ok());
  EXPECT_FALSE(weight_only->dbias.has_value());
  EXPECT_FALSE(bias_only->dweight.has_value());
  ExpectAllClose(weight_only->dweight->ToDoubles(), both->dweight->ToDoubles(),
                 0.0, 0.0, "dweight alone");
  ExpectAllClose(bias_only->dbias->ToDoubles(), both->dbias->ToDoubles(), 0.0,
                 0.0, "dbias alone");
  // dbias[c] = sum of dy over (n, p, q), summed here directly (NHWC: channel is
  // fastest).
  std::vector<double> expected(g.c, 0.0);
  const std::vector<double> dyv = dy.ToDoubles();
  for (size_t i = 0; i < dyv.size(); ++i) expected[i % g.c] += dyv[i];
  ExpectAllClose(bias_only->dbias->ToDoubles(), expected,
                 Tolerance(DType::kF64, dy.numel() / g.c), 0.0,
                 "dbias = sum dy");
}

TEST(OrientedGradientTest, OutputsAreOverwrittenNotAccumulated) {
  std::mt19937_64 rng(25);
  const GradCase g{1, 3, 6, 5, 5, 2, 1, TapRule::kLine, Layout::kNCHW, true};
  const OrientedConvArgs args = ArgsOf(g);
  const HostTensor x = Uniform(DType::kF64, XShape(g), rng);
  const HostTensor w = Uniform(DType::kF64, {g.c, 1, 1, g.k}, rng);
  const HostTensor dy = Uniform(DType::kF64, YShape(g), rng);
  const HostTensor theta = Angles(g.c);
  auto fresh_dx = RunBackwardInput(args, dy, w, theta, x.shape());
  auto fresh = RunBackwardParams(args, dy, x, theta, g.k);
  ASSERT_TRUE(fresh_dx.ok() && fresh.ok());
  HostTensor y(DType::kF64, YShape(g)), dx(DType::kF64, x.shape());
  HostTensor dw(DType::kF64, {g.c, 1, 1, g.k}), db(DType::kF64, {g.c});
  for (HostTensor* t : {&y, &dx, &dw, &db}) t->Fill(1000.0);
  const ExecContext ctx = ReferenceContext();
  ASSERT_TRUE(
      ops::OrientedConv2dForward(
          args, {x.ref(), w.ref(), theta.ref(), std::nullopt, y.ref()}, ctx)
          .ok());
  ASSERT_TRUE(ops::OrientedConv2dBackwardInput(
                  args, {dy.ref(), w.ref(), theta.ref(), dx.ref()}, ctx)
                  .ok());
  ASSERT_TRUE(
      ops::OrientedConv2dBackwardParams(
          args, {dy.ref(), x.ref(), theta.ref(), dw.ref(), db.ref()}, ctx)
          .ok());
  auto fresh_y = RunForward(args, x, w, theta);
  ASSERT_TRUE(fresh_y.ok());
  ExpectAllClose(y.ToDoubles(), fresh_y->ToDoubles(), 0.0, 0.0, "y");
  ExpectAllClose(dx.ToDoubles(), fresh_dx->ToDoubles(), 0.0, 0.0, "dx");
  ExpectAllClose(dw.ToDoubles(), fresh->dweight->ToDoubles(), 0.0, 0.0,
                 "dweight");
  ExpectAllClose(db.ToDoubles(), fresh->dbias->ToDoubles(), 0.0, 0.0, "dbias");
}

}  // namespace
}  // namespace tapconv::testing
