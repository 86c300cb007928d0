// The oriented forward at oblique angles: impulse responses written out by hand
// from shared/research/oriented1d.md §1.3's tap table (duplicate taps add their
// weights), an independent gather (tests/oriented/oriented_test_support.h) for
// many angles, K, strides, dilations and both tap rules, and the identities the
// options must satisfy: bias, fused residual, per-channel angles, NHWC =
// transposed NCHW, and bottom/right zero padding.

#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/geometry/oriented_taps.h"
#include "ops/oriented_conv.h"
#include "tests/oriented/oriented_test_support.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

// The model's angles pi * n / 8 (float64, stored as float32 as the model's
// buffer does).
double ModelAngle(int n) { return static_cast<float>(kPi * n / 8.0); }

// Angles of every kind: the model's oblique ones, arbitrary radians (the
// benchmark's "degrees" passed as radians), negative, and beyond 2*pi.
std::vector<double> TestAngles() {
  return {ModelAngle(1), ModelAngle(2), ModelAngle(3), ModelAngle(5),
          ModelAngle(6), ModelAngle(7), 0.3,           -1.1,
          2.9,           10.0,          -7.5,          1000.0};
}

struct Impulse {
  int64_t row, col;
  double value;
};

// One channel, a 9x9 image that is 1 at the centre (4, 4), weights 1..7, stride
// 1: output (p, q) reads input (p + dh_k, q + dw_k), so tap k puts w_k at (4 -
// dh_k, 4 - dw_k).
void ExpectImpulseResponse(double theta, TapRule rule,
                           const std::vector<Impulse>& expected,
                           const std::string& what) {
  HostTensor x(DType::kF64, {1, 1, 9, 9});
  x.Set(4 * 9 + 4, 1.0);
  HostTensor w(DType::kF64, {1, 1, 1, 7});
  for (int k = 0; k < 7; ++k) w.Set(k, k + 1.0);
  OrientedConvArgs args;
  args.tap_rule = rule;
  auto y = RunForward(args, x, w, ThetaTensor({theta}));
  ASSERT_TRUE(y.ok()) << what << ": " << y.status();
  std::vector<double> want(81, 0.0);
  for (const Impulse& i : expected) want[i.row * 9 + i.col] = i.value;
  ExpectAllClose(y->ToDoubles(), want, 0.0, 0.0, what);
}

TEST(OrientedForwardTest, ImpulseResponsesFollowTheTapTable) {
  // 22.5 degrees, trunc: taps (1,-2) (0,-1) (0,0) (0,0) (0,0) (0,1) (-1,2).
  ExpectImpulseResponse(
      ModelAngle(1), TapRule::kTrunc,
      {{3, 6, 1}, {4, 5, 2}, {4, 4, 3 + 4 + 5}, {4, 3, 6}, {5, 2, 7}},
      "trunc 22.5 degrees");
  // 45 degrees, trunc: taps (2,-2) (1,-1) (0,0) (0,0) (0,0) (-1,1) (-2,2).
  ExpectImpulseResponse(
      ModelAngle(2), TapRule::kTrunc,
      {{2, 6, 1}, {3, 5, 2}, {4, 4, 12}, {5, 3, 6}, {6, 2, 7}},
      "trunc 45 degrees");
  // 67.5 degrees, trunc: taps (2,-1) (1,0) (0,0) (0,0) (0,0) (-1,0) (-2,1).
  ExpectImpulseResponse(
      ModelAngle(3), TapRule::kTrunc,
      {{2, 5, 1}, {3, 4, 2}, {4, 4, 12}, {5, 4, 6}, {6, 3, 7}},
      "trunc 67.5 degrees");
  // 135 degrees, trunc: the mirror image of 45 (dw flips).
  ExpectImpulseResponse(
      ModelAngle(6), TapRule::kTrunc,
      {{2, 2, 1}, {3, 3, 2}, {4, 4, 12}, {5, 5, 6}, {6, 6, 7}},
      "trunc 135 degrees");
  // 45 degrees, line: the full diagonal (3,-3) ... (-3,3), no duplicates.
  ExpectImpulseResponse(kPi / 4, TapRule::kLine,
                        {{1, 7, 1},
                         {2, 6, 2},
                         {3, 5, 3},
                         {4, 4, 4},
                         {5, 3, 5},
                         {6, 2, 6},
                         {7, 1, 7}},
                        "line 45 degrees");
  // 90 degrees (float32), trunc: tap j at row -j.
  ExpectImpulseResponse(ModelAngle(4), TapRule::kTrunc,
                        {{1, 4, 1},
                         {2, 4, 2},
                         {3, 4, 3},
                         {4, 4, 4},
                         {5, 4, 5},
                         {6, 4, 6},
                         {7, 4, 7}},
                        "trunc 90 degrees");
}

