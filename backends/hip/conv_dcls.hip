// HIP instantiation of the direct dense conv and DCLS drivers and kernels.

#include "backends/gpu/drivers/conv_dcls_driver.h"
#include "backends/hip/hip_kernels.h"
#include "backends/hip/hip_launch.h"

namespace tapconv::gpu {

#define TAPCONV_KERNELS_CLASS HipKernels
#define TAPCONV_WITH_RUNTIME WithHipRuntime
#include "backends/gpu/methods_conv_dcls.inc"

}  // namespace tapconv::gpu
