#include "backends/cuda/cuda_backend.h"

#include <cstdlib>
#include <cstring>
#include <memory>

#include "backends/cuda/cuda_kernels.h"
#include "backends/cuda/cudnn_conv.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

// TAPCONV_CUDA_DENSE_CONV=direct runs dense convolutions on our direct kernels
// instead of cuDNN (machines without cuDNN, or to compare the two).
bool ForceDirectConv() {
  const char* v = std::getenv("TAPCONV_CUDA_DENSE_CONV");
  return v != nullptr && std::strcmp(v, "direct") == 0;
}

}  // namespace

CudaBackend::CudaBackend()
    : GpuBackend("cuda", DeviceKind::kCuda, 10,
                 [](std::string*) { return &gpu::CudaKernelsInstance(); }) {}

absl::Status CudaBackend::RunDenseConv(ConvPass pass, const gpu::ConvProblem& p,
                                       const gpu::LaunchEnv& env) const {
  if (ForceDirectConv()) return GpuBackend::RunDenseConv(pass, p, env);
  TAPCONV_ASSIGN_OR_RETURN(const gpu::GpuKernels* k, Ready());
  bool declined = false;
  switch (pass) {
    case ConvPass::kForward:
      TAPCONV_RETURN_IF_ERROR(
          cudnn::Run(cudnn::Pass::kForward, p, env, &declined));
      if (declined) return GpuBackend::RunDenseConv(pass, p, env);
      if (p.bias != nullptr) return ToAbsl(k->AddBias(env, p));
      return absl::OkStatus();
    case ConvPass::kBackwardInput:
      TAPCONV_RETURN_IF_ERROR(
          cudnn::Run(cudnn::Pass::kBackwardData, p, env, &declined));
      if (declined) return GpuBackend::RunDenseConv(pass, p, env);
      return absl::OkStatus();
    case ConvPass::kBackwardParams:
      break;
  }
  if (p.dweight != nullptr) {
    TAPCONV_RETURN_IF_ERROR(
        cudnn::Run(cudnn::Pass::kBackwardFilter, p, env, &declined));
    if (declined) return GpuBackend::RunDenseConv(pass, p, env);
  }
  if (p.dbias == nullptr) return absl::OkStatus();
  gpu::ConvProblem bias_only = p;
  bias_only.dweight = nullptr;
  return ToAbsl(k->ConvBackwardParams(env, bias_only));
}

namespace {

const BackendRegistration registration(std::make_unique<CudaBackend>());

}  // namespace
}  // namespace tapconv
