// HIP instantiation of the oriented conv drivers and kernels.

#include "backends/gpu/drivers/oriented_driver.h"
#include "backends/hip/hip_kernels.h"
#include "backends/hip/hip_launch.h"

namespace tapconv::gpu {

#define TAPCONV_KERNELS_CLASS HipKernels
#define TAPCONV_WITH_RUNTIME WithHipRuntime
#include "backends/gpu/methods_oriented.inc"

}  // namespace tapconv::gpu
