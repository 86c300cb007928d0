#ifndef TAPCONV_OPS_GEOMETRY_PATHS_H_
#define TAPCONV_OPS_GEOMETRY_PATHS_H_

// Space-filling paths over an H x W image, as permutations of its pixels, and path shifting.
// A path is perm[l] = r*W + c: the pixel visited at step l. docs/ops.md#paths.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace tapconv {

enum class Curve : uint8_t {
  kRaster,   // upstream 'r': rows top to bottom, each row right to left (mirrored row-major)
  kRow,      // row-major: each row left to right
  kSnake,    // boustrophedon: even rows left to right, odd rows right to left
  kColumn,   // column-major: columns left to right, each top to bottom
  kHilbert,  // generalised Hilbert curve ("gilbert") for any H x W; upstream 'g'
  kZOrder,   // Morton order mirrored left-right, filtered from a power-of-two canvas; 'z'
};

// Path shifting (upstream config [curve, nPad, (i, j), rotate]): the curve is built on a
// larger canvas, the H x W window at canvas offset (offset_row, offset_col) is kept in visiting
// order, then the path is rotated clockwise.
//   Canvas: (H + pad) x (W + pad); for kZOrder the smallest power-of-two square holding it.
//   Rotation (degrees clockwise, R = H-1, C = W-1): 90: (r,c) -> (R-c, r); 180: (R-r, C-c);
//   270: (c, C-r). 90 and 270 need a square image.
struct PathSpec {
  Curve curve = Curve::kHilbert;
  int64_t pad = 0;
  int64_t offset_row = 0;  // 0 <= offset_row <= pad
  int64_t offset_col = 0;  // 0 <= offset_col <= pad
  int rotation = 0;        // 0, 90, 180 or 270
};

// The path over an H x W image; InvalidArgument naming the field on a bad spec.
absl::StatusOr<std::vector<int64_t>> BuildPath(int64_t height, int64_t width,
                                               const PathSpec& spec);

// The curve's visiting order of a rows x cols canvas, as (row, col) pairs flattened
// row*cols + col. No shift, no rotation. Z-order needs a power-of-two square canvas.
std::vector<int64_t> CurveOrder(Curve curve, int64_t rows, int64_t cols);

// inv[perm[l]] = l. perm must be a permutation of [0, perm.size()).
std::vector<int64_t> InvertPermutation(absl::Span<const int64_t> perm);

// OK iff perm is a permutation of [0, n); else InvalidArgument naming `what`.
absl::Status CheckPermutation(absl::Span<const int64_t> perm, int64_t n, const std::string& what);

// Parses the names used by the tools and the Python API: "raster", "row", "snake", "column",
// "hilbert", "zorder" (and upstream's one-letter 'r', 'g', 'z').
absl::StatusOr<Curve> ParseCurve(const std::string& name);
std::string CurveName(Curve curve);

}  // namespace tapconv

#endif  // TAPCONV_OPS_GEOMETRY_PATHS_H_
