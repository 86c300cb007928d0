#ifndef TAPCONV_BACKENDS_HIP_HIP_KERNELS_H_
#define TAPCONV_BACKENDS_HIP_HIP_KERNELS_H_

// gpu::GpuKernels over the HIP runtime, built into the plugin
// libtapconv_hip.so (which needs libamdhip64.so.5). The methods live in the
// .hip files of this package, one per op family.

#include "backends/gpu/gpu_api.h"

namespace tapconv::gpu {

class HipKernels final : public GpuKernels {
 public:
#include "backends/gpu/kernels_class.inc"
};

// Properties of one device, read once per process.
Status HipDeviceInfo(int device, const DeviceInfo** info);

}  // namespace tapconv::gpu

// The plugin's entry point, looked up with dlsym by
// backends/hip/hip_backend.cc.
extern "C" const tapconv::gpu::GpuKernels* TapconvHipKernels();

#endif  // TAPCONV_BACKENDS_HIP_HIP_KERNELS_H_
