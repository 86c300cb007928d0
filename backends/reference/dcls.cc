#include "backends/reference/reference_backend.h"

namespace tapconv {

absl::Status ReferenceBackend::DclsConstruct(const DclsArgs&, const DclsConstructIO&,
                                             const ExecContext&) const {
  return NotSupported("DclsConstruct");
}
absl::Status ReferenceBackend::DclsConstructBackward(const DclsArgs&,
                                                     const DclsConstructBackwardIO&,
                                                     const ExecContext&) const {
  return NotSupported("DclsConstructBackward");
}
absl::Status ReferenceBackend::DclsDepthwiseForward(const DclsDepthwiseArgs&,
                                                    const DclsDepthwiseForwardIO&,
                                                    const ExecContext&) const {
  return NotSupported("DclsDepthwiseForward");
}
absl::Status ReferenceBackend::DclsDepthwiseBackwardInput(const DclsDepthwiseArgs&,
                                                          const DclsDepthwiseBackwardInputIO&,
                                                          const ExecContext&) const {
  return NotSupported("DclsDepthwiseBackwardInput");
}
absl::Status ReferenceBackend::DclsDepthwiseBackwardParams(const DclsDepthwiseArgs&,
                                                           const DclsDepthwiseBackwardParamsIO&,
                                                           const ExecContext&) const {
  return NotSupported("DclsDepthwiseBackwardParams");
}

}  // namespace tapconv
