#ifndef TAPCONV_BACKENDS_REFERENCE_REFERENCE_BACKEND_H_
#define TAPCONV_BACKENDS_REFERENCE_REFERENCE_BACKEND_H_

// The oracle: every op as the obvious loops over its formula (docs/ops.md),
// accumulating in double, for every floating dtype (16-bit ones are converted
// on load and rounded on store). Never optimised: its only job is to be
// evidently right.

#include "absl/strings/string_view.h"
#include "ops/backend.h"

namespace tapconv {

class ReferenceBackend final : public Backend {
 public:
  absl::string_view name() const override { return "reference"; }
  DeviceKind device_kind() const override { return DeviceKind::kCpu; }
  int priority() const override { return 0; }

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

}  // namespace tapconv

#endif  // TAPCONV_BACKENDS_REFERENCE_REFERENCE_BACKEND_H_
