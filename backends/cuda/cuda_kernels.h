#ifndef TAPCONV_BACKENDS_CUDA_CUDA_KERNELS_H_
#define TAPCONV_BACKENDS_CUDA_CUDA_KERNELS_H_

// gpu::GpuKernels over the CUDA runtime (linked statically: a binary needs
// only the driver's libcuda.so, which the runtime opens at first use). The
// methods live in the .cu files of this package, one per op family.

#include "backends/gpu/gpu_api.h"

namespace tapconv::gpu {

class CudaKernels final : public GpuKernels {
 public:
#include "backends/gpu/kernels_class.inc"
};

// The process-wide instance.
const GpuKernels& CudaKernelsInstance();

// Properties of one device, read once per process (cudaGetDeviceProperties is
// slow); *info stays valid for the life of the process.
Status CudaDeviceInfo(int device, const DeviceInfo** info);

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_CUDA_CUDA_KERNELS_H_
