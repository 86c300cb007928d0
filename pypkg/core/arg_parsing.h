#ifndef TAPCONV_PYPKG_CORE_ARG_PARSING_H_
#define TAPCONV_PYPKG_CORE_ARG_PARSING_H_

// Python-side spellings of the core's enums and size lists. Bad values raise
// ValueError naming the argument.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "ops/conv_nd.h"
#include "ops/geometry/dcls_interpolation.h"
#include "ops/geometry/oriented_taps.h"
#include "ops/oriented_conv.h"

namespace tapconv {
namespace python {

TapRule ParseTapRule(const std::string& name);  // "trunc", "line"
Layout ParseLayout(const std::string& name);    // "NCHW", "NHWC"
DclsInterpolation ParseInterpolation(
    const std::string& name);  // "bilinear", "gauss", "triangle"
DclsAxisOrder ParseAxisOrder(const std::string& name);  // "natural", "reversed"

// A size list as the core stores it; `name` is used in errors.
SpatialDims ToSpatialDims(const std::vector<int64_t>& values,
                          absl::string_view name);

}  // namespace python
}  // namespace tapconv

#endif  // TAPCONV_PYPKG_CORE_ARG_PARSING_H_
