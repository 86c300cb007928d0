#ifndef TAPCONV_OPS_DISPATCH_H_
#define TAPCONV_OPS_DISPATCH_H_

#include "absl/status/status.h"
#include "ops/backend.h"
#include "ops/status_macros.h"

namespace tapconv {

// The tail of every ops:: entry point, after validation: pick the backend for
// `device` (or the one ctx names) and run `call(backend)`.
template <typename Call>
absl::Status Dispatch(const Device& device, const ExecContext& ctx, Call call) {
  TAPCONV_ASSIGN_OR_RETURN(const Backend* backend,
                           BackendRegistry::Global().Select(device, ctx));
  return call(*backend);
}

}  // namespace tapconv

#endif  // TAPCONV_OPS_DISPATCH_H_
