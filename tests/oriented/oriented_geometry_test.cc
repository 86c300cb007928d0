// Tap offsets of the oriented conv: shared/research/oriented1d.md §1.3's table
// for K = 7 at the eight model angles (trunc rule), and the properties that
// define the line rule.

#include <cmath>
#include <set>
#include <utility>
#include <vector>

#include "gtest/gtest.h"
#include "ops/geometry/oriented_taps.h"

namespace tapconv {
namespace {

constexpr double kPi = 3.14159265358979323846;

std::vector<std::pair<int, int>> Taps(double theta, int k, TapRule rule,
                                      int64_t dilation = 1) {
  const OrientedTapTable t = BuildOrientedTapTable({theta}, k, rule, dilation);
  std::vector<std::pair<int, int>> out;
  for (int i = 0; i < k; ++i) out.emplace_back(t.at(0, i).dh, t.at(0, i).dw);
  return out;
}

using Offsets = std::vector<std::pair<int, int>>;

// The model's angles are pi * n / 8, computed in float64 and stored as float32
// (a buffer).
double ModelAngle(int n) { return static_cast<float>(kPi * n / 8.0); }

TEST(TruncRuleTest, MatchesUpstreamTableForK7) {
  EXPECT_EQ(
      Taps(ModelAngle(0), 7, TapRule::kTrunc),
      (Offsets{{0, -3}, {0, -2}, {0, -1}, {0, 0}, {0, 1}, {0, 2}, {0, 3}}));
  EXPECT_EQ(
      Taps(ModelAngle(1), 7, TapRule::kTrunc),
      (Offsets{{1, -2}, {0, -1}, {0, 0}, {0, 0}, {0, 0}, {0, 1}, {-1, 2}}));
  EXPECT_EQ(
      Taps(ModelAngle(2), 7, TapRule::kTrunc),
      (Offsets{{2, -2}, {1, -1}, {0, 0}, {0, 0}, {0, 0}, {-1, 1}, {-2, 2}}));
  EXPECT_EQ(
      Taps(ModelAngle(3), 7, TapRule::kTrunc),
      (Offsets{{2, -1}, {1, 0}, {0, 0}, {0, 0}, {0, 0}, {-1, 0}, {-2, 1}}));
  EXPECT_EQ(
      Taps(ModelAngle(4), 7, TapRule::kTrunc),
      (Offsets{{3, 0}, {2, 0}, {1, 0}, {0, 0}, {-1, 0}, {-2, 0}, {-3, 0}}));
  // 112.5, 135, 157.5 degrees mirror 67.5, 45, 22.5 (dw flips sign).
  for (int n = 5; n <= 7; ++n) {
    Offsets mirrored = Taps(ModelAngle(8 - n), 7, TapRule::kTrunc);
    for (auto& o : mirrored) o.second = -o.second;
    EXPECT_EQ(Taps(ModelAngle(n), 7, TapRule::kTrunc), mirrored)
        << "angle pi*" << n << "/8";
  }
}

// Test vectors computed outside this code base (Python, float32 rounding via
// struct) for the two float32 steps of the rule, at angles where they decide a
// tap.
TEST(TruncRuleTest, ProductIsRoundedToFloat32BeforeTruncation) {
  // sinf = 0.69999999 (float32); 10 * sinf = 6.99999988 in exact arithmetic,
  // which rounds to 7.0f: tap j = -10 lands on row 7 (it would be 6 with the
  // product in float64).
  EXPECT_EQ(
      Taps(0.7753974795341492, 21, TapRule::kTrunc),
      (Offsets{{7, -7}, {6, -6}, {5, -5}, {4, -4}, {4, -4}, {3, -3}, {2, -2},
               {2, -2}, {1, -1}, {0, 0},  {0, 0},  {0, 0},  {-1, 1}, {-2, 2},
               {-2, 2}, {-3, 3}, {-4, 4}, {-4, 4}, {-5, 5}, {-6, 6}, {-7, 7}}));
}

TEST(TruncRuleTest, AngleIsRoundedToFloat32BeforeSin) {
  // A float64 angle just above pi/6: sin of the angle itself rounds to 0.5f (so
  // j = -2 would land on row 1), but the angle rounds to 0.52359873f first,
  // whose sine rounds to 0.49999997f: row 0.
  EXPECT_EQ(Taps(0.523598758598299, 5, TapRule::kTrunc),
            (Offsets{{0, -1}, {0, 0}, {0, 0}, {0, 0}, {0, 1}}));
}

TEST(TruncRuleTest, DistinctPixelsAndExtentForK31) {
  // (angle index, distinct pixels at K=7, at K=31, |dh| extent, |dw| extent at
  // K=31)
  struct Row {
    int n, distinct7, distinct31, extent_h, extent_w;
  };
  for (const Row& r :
       {Row{0, 7, 31, 0, 15}, Row{1, 5, 29, 5, 13}, Row{2, 5, 21, 10, 10},
        Row{3, 5, 29, 13, 5}, Row{4, 7, 31, 15, 0}}) {
    const double theta = ModelAngle(r.n);
    EXPECT_EQ(CountDistinctTaps(
                  BuildOrientedTapTable({theta}, 7, TapRule::kTrunc, 1), 0),
              r.distinct7)
        << "n=" << r.n;
    const OrientedTapTable t31 =
        BuildOrientedTapTable({theta}, 31, TapRule::kTrunc, 1);
    EXPECT_EQ(CountDistinctTaps(t31, 0), r.distinct31) << "n=" << r.n;
    int eh = 0, ew = 0;
    for (int k = 0; k < 31; ++k) {
      eh = std::max(eh, std::abs(t31.at(0, k).dh));
      ew = std::max(ew, std::abs(t31.at(0, k).dw));
    }
    EXPECT_EQ(eh, r.extent_h) << "n=" << r.n;
    EXPECT_EQ(ew, r.extent_w) << "n=" << r.n;
  }
}

TEST(TruncRuleTest, ThetaPlusPiReversesTheTaps) {
  for (int n = 0; n < 8; ++n) {
    const Offsets a = Taps(ModelAngle(n), 15, TapRule::kTrunc);
    const Offsets b = Taps(ModelAngle(n) + kPi, 15, TapRule::kTrunc);
    const std::set<std::pair<int, int>> pixels_a(a.begin(), a.end());
    const std::set<std::pair<int, int>> pixels_b(b.begin(), b.end());
    EXPECT_EQ(pixels_a, pixels_b) << "n=" << n;
  }
}

TEST(LineRuleTest, KDistinctPixelsWithExtentHalfKOnTheDominantAxis) {
  for (int k : {3, 7, 13, 31}) {
    for (int i = 0; i < 64; ++i) {
      const double theta = -kPi + 2 * kPi * i / 64.0 + 0.013;
      const OrientedTapTable t =
          BuildOrientedTapTable({theta}, k, TapRule::kLine, 1);
      EXPECT_EQ(CountDistinctTaps(t, 0), k) << "theta=" << theta << " K=" << k;
      const bool horizontal =
          std::fabs(std::cos(theta)) >= std::fabs(std::sin(theta));
      int extent = 0;
      for (int j = 0; j < k; ++j) {
        const TapOffset o = t.at(0, j);
        extent = std::max(extent, std::abs(horizontal ? o.dw : o.dh));
        // Every tap stays within half a pixel of the ideal line through the
        // centre.
        const double distance =
            std::fabs(o.dw * std::sin(theta) + o.dh * std::cos(theta));
        const double slope =
            std::max(std::fabs(std::cos(theta)), std::fabs(std::sin(theta)));
        EXPECT_LE(distance, 0.5 * slope + 1e-9)
            << "theta=" << theta << " tap " << j;
      }
      EXPECT_EQ(extent, k / 2) << "theta=" << theta;
      EXPECT_EQ(t.at(0, k / 2).dh, 0);
      EXPECT_EQ(t.at(0, k / 2).dw, 0);
    }
  }
}

TEST(LineRuleTest, AxisAnglesMatchTrunc) {
  for (int n : {0, 4}) {
    EXPECT_EQ(Taps(ModelAngle(n), 9, TapRule::kLine),
              Taps(ModelAngle(n), 9, TapRule::kTrunc));
  }
  // 45 degrees: the exact diagonal (the trunc rule collapses it to 5 pixels at
  // K = 7).
  EXPECT_EQ(
      Taps(kPi / 4, 7, TapRule::kLine),
      (Offsets{{3, -3}, {2, -2}, {1, -1}, {0, 0}, {-1, 1}, {-2, 2}, {-3, 3}}));
}

TEST(TapTableTest, DilationScalesOffsets) {
  const Offsets plain = Taps(ModelAngle(1), 7, TapRule::kTrunc, 1);
  const Offsets dilated = Taps(ModelAngle(1), 7, TapRule::kTrunc, 3);
  for (size_t i = 0; i < plain.size(); ++i) {
    EXPECT_EQ(dilated[i].first, 3 * plain[i].first);
    EXPECT_EQ(dilated[i].second, 3 * plain[i].second);
  }
}

}  // namespace
}  // namespace tapconv
