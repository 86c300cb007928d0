// Float64 central finite differences of <op(inputs), cotangent> against the
// backward ops, for every differentiable input: gather's x (gradient =
// scatter), scatter's y (gradient = gather), the fused conv's x
// (backward_input), weight and bias (backward_params).

#include <cstdint>
#include <functional>
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

const std::vector<PathSpec> kPaths = {
    {Curve::kHilbert}, {Curve::kZOrder, 2, 2, 1, 180}, {Curve::kRaster}};

TEST(PathGradientTest, GatherAndScatter) {
  std::mt19937_64 rng(11);
  const int64_t n = 2, c = 2, h = 5, w = 3, length = h * w;
  const PathTensors paths = MakePaths(h, w, kPaths);
  HostTensor x = Uniform(DType::kF64, {n, c, h, w}, rng);
  HostTensor y = Uniform(DType::kF64, {n, 3 * c, length}, rng);
  const HostTensor y_cot = Uniform(DType::kF64, {n, 3 * c, length}, rng);
  const HostTensor x_cot = Uniform(DType::kF64, {n, c, h, w}, rng);

  auto gather_loss = [&]() {
    return Dot(RunGather(x, paths.perm)->ToDoubles(), y_cot.ToDoubles());
  };
  absl::StatusOr<HostTensor> dx = RunScatter(y_cot, paths.inv, x.shape());
  ASSERT_TRUE(dx.ok());
  ExpectGradientMatchesFiniteDifferences(gather_loss, x, dx->ToDoubles(),
                                         "gather d/dx", rng);

  auto scatter_loss = [&]() {
    return Dot(RunScatter(y, paths.inv, x.shape())->ToDoubles(),
               x_cot.ToDoubles());
  };
  absl::StatusOr<HostTensor> dy = RunGather(x_cot, paths.perm);
  ASSERT_TRUE(dy.ok());
  ExpectGradientMatchesFiniteDifferences(scatter_loss, y, dy->ToDoubles(),
                                         "scatter d/dy", rng);
}

struct GradCase {
  int64_t h, w, paths, m, k, stride, padding;
};

TEST(PathGradientTest, FusedConvEveryInput) {
  std::mt19937_64 rng(12);
  const GradCase cases[] = {{4, 5, 1, 1, 3, 1, 1}, {5, 3, 3, 2, 5, 2, 2},
                            {3, 3, 2, 1, 4, 3, 0}, {4, 4, 2, 2, 9, 2, 4},
                            {1, 7, 3, 1, 7, 1, 6}, {2, 3, 1, 2, 6, 1, 0}};
  for (const GradCase& gc : cases) {
    const std::string what =
        absl::StrCat(gc.h, "x", gc.w, " P", gc.paths, " m", gc.m, " K", gc.k,
                     " stride", gc.stride, " pad", gc.padding);
    const int64_t n = 2, c = 2;
    const PathConvArgs args{gc.stride, gc.padding};
    const std::vector<PathSpec> specs(kPaths.begin(),
                                      kPaths.begin() + gc.paths);
    const PathTensors paths = MakePaths(gc.h, gc.w, specs);
    const int64_t oc = gc.paths * c * gc.m;
    const int64_t out_length =
        (gc.h * gc.w + 2 * gc.padding - gc.k) / gc.stride + 1;
    HostTensor x = Uniform(DType::kF64, {n, c, gc.h, gc.w}, rng);
    HostTensor weight = Uniform(DType::kF64, {oc, 1, gc.k}, rng);
    HostTensor bias = Uniform(DType::kF64, {oc}, rng);
    const HostTensor cot = Uniform(DType::kF64, {n, oc, out_length}, rng);

    auto loss = [&]() {
      absl::StatusOr<HostTensor> y =
          RunConvForward(args, x, paths.perm, weight, &bias);
      EXPECT_TRUE(y.ok()) << y.status();
      return y.ok() ? Dot(y->ToDoubles(), cot.ToDoubles()) : 0.0;
    };
    absl::StatusOr<HostTensor> dx =
        RunConvBackwardInput(args, cot, paths.inv, weight, x.shape());
    absl::StatusOr<ParamGrads> g =
        RunConvBackwardParams(args, cot, x, paths.perm, weight.shape());
    ASSERT_TRUE(dx.ok() && g.ok()) << what;
    ExpectGradientMatchesFiniteDifferences(loss, x, dx->ToDoubles(),
                                           what + " dx", rng);
    ExpectGradientMatchesFiniteDifferences(
        loss, weight, g->dweight->ToDoubles(), what + " dweight", rng);
    ExpectGradientMatchesFiniteDifferences(loss, bias, g->dbias->ToDoubles(),
                                           what + " dbias", rng);
  }
}

}  // namespace
}  // namespace tapconv::testing
