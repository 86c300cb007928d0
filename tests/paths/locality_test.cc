// Locality measure: the research note's verified totals and coverages (they
// match the numbers recorded in upstream's search.py), raster's closed form,
// and a naive O((HW)^2) recount.

#include "ops/geometry/locality.h"

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "ops/geometry/paths.h"

namespace tapconv {
namespace {

std::vector<int64_t> Build(int64_t n, Curve curve, int64_t pad = 0,
                           int64_t i = 0, int64_t j = 0, int rotation = 0) {
  absl::StatusOr<std::vector<int64_t>> path =
      BuildPath(n, n, PathSpec{curve, pad, i, j, rotation});
  EXPECT_TRUE(path.ok()) << path.status();
  return path.ok() ? *path : std::vector<int64_t>{};
}

int64_t Cost(const std::vector<int64_t>& path, int64_t n) {
  absl::StatusOr<int64_t> cost = LocalityCost(path, n, n);
  EXPECT_TRUE(cost.ok()) << cost.status();
  return cost.value_or(-1);
}

int64_t Covered(const std::vector<int64_t>& path, int64_t n) {
  absl::StatusOr<std::vector<bool>> covered = CoveredVsRaster(path, n, n);
  EXPECT_TRUE(covered.ok()) << covered.status();
  int64_t count = 0;
  for (bool b : covered.value_or(std::vector<bool>{})) count += b;
  return count;
}

int64_t Union(const std::vector<std::vector<int64_t>>& paths, int64_t n) {
  absl::StatusOr<int64_t> count = UnionCoverage(paths, n, n);
  EXPECT_TRUE(count.ok()) << count.status();
  return count.value_or(-1);
}

TEST(LocalityVectors, Unshifted32) {
  EXPECT_EQ(Cost(Build(32, Curve::kRaster), 32), 188480);
  EXPECT_EQ(Cost(Build(32, Curve::kHilbert), 32), 215640);
  EXPECT_EQ(Cost(Build(32, Curve::kZOrder), 32), 180944);
  EXPECT_EQ(Covered(Build(32, Curve::kHilbert), 32), 810);
  EXPECT_EQ(Covered(Build(32, Curve::kZOrder), 32), 764);
  EXPECT_EQ(Covered(Build(32, Curve::kRaster), 32), 0);
}

TEST(LocalityVectors, MainPyHilbertSet32) {
  const std::vector<std::vector<int64_t>> set = {
      Build(32, Curve::kHilbert, 0, 0, 0, 0),
      Build(32, Curve::kHilbert, 24, 14, 1, 180),
      Build(32, Curve::kHilbert, 18, 7, 0, 270)};
  EXPECT_EQ(Cost(set[0], 32), 215640);
  EXPECT_EQ(Cost(set[1], 32), 233576);
  EXPECT_EQ(Cost(set[2], 32), 236950);
  EXPECT_EQ(Cost(set[0], 32) + Cost(set[1], 32) + Cost(set[2], 32), 686166);
  EXPECT_EQ(Union(set, 32), 1024);
}

TEST(LocalityVectors, MainPyZSet32) {
  const std::vector<std::vector<int64_t>> set = {
      Build(32, Curve::kZOrder, 32, 16, 26, 180),
      Build(32, Curve::kZOrder, 32, 14, 16, 0),
      Build(32, Curve::kZOrder, 32, 12, 20, 0)};
  EXPECT_EQ(Cost(set[0], 32), 190232);
  EXPECT_EQ(Cost(set[1], 32), 187896);
  EXPECT_EQ(Cost(set[2], 32), 198860);
  EXPECT_EQ(Union(set, 32), 1024);
}

TEST(LocalityVectors, Unshifted64) {
  EXPECT_EQ(Cost(Build(64, Curve::kRaster), 64), 1540224);
  EXPECT_EQ(Cost(Build(64, Curve::kHilbert), 64), 1803864);
  EXPECT_EQ(Cost(Build(64, Curve::kZOrder), 64), 1499664);
  EXPECT_EQ(Covered(Build(64, Curve::kHilbert), 64), 3316);
  EXPECT_EQ(Covered(Build(64, Curve::kZOrder), 64), 3332);
}

TEST(LocalityVectors, MainPySets64) {
  const std::vector<std::vector<int64_t>> g = {
      Build(64, Curve::kHilbert, 0, 0, 0, 0),
      Build(64, Curve::kHilbert, 7, 7, 0, 180),
      Build(64, Curve::kHilbert, 40, 13, 1, 0)};
  EXPECT_EQ(Cost(g[0], 64) + Cost(g[1], 64) + Cost(g[2], 64), 5626494);
  EXPECT_EQ(Union(g, 64), 4096);
  const std::vector<std::vector<int64_t>> z = {
      Build(64, Curve::kZOrder, 64, 36, 32, 270),
      Build(64, Curve::kZOrder, 64, 36, 34, 90),
      Build(64, Curve::kZOrder, 64, 28, 32, 0)};
  EXPECT_EQ(Cost(z[0], 64) + Cost(z[1], 64) + Cost(z[2], 64), 4771756);
  EXPECT_EQ(Union(z, 64), 4096);
}

TEST(Locality, RasterInteriorIsSixWPlusTwo) {
  for (int64_t h : {3, 5, 8}) {
    for (int64_t w : {3, 4, 9, 32}) {
      absl::StatusOr<std::vector<int64_t>> d =
          NeighbourDistances(CurveOrder(Curve::kRaster, h, w), h, w);
      ASSERT_TRUE(d.ok()) << d.status();
      for (int64_t r = 1; r + 1 < h; ++r) {
        for (int64_t c = 1; c + 1 < w; ++c)
          EXPECT_EQ((*d)[r * w + c], 6 * w + 2);
      }
    }
  }
}

// Upstream's definition, literally: pi found by linear search for every
// neighbour.
std::vector<int64_t> NaiveDistances(const std::vector<int64_t>& path, int64_t h,
                                    int64_t w) {
  auto index_of = [&](int64_t q) {
    for (size_t l = 0; l < path.size(); ++l) {
      if (path[l] == q) return static_cast<int64_t>(l);
    }
    return int64_t{-1};
  };
  std::vector<int64_t> d(h * w, 0);
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) {
      const int64_t neighbours[8][2] = {
          {r - 1, c - 1}, {r - 1, c},     {r - 1, c + 1}, {r, c - 1},
          {r, c + 1},     {r + 1, c - 1}, {r + 1, c},     {r + 1, c + 1}};
      for (const auto& n : neighbours) {
        if (n[0] < 0 || n[0] >= h || n[1] < 0 || n[1] >= w) continue;
        d[r * w + c] +=
            std::llabs(index_of(r * w + c) - index_of(n[0] * w + n[1]));
      }
    }
  }
  return d;
}

