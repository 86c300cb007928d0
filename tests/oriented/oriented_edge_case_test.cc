// Sizes at the edges: empty batches, channels, rows or columns (empty outputs;
// zero parameter gradients, overwritten), shapes too large for memory but with
// no elements, a 1x1 image, and a stride larger than the image.

#include <cstdint>
#include <limits>
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

struct EmptyCase {
  int64_t n, c, h, w;
  Layout layout;
};

// A view of `t` without memory: allowed, since it has no elements.
TensorRef WithoutMemory(const HostTensor& t) {
  TensorRef r = t.ref();
  r.data = nullptr;
  return r;
}

TEST(OrientedEdgeCaseTest, EmptyTensorsGiveEmptyOutputsAndZeroGradients) {
  const int64_t k = 7;
  const EmptyCase cases[] = {
      {0, 3, 5, 6, Layout::kNCHW}, {2, 0, 5, 6, Layout::kNCHW},
      {2, 3, 0, 6, Layout::kNCHW}, {2, 3, 5, 0, Layout::kNHWC},
      {0, 3, 0, 0, Layout::kNHWC}, {2, 3, 0, 0, Layout::kNCHW}};
  const ExecContext ctx = ReferenceContext();
  for (const EmptyCase& e : cases) {
    for (bool null_data : {false, true}) {
      const std::string what =
          absl::StrCat("N=", e.n, " C=", e.c, " H=", e.h, " W=", e.w,
                       null_data ? " null data" : "");
      OrientedConvArgs args;
      args.stride = 2;
      args.layout = e.layout;
      const int64_t p = OrientedOutputSize(e.h, 2),
                    q = OrientedOutputSize(e.w, 2);
      HostTensor x(DType::kF32, ActivationShape(e.layout, e.n, e.c, e.h, e.w));
      HostTensor y(DType::kF32, ActivationShape(e.layout, e.n, e.c, p, q));
      HostTensor weight(DType::kF32, {e.c, 1, 1, k}), bias(DType::kF32, {e.c});
      HostTensor dweight(DType::kF32, {e.c, 1, 1, k}),
          dbias(DType::kF32, {e.c});
      weight.Fill(1.0);
      dweight.Fill(7.0);
      dbias.Fill(7.0);
      const HostTensor theta = ThetaTensor(std::vector<double>(e.c, 0.5));
      auto ref = [&](const HostTensor& t) {
        return null_data && t.numel() == 0 ? WithoutMemory(t) : t.ref();
      };
      EXPECT_TRUE(
          ops::OrientedConv2dForward(
              args, {ref(x), ref(weight), ref(theta), ref(bias), ref(y)}, ctx)
              .ok())
          << what;
      EXPECT_TRUE(ops::OrientedConv2dBackwardInput(
                      args, {ref(y), ref(weight), ref(theta), ref(x)}, ctx)
                      .ok())
          << what;
      const absl::Status params = ops::OrientedConv2dBackwardParams(
          args, {ref(y), ref(x), ref(theta), ref(dweight), ref(dbias)}, ctx);
      EXPECT_TRUE(params.ok()) << what << ": " << params;
      // No output contributes: the sums are empty, so the gradients are zero,
      // not left as is.
      ExpectAllClose(dweight.ToDoubles(),
                     std::vector<double>(dweight.numel(), 0.0), 0.0, 0.0,
                     what + " dweight");
      ExpectAllClose(dbias.ToDoubles(), std::vector<double>(dbias.numel(), 0.0),
                     0.0, 0.0, what + " dbias");
    }
  }
}

TEST(OrientedEdgeCaseTest, HugeShapesWithNoElementsNeedNoMemory) {
  // N = 0 with an image far larger than memory: valid, and nothing is read or
  // written.
  const int64_t h = int64_t{1} << 40, w = int64_t{1} << 20;
  TensorRef x = MakeTensorRef(nullptr, DType::kF32, {0, 3, h, w});
  TensorRef y = MakeTensorRef(nullptr, DType::kF32, {0, 3, h / 2, w / 2});
  HostTensor weight(DType::kF32, {3, 1, 1, 31});
  const HostTensor theta = ThetaTensor({0.1, 0.2, 0.3});
  OrientedConvArgs args;
  args.stride = 2;
  const ExecContext ctx = ReferenceContext();
  EXPECT_TRUE(ops::OrientedConv2dForward(
                  args, {x, weight.ref(), theta.ref(), std::nullopt, y}, ctx)
                  .ok());
  EXPECT_TRUE(ops::OrientedConv2dBackwardInput(
                  args, {y, weight.ref(), theta.ref(), x}, ctx)
                  .ok());
}

