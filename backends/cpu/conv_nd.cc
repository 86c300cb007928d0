#include "backends/cpu/cpu_backend.h"

namespace tapconv {

absl::Status CpuBackend::ConvNdForward(const ConvNdArgs&,
                                       const ConvNdForwardIO&,
                                       const ExecContext&) const {
  return NotSupported("ConvNdForward");
}

absl::Status CpuBackend::ConvNdBackwardInput(const ConvNdArgs&,
                                             const ConvNdBackwardInputIO&,
                                             const ExecContext&) const {
  return NotSupported("ConvNdBackwardInput");
}

absl::Status CpuBackend::ConvNdBackwardParams(const ConvNdArgs&,
                                              const ConvNdBackwardParamsIO&,
                                              const ExecContext&) const {
  return NotSupported("ConvNdBackwardParams");
}

}  // namespace tapconv
