#include "ops/dtype.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "ops/device.h"

namespace tapconv {

absl::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return "float16";
    case DType::kBF16:
      return "bfloat16";
    case DType::kF32:
      return "float32";
    case DType::kF64:
      return "float64";
    case DType::kI32:
      return "int32";
    case DType::kI64:
      return "int64";
  }
  return "unknown";
}

absl::string_view DeviceKindName(DeviceKind kind) {
  switch (kind) {
    case DeviceKind::kCpu:
      return "cpu";
    case DeviceKind::kCuda:
      return "cuda";
    case DeviceKind::kHip:
      return "hip";
  }
  return "unknown";
}

std::string DeviceName(const Device& device) {
  if (device.kind == DeviceKind::kCpu) return "cpu";
  return absl::StrCat(DeviceKindName(device.kind), ":", device.index);
}

}  // namespace tapconv