TEST(OrientedForwardTest, TestAnglesIncludeDuplicateTaps) {
  // The gather comparisons below only exercise duplicate taps if the angles
  // produce them.
  const OrientedTapTable t =
      BuildOrientedTapTable(TestAngles(), 7, TapRule::kTrunc, 1);
  int with_duplicates = 0;
  for (int64_t c = 0; c < t.channels; ++c)
    with_duplicates += CountDistinctTaps(t, c) < 7;
  EXPECT_GE(with_duplicates, 6);
}

struct GatherCase {
  int64_t h, w, k, stride, dilation;
  TapRule rule;
  bool residual, bias;
};

std::string Describe(const GatherCase& c) {
  return absl::StrCat("H=", c.h, " W=", c.w, " K=", c.k, " stride=", c.stride,
                      " dilation=", c.dilation,
                      c.rule == TapRule::kTrunc ? " trunc" : " line",
                      c.residual ? " residual" : "", c.bias ? " bias" : "");
}

std::vector<GatherCase> GatherCases() {
  std::vector<GatherCase> cases;
  for (int64_t k : {1, 3, 7, 13, 15, 31}) {
    // Images about as large as the kernel, so that the taps reach both inside
    // and outside.
    const int64_t h = k >= 13 ? 19 : 11, w = k >= 13 ? 17 : 9;
    for (int64_t stride : {1, 2, 3}) {
      for (TapRule rule : {TapRule::kTrunc, TapRule::kLine}) {
        cases.push_back({h, w, k, stride, 1, rule, false, false});
      }
    }
    cases.push_back({h, w, k, 2, 2, TapRule::kTrunc, true, true});
    cases.push_back({h, w, k, 1, 3, TapRule::kLine, true, false});
    cases.push_back({h - 4, w + 2, k, 3, 1, TapRule::kTrunc, false, true});
  }
  cases.push_back({1, 1, 7, 2, 1, TapRule::kTrunc, true, true});
  cases.push_back({1, 12, 7, 3, 1, TapRule::kLine, false, true});
  cases.push_back({12, 1, 7, 3, 1, TapRule::kTrunc, false, false});
  return cases;
}

TEST(OrientedForwardTest, MatchesNaiveGatherForPerChannelAngles) {
  std::mt19937_64 rng(11);
  const std::vector<double> angles = TestAngles();
  const int64_t n = 2, c = static_cast<int64_t>(angles.size());
  for (const GatherCase& g : GatherCases()) {
    const std::string what = Describe(g);
    OrientedConvArgs args;
    args.stride = g.stride;
    args.dilation = g.dilation;
    args.tap_rule = g.rule;
    args.residual = g.residual;
    const HostTensor x = Uniform(DType::kF64, {n, c, g.h, g.w}, rng);
    const HostTensor w = Uniform(DType::kF64, {c, 1, 1, g.k}, rng);
    const HostTensor b = Uniform(DType::kF64, {c}, rng);
    const HostTensor theta = ThetaTensor(angles, DType::kF64);
    auto y = RunForward(args, x, w, theta, g.bias ? &b : nullptr);
    ASSERT_TRUE(y.ok()) << what << ": " << y.status();
    const std::vector<double> expected = NaiveOrientedForward(
        args, {n, c, g.h, g.w, g.k}, x.ToDoubles(), w.ToDoubles(), angles,
        g.bias ? b.ToDoubles() : std::vector<double>{});
    ExpectAllClose(y->ToDoubles(), expected, Tolerance(DType::kF64, g.k + 2),
                   0.0, what);
  }
}

TEST(OrientedForwardTest, ChannelsAreIndependent) {
  // Each channel of a multi-channel call equals a one-channel call with that
  // channel's angle.
  std::mt19937_64 rng(12);
  const std::vector<double> angles = TestAngles();
  const int64_t c = static_cast<int64_t>(angles.size()), h = 10, w = 9, k = 13;
  OrientedConvArgs args;
  args.stride = 2;
  const HostTensor x = Uniform(DType::kF64, {1, c, h, w}, rng);
  const HostTensor wt = Uniform(DType::kF64, {c, 1, 1, k}, rng);
  const HostTensor b = Uniform(DType::kF64, {c}, rng);
  auto y = RunForward(args, x, wt, ThetaTensor(angles), &b);
  ASSERT_TRUE(y.ok()) << y.status();
  const int64_t plane_in = h * w, plane_out = 5 * 5;
  const std::vector<double> all = y->ToDoubles();
  for (int64_t ch = 0; ch < c; ++ch) {
    HostTensor x1(DType::kF64, {1, 1, h, w}), w1(DType::kF64, {1, 1, 1, k}),
        b1(DType::kF64, {1});
    for (int64_t i = 0; i < plane_in; ++i) x1.Set(i, x.Get(ch * plane_in + i));
    for (int64_t i = 0; i < k; ++i) w1.Set(i, wt.Get(ch * k + i));
    b1.Set(0, b.Get(ch));
    auto y1 = RunForward(args, x1, w1, ThetaTensor({angles[ch]}), &b1);
    ASSERT_TRUE(y1.ok()) << y1.status();
    const std::vector<double> slice(all.begin() + ch * plane_out,
                                    all.begin() + (ch + 1) * plane_out);
    ExpectAllClose(y1->ToDoubles(), slice, 0.0, 0.0,
                   absl::StrCat("channel ", ch));
  }
}

