// HIP instantiation of the path op drivers and kernels.

#include "backends/gpu/drivers/path_driver.h"
#include "backends/hip/hip_kernels.h"
#include "backends/hip/hip_launch.h"

namespace tapconv::gpu {

#define TAPCONV_KERNELS_CLASS HipKernels
#define TAPCONV_WITH_RUNTIME WithHipRuntime
#include "backends/gpu/methods_path.inc"

}  // namespace tapconv::gpu
