// The 16- and 32-bit dtypes: each path op's result in float32, bfloat16 and
// float16 stays within Tolerance(dtype, reduction length) of the float64 result
// on the same (already rounded) inputs.

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/path_conv.h"
#include "tests/paths/path_test_support.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

struct DTypeCase {
  int64_t h, w, m, k, stride, padding;
};

TEST(PathDTypeTest, LowPrecisionResultsMatchFloat64WithinTolerance) {
  std::mt19937_64 rng(21);
  const std::vector<PathSpec> specs = {{Curve::kHilbert},
                                       {Curve::kZOrder, 4, 1, 3, 0},
                                       {Curve::kColumn, 0, 0, 0, 180}};
  const int64_t n = 2, c = 3, paths = 3;
  const DTypeCase cases[] = {
      {7, 9, 1, 9, 1, 4}, {8, 8, 2, 9, 2, 4}, {5, 6, 2, 11, 3, 0}};
  for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16}) {
    for (const DTypeCase& dc : cases) {
      const std::string what =
          absl::StrCat(DTypeName(dtype), " ", dc.h, "x", dc.w, " m", dc.m, " K",
                       dc.k, " stride", dc.stride);
      const PathConvArgs args{dc.stride, dc.padding};
      const PathTensors pt = MakePaths(dc.h, dc.w, specs, DType::kI32);
      const int64_t length = dc.h * dc.w, oc = paths * c * dc.m;
      const int64_t out_length =
          (length + 2 * dc.padding - dc.k) / dc.stride + 1;
      // Inputs drawn in `dtype`; the float64 copies hold exactly the same
      // values.
      const HostTensor x = Uniform(dtype, {n, c, dc.h, dc.w}, rng);
      const HostTensor seq = Uniform(dtype, {n, paths * c, length}, rng);
      const HostTensor w = Uniform(dtype, {oc, 1, dc.k}, rng);
      const HostTensor b = Uniform(dtype, {oc}, rng);
      const HostTensor dy = Uniform(dtype, {n, oc, out_length}, rng);
      const HostTensor x64 = ToDType(x, DType::kF64),
                       seq64 = ToDType(seq, DType::kF64),
                       w64 = ToDType(w, DType::kF64),
                       b64 = ToDType(b, DType::kF64),
                       dy64 = ToDType(dy, DType::kF64);
      const double rtol = UnitRoundoff(dtype);

      auto g = RunGather(x, pt.perm);
      auto g64 = RunGather(x64, pt.perm);
      ASSERT_TRUE(g.ok() && g64.ok()) << what;
      EXPECT_EQ(g->dtype(), dtype);
      // A copy: exact.
      ExpectAllClose(g->ToDoubles(), g64->ToDoubles(), 0.0, 0.0,
                     what + " gather");

      auto s = RunScatter(seq, pt.inv, x.shape());
      auto s64 = RunScatter(seq64, pt.inv, x.shape());
      ASSERT_TRUE(s.ok() && s64.ok()) << what;
      ExpectAllClose(s->ToDoubles(), s64->ToDoubles(), Tolerance(dtype, paths),
                     rtol, what + " scatter");

      auto y = RunConvForward(args, x, pt.perm, w, &b);
      auto y64 = RunConvForward(args, x64, pt.perm, w64, &b64);
      ASSERT_TRUE(y.ok() && y64.ok()) << what;
      EXPECT_EQ(y->dtype(), dtype);
      ExpectAllClose(y->ToDoubles(), y64->ToDoubles(),
                     Tolerance(dtype, dc.k + 1), rtol, what + " y");

      auto dx = RunConvBackwardInput(args, dy, pt.inv, w, x.shape());
      auto dx64 = RunConvBackwardInput(args, dy64, pt.inv, w64, x.shape());
      ASSERT_TRUE(dx.ok() && dx64.ok()) << what;
      ExpectAllClose(dx->ToDoubles(), dx64->ToDoubles(),
                     Tolerance(dtype, paths * dc.m * dc.k), rtol, what + " dx");

      auto pg = RunConvBackwardParams(args, dy, x, pt.perm, w.shape());
      auto pg64 = RunConvBackwardParams(args, dy64, x64, pt.perm, w.shape());
      ASSERT_TRUE(pg.ok() && pg64.ok()) << what;
      ExpectAllClose(pg->dweight->ToDoubles(), pg64->dweight->ToDoubles(),
                     Tolerance(dtype, n * out_length), rtol, what + " dweight");
      ExpectAllClose(pg->dbias->ToDoubles(), pg64->dbias->ToDoubles(),
                     Tolerance(dtype, n * out_length), rtol, what + " dbias");
    }
  }
}

}  // namespace
}  // namespace tapconv::testing
