#include "backends/cpu/cpu_backend.h"

namespace tapconv {

absl::Status CpuBackend::DclsConstruct(const DclsArgs&, const DclsConstructIO&,
                                       const ExecContext&) const {
  return NotSupported("DclsConstruct");
}

absl::Status CpuBackend::DclsConstructBackward(const DclsArgs&,
                                               const DclsConstructBackwardIO&,
                                               const ExecContext&) const {
  return NotSupported("DclsConstructBackward");
}

absl::Status CpuBackend::DclsDepthwiseForward(const DclsDepthwiseArgs&,
                                              const DclsDepthwiseForwardIO&,
                                              const ExecContext&) const {
  return NotSupported("DclsDepthwiseForward");
}

absl::Status CpuBackend::DclsDepthwiseBackwardInput(
    const DclsDepthwiseArgs&, const DclsDepthwiseBackwardInputIO&,
    const ExecContext&) const {
  return NotSupported("DclsDepthwiseBackwardInput");
}

absl::Status CpuBackend::DclsDepthwiseBackwardParams(
    const DclsDepthwiseArgs&, const DclsDepthwiseBackwardParamsIO&,
    const ExecContext&) const {
  return NotSupported("DclsDepthwiseBackwardParams");
}

}  // namespace tapconv
