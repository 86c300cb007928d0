// Axis-aligned oriented convs are ordinary depthwise convs: theta = 0 is
// nn.Conv2d with kernel (1, K), padding (0, d*(K/2)), dilation (1, d), groups =
// C, and theta = pi/2 (as float32) is the (K, 1) conv with the taps reversed
// (tap j reads row p - j*d, i.e. upwards for positive j). Checked against the
// dense conv of the reference backend, an independent implementation, for the
// forward and both backward ops, at strides that do not divide the sizes. Also
// upstream's forward_safe identity: zero-padding the input at the bottom/right
// to a multiple of the stride (or more) changes none of the ceil(H/s) x
// ceil(W/s) outputs.

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/conv_nd.h"
#include "ops/oriented_conv.h"
#include "tests/oriented/oriented_test_support.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

struct Case {
  int64_t h, w, k, stride, dilation;
};

std::string Describe(const Case& c, bool vertical) {
  return absl::StrCat(vertical ? "vertical" : "horizontal", " H=", c.h,
                      " W=", c.w, " K=", c.k, " stride=", c.stride,
                      " dilation=", c.dilation);
}

// Ragged sizes (13x10, 7x5, 1x1, 1xN, Nx1) at strides that do not divide them,
// every K the models use up to 7, and dilations.
std::vector<Case> Cases() {
  std::vector<Case> cases;
  const std::vector<std::pair<int64_t, int64_t>> sizes = {
      {13, 10}, {7, 5}, {1, 1}, {1, 9}, {9, 1}, {8, 8}};
  for (const auto& [h, w] : sizes) {
    for (int64_t k : {1, 3, 7}) {
      for (int64_t stride : {1, 2, 3}) {
        for (int64_t dilation : {1, 2})
          cases.push_back({h, w, k, stride, dilation});
      }
    }
  }
  cases.push_back({13, 10, 5, 3, 3});
  cases.push_back({5, 13, 13, 2, 1});
  return cases;
}

constexpr int64_t kBatch = 2;
constexpr int64_t kChannels = 3;

// The oriented weight (C, 1, 1, K) as the equivalent dense weight: (C, 1, 1, K)
// for the horizontal conv, (C, 1, K, 1) reversed for the vertical one.
HostTensor DenseWeight(const HostTensor& w, bool vertical) {
  const int64_t c = w.shape()[0], k = w.shape()[3];
  if (!vertical) return ToDType(w, w.dtype());
  HostTensor out(w.dtype(), {c, 1, k, 1});
  for (int64_t ch = 0; ch < c; ++ch) {
    for (int64_t i = 0; i < k; ++i)
      out.Set(ch * k + i, w.Get(ch * k + (k - 1 - i)));
  }
  return out;
}

ConvNdArgs DenseArgs(const Case& c, bool vertical) {
  ConvNdArgs args;
  args.stride = {c.stride};
  const int64_t pad = c.dilation * (c.k / 2);
  args.padding = vertical ? SpatialDims{pad, 0} : SpatialDims{0, pad};
  args.dilation =
      vertical ? SpatialDims{c.dilation, 1} : SpatialDims{1, c.dilation};
  args.groups = kChannels;
  return args;
}

OrientedConvArgs OrientedArgs(const Case& c) {
  OrientedConvArgs args;
  args.stride = c.stride;
  args.dilation = c.dilation;
  return args;
}

double AxisAngle(bool vertical) {
  return vertical ? static_cast<float>(kPi / 2) : 0.0;
}

// x zero-padded at the bottom and right to (h, w).
HostTensor PadBottomRight(const HostTensor& x, int64_t h, int64_t w) {
  const int64_t n = x.shape()[0], c = x.shape()[1], h0 = x.shape()[2],
                w0 = x.shape()[3];
  HostTensor out(x.dtype(), {n, c, h, w});
  for (int64_t plane = 0; plane < n * c; ++plane) {
    for (int64_t i = 0; i < h0; ++i) {
      for (int64_t j = 0; j < w0; ++j) {
        out.Set((plane * h + i) * w + j, x.Get((plane * h0 + i) * w0 + j));
      }
    }
  }
  return out;
}

// The top-left (p, q) block of an (n, c, ph, qw) tensor.
std::vector<double> CropTopLeft(const std::vector<double>& v, int64_t planes,
                                int64_t ph, int64_t qw, int64_t p, int64_t q) {
  std::vector<double> out;
  for (int64_t plane = 0; plane < planes; ++plane) {
    for (int64_t i = 0; i < p; ++i) {
      for (int64_t j = 0; j < q; ++j)
        out.push_back(v[(plane * ph + i) * qw + j]);
    }
  }
  return out;
}

TEST(OrientedDenseEquivalenceTest, ForwardEqualsDepthwiseConv2dAtAxisAngles) {
  std::mt19937_64 rng(1);
  for (const Case& c : Cases()) {
    for (bool vertical : {false, true}) {
      for (bool with_bias : {false, true}) {
        const std::string what = absl::StrCat(Describe(c, vertical),
                                              with_bias ? " bias" : " no bias");
        const HostTensor x =
            Uniform(DType::kF32, {kBatch, kChannels, c.h, c.w}, rng);
        const HostTensor w = Uniform(DType::kF32, {kChannels, 1, 1, c.k}, rng);
        const HostTensor b = Uniform(DType::kF32, {kChannels}, rng);
        const HostTensor theta =
            ThetaTensor(std::vector<double>(kChannels, AxisAngle(vertical)));
        const HostTensor* bias = with_bias ? &b : nullptr;
        auto y = RunForward(OrientedArgs(c), x, w, theta, bias);
        ASSERT_TRUE(y.ok()) << what << ": " << y.status();
        const ConvNdArgs dense = DenseArgs(c, vertical);
        auto expected =
            DenseDepthwiseConv2d(x, DenseWeight(w, vertical), bias, c.stride,
                                 dense.padding, dense.dilation);
        ASSERT_TRUE(expected.ok()) << what << ": " << expected.status();
        EXPECT_EQ(y->shape(),
                  (Dims{kBatch, kChannels, (c.h + c.stride - 1) / c.stride,
                        (c.w + c.stride - 1) / c.stride}))
            << what;
        ExpectAllClose(y->ToDoubles(), *expected,
                       Tolerance(DType::kF32, c.k + 1), 0.0, what);
      }
    }
  }
}

