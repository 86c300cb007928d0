// The 16- and 32-bit dtypes: each op's result in float32, bfloat16 and float16
// stays within Tolerance(dtype, reduction length) of the float64 result on the
// same (already rounded) inputs. theta's dtype and shape: float32 and float64
// angles, (C) and (C, 1), give the same taps.

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

struct DTypeCase {
  int64_t h, w, k, stride;
  Layout layout;
  bool residual;
};

TEST(OrientedDTypeTest, LowPrecisionResultsMatchFloat64WithinTolerance) {
  std::mt19937_64 rng(31);
  const int64_t n = 2, c = 6;
  const std::vector<double> angles = {0.0,         kPi / 8, kPi / 4,
                                      3 * kPi / 8, kPi / 2, 2.5};
  const DTypeCase cases[] = {{9, 11, 7, 1, Layout::kNCHW, false},
                             {13, 10, 15, 2, Layout::kNHWC, true},
                             {17, 19, 31, 1, Layout::kNCHW, true},
                             {7, 5, 3, 3, Layout::kNHWC, false}};
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (const DTypeCase& dc : cases) {
      for (TapRule rule : {TapRule::kTrunc, TapRule::kLine}) {
        const std::string what =
            absl::StrCat(DTypeName(dtype), " H=", dc.h, " W=", dc.w,
                         " K=", dc.k, " stride=", dc.stride,
                         rule == TapRule::kTrunc ? " trunc" : " line");
        OrientedConvArgs args;
        args.stride = dc.stride;
        args.layout = dc.layout;
        args.tap_rule = rule;
        args.residual = dc.residual;
        const int64_t p = OrientedOutputSize(dc.h, dc.stride);
        const int64_t q = OrientedOutputSize(dc.w, dc.stride);
        // Inputs drawn in `dtype`; the float64 copies hold exactly the same
        // values.
        const HostTensor x =
            Uniform(dtype, ActivationShape(dc.layout, n, c, dc.h, dc.w), rng);
        const HostTensor w = Uniform(dtype, {c, 1, 1, dc.k}, rng);
        const HostTensor b = Uniform(dtype, {c}, rng);
        const HostTensor dy =
            Uniform(dtype, ActivationShape(dc.layout, n, c, p, q), rng);
        const HostTensor theta = ThetaTensor(angles);
        const HostTensor x64 = ToF64(x), w64 = ToF64(w), b64 = ToF64(b),
                         dy64 = ToF64(dy);

        auto y = RunForward(args, x, w, theta, &b);
        auto y64 = RunForward(args, x64, w64, theta, &b64);
        ASSERT_TRUE(y.ok() && y64.ok()) << what;
        EXPECT_EQ(y->dtype(), dtype);
        // The residual and the bias add two more terms to each output.
        ExpectAllClose(y->ToDoubles(), y64->ToDoubles(),
                       Tolerance(dtype, dc.k + 2), UnitRoundoff(dtype),
                       what + " y");

        auto dx = RunBackwardInput(args, dy, w, theta, x.shape());
        auto dx64 = RunBackwardInput(args, dy64, w64, theta, x.shape());
        ASSERT_TRUE(dx.ok() && dx64.ok()) << what;
        ExpectAllClose(dx->ToDoubles(), dx64->ToDoubles(),
                       Tolerance(dtype, dc.k + 1), UnitRoundoff(dtype),
                       what + " dx");

        auto g = RunBackwardParams(args, dy, x, theta, dc.k);
        auto g64 = RunBackwardParams(args, dy64, x64, theta, dc.k);
        ASSERT_TRUE(g.ok() && g64.ok()) << what;
        const int64_t length = n * p * q;
        ExpectAllClose(g->dweight->ToDoubles(), g64->dweight->ToDoubles(),
                       Tolerance(dtype, length), UnitRoundoff(dtype),
                       what + " dweight");
        ExpectAllClose(g->dbias->ToDoubles(), g64->dbias->ToDoubles(),
                       Tolerance(dtype, length), UnitRoundoff(dtype),
                       what + " dbias");
      }
    }
  }
}

TEST(OrientedDTypeTest, ThetaDTypeAndShapeDoNotChangeTheTaps) {
  // The trunc rule computes in float32, so a float64 angle and its float32
  // rounding give the same taps, even for values that are not float32-exact
  // (pi/4 in float64). The line rule computes in float64, so there the float64
  // tensor holds the float32 values.
  std::mt19937_64 rng(32);
  const int64_t n = 1, c = 8, h = 12, w = 11, k = 15;
  std::vector<double> exact;
  for (int i = 0; i < c; ++i)
    exact.push_back(kPi * i / 8 + (i == 7 ? 10.0 : 0.0));
  std::vector<double> rounded;
  for (double a : exact) rounded.push_back(static_cast<float>(a));
  const HostTensor x = Uniform(DType::kF32, {n, c, h, w}, rng);
  const HostTensor wt = Uniform(DType::kF32, {c, 1, 1, k}, rng);
  const HostTensor dy = Uniform(DType::kF32, {n, c, 6, 6}, rng);
  for (TapRule rule : {TapRule::kTrunc, TapRule::kLine}) {
    OrientedConvArgs args;
    args.stride = 2;
    args.tap_rule = rule;
    const HostTensor theta32 = ThetaTensor(exact, DType::kF32);
    const HostTensor theta64 =
        ThetaTensor(rule == TapRule::kTrunc ? exact : rounded, DType::kF64);
    HostTensor theta_column(DType::kF32, {c, 1});
    theta_column.SetFromDoubles(exact);
    auto y32 = RunForward(args, x, wt, theta32);
    auto y64 = RunForward(args, x, wt, theta64);
    auto y_column = RunForward(args, x, wt, theta_column);
    ASSERT_TRUE(y32.ok() && y64.ok() && y_column.ok());
    ExpectAllClose(y64->ToDoubles(), y32->ToDoubles(), 0.0, 0.0,
                   "theta float64 vs float32");
    ExpectAllClose(y_column->ToDoubles(), y32->ToDoubles(), 0.0, 0.0,
                   "theta (C, 1) vs (C)");
    auto dx32 = RunBackwardInput(args, dy, wt, theta32, x.shape());
    auto dx64 = RunBackwardInput(args, dy, wt, theta64, x.shape());
    auto g32 = RunBackwardParams(args, dy, x, theta32, k);
    auto g64 = RunBackwardParams(args, dy, x, theta64, k);
    ASSERT_TRUE(dx32.ok() && dx64.ok() && g32.ok() && g64.ok());
    ExpectAllClose(dx64->ToDoubles(), dx32->ToDoubles(), 0.0, 0.0, "dx");
    ExpectAllClose(g64->dweight->ToDoubles(), g32->dweight->ToDoubles(), 0.0,
                   0.0, "dweight");
  }
}

}  // namespace
}  // namespace tapconv::testing
