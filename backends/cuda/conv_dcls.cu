// CUDA instantiation of the direct dense conv and DCLS drivers and kernels.

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/cuda_launch.h"
#include "backends/gpu/drivers/conv_dcls_driver.h"

namespace tapconv::gpu {

#define TAPCONV_KERNELS_CLASS CudaKernels
#define TAPCONV_WITH_RUNTIME WithCudaRuntime
#include "backends/gpu/methods_conv_dcls.inc"

}  // namespace tapconv::gpu
