#include "backends/cpu/conv_nd_policy.h"

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace tapconv::cpu {
namespace {

bool OnednnEnabled() {
  static const bool enabled = [] {
    const char* value = std::getenv("TAPCONV_CPU_ONEDNN");
    return value == nullptr || std::string(value) != "0";
  }();
  return enabled;
}

}  // namespace

ConvImpl ChooseConvImpl(OnednnConvOp op, const ConvNdShape& s, DType dtype,
                        int num_threads) {
  if (!OnednnEnabled() || dtype == DType::kF64) return ConvImpl::kDirect;
  const bool depthwise = s.in_channels == s.groups;
  if (depthwise && op != OnednnConvOp::kBackwardData) return ConvImpl::kDirect;
  return ConvImpl::kOnednn;
}

std::string ConvImplName(OnednnConvOp op, const ConvNdShape& s, DType dtype,
                         int num_threads) {
  if (ChooseConvImpl(op, s, dtype, num_threads) == ConvImpl::kDirect)
    return "direct";
  const std::string impl = OnednnConvImplementation(op, s, dtype, num_threads);
  return impl.empty() ? "direct" : absl::StrCat("onednn:", impl);
}

}  // namespace tapconv::cpu
