#include "pypkg/core/arg_parsing.h"

#include "absl/strings/str_cat.h"
#include "pypkg/core/python_errors.h"

namespace tapconv {
namespace python {
namespace {

[[noreturn]] void RaiseChoice(absl::string_view arg, absl::string_view choices,
                              const std::string& got) {
  RaiseArgError(PyExc_ValueError, arg,
                absl::StrCat("expected ", choices, ", got '", got, "'"));
}

}  // namespace

TapRule ParseTapRule(const std::string& name) {
  if (name == "trunc") return TapRule::kTrunc;
  if (name == "line") return TapRule::kLine;
  RaiseChoice("tap_rule", "'trunc' or 'line'", name);
}

Layout ParseLayout(const std::string& name) {
  if (name == "NCHW" || name == "nchw") return Layout::kNCHW;
  if (name == "NHWC" || name == "nhwc") return Layout::kNHWC;
  RaiseChoice("layout", "'NCHW' or 'NHWC'", name);
}

DclsInterpolation ParseInterpolation(const std::string& name) {
  if (name == "bilinear") return DclsInterpolation::kBilinear;
  if (name == "gauss") return DclsInterpolation::kGauss;
  if (name == "triangle") return DclsInterpolation::kTriangle;
  RaiseChoice("interpolation", "'bilinear', 'gauss' or 'triangle'", name);
}

DclsAxisOrder ParseAxisOrder(const std::string& name) {
  if (name == "natural") return DclsAxisOrder::kNatural;
  if (name == "reversed") return DclsAxisOrder::kReversed;
  RaiseChoice("axis_order", "'natural' or 'reversed'", name);
}

SpatialDims ToSpatialDims(const std::vector<int64_t>& values,
                          absl::string_view name) {
  if (values.size() > 3) {
    RaiseArgError(
        PyExc_ValueError, name,
        absl::StrCat("expected at most 3 values (one per spatial axis), got ",
                     values.size()));
  }
  return SpatialDims(values.begin(), values.end());
}

}  // namespace python
}  // namespace tapconv
