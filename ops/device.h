#ifndef TAPCONV_OPS_DEVICE_H_
#define TAPCONV_OPS_DEVICE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace tapconv {

// Where a tensor's memory lives. kCpu is host memory, read by the reference and
// cpu backends.
enum class DeviceKind : uint8_t { kCpu, kCuda, kHip };

struct Device {
  DeviceKind kind = DeviceKind::kCpu;
  int index = 0;

  friend bool operator==(const Device& a, const Device& b) {
    return a.kind == b.kind && a.index == b.index;
  }
  friend bool operator!=(const Device& a, const Device& b) { return !(a == b); }
};

absl::string_view DeviceKindName(DeviceKind kind);
std::string DeviceName(const Device& device);  // "cpu", "cuda:0", "hip:1"

}  // namespace tapconv

#endif  // TAPCONV_OPS_DEVICE_H_
