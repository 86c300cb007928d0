// Curves, path shifting and rotation: test vectors from
// shared/research/pathconv.md (verified against upstream's generator.py), the
// closed forms of the simple orders, an independent index-to-coordinate form of
// gilbert, and naive canvas filtering.

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/geometry/paths.h"

namespace tapconv {
namespace {

using Pixel = std::pair<int64_t, int64_t>;

std::vector<int64_t> Build(int64_t h, int64_t w, Curve curve, int64_t pad = 0,
                           int64_t i = 0, int64_t j = 0, int rotation = 0) {
  absl::StatusOr<std::vector<int64_t>> path =
      BuildPath(h, w, PathSpec{curve, pad, i, j, rotation});
  EXPECT_TRUE(path.ok()) << path.status();
  return path.ok() ? *path : std::vector<int64_t>{};
}

std::vector<Pixel> Pixels(const std::vector<int64_t>& path, int64_t w) {
  std::vector<Pixel> out;
  for (int64_t q : path) out.emplace_back(q / w, q % w);
  return out;
}

struct StepStats {
  int64_t four = 0, diagonal = 0, jumps = 0, longest_jump_l1 = 0;
};

// Classifies consecutive steps: 4-neighbour moves, diagonal moves, and jumps
// (longer than one 8-neighbour move).
StepStats Steps(const std::vector<int64_t>& path, int64_t w) {
  StepStats s;
  for (size_t l = 1; l < path.size(); ++l) {
    const int64_t dr = std::llabs(path[l] / w - path[l - 1] / w);
    const int64_t dc = std::llabs(path[l] % w - path[l - 1] % w);
    if (dr + dc == 1) {
      ++s.four;
    } else if (dr == 1 && dc == 1) {
      ++s.diagonal;
    } else {
      ++s.jumps;
      s.longest_jump_l1 = std::max(s.longest_jump_l1, dr + dc);
    }
  }
  return s;
}

bool IsPermutation(const std::vector<int64_t>& path, int64_t n) {
  std::vector<int64_t> sorted = path;
  std::sort(sorted.begin(), sorted.end());
  if (static_cast<int64_t>(sorted.size()) != n) return false;
  for (int64_t i = 0; i < n; ++i) {
    if (sorted[i] != i) return false;
  }
  return true;
}

// gilbert in its index -> coordinate form (one descent per index), written
// independently of the generator form the library uses. Python floor division
// throughout.
int64_t PyFloorDiv2(int64_t a) { return a >= 0 ? a / 2 : -((1 - a) / 2); }
int64_t Sgn(int64_t a) { return a > 0 ? 1 : (a < 0 ? -1 : 0); }

Pixel GilbertD2XY(int64_t dst, int64_t cur, int64_t x, int64_t y, int64_t ax,
                  int64_t ay, int64_t bx, int64_t by) {
  for (;;) {
    const int64_t w = std::llabs(ax + ay), h = std::llabs(bx + by);
    const int64_t dax = Sgn(ax), day = Sgn(ay), dbx = Sgn(bx), dby = Sgn(by);
    const int64_t di = dst - cur;
    if (h == 1) return {x + dax * di, y + day * di};
    if (w == 1) return {x + dbx * di, y + dby * di};
    int64_t ax2 = PyFloorDiv2(ax), ay2 = PyFloorDiv2(ay);
    int64_t bx2 = PyFloorDiv2(bx), by2 = PyFloorDiv2(by);
    const int64_t w2 = std::llabs(ax2 + ay2), h2 = std::llabs(bx2 + by2);
    if (2 * w > 3 * h) {
      if ((w2 % 2) && w > 2) ax2 += dax, ay2 += day;
      const int64_t next = cur + std::llabs((ax2 + ay2) * (bx + by));
      if (dst < next) {
        ax = ax2, ay = ay2;
        continue;
      }
      cur = next;
      x += ax2, y += ay2, ax -= ax2, ay -= ay2;
      continue;
    }
    if ((h2 % 2) && h > 2) bx2 += dbx, by2 += dby;
    int64_t next = cur + std::llabs((bx2 + by2) * (ax2 + ay2));
    if (dst < next) {
      const int64_t nax = bx2, nay = by2;
      bx = ax2, by = ay2, ax = nax, ay = nay;
      continue;
    }
    cur = next;
    next = cur + std::llabs((ax + ay) * ((bx - bx2) + (by - by2)));
    if (dst < next) {
      x += bx2, y += by2, bx -= bx2, by -= by2;
      continue;
    }
    cur = next;
    const int64_t nx = x + (ax - dax) + (bx2 - dbx),
                  ny = y + (ay - day) + (by2 - dby);
    const int64_t nax = -bx2, nay = -by2, nbx = -(ax - ax2), nby = -(ay - ay2);
    x = nx, y = ny, ax = nax, ay = nay, bx = nbx, by = nby;
  }
}

// Upstream: pixel idx of an H x W Hilbert path is GilbertD2XY(idx, H, W) read
// as (row, col).
std::vector<int64_t> NaiveHilbert(int64_t rows, int64_t cols) {
  std::vector<int64_t> out;
  for (int64_t idx = 0; idx < rows * cols; ++idx) {
    const Pixel p = rows >= cols ? GilbertD2XY(idx, 0, 0, 0, rows, 0, 0, cols)
                                 : GilbertD2XY(idx, 0, 0, 0, 0, cols, rows, 0);
    out.push_back(p.first * cols + p.second);
  }
  return out;
}

// Upstream's ZCurve on an n x n canvas: de-interleave i (x = even bits, y = odd
// bits), pixel (y, n - 1 - x).
std::vector<Pixel> NaiveZCanvas(int64_t n) {
  std::vector<Pixel> out;
  for (int64_t i = 0; i < n * n; ++i) {
    int64_t x = 0, y = 0;
    for (int b = 0; b < 32; ++b) {
      x |= ((i >> (2 * b)) & 1) << b;
      y |= ((i >> (2 * b + 1)) & 1) << b;
    }
    out.emplace_back(y, n - 1 - x);
  }
  return out;
}

// Keeps the canvas pixels inside [i, i+h) x [j, j+w) in order, window-relative,
// flattened.
std::vector<int64_t> Crop(const std::vector<Pixel>& canvas, int64_t h,
                          int64_t w, int64_t i, int64_t j) {
  std::vector<int64_t> out;
  for (const Pixel& p : canvas) {
    if (p.first >= i && p.first < i + h && p.second >= j && p.second < j + w) {
      out.push_back((p.first - i) * w + (p.second - j));
    }
  }
  return out;
}

constexpr Curve kAllCurves[] = {Curve::kRaster,  Curve::kRow,
                                Curve::kSnake,   Curve::kColumn,
                                Curve::kHilbert, Curve::kZOrder};

// ---------------------------------------------------------------------------------------------
// Test vectors (research §1, §7.6)

TEST(PathVectors, Hilbert32StartsAndEndsAsUpstream) {
  const std::vector<Pixel> p = Pixels(Build(32, 32, Curve::kHilbert), 32);
  const std::vector<Pixel> head = {{0, 0}, {0, 1}, {1, 1},
                                   {1, 0}, {2, 0}, {3, 0}};
  EXPECT_EQ(std::vector<Pixel>(p.begin(), p.begin() + 6), head);
  EXPECT_EQ(p.back(), Pixel(31, 0));
}

TEST(PathVectors, Z32StartsAtTopRightMirrored) {
  const std::vector<Pixel> p = Pixels(Build(32, 32, Curve::kZOrder), 32);
  const std::vector<Pixel> head = {{0, 31}, {0, 30}, {1, 31}, {1, 30}, {0, 29}};
  EXPECT_EQ(std::vector<Pixel>(p.begin(), p.begin() + 5), head);
}

TEST(PathVectors, RasterIsMirroredRowMajor) {
  const std::vector<Pixel> p = Pixels(Build(32, 32, Curve::kRaster), 32);
  EXPECT_EQ(p[0], Pixel(0, 31));
  EXPECT_EQ(p[1], Pixel(0, 30));
  EXPECT_EQ(p[31], Pixel(0, 0));
  EXPECT_EQ(p[32], Pixel(1, 31));
}

TEST(PathVectors, StartPoints) {
  EXPECT_EQ(Pixels(Build(32, 32, Curve::kRaster), 32)[0], Pixel(0, 31));
  EXPECT_EQ(Pixels(Build(17, 9, Curve::kRaster), 9)[0], Pixel(0, 8));
  EXPECT_EQ(Pixels(Build(32, 32, Curve::kZOrder), 32)[0], Pixel(0, 31));
  EXPECT_EQ(Pixels(Build(32, 32, Curve::kHilbert), 32)[0], Pixel(0, 0));
  EXPECT_EQ(Pixels(Build(32, 32, Curve::kHilbert, 24, 14, 1, 180), 32)[0],
            Pixel(31, 31));
  EXPECT_EQ(Pixels(Build(32, 32, Curve::kHilbert, 18, 7, 0, 270), 32)[0],
            Pixel(7, 31));
}

TEST(PathVectors, JumpCounts) {
  const StepStats plain = Steps(Build(32, 32, Curve::kHilbert), 32);
  EXPECT_EQ(plain.jumps, 0);
  EXPECT_EQ(plain.diagonal, 0);
  EXPECT_EQ(plain.four, 1023);

  const StepStats a = Steps(Build(32, 32, Curve::kHilbert, 24, 14, 1, 180), 32);
  EXPECT_EQ(a.jumps, 17);
  EXPECT_EQ(a.longest_jump_l1, 11);

  const StepStats b = Steps(Build(32, 32, Curve::kHilbert, 18, 7, 0, 270), 32);
  EXPECT_EQ(b.jumps, 10);
  EXPECT_EQ(b.longest_jump_l1, 13);

  // Z-order jumps by construction (research: 117-127 for the 32 x 32 Z paths).
  const StepStats z = Steps(Build(32, 32, Curve::kZOrder), 32);
  EXPECT_GE(z.jumps, 117);
  EXPECT_LE(z.jumps, 127);
}

// gilbert needs one diagonal step for some sizes. The research note's "18x21"
// is symmetric: the curve for (W, H) is the transpose of the curve for (H, W)
// when H != W, so both readings of the size give the same count.
TEST(PathVectors, GilbertDiagonalSteps) {
  const struct {
    int64_t h, w, diagonals;
  } cases[] = {{18, 21, 1}, {21, 18, 1}, {6, 9, 1}, {9, 6, 1},
               {7, 10, 0},  {10, 7, 0},  {5, 5, 0}, {224, 224, 0},
               {32, 32, 0}, {64, 64, 0}};
  for (const auto& c : cases) {
    const StepStats s = Steps(Build(c.h, c.w, Curve::kHilbert), c.w);
    EXPECT_EQ(s.diagonal, c.diagonals) << c.h << " x " << c.w;
    EXPECT_EQ(s.jumps, 0) << c.h << " x " << c.w;
  }
}

// ---------------------------------------------------------------------------------------------
// Every curve, many sizes

TEST(PathCurves, EveryCurveIsAPermutationOnManySizes) {
  for (Curve curve : kAllCurves) {
    for (int64_t h = 1; h <= 17; ++h) {
      for (int64_t w = 1; w <= 23; ++w) {
        const std::vector<int64_t> p = Build(h, w, curve);
        EXPECT_TRUE(IsPermutation(p, h * w))
            << CurveName(curve) << " " << h << " x " << w;
      }
    }
  }
}

TEST(PathCurves, SimpleOrdersFollowTheirClosedForms) {
  for (int64_t h : {1, 2, 5, 8}) {
    for (int64_t w : {1, 3, 6, 7}) {
      const std::vector<int64_t> raster = Build(h, w, Curve::kRaster);
      const std::vector<int64_t> row = Build(h, w, Curve::kRow);
      const std::vector<int64_t> snake = Build(h, w, Curve::kSnake);
      const std::vector<int64_t> column = Build(h, w, Curve::kColumn);
      for (int64_t l = 0; l < h * w; ++l) {
        const int64_t r = l / w, i = l % w;
        EXPECT_EQ(raster[l], r * w + (w - 1 - i));
        EXPECT_EQ(row[l], l);
        EXPECT_EQ(snake[l], r * w + (r % 2 == 0 ? i : w - 1 - i));
        EXPECT_EQ(column[l], (l % h) * w + l / h);
      }
    }
  }
}

TEST(PathCurves, HilbertMatchesIndexFormAndFloorDivision) {
  for (int64_t h = 1; h <= 17; ++h) {
    for (int64_t w = 1; w <= 23; ++w) {
      EXPECT_EQ(Build(h, w, Curve::kHilbert), NaiveHilbert(h, w))
          << h << " x " << w;
    }
  }
  for (auto [h, w] :
       {std::pair<int64_t, int64_t>{18, 21}, {37, 11}, {3, 40}, {33, 33}}) {
    EXPECT_EQ(Build(h, w, Curve::kHilbert), NaiveHilbert(h, w))
        << h << " x " << w;
  }
}

// Steps are 4-neighbour moves except at most one diagonal step, never a jump;
// where both sides are even, or the size is a power-of-two square, there is no
// diagonal at all.
TEST(PathCurves, HilbertStepsAreLocal) {
  for (int64_t h = 1; h <= 17; ++h) {
    for (int64_t w = 1; w <= 23; ++w) {
      const StepStats s = Steps(Build(h, w, Curve::kHilbert), w);
      EXPECT_EQ(s.jumps, 0) << h << " x " << w;
      EXPECT_LE(s.diagonal, 1) << h << " x " << w;
    }
  }
  for (int64_t n : {1, 2, 4, 8, 16, 128}) {
    EXPECT_EQ(Steps(Build(n, n, Curve::kHilbert), n).diagonal, 0) << n;
  }
}

TEST(PathCurves, HilbertOfSquarePowerOfTwoIsBlockRecursive) {
  // Aligned groups of 4^k consecutive steps are 2^k x 2^k squares.
  const int64_t n = 16;
  const std::vector<int64_t> p = Build(n, n, Curve::kHilbert);
  for (int64_t side : {2, 4, 8}) {
    for (int64_t g = 0; g < n * n; g += side * side) {
      int64_t rmin = n, rmax = -1, cmin = n, cmax = -1;
      for (int64_t l = g; l < g + side * side; ++l) {
        rmin = std::min(rmin, p[l] / n), rmax = std::max(rmax, p[l] / n);
        cmin = std::min(cmin, p[l] % n), cmax = std::max(cmax, p[l] % n);
      }
      EXPECT_EQ(rmax - rmin + 1, side);
      EXPECT_EQ(cmax - cmin + 1, side);
      EXPECT_EQ(rmin % side, 0);
      EXPECT_EQ(cmin % side, 0);
    }
  }
}

TEST(PathCurves, ZOrderMatchesUpstreamEnumerationOnPowerOfTwoCanvases) {
  for (int64_t n : {1, 2, 4, 8, 16, 32}) {
    EXPECT_EQ(Build(n, n, Curve::kZOrder), Crop(NaiveZCanvas(n), n, n, 0, 0))
        << n;
  }
  // Any other size: filtered from the enclosing power-of-two square.
  for (auto [h, w] :
       {std::pair<int64_t, int64_t>{1, 1}, {1, 7}, {7, 1}, {5, 9}, {12, 3}}) {
    const int64_t n = std::max(h, w) <= 8 ? 8 : 16;
    EXPECT_EQ(Build(h, w, Curve::kZOrder), Crop(NaiveZCanvas(n), h, w, 0, 0))
        << h << "x" << w;
  }
}

TEST(PathCurves, DegenerateSizes) {
  for (Curve curve : kAllCurves) {
    EXPECT_EQ(Build(1, 1, curve), std::vector<int64_t>{0}) << CurveName(curve);
  }
  // One row or column: the Hilbert curve walks it from the start.
  EXPECT_EQ(Build(1, 5, Curve::kHilbert),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Build(5, 1, Curve::kHilbert),
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Build(1, 4, Curve::kRaster), (std::vector<int64_t>{3, 2, 1, 0}));
  EXPECT_EQ(Build(4, 1, Curve::kColumn), (std::vector<int64_t>{0, 1, 2, 3}));
}

// ---------------------------------------------------------------------------------------------
// Shifting and rotation

TEST(PathShift, HilbertShiftIsTheCroppedCanvasCurve) {
  for (auto [h, w] : {std::pair<int64_t, int64_t>{32, 32}, {9, 13}, {6, 5}}) {
    for (int64_t pad : {1, 3, 7, 24}) {
      for (auto [i, j] : {std::pair<int64_t, int64_t>{0, 0},
                          {0, pad},
                          {pad, 0},
                          {pad / 2, 1}}) {
        const std::vector<Pixel> canvas =
            Pixels(NaiveHilbert(h + pad, w + pad), w + pad);
        EXPECT_EQ(Build(h, w, Curve::kHilbert, pad, i, j),
                  Crop(canvas, h, w, i, j))
            << h << "x" << w << " pad " << pad << " at " << i << "," << j;
      }
    }
  }
}

TEST(PathShift, ZOrderShiftUsesThePowerOfTwoCanvas) {
  // Upstream's 32 x 32 'z' paths: pad 32 gives the 64 x 64 canvas.
  for (auto [i, j] :
       {std::pair<int64_t, int64_t>{16, 26}, {14, 16}, {12, 20}, {0, 32}}) {
    EXPECT_EQ(Build(32, 32, Curve::kZOrder, 32, i, j),
              Crop(NaiveZCanvas(64), 32, 32, i, j));
  }
  // A 5 x 9 image with pad 4: max(5, 9) + 4 = 13 -> a 16 x 16 canvas.
  EXPECT_EQ(Build(5, 9, Curve::kZOrder, 4, 3, 2),
            Crop(NaiveZCanvas(16), 5, 9, 3, 2));
}

TEST(PathShift, LinearOrdersIgnoreShiftsExceptSnakeParity) {
  for (Curve curve : {Curve::kRaster, Curve::kRow, Curve::kColumn}) {
    EXPECT_EQ(Build(5, 7, curve, 4, 3, 2), Build(5, 7, curve))
        << CurveName(curve);
  }
  EXPECT_EQ(Build(5, 7, Curve::kSnake, 4, 2, 3), Build(5, 7, Curve::kSnake));
  // An odd row offset starts the window on a right-to-left canvas row.
  const std::vector<int64_t> odd = Build(5, 7, Curve::kSnake, 4, 1, 0);
  EXPECT_EQ(odd[0], 6);
  EXPECT_EQ(odd[7], 7);
}

TEST(PathShift, RotationFormulas) {
  for (Curve curve : kAllCurves) {
    for (int64_t n : {1, 4, 7}) {
      const std::vector<int64_t> base = Build(n, n, curve, 3, 1, 2);
      const int64_t m = n - 1;
      const std::vector<int64_t> r90 = Build(n, n, curve, 3, 1, 2, 90);
      const std::vector<int64_t> r180 = Build(n, n, curve, 3, 1, 2, 180);
      const std::vector<int64_t> r270 = Build(n, n, curve, 3, 1, 2, 270);
      for (size_t l = 0; l < base.size(); ++l) {
        const int64_t r = base[l] / n, c = base[l] % n;
        EXPECT_EQ(r90[l], (m - c) * n + r);
        EXPECT_EQ(r180[l], (m - r) * n + (m - c));
        EXPECT_EQ(r270[l], c * n + (m - r));
      }
    }
  }
  // 180 degrees on a rectangle.
  const std::vector<int64_t> base = Build(4, 6, Curve::kHilbert);
  const std::vector<int64_t> r180 = Build(4, 6, Curve::kHilbert, 0, 0, 0, 180);
  for (size_t l = 0; l < base.size(); ++l)
    EXPECT_EQ(r180[l], 4 * 6 - 1 - base[l]);
}

TEST(PathShift, ShiftedPathsArePermutations) {
  for (Curve curve : kAllCurves) {
    for (auto [h, w] :
         {std::pair<int64_t, int64_t>{1, 1}, {1, 6}, {6, 1}, {7, 7}, {8, 5}}) {
      for (int64_t pad : {0, 1, 5, 16}) {
        for (int rot : {0, 180}) {
          const std::vector<int64_t> p =
              Build(h, w, curve, pad, pad, pad / 3, rot);
          EXPECT_TRUE(IsPermutation(p, h * w))
              << CurveName(curve) << " " << h << "x" << w << " pad " << pad
              << " rot " << rot;
        }
      }
    }
  }
}

TEST(PathShift, HugePadCostsOnlyTheWindow) {
  // A 2^30-side canvas is never materialised: only the sub-rectangles meeting
  // the window are walked.
  const int64_t pad = kMaxCanvasSide - 8;
  for (Curve curve : {Curve::kHilbert, Curve::kZOrder}) {
    const std::vector<int64_t> p =
        Build(8, 8, curve, pad, pad / 2 + 3, pad / 3);
    EXPECT_TRUE(IsPermutation(p, 64)) << CurveName(curve);
  }
}

// ---------------------------------------------------------------------------------------------
// Bad specs, permutations, names

void ExpectSpecError(int64_t h, int64_t w, const PathSpec& spec,
                     absl::string_view field) {
  const absl::StatusOr<std::vector<int64_t>> path = BuildPath(h, w, spec);
  ASSERT_FALSE(path.ok()) << field;
  EXPECT_EQ(path.status().code(), absl::StatusCode::kInvalidArgument)
      << path.status();
  EXPECT_TRUE(
      absl::StartsWith(path.status().message(), absl::StrCat(field, ":")))
      << path.status();
}

TEST(PathSpecValidation, EveryFieldIsNamed) {
  ExpectSpecError(0, 4, {}, "height");
  ExpectSpecError(-3, 4, {}, "height");
  ExpectSpecError(4, 0, {}, "width");
  ExpectSpecError(kMaxCanvasSide + 1, 1, {}, "height");
  ExpectSpecError(1 << 16, 1 << 16, {}, "height");  // 2^32 pixels
  ExpectSpecError(4, 4, {static_cast<Curve>(17)}, "curve");
  ExpectSpecError(4, 4, {Curve::kHilbert, -1}, "pad");
  ExpectSpecError(4, 4, {Curve::kHilbert, kMaxCanvasSide}, "pad");
  ExpectSpecError(4, 4, {Curve::kHilbert, 2, 3, 0}, "offset_row");
  ExpectSpecError(4, 4, {Curve::kHilbert, 2, -1, 0}, "offset_row");
  ExpectSpecError(4, 4, {Curve::kZOrder, 2, 0, 3}, "offset_col");
  ExpectSpecError(4, 4, {Curve::kHilbert, 0, 1, 0}, "offset_row");
  ExpectSpecError(4, 4, {Curve::kHilbert, 0, 0, 0, 45}, "rotation");
  ExpectSpecError(4, 4, {Curve::kHilbert, 0, 0, 0, -90}, "rotation");
  ExpectSpecError(4, 5, {Curve::kHilbert, 0, 0, 0, 90}, "rotation");
  ExpectSpecError(4, 5, {Curve::kRaster, 0, 0, 0, 270}, "rotation");
  EXPECT_TRUE(BuildPath(4, 5, {Curve::kRaster, 0, 0, 0, 180}).ok());
  EXPECT_TRUE(CurveOrder(Curve::kHilbert, 0, 3).empty());
}

TEST(Permutations, InvertAndCheck) {
  const std::vector<int64_t> perm = {2, 0, 3, 1};
  EXPECT_EQ(InvertPermutation(perm), (std::vector<int64_t>{1, 3, 0, 2}));
  EXPECT_TRUE(CheckPermutation(perm, 4, "perm").ok());
  for (const auto& bad : std::vector<std::vector<int64_t>>{
           {2, 0, 3}, {2, 0, 4, 1}, {2, 0, -1, 1}, {2, 0, 2, 1}}) {
    const absl::Status s = CheckPermutation(bad, 4, "inv");
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(s.message(), "inv:")) << s;
  }
  // Out-of-range entries are ignored, unvisited pixels read -1: no
  // out-of-bounds write.
  EXPECT_EQ(InvertPermutation(std::vector<int64_t>{7, 0, -2}),
            (std::vector<int64_t>{1, -1, -1}));
  for (Curve curve : kAllCurves) {
    const std::vector<int64_t> p = Build(9, 11, curve, 5, 2, 4);
    const std::vector<int64_t> inv = InvertPermutation(p);
    for (size_t l = 0; l < p.size(); ++l)
      EXPECT_EQ(inv[p[l]], static_cast<int64_t>(l));
  }
}

TEST(CurveNames, ParseAndName) {
  for (Curve curve : kAllCurves) {
    absl::StatusOr<Curve> parsed = ParseCurve(CurveName(curve));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, curve);
  }
  EXPECT_EQ(*ParseCurve("r"), Curve::kRaster);
  EXPECT_EQ(*ParseCurve("g"), Curve::kHilbert);
  EXPECT_EQ(*ParseCurve("z"), Curve::kZOrder);
  EXPECT_EQ(*ParseCurve("Hilbert"), Curve::kHilbert);
  EXPECT_EQ(*ParseCurve("morton"), Curve::kZOrder);
  const absl::Status bad = ParseCurve("peano").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(bad.message(), "curve:")) << bad;
}

}  // namespace
}  // namespace tapconv