TEST(OrientedForwardTest, BiasIsAddedPerChannel) {
  std::mt19937_64 rng(13);
  const int64_t n = 2, c = 4, h = 7, w = 8, k = 7;
  OrientedConvArgs args;
  args.stride = 3;
  const HostTensor x = Uniform(DType::kF64, {n, c, h, w}, rng);
  const HostTensor wt = Uniform(DType::kF64, {c, 1, 1, k}, rng);
  const HostTensor b = Uniform(DType::kF64, {c}, rng);
  const HostTensor theta =
      ThetaTensor({0.0, ModelAngle(1), ModelAngle(2), ModelAngle(7)});
  auto with = RunForward(args, x, wt, theta, &b);
  auto without = RunForward(args, x, wt, theta);
  ASSERT_TRUE(with.ok() && without.ok());
  std::vector<double> expected = without->ToDoubles();
  const int64_t plane = 3 * 3;
  for (size_t i = 0; i < expected.size(); ++i)
    expected[i] += b.Get((i / plane) % c);
  ExpectAllClose(with->ToDoubles(), expected, Tolerance(DType::kF64, k + 1),
                 0.0, "bias");
}

TEST(OrientedForwardTest, ResidualAddsTheInputAtTheCentreTap) {
  // y_residual[p, q] = y[p, q] + x[s*p, s*q]: at stride 1 that is x + conv(x);
  // at stride s the +1 centre tap reads the subsampled input.
  std::mt19937_64 rng(14);
  const int64_t n = 2, c = 3, h = 9, w = 7, k = 7;
  for (int64_t stride : {1, 2, 3}) {
    for (int64_t dilation : {1, 2}) {
      for (TapRule rule : {TapRule::kTrunc, TapRule::kLine}) {
        OrientedConvArgs args;
        args.stride = stride;
        args.dilation = dilation;
        args.tap_rule = rule;
        const HostTensor x = Uniform(DType::kF64, {n, c, h, w}, rng);
        const HostTensor wt = Uniform(DType::kF64, {c, 1, 1, k}, rng);
        const HostTensor theta =
            ThetaTensor({ModelAngle(1), ModelAngle(2), 2.0});
        auto plain = RunForward(args, x, wt, theta);
        args.residual = true;
        auto fused = RunForward(args, x, wt, theta);
        ASSERT_TRUE(plain.ok() && fused.ok());
        const int64_t p_size = OrientedOutputSize(h, stride),
                      q_size = OrientedOutputSize(w, stride);
        std::vector<double> expected = plain->ToDoubles();
        for (int64_t plane = 0; plane < n * c; ++plane) {
          for (int64_t p = 0; p < p_size; ++p) {
            for (int64_t q = 0; q < q_size; ++q) {
              expected[(plane * p_size + p) * q_size + q] +=
                  x.Get((plane * h + stride * p) * w + stride * q);
            }
          }
        }
        ExpectAllClose(
            fused->ToDoubles(), expected, Tolerance(DType::kF64, k + 1), 0.0,
            absl::StrCat("residual stride=", stride, " dilation=", dilation));
      }
    }
  }
}

