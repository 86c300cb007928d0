#ifndef TAPCONV_BACKENDS_CPU_CPU_BACKEND_H_
#define TAPCONV_BACKENDS_CPU_CPU_BACKEND_H_

// The fast host backend: vectorised, multi-threaded kernels of our own
// (instruction set chosen at run time, see isa.h) plus oneDNN for dense
// convolutions. Deterministic: every output element is reduced in a fixed
// order, independent of thread timing.

#include <string>
#include <vector>

#include "ops/backend.h"

namespace tapconv {

class CpuBackend final : public Backend {
 public:
  absl::string_view name() const override { return "cpu"; }
  DeviceKind device_kind() const override { return DeviceKind::kCpu; }
  int priority() const override { return 10; }

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
};

namespace cpu {

enum class OrientedPass { kForward, kBackwardInput, kBackwardParams };

// Which kernels CpuBackend's oriented conv runs for `pass` on these (valid)
// arguments under the active instruction set: "blocked" (vectors over the
// channels of one angle, oriented_blocked_abi.h), "plane" (vectors along
// rows), or "unimplemented" (float16). For tests and benchmark
// labels; theta holds the per-channel angles.
std::string OrientedKernelName(OrientedPass pass, const OrientedConvArgs& args,
                               const std::vector<double>& theta,
                               const OrientedConvShape& shape, DType dtype);

}  // namespace cpu
}  // namespace tapconv

#endif  // TAPCONV_BACKENDS_CPU_CPU_BACKEND_H_
