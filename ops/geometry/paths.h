#ifndef TAPCONV_OPS_GEOMETRY_PATHS_H_
#define TAPCONV_OPS_GEOMETRY_PATHS_H_

// Space-filling paths over an H x W image, as permutations of its pixels, and
// path shifting. A path is perm[l] = r*W + c: the pixel visited at step l.
// docs/ops.md ("Paths").

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace tapconv {

enum class Curve : uint8_t {
  kRaster,   // upstream 'r': rows top to bottom, each row right to left
             // (mirrored row-major)
  kRow,      // row-major: each row left to right
  kSnake,    // boustrophedon: even rows left to right, odd rows right to left
  kColumn,   // column-major: columns left to right, each top to bottom
  kHilbert,  // generalised Hilbert curve ("gilbert") for any H x W; upstream
             // 'g'
  kZOrder,   // Morton order mirrored left-right, filtered from a power-of-two
             // canvas; 'z'
};

// Path shifting (upstream config [curve, nPad, (i, j), rotate]): the curve is
// built on a larger canvas, the H x W window at canvas offset (offset_row,
// offset_col) is kept in visiting order, then the path is rotated clockwise.
//   Canvas: (H + pad) x (W + pad); for kZOrder the smallest power-of-two square
//   whose side is at least max(H, W) + pad. Rotation (degrees clockwise, R =
//   H-1, C = W-1): 90: (r,c) -> (R-c, r); 180: (R-r, C-c); 270: (c, C-r). 90
//   and 270 need a square image.
struct PathSpec {
  Curve curve = Curve::kHilbert;
  int64_t pad = 0;
  int64_t offset_row = 0;  // 0 <= offset_row <= pad
  int64_t offset_col = 0;  // 0 <= offset_col <= pad
  int rotation = 0;        // 0, 90, 180 or 270
};

// Largest H * W a path may have: every index fits an int32 permutation tensor.
inline constexpr int64_t kMaxPathPixels = (int64_t{1} << 31) - 1;
// Largest canvas side (H + pad, W + pad, or the Z-order square): canvas
// coordinates and Morton codes stay well inside int64.
inline constexpr int64_t kMaxCanvasSide = int64_t{1} << 30;

// OK iff BuildPath(height, width, spec) can build the path; else
// InvalidArgument naming the field ("height", "width", "curve", "pad",
// "offset_row", "offset_col", "rotation").
absl::Status ValidatePathSpec(int64_t height, int64_t width,
                              const PathSpec& spec);

// The path over an H x W image; InvalidArgument naming the field on a bad spec.
// Cost O(H*W log(H*W)), independent of pad.
absl::StatusOr<std::vector<int64_t>> BuildPath(int64_t height, int64_t width,
                                               const PathSpec& spec);

// The curve's visiting order of a whole rows x cols canvas: BuildPath with no
// shift and no rotation (Z-order is filtered from the enclosing power-of-two
// square). Empty if the size is invalid (rows or cols < 1, or more than
// kMaxPathPixels pixels).
std::vector<int64_t> CurveOrder(Curve curve, int64_t rows, int64_t cols);

// inv[perm[l]] = l. For a perm that is not a permutation of [0, perm.size()),
// entries out of range are ignored and pixels never visited get -1; use
// CheckPermutation first.
std::vector<int64_t> InvertPermutation(absl::Span<const int64_t> perm);

// OK iff perm is a permutation of [0, n); else InvalidArgument naming `what`,
// with the first offending position.
absl::Status CheckPermutation(absl::Span<const int64_t> perm, int64_t n,
                              absl::string_view what);

// Parses the names used by the tools and the Python API: "raster", "row",
// "snake", "column", "hilbert" (also "gilbert"), "zorder" (also "z-order",
// "morton"), and upstream's one-letter 'r', 'g', 'z'. InvalidArgument naming
// "curve" otherwise.
absl::StatusOr<Curve> ParseCurve(absl::string_view name);
// The canonical name: "raster", "row", "snake", "column", "hilbert", "zorder".
std::string CurveName(Curve curve);

}  // namespace tapconv

#endif  // TAPCONV_OPS_GEOMETRY_PATHS_H_
