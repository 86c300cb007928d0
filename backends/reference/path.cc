#include "backends/reference/reference_backend.h"

namespace tapconv {

absl::Status ReferenceBackend::PathGather(const PathGatherIO&, const ExecContext&) const {
  return NotSupported("PathGather");
}
absl::Status ReferenceBackend::PathScatter(const PathScatterIO&, const ExecContext&) const {
  return NotSupported("PathScatter");
}
absl::Status ReferenceBackend::PathConvForward(const PathConvArgs&, const PathConvForwardIO&,
                                               const ExecContext&) const {
  return NotSupported("PathConvForward");
}
absl::Status ReferenceBackend::PathConvBackwardInput(const PathConvArgs&,
                                                     const PathConvBackwardInputIO&,
                                                     const ExecContext&) const {
  return NotSupported("PathConvBackwardInput");
}
absl::Status ReferenceBackend::PathConvBackwardParams(const PathConvArgs&,
                                                      const PathConvBackwardParamsIO&,
                                                      const ExecContext&) const {
  return NotSupported("PathConvBackwardParams");
}

}  // namespace tapconv