// forward_safe: pad at the bottom/right to a multiple of the stride, or to a
// much larger size as upstream does (multiples of up to 256), run the dense
// conv, keep the top-left ceil(H/s) x ceil(W/s) outputs.
TEST(OrientedDenseEquivalenceTest,
     ForwardEqualsDenseConvOfBottomRightPaddedInput) {
  std::mt19937_64 rng(2);
  for (const Case& c : Cases()) {
    for (bool vertical : {false, true}) {
      const HostTensor x =
          Uniform(DType::kF32, {kBatch, kChannels, c.h, c.w}, rng);
      const HostTensor w = Uniform(DType::kF32, {kChannels, 1, 1, c.k}, rng);
      const HostTensor theta =
          ThetaTensor(std::vector<double>(kChannels, AxisAngle(vertical)));
      auto y = RunForward(OrientedArgs(c), x, w, theta);
      ASSERT_TRUE(y.ok()) << y.status();
      const int64_t p = (c.h + c.stride - 1) / c.stride,
                    q = (c.w + c.stride - 1) / c.stride;
      for (int64_t extra : {int64_t{0}, 2 * c.stride}) {
        const std::string what =
            absl::StrCat(Describe(c, vertical), " extra=", extra);
        const int64_t hp = p * c.stride + extra, wp = q * c.stride + extra;
        const ConvNdArgs dense = DenseArgs(c, vertical);
        auto padded = DenseDepthwiseConv2d(
            PadBottomRight(x, hp, wp), DenseWeight(w, vertical), nullptr,
            c.stride, dense.padding, dense.dilation);
        ASSERT_TRUE(padded.ok()) << what << ": " << padded.status();
        const int64_t ph = hp / c.stride, qw = wp / c.stride;
        ASSERT_EQ(static_cast<int64_t>(padded->size()),
                  kBatch * kChannels * ph * qw)
            << what;
        ExpectAllClose(y->ToDoubles(),
                       CropTopLeft(*padded, kBatch * kChannels, ph, qw, p, q),
                       Tolerance(DType::kF32, c.k), 0.0, what);
      }
    }
  }
}

TEST(OrientedDenseEquivalenceTest,
     BackwardEqualsDenseConvBackwardAtAxisAngles) {
  std::mt19937_64 rng(3);
  const ExecContext ctx = ReferenceContext();
  for (const Case& c : Cases()) {
    for (bool vertical : {false, true}) {
      const std::string what = Describe(c, vertical);
      const int64_t p = (c.h + c.stride - 1) / c.stride,
                    q = (c.w + c.stride - 1) / c.stride;
      const HostTensor x =
          Uniform(DType::kF64, {kBatch, kChannels, c.h, c.w}, rng);
      const HostTensor w = Uniform(DType::kF64, {kChannels, 1, 1, c.k}, rng);
      const HostTensor dy =
          Uniform(DType::kF64, {kBatch, kChannels, p, q}, rng);
      const HostTensor theta =
          ThetaTensor(std::vector<double>(kChannels, AxisAngle(vertical)));
      const OrientedConvArgs args = OrientedArgs(c);
      const ConvNdArgs dense = DenseArgs(c, vertical);
      const HostTensor dense_w = DenseWeight(w, vertical);

      auto dx = RunBackwardInput(args, dy, w, theta, x.shape());
      ASSERT_TRUE(dx.ok()) << what << ": " << dx.status();
      HostTensor dense_dx(DType::kF64, x.shape());
      ASSERT_TRUE(ops::ConvNdBackwardInput(
                      dense, {dy.ref(), dense_w.ref(), dense_dx.ref()}, ctx)
                      .ok());
      ExpectAllClose(dx->ToDoubles(), dense_dx.ToDoubles(),
                     Tolerance(DType::kF64, c.k), 0.0, what + " dx");

      auto grads = RunBackwardParams(args, dy, x, theta, c.k);
      ASSERT_TRUE(grads.ok()) << what << ": " << grads.status();
      HostTensor dense_dw(DType::kF64, dense_w.shape());
      HostTensor dense_db(DType::kF64, {kChannels});
      ASSERT_TRUE(
          ops::ConvNdBackwardParams(
              dense, {dy.ref(), x.ref(), dense_dw.ref(), dense_db.ref()}, ctx)
              .ok());
      // The vertical dense weight is the oriented one reversed, so is its
      // gradient.
      std::vector<double> expected_dw = dense_dw.ToDoubles();
      if (vertical) {
        for (int64_t ch = 0; ch < kChannels; ++ch) {
          std::reverse(expected_dw.begin() + ch * c.k,
                       expected_dw.begin() + (ch + 1) * c.k);
        }
      }
      const int64_t length = kBatch * p * q;
      ExpectAllClose(grads->dweight->ToDoubles(), expected_dw,
                     Tolerance(DType::kF64, length), 0.0, what + " dweight");
      ExpectAllClose(grads->dbias->ToDoubles(), dense_db.ToDoubles(),
                     Tolerance(DType::kF64, length), 0.0, what + " dbias");
    }
  }
}

}  // namespace
}  // namespace tapconv::testing
