#include "ops/geometry/paths.h"

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace tapconv {
namespace {

absl::Status SpecError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

// The H x W window of a canvas that the path keeps: canvas rows [row0, row0 +
// rows), columns [col0, col0 + cols). Emitted pixels are window-relative,
// flattened r * cols + c.
struct Window {
  int64_t row0, col0, rows, cols;

  bool Contains(int64_t r, int64_t c) const {
    return r >= row0 && r < row0 + rows && c >= col0 && c < col0 + cols;
  }
  int64_t Flat(int64_t r, int64_t c) const {
    return (r - row0) * cols + (c - col0);
  }
};

// Python's a // 2: the split points of gilbert depend on flooring negative
// extents.
int64_t FloorHalf(int64_t a) { return a >= 0 ? a / 2 : -((-a + 1) / 2); }

int64_t Sign(int64_t a) { return (a > 0) - (a < 0); }

// Steps i in [0, n) with lo <= start + d * i <= hi, as [first, last) (d in {-1,
// 0, 1}).
std::pair<int64_t, int64_t> StepsInside(int64_t start, int64_t d, int64_t n,
                                        int64_t lo, int64_t hi) {
  int64_t first = 0, last = n;
  if (d == 0) {
    if (start < lo || start > hi) last = 0;
  } else if (d > 0) {
    first = std::max<int64_t>(first, lo - start);
    last = std::min<int64_t>(last, hi - start + 1);
  } else {
    first = std::max<int64_t>(first, start - hi);
    last = std::min<int64_t>(last, start - lo + 1);
  }
  return {first, std::max(first, last)};
}

// The generalised Hilbert curve (gilbert) of Jakub Cerveny, in its recursive
// generator form, emitting only the cells inside `window`. The rectangle being
// traversed starts at cell (x, y) and spans the major vector (ax, ay) and the
// minor vector (bx, by), one of whose components is zero each. Sub-rectangles
// that miss the window are skipped whole, so the cost follows the window, not
// the canvas.
class GilbertWalker {
 public:
  GilbertWalker(const Window& window, std::vector<int64_t>* out)
      : window_(window), out_(out) {}

  void Walk(int64_t x, int64_t y, int64_t ax, int64_t ay, int64_t bx,
            int64_t by) {
    const int64_t w = std::abs(ax + ay), h = std::abs(bx + by);
    const int64_t dax = Sign(ax), day = Sign(ay), dbx = Sign(bx),
                  dby = Sign(by);
    if (!Intersects(x, y, x + (w - 1) * dax + (h - 1) * dbx,
                    y + (w - 1) * day + (h - 1) * dby)) {
      return;
    }
    if (h == 1) return Line(x, y, dax, day, w);
    if (w == 1) return Line(x, y, dbx, dby, h);

    int64_t ax2 = FloorHalf(ax), ay2 = FloorHalf(ay);
    int64_t bx2 = FloorHalf(bx), by2 = FloorHalf(by);
    const int64_t w2 = std::abs(ax2 + ay2), h2 = std::abs(bx2 + by2);

    if (2 * w > 3 * h) {
      // Long rectangle: two halves along the major axis, the first of even
      // length if possible.
      if (w2 % 2 != 0 && w > 2) ax2 += dax, ay2 += day;
      Walk(x, y, ax2, ay2, bx, by);
      Walk(x + ax2, y + ay2, ax - ax2, ay - ay2, bx, by);
      return;
    }
    // Otherwise three parts: up the minor axis, across the whole major axis,
    // and back down.
    if (h2 % 2 != 0 && h > 2) bx2 += dbx, by2 += dby;
    Walk(x, y, bx2, by2, ax2, ay2);
    Walk(x + bx2, y + by2, ax, ay, bx - bx2, by - by2);
    Walk(x + (ax - dax) + (bx2 - dbx), y + (ay - day) + (by2 - dby), -bx2, -by2,
         -(ax - ax2), -(ay - ay2));
  }

 private:
  // Whether the box spanned by corners (x0, y0) and (x1, y1) meets the window.
  bool Intersects(int64_t x0, int64_t y0, int64_t x1, int64_t y1) const {
    const int64_t rlo = std::min(x0, x1), rhi = std::max(x0, x1);
    const int64_t clo = std::min(y0, y1), chi = std::max(y0, y1);
    return rhi >= window_.row0 && rlo < window_.row0 + window_.rows &&
           chi >= window_.col0 && clo < window_.col0 + window_.cols;
  }

  // n cells from (x, y) in unit direction (dx, dy), of which only those in the
  // window are kept.
  void Line(int64_t x, int64_t y, int64_t dx, int64_t dy, int64_t n) {
    const auto rows =
        StepsInside(x, dx, n, window_.row0, window_.row0 + window_.rows - 1);
    const auto cols =
        StepsInside(y, dy, n, window_.col0, window_.col0 + window_.cols - 1);
    const int64_t first = std::max(rows.first, cols.first);
    const int64_t last = std::min(rows.second, cols.second);
    for (int64_t i = first; i < last; ++i)
      out_->push_back(window_.Flat(x + dx * i, y + dy * i));
  }

  Window window_;
  std::vector<int64_t>* out_;
};

// Upstream builds gilbert with GilbertD2XY(idx, rows, cols) and reads the
// returned (x, y) as (row, col): the curve's "width" is the row count, so its
// major axis runs down the rows when rows >= cols. The curve always starts at
// (0, 0), which is also the endpoint upstream's DFS linearisation picks, so the
// visiting order is gilbert's own.
std::vector<int64_t> HilbertWindow(int64_t canvas_rows, int64_t canvas_cols,
                                   const Window& win) {
  std::vector<int64_t> out;
  out.reserve(win.rows * win.cols);
  GilbertWalker walker(win, &out);
  if (canvas_rows >= canvas_cols) {
    walker.Walk(0, 0, canvas_rows, 0, 0, canvas_cols);
  } else {
    walker.Walk(0, 0, 0, canvas_cols, canvas_rows, 0);
  }
  return out;
}

// Interleaves x into the even bits and y into the odd bits (x, y < 2^31).
uint64_t Morton(uint64_t x, uint64_t y) {
  uint64_t code = 0;
  for (int bit = 0; bit < 31; ++bit) {
    code |= ((x >> bit) & 1u) << (2 * bit);
    code |= ((y >> bit) & 1u) << (2 * bit + 1);
  }
  return code;
}

// Morton order on an n x n canvas (n a power of two), mirrored left-right: step
// i visits (row = odd bits of i, col = n - 1 - even bits of i). Restricted to
// the window, that is the window's pixels sorted by the Morton code of (n - 1 -
// col, row).
std::vector<int64_t> ZOrderWindow(int64_t n, const Window& win) {
  std::vector<std::pair<uint64_t, int64_t>> keyed;
  keyed.reserve(win.rows * win.cols);
  for (int64_t r = win.row0; r < win.row0 + win.rows; ++r) {
    for (int64_t c = win.col0; c < win.col0 + win.cols; ++c) {
      keyed.emplace_back(
          Morton(static_cast<uint64_t>(n - 1 - c), static_cast<uint64_t>(r)),
          win.Flat(r, c));
    }
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<int64_t> out;
  out.reserve(keyed.size());
  for (const auto& k : keyed) out.push_back(k.second);
  return out;
}

// Raster, row, snake and column orders restricted to a window are the same
// orders of the window itself, except that a snake's direction follows the
// canvas row's parity.
std::vector<int64_t> LinearWindow(Curve curve, const Window& win) {
  std::vector<int64_t> out;
  out.reserve(win.rows * win.cols);
  if (curve == Curve::kColumn) {
    for (int64_t c = 0; c < win.cols; ++c) {
      for (int64_t r = 0; r < win.rows; ++r) out.push_back(r * win.cols + c);
    }
    return out;
  }
  for (int64_t r = 0; r < win.rows; ++r) {
    const bool leftward = curve == Curve::kRaster ||
                          (curve == Curve::kSnake && (win.row0 + r) % 2 == 1);
    for (int64_t i = 0; i < win.cols; ++i) {
      out.push_back(r * win.cols + (leftward ? win.cols - 1 - i : i));
    }
  }
  return out;
}

int64_t NextPowerOfTwo(int64_t v) {
  int64_t p = 1;
  while (p < v) p *= 2;
  return p;
}

// Rotates the pixels of an H x W path clockwise (90 and 270 only when H == W).
void Rotate(int rotation, int64_t height, int64_t width,
            std::vector<int64_t>* path) {
  if (rotation == 0) return;
  const int64_t rmax = height - 1, cmax = width - 1;
  for (int64_t& q : *path) {
    const int64_t r = q / width, c = q % width;
    int64_t nr = r, nc = c;
    if (rotation == 90) {
      nr = rmax - c, nc = r;
    } else if (rotation == 180) {
      nr = rmax - r, nc = cmax - c;
    } else {  // 270
      nr = c, nc = cmax - r;
    }
    q = nr * width + nc;
  }
}

bool KnownCurve(Curve curve) {
  switch (curve) {
    case Curve::kRaster:
    case Curve::kRow:
    case Curve::kSnake:
    case Curve::kColumn:
    case Curve::kHilbert:
    case Curve::kZOrder:
      return true;
  }
  return false;
}

}  // namespace

absl::Status ValidatePathSpec(int64_t height, int64_t width,
                              const PathSpec& spec) {
  if (height < 1 || height > kMaxCanvasSide) {
    return SpecError(
        "height", absl::StrCat("expected 1 <= height <= 2^30, got ", height));
  }
  if (width < 1 || width > kMaxCanvasSide) {
    return SpecError("width",
                     absl::StrCat("expected 1 <= width <= 2^30, got ", width));
  }
  if (height > kMaxPathPixels / width) {
    return SpecError("height", absl::StrCat("image ", height, " x ", width,
                                            " has more than 2^31 - 1 pixels"));
  }
  if (!KnownCurve(spec.curve)) {
    return SpecError("curve", absl::StrCat("unknown curve value ",
                                           static_cast<int>(spec.curve)));
  }
  const int64_t side = std::max(height, width);
  if (spec.pad < 0 || spec.pad > kMaxCanvasSide - side) {
    return SpecError("pad",
                     absl::StrCat("expected 0 <= pad <= 2^30 - max(H, W) = ",
                                  kMaxCanvasSide - side, ", got ", spec.pad));
  }
  if (spec.offset_row < 0 || spec.offset_row > spec.pad) {
    return SpecError("offset_row",
                     absl::StrCat("expected 0 <= offset_row <= pad = ",
                                  spec.pad, ", got ", spec.offset_row));
  }
  if (spec.offset_col < 0 || spec.offset_col > spec.pad) {
    return SpecError("offset_col",
                     absl::StrCat("expected 0 <= offset_col <= pad = ",
                                  spec.pad, ", got ", spec.offset_col));
  }
  if (spec.rotation != 0 && spec.rotation != 90 && spec.rotation != 180 &&
      spec.rotation != 270) {
    return SpecError("rotation",
                     absl::StrCat("expected 0, 90, 180 or 270 degrees, got ",
                                  spec.rotation));
  }
  if ((spec.rotation == 90 || spec.rotation == 270) && height != width) {
    return SpecError("rotation", absl::StrCat("rotation by ", spec.rotation,
                                              " needs a square image, got ",
                                              height, " x ", width));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> BuildPath(int64_t height, int64_t width,
                                               const PathSpec& spec) {
  if (absl::Status s = ValidatePathSpec(height, width, spec); !s.ok()) return s;
  const Window win{spec.offset_row, spec.offset_col, height, width};
  std::vector<int64_t> path;
  switch (spec.curve) {
    case Curve::kHilbert:
      path = HilbertWindow(height + spec.pad, width + spec.pad, win);
      break;
    case Curve::kZOrder:
      path =
          ZOrderWindow(NextPowerOfTwo(std::max(height, width) + spec.pad), win);
      break;
    default:
      path = LinearWindow(spec.curve, win);
      break;
  }
  Rotate(spec.rotation, height, width, &path);
  return path;
}

std::vector<int64_t> CurveOrder(Curve curve, int64_t rows, int64_t cols) {
  PathSpec spec;
  spec.curve = curve;
  absl::StatusOr<std::vector<int64_t>> path = BuildPath(rows, cols, spec);
  return path.ok() ? *std::move(path) : std::vector<int64_t>{};
}

std::vector<int64_t> InvertPermutation(absl::Span<const int64_t> perm) {
  const int64_t n = static_cast<int64_t>(perm.size());
  std::vector<int64_t> inv(n, -1);
  for (int64_t l = 0; l < n; ++l) {
    if (perm[l] >= 0 && perm[l] < n) inv[perm[l]] = l;
  }
  return inv;
}

absl::Status CheckPermutation(absl::Span<const int64_t> perm, int64_t n,
                              absl::string_view what) {
  if (static_cast<int64_t>(perm.size()) != n) {
    return SpecError(what, absl::StrCat("expected a permutation of [0, ", n,
                                        "), got ", perm.size(), " entries"));
  }
  std::vector<bool> seen(n, false);
  for (int64_t l = 0; l < n; ++l) {
    const int64_t v = perm[l];
    if (v < 0 || v >= n) {
      return SpecError(what, absl::StrCat("entry ", l, " = ", v,
                                          " is outside [0, ", n, ")"));
    }
    if (seen[v]) {
      return SpecError(
          what, absl::StrCat("entry ", l, " = ", v,
                             " repeats an earlier entry; not a permutation"));
    }
    seen[v] = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<Curve> ParseCurve(absl::string_view name) {
  const std::string n = absl::AsciiStrToLower(name);
  if (n == "raster" || n == "r") return Curve::kRaster;
  if (n == "row") return Curve::kRow;
  if (n == "snake") return Curve::kSnake;
  if (n == "column") return Curve::kColumn;
  if (n == "hilbert" || n == "gilbert" || n == "g") return Curve::kHilbert;
  if (n == "zorder" || n == "z-order" || n == "morton" || n == "z")
    return Curve::kZOrder;
  return SpecError(
      "curve", absl::StrCat("unknown curve '", name,
                            "'; expected raster, row, snake, column, hilbert, "
                            "zorder, or upstream's r, g, z"));
}

std::string CurveName(Curve curve) {
  switch (curve) {
    case Curve::kRaster:
      return "raster";
    case Curve::kRow:
      return "row";
    case Curve::kSnake:
      return "snake";
    case Curve::kColumn:
      return "column";
    case Curve::kHilbert:
      return "hilbert";
    case Curve::kZOrder:
      return "zorder";
  }
  return absl::StrCat("curve(", static_cast<int>(curve), ")");
}

}  // namespace tapconv