TEST(OrientedEdgeCaseTest, OnePixelImageSumsTheTapsThatLandOnIt) {
  // At 45 degrees with K = 7 (trunc), taps 2, 3, 4 all land on (0, 0); the rest
  // fall outside a 1x1 image. So y = (w2 + w3 + w4) * x, and at any stride.
  for (int64_t stride : {1, 2, 5}) {
    HostTensor x(DType::kF64, {1, 1, 1, 1});
    x.Set(0, 3.0);
    HostTensor w(DType::kF64, {1, 1, 1, 7});
    for (int k = 0; k < 7; ++k) w.Set(k, 1 << k);
    OrientedConvArgs args;
    args.stride = stride;
    auto y = RunForward(args, x, w, ThetaTensor({kPi / 4}));
    ASSERT_TRUE(y.ok()) << y.status();
    ASSERT_EQ(y->shape(), (Dims{1, 1, 1, 1}));
    EXPECT_EQ(y->Get(0), 3.0 * (4 + 8 + 16)) << "stride " << stride;
    HostTensor dy(DType::kF64, {1, 1, 1, 1});
    dy.Set(0, 2.0);
    auto dx = RunBackwardInput(args, dy, w, ThetaTensor({kPi / 4}), x.shape());
    ASSERT_TRUE(dx.ok());
    EXPECT_EQ(dx->Get(0), 2.0 * (4 + 8 + 16));
    auto g = RunBackwardParams(args, dy, x, ThetaTensor({kPi / 4}), 7);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->dweight->ToDoubles(),
              (std::vector<double>{0, 0, 6, 6, 6, 0, 0}));
    EXPECT_EQ(g->dbias->Get(0), 2.0);
  }
}

TEST(OrientedEdgeCaseTest, StrideBeyondTheImageKeepsOneOutput) {
  // ceil(H / s) = 1 for any s >= H, up to the largest int64 (no overflow in the
  // output size): the single output reads around (0, 0).
  std::mt19937_64 rng(51);
  const int64_t n = 2, c = 3, h = 6, w = 5, k = 9;
  const std::vector<double> angles = {0.0, kPi / 4, 2.0};
  for (int64_t stride :
       {int64_t{6}, int64_t{1} << 40, std::numeric_limits<int64_t>::max()}) {
    OrientedConvArgs args;
    args.stride = stride;
    args.residual = true;
    const HostTensor x = Uniform(DType::kF64, {n, c, h, w}, rng);
    const HostTensor wt = Uniform(DType::kF64, {c, 1, 1, k}, rng);
    const HostTensor dy = Uniform(DType::kF64, {n, c, 1, 1}, rng);
    auto y = RunForward(args, x, wt, ThetaTensor(angles));
    ASSERT_TRUE(y.ok()) << y.status();
    ASSERT_EQ(y->shape(), (Dims{n, c, 1, 1}));
    ExpectAllClose(y->ToDoubles(),
                   NaiveOrientedForward(args, {n, c, h, w, k}, x.ToDoubles(),
                                        wt.ToDoubles(), angles, {}),
                   Tolerance(DType::kF64, k + 1), 0.0,
                   absl::StrCat("stride ", stride));
    auto dx = RunBackwardInput(args, dy, wt, ThetaTensor(angles), x.shape());
    ASSERT_TRUE(dx.ok()) << dx.status();
    EXPECT_NEAR(Dot(y->ToDoubles(), dy.ToDoubles()),
                Dot(x.ToDoubles(), dx->ToDoubles()),
                Tolerance(DType::kF64, x.numel() * k))
        << "stride " << stride;
  }
}

}  // namespace
}  // namespace tapconv::testing
