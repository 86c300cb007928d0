// CUDA instantiation of the path op drivers and kernels.

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/cuda_launch.h"
#include "backends/gpu/drivers/path_driver.h"

namespace tapconv::gpu {

#define TAPCONV_KERNELS_CLASS CudaKernels
#define TAPCONV_WITH_RUNTIME WithCudaRuntime
#include "backends/gpu/methods_path.inc"

}  // namespace tapconv::gpu
