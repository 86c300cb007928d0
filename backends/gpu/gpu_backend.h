#ifndef TAPCONV_BACKENDS_GPU_GPU_BACKEND_H_
#define TAPCONV_BACKENDS_GPU_GPU_BACKEND_H_

// The host side of a GPU backend: re-derives shapes from validated tensors,
// converts them into the plain problem structs of gpu_api.h and runs them on a
// GpuKernels implementation (CUDA, HIP, or the host emulator of the tests).
// The kernels are resolved lazily: a build whose runtime or device is missing
// registers the backend anyway, reports it unavailable with the reason, and
// never fails to load.

#include <functional>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/gpu/gpu_api.h"
#include "ops/backend.h"

namespace tapconv {

class GpuBackend : public Backend {
 public:
  // Returns the kernels, or null with *why set (e.g. "libtapconv_hip.so not
  // found"). Called once, on first use.
  using KernelLoader = std::function<const gpu::GpuKernels*(std::string* why)>;

  GpuBackend(std::string name, DeviceKind kind, int priority,
             KernelLoader loader);

  absl::string_view name() const override { return name_; }
  DeviceKind device_kind() const override { return kind_; }
  int priority() const override { return priority_; }
  bool available() const override;
  std::string unavailable_reason() const override;

  absl::StatusOr<void*> Allocate(size_t bytes) const override;
  void Free(void* pointer) const override;
  absl::Status CopyToDevice(void* device_dst, const void* host_src,
                            size_t bytes) const override;
  absl::Status CopyToHost(void* host_dst, const void* device_src,
                          size_t bytes) const override;
  absl::Status Synchronize(const ExecContext& ctx) const override;

  absl::Status OrientedConvForward(const OrientedConvArgs& args,
                                   const OrientedConvForwardIO& io,
                                   const ExecContext& ctx) const override;
  absl::Status OrientedConvBackwardInput(const OrientedConvArgs& args,
                                         const OrientedConvBackwardInputIO& io,
                                         const ExecContext& ctx) const override;
  absl::Status OrientedConvBackwardParams(
      const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
      const ExecContext& ctx) const override;

  absl::Status ConvNdForward(const ConvNdArgs& args, const ConvNdForwardIO& io,
                             const ExecContext& ctx) const override;
  absl::Status ConvNdBackwardInput(const ConvNdArgs& args,
                                   const ConvNdBackwardInputIO& io,
                                   const ExecContext& ctx) const override;
  absl::Status ConvNdBackwardParams(const ConvNdArgs& args,
                                    const ConvNdBackwardParamsIO& io,
                                    const ExecContext& ctx) const override;

  absl::Status DclsConstruct(const DclsArgs& args, const DclsConstructIO& io,
                             const ExecContext& ctx) const override;
  absl::Status DclsConstructBackward(const DclsArgs& args,
                                     const DclsConstructBackwardIO& io,
                                     const ExecContext& ctx) const override;
  absl::Status DclsDepthwiseForward(const DclsDepthwiseArgs& args,
                                    const DclsDepthwiseForwardIO& io,
                                    const ExecContext& ctx) const override;
  absl::Status DclsDepthwiseBackwardInput(
      const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardInputIO& io,
      const ExecContext& ctx) const override;
  absl::Status DclsDepthwiseBackwardParams(
      const DclsDepthwiseArgs& args, const DclsDepthwiseBackwardParamsIO& io,
      const ExecContext& ctx) const override;

  absl::Status PathGather(const PathGatherIO& io,
                          const ExecContext& ctx) const override;
  absl::Status PathScatter(const PathScatterIO& io,
                           const ExecContext& ctx) const override;
  absl::Status PathConvForward(const PathConvArgs& args,
                               const PathConvForwardIO& io,
                               const ExecContext& ctx) const override;
  absl::Status PathConvBackwardInput(const PathConvArgs& args,
                                     const PathConvBackwardInputIO& io,
                                     const ExecContext& ctx) const override;
  absl::Status PathConvBackwardParams(const PathConvArgs& args,
                                      const PathConvBackwardParamsIO& io,
                                      const ExecContext& ctx) const override;

  // The loaded kernels (null when unavailable).
  const gpu::GpuKernels* kernels() const;

  static absl::Status ToAbsl(const gpu::Status& status);

 protected:
  enum class ConvPass { kForward, kBackwardInput, kBackwardParams };
  // The dense convolution. The default runs the direct kernels; the CUDA
  // backend overrides it to use cuDNN first.
  virtual absl::Status RunDenseConv(ConvPass pass, const gpu::ConvProblem& p,
                                    const gpu::LaunchEnv& env) const;

  // The loaded kernels, or FailedPrecondition naming why not.
  absl::StatusOr<const gpu::GpuKernels*> Ready() const;

 private:
  void Load() const;

  std::string name_;
  DeviceKind kind_;
  int priority_;
  KernelLoader loader_;
  mutable std::once_flag once_;
  mutable const gpu::GpuKernels* kernels_ = nullptr;
  mutable std::string why_;
};

// Tensor metadata -> problem structs (exposed for the backends and tests).
namespace gpu {
ElementType ElementTypeOf(DType dtype);
ConvProblem ConvProblemOf(const ConvNdShape& s, DType dtype);
}  // namespace gpu

}  // namespace tapconv

#endif  // TAPCONV_BACKENDS_GPU_GPU_BACKEND_H_
