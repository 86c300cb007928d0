// CUDA instantiation of the oriented conv drivers and kernels.

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/cuda_launch.h"
#include "backends/gpu/drivers/oriented_driver.h"

namespace tapconv::gpu {

#define TAPCONV_KERNELS_CLASS CudaKernels
#define TAPCONV_WITH_RUNTIME WithCudaRuntime
#include "backends/gpu/methods_oriented.inc"

}  // namespace tapconv::gpu
