#ifndef TAPCONV_BACKENDS_CUDA_CUDA_BACKEND_H_
#define TAPCONV_BACKENDS_CUDA_CUDA_BACKEND_H_

// The "cuda" backend: our kernels (backends/gpu, compiled for sm_80, sm_86,
// sm_90 and PTX) for oriented conv, DCLS and path ops; cuDNN (opened at run
// time) for dense convolutions, with our direct kernels where cuDNN declines
// a configuration. Registered in every build; unavailable without a driver.

#include "backends/gpu/gpu_backend.h"

namespace tapconv {

class CudaBackend final : public GpuBackend {
 public:
  CudaBackend();

 protected:
  absl::Status RunDenseConv(ConvPass pass, const gpu::ConvProblem& p,
                            const gpu::LaunchEnv& env) const override;
};

}  // namespace tapconv

#endif  // TAPCONV_BACKENDS_CUDA_CUDA_BACKEND_H_