TEST(OrientedForwardTest, NhwcEqualsTransposedNchw) {
  std::mt19937_64 rng(15);
  const int64_t n = 2, c = 5, h = 8, w = 11, k = 9;
  const std::vector<double> angles = {ModelAngle(1), ModelAngle(3), 0.7, -2.0,
                                      ModelAngle(4)};
  for (int64_t stride : {1, 2, 3}) {
    for (TapRule rule : {TapRule::kTrunc, TapRule::kLine}) {
      const std::string what = absl::StrCat(
          "stride=", stride, rule == TapRule::kTrunc ? " trunc" : " line");
      OrientedConvArgs nchw;
      nchw.stride = stride;
      nchw.tap_rule = rule;
      nchw.residual = stride == 2;
      OrientedConvArgs nhwc = nchw;
      nhwc.layout = Layout::kNHWC;
      const int64_t p = OrientedOutputSize(h, stride),
                    q = OrientedOutputSize(w, stride);
      const HostTensor x = Uniform(DType::kF64, {n, c, h, w}, rng);
      const HostTensor dy = Uniform(DType::kF64, {n, c, p, q}, rng);
      HostTensor x_t(DType::kF64, {n, h, w, c}),
          dy_t(DType::kF64, {n, p, q, c});
      x_t.SetFromDoubles(NchwToNhwc(x.ToDoubles(), n, c, h, w));
      dy_t.SetFromDoubles(NchwToNhwc(dy.ToDoubles(), n, c, p, q));
      const HostTensor wt = Uniform(DType::kF64, {c, 1, 1, k}, rng);
      const HostTensor b = Uniform(DType::kF64, {c}, rng);
      const HostTensor theta = ThetaTensor(angles);

      auto y = RunForward(nchw, x, wt, theta, &b);
      auto y_t = RunForward(nhwc, x_t, wt, theta, &b);
      ASSERT_TRUE(y.ok() && y_t.ok()) << what;
      ASSERT_EQ(y_t->shape(), (Dims{n, p, q, c}));
      ExpectAllClose(NhwcToNchw(y_t->ToDoubles(), n, c, p, q), y->ToDoubles(),
                     0.0, 0.0, what + " y");

      auto dx = RunBackwardInput(nchw, dy, wt, theta, x.shape());
      auto dx_t = RunBackwardInput(nhwc, dy_t, wt, theta, x_t.shape());
      ASSERT_TRUE(dx.ok() && dx_t.ok()) << what;
      ExpectAllClose(NhwcToNchw(dx_t->ToDoubles(), n, c, h, w), dx->ToDoubles(),
                     0.0, 0.0, what + " dx");

      auto grads = RunBackwardParams(nchw, dy, x, theta, k);
      auto grads_t = RunBackwardParams(nhwc, dy_t, x_t, theta, k);
      ASSERT_TRUE(grads.ok() && grads_t.ok()) << what;
      // The sums run over (n, p, q) in a different order: equal up to float64
      // rounding.
      const double tol = Tolerance(DType::kF64, n * p * q);
      ExpectAllClose(grads_t->dweight->ToDoubles(), grads->dweight->ToDoubles(),
                     tol, 0.0, what + " dweight");
      ExpectAllClose(grads_t->dbias->ToDoubles(), grads->dbias->ToDoubles(),
                     tol, 0.0, what + " dbias");
    }
  }
}

// Upstream's forward_safe pads the input with zeros at the bottom/right and
// keeps the top-left outputs: that must change nothing at any angle.
TEST(OrientedForwardTest, BottomRightZeroPaddingChangesNoOutput) {
  std::mt19937_64 rng(16);
  const std::vector<double> angles = TestAngles();
  const int64_t c = static_cast<int64_t>(angles.size()), h = 13, w = 10, k = 15;
  for (int64_t stride : {1, 2, 3}) {
    OrientedConvArgs args;
    args.stride = stride;
    const HostTensor x = Uniform(DType::kF64, {1, c, h, w}, rng);
    const HostTensor wt = Uniform(DType::kF64, {c, 1, 1, k}, rng);
    const HostTensor theta = ThetaTensor(angles);
    const int64_t hp = 16,
                  wp = 16;  // upstream pads 13 and 10 to multiples of 8
    HostTensor padded(DType::kF64, {1, c, hp, wp});
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t i = 0; i < h; ++i) {
        for (int64_t j = 0; j < w; ++j) {
          padded.Set((ch * hp + i) * wp + j, x.Get((ch * h + i) * w + j));
        }
      }
    }
    auto y = RunForward(args, x, wt, theta);
    auto yp = RunForward(args, padded, wt, theta);
    ASSERT_TRUE(y.ok() && yp.ok());
    const int64_t p = OrientedOutputSize(h, stride),
                  q = OrientedOutputSize(w, stride);
    const int64_t pp = OrientedOutputSize(hp, stride),
                  qp = OrientedOutputSize(wp, stride);
    std::vector<double> cropped;
    const std::vector<double> all = yp->ToDoubles();
    for (int64_t ch = 0; ch < c; ++ch) {
      for (int64_t i = 0; i < p; ++i) {
        for (int64_t j = 0; j < q; ++j)
          cropped.push_back(all[(ch * pp + i) * qp + j]);
      }
    }
    ExpectAllClose(y->ToDoubles(), cropped, 0.0, 0.0,
                   absl::StrCat("stride=", stride));
  }
}

}  // namespace
}  // namespace tapconv::testing
