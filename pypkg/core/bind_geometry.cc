// Host-side geometry shared with the C++ core: path curves, inverse
// permutations, locality, oriented tap offsets. Arrays go in and out as int64
// host tensors (DLPack), as the ops do.

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/types/span.h"
#include "ops/geometry/locality.h"
#include "ops/geometry/oriented_taps.h"
#include "ops/geometry/paths.h"
#include "ops/oriented_conv.h"
#include "ops/tensor_check.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "pypkg/core/arg_parsing.h"
#include "pypkg/core/bindings.h"
#include "pypkg/core/dlpack_tensor.h"
#include "pypkg/core/python_errors.h"

namespace tapconv {
namespace python {
namespace py = pybind11;
namespace {

// A host int64 contiguous tensor of `numel` elements (any numel if negative).
absl::Span<int64_t> HostInt64(const DlpackTensor& t, absl::string_view name,
                              int64_t numel) {
  const TensorRef& r = t.ref();
  Expect e(r, name);
  e.HasDType(DType::kI64, "indices")
      .OnDevice(Device{}, "host geometry")
      .Contiguous();
  ThrowIfError(e.status());
  if (numel >= 0 && r.numel() != numel) {
    RaiseArgError(PyExc_ValueError, name,
                  absl::StrCat("expected ", numel, " elements, got shape ",
                               ShapeString(r.shape)));
  }
  return absl::Span<int64_t>(r.data_as<int64_t>(),
                             static_cast<size_t>(r.numel()));
}

Curve ToCurve(const std::string& name) {
  absl::StatusOr<Curve> curve = ParseCurve(name);
  ThrowIfError(curve.status());
  return *curve;
}

PathSpec MakeSpec(const std::string& curve, int64_t pad, int64_t offset_row,
                  int64_t offset_col, int rotation) {
  PathSpec spec;
  spec.curve = ToCurve(curve);
  spec.pad = pad;
  spec.offset_row = offset_row;
  spec.offset_col = offset_col;
  spec.rotation = rotation;
  return spec;
}

// H x W of a path image: both >= 1 and at most kMaxPathPixels pixels.
void CheckImageSize(int64_t height, int64_t width) {
  if (height < 1 || width < 1) {
    RaiseArgError(
        PyExc_ValueError, height < 1 ? "height" : "width",
        absl::StrCat("expected >= 1, got ", height < 1 ? height : width));
  }
  if (height > kMaxPathPixels / width) {
    RaiseArgError(
        PyExc_ValueError, "height",
        absl::StrCat(height, "x", width, " has more than 2^31-1 pixels"));
  }
}

// perm of an H x W image: a permutation of [0, H*W).
absl::Span<int64_t> CheckedPath(const DlpackTensor& t, int64_t height,
                                int64_t width) {
  CheckImageSize(height, width);
  absl::Span<int64_t> perm = HostInt64(t, "perm", height * width);
  ThrowIfError(CheckPermutation(perm, height * width, "perm"));
  return perm;
}

void CopyInto(const std::vector<int64_t>& values, absl::Span<int64_t> out) {
  std::copy(values.begin(), values.end(), out.begin());
}

}  // namespace

void BindGeometry(py::module_& m) {
  m.def(
      "curve_names",
      []() {
        std::vector<std::string> names;
        for (Curve c : {Curve::kRaster, Curve::kRow, Curve::kSnake,
                        Curve::kColumn, Curve::kHilbert, Curve::kZOrder}) {
          names.push_back(CurveName(c));
        }
        return names;
      },
      "The canonical curve names: raster, row, snake, column, hilbert, "
      "zorder.");

  m.def(
      "canonical_curve_name",
      [](const std::string& name) { return CurveName(ToCurve(name)); },
      py::arg("name"),
      "The canonical name of a curve spelling ('g' -> 'hilbert', 'morton' -> "
      "'zorder', ...).");

  m.def(
      "build_path",
      [](int64_t height, int64_t width, py::handle out,
         const std::string& curve, int64_t pad, int64_t offset_row,
         int64_t offset_col, int rotation) {
        const PathSpec spec =
            MakeSpec(curve, pad, offset_row, offset_col, rotation);
        ThrowIfError(ValidatePathSpec(height, width, spec));
        auto t = BorrowTensor(out, "out", 0);
        absl::Span<int64_t> dst = HostInt64(t, "out", height * width);
        absl::StatusOr<std::vector<int64_t>> path;
        {
          py::gil_scoped_release release;
          path = BuildPath(height, width, spec);
        }
        ThrowIfError(path.status());
        if (static_cast<int64_t>(path->size()) != height * width) {
          ThrowIfError(absl::InternalError(
              absl::StrCat("BuildPath returned ", path->size(), " pixels for ",
                           height, "x", width)));
        }
        CopyInto(*path, dst);
      },
      py::arg("height"), py::arg("width"), py::arg("out"), py::kw_only(),
      py::arg("curve") = "hilbert", py::arg("pad") = 0,
      py::arg("offset_row") = 0, py::arg("offset_col") = 0,
      py::arg("rotation") = 0,
      "Writes the path perm[l] = r*W + c (int64, H*W elements) of the curve "
      "over an H x W image "
      "after shifting (canvas (H+pad) x (W+pad), window at (offset_row, "
      "offset_col)) and a "
      "clockwise rotation of 0/90/180/270 degrees.");

  m.def(
      "curve_order",
      [](const std::string& curve, int64_t rows, int64_t cols, py::handle out) {
        if (rows < 1 || cols < 1 || rows > kMaxPathPixels / cols) {
          RaiseArgError(
              PyExc_ValueError, rows < 1 ? "rows" : "cols",
              absl::StrCat("expected a canvas of 1 to 2^31-1 pixels, got ",
                           rows, "x", cols));
        }
        const Curve c = ToCurve(curve);
        auto t = BorrowTensor(out, "out", 0);
        absl::Span<int64_t> dst = HostInt64(t, "out", rows * cols);
        std::vector<int64_t> order;
        {
          py::gil_scoped_release release;
          order = CurveOrder(c, rows, cols);
        }
        if (static_cast<int64_t>(order.size()) != rows * cols) {
          ThrowIfError(absl::InternalError(
              "CurveOrder returned a wrong number of pixels"));
        }
        CopyInto(order, dst);
      },
      py::arg("curve"), py::arg("rows"), py::arg("cols"), py::arg("out"),
      "Writes the curve's visiting order of a whole rows x cols canvas (no "
      "shift, no rotation).");

  m.def(
      "invert_permutation",
      [](py::handle perm, py::handle out) {
        auto tp = BorrowTensor(perm, "perm", 0);
        absl::Span<int64_t> p = HostInt64(tp, "perm", -1);
        auto to = BorrowTensor(out, "out", 0);
        absl::Span<int64_t> dst =
            HostInt64(to, "out", static_cast<int64_t>(p.size()));
        ThrowIfError(
            CheckPermutation(p, static_cast<int64_t>(p.size()), "perm"));
        CopyInto(InvertPermutation(p), dst);
      },
      py::arg("perm"), py::arg("out"), "Writes inv with inv[perm[l]] = l.");

  m.def(
      "check_permutation",
      [](py::handle perm, int64_t n, const std::string& name) {
        auto tp = BorrowTensor(perm, name, 0);
        ThrowIfError(CheckPermutation(HostInt64(tp, name, -1), n, name));
      },
      py::arg("perm"), py::arg("n"), py::arg("name") = "perm",
      "Raises ValueError naming `name` unless perm (int64, host) is a "
      "permutation of [0, n).");

  m.def(
      "neighbour_distances",
      [](py::handle perm, int64_t height, int64_t width, py::handle out) {
        auto tp = BorrowTensor(perm, "perm", 0);
        absl::Span<int64_t> p = CheckedPath(tp, height, width);
        auto to = BorrowTensor(out, "out", 0);
        absl::Span<int64_t> dst = HostInt64(to, "out", height * width);
        CopyInto(ValueOrThrow(NeighbourDistances(p, height, width)), dst);
      },
      py::arg("perm"), py::arg("height"), py::arg("width"), py::arg("out"),
      "Writes D(q) = sum over the in-image 8-neighbours q' of |pi(q) - pi(q')| "
      "for every pixel "
      "q (row-major), pi(q) being the step at which the path visits q.");

  m.def(
      "locality_cost",
      [](py::handle perm, int64_t height, int64_t width) {
        auto tp = BorrowTensor(perm, "perm", 0);
        return ValueOrThrow(
            LocalityCost(CheckedPath(tp, height, width), height, width));
      },
      py::arg("perm"), py::arg("height"), py::arg("width"),
      "cost = sum over pixels of neighbour_distances.");

  m.def(
      "covered_vs_raster",
      [](py::handle perm, int64_t height, int64_t width, py::handle out) {
        auto tp = BorrowTensor(perm, "perm", 0);
        absl::Span<int64_t> p = CheckedPath(tp, height, width);
        auto to = BorrowTensor(out, "out", 0);
        absl::Span<int64_t> dst = HostInt64(to, "out", height * width);
        const std::vector<bool> covered =
            ValueOrThrow(CoveredVsRaster(p, height, width));
        for (size_t i = 0; i < covered.size() && i < dst.size(); ++i)
          dst[i] = covered[i] ? 1 : 0;
      },
      py::arg("perm"), py::arg("height"), py::arg("width"), py::arg("out"),
      "Writes 1 where D_path(q) < D_raster(q) (strictly), else 0.");

  m.def(
      "union_coverage",
      [](py::list perms, int64_t height, int64_t width) {
        CheckImageSize(height, width);
        std::vector<DlpackTensor> borrowed;
        std::vector<std::vector<int64_t>> paths;
        for (size_t i = 0; i < perms.size(); ++i) {
          const std::string name = absl::StrCat("perms[", i, "]");
          borrowed.push_back(BorrowTensor(perms[i], name, 0));
          absl::Span<int64_t> p =
              HostInt64(borrowed.back(), name, height * width);
          ThrowIfError(CheckPermutation(p, height * width, name));
          paths.emplace_back(p.begin(), p.end());
        }
        return ValueOrThrow(UnionCoverage(paths, height, width));
      },
      py::arg("perms"), py::arg("height"), py::arg("width"),
      "Number of pixels covered (covered_vs_raster) by at least one of the "
      "paths.");

  m.def(
      "oriented_tap_offsets",
      [](double theta, int taps, const std::string& tap_rule,
         int64_t dilation) {
        if (taps < 1 || taps % 2 == 0 || taps > (1 << 20)) {
          RaiseArgError(
              PyExc_ValueError, "taps",
              absl::StrCat("expected an odd kernel size in [1, 2^20], got ",
                           taps));
        }
        if (dilation < 1 || dilation > (int64_t{1} << 30) / (taps / 2 + 1)) {
          RaiseArgError(
              PyExc_ValueError, "dilation",
              absl::StrCat("expected >= 1 with dilation * K/2 < 2^30, got ",
                           dilation));
        }
        const double angles[1] = {theta};
        ThrowIfError(ValidateOrientedAngles(angles));
        const OrientedTapTable table = BuildOrientedTapTable(
            angles, taps, ParseTapRule(tap_rule), dilation);
        std::vector<std::pair<int, int>> offsets;
        for (int k = 0; k < taps; ++k)
          offsets.emplace_back(table.dh[k], table.dw[k]);
        return offsets;
      },
      py::arg("theta"), py::arg("taps"), py::kw_only(),
      py::arg("tap_rule") = "trunc", py::arg("dilation") = 1,
      "[(dh, dw)] of the K taps of one channel at angle theta (radians): tap k "
      "reads input "
      "pixel (s*p + dh, s*q + dw) for output (p, q).");
}

}  // namespace python
}  // namespace tapconv