TEST(Locality, MatchesNaiveDefinition) {
  for (Curve curve :
       {Curve::kRaster, Curve::kSnake, Curve::kHilbert, Curve::kZOrder}) {
    for (auto [h, w] :
         {std::pair<int64_t, int64_t>{1, 1}, {1, 6}, {5, 1}, {7, 5}, {6, 9}}) {
      absl::StatusOr<std::vector<int64_t>> path =
          BuildPath(h, w, PathSpec{curve, 3, 1, 2, 0});
      ASSERT_TRUE(path.ok());
      absl::StatusOr<std::vector<int64_t>> d = NeighbourDistances(*path, h, w);
      ASSERT_TRUE(d.ok());
      EXPECT_EQ(*d, NaiveDistances(*path, h, w))
          << CurveName(curve) << " " << h << "x" << w;
    }
  }
}

TEST(Locality, BadInputsAreNamed) {
  auto expect = [](const absl::Status& s, absl::string_view arg) {
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
    EXPECT_TRUE(absl::StartsWith(s.message(), std::string(arg) + ":")) << s;
  };
  const std::vector<int64_t> ok = {0, 1, 2, 3};
  expect(NeighbourDistances(ok, 0, 4).status(), "height");
  expect(NeighbourDistances(ok, 4, -1).status(), "width");
  expect(NeighbourDistances(ok, 2, 3).status(), "perm");
  expect(LocalityCost(std::vector<int64_t>{0, 1, 1, 3}, 2, 2).status(), "perm");
  expect(CoveredVsRaster(std::vector<int64_t>{0, 1, 9, 3}, 2, 2).status(),
         "perm");
  expect(UnionCoverage({ok, {0, 0, 0, 0}}, 2, 2).status(), "perm");
  expect(UnionCoverage({ok}, 2, 0).status(), "width");
}

}  // namespace
}  // namespace tapconv
