#ifndef TAPCONV_BACKENDS_HIP_HIP_BACKEND_H_
#define TAPCONV_BACKENDS_HIP_HIP_BACKEND_H_

// The "hip" backend (AMD GPUs): the same kernels as "cuda" (backends/gpu),
// compiled by hipcc for gfx90a and gfx1030 into the plugin libtapconv_hip.so.
// The plugin is opened with dlopen on first use, so that binaries and the
// Python wheel that carry this backend do not need ROCm's libamdhip64 to load;
// without the plugin or an AMD device the backend reports itself unavailable.
// Dense convolutions run on our direct kernels (no MIOpen).

#include "backends/gpu/gpu_backend.h"

namespace tapconv {

class HipBackend final : public GpuBackend {
 public:
  HipBackend();
};

}  // namespace tapconv

#endif  // TAPCONV_BACKENDS_HIP_HIP_BACKEND_H_
