#ifndef TAPCONV_OPS_LIBTORCH_TENSOR_CONVERSION_H_
#define TAPCONV_OPS_LIBTORCH_TENSOR_CONVERSION_H_

// at::Tensor <-> the core's TensorRef, and the core's Status -> torch's
// exceptions.

#include <ATen/ATen.h>

#include <optional>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "ops/exec_context.h"
#include "ops/tensor_ref.h"

namespace tapconv {
namespace torch_ops {

// A view of `t` (no copy). Throws c10::TypeError naming `name` for a dtype the
// core does not have, c10::ValueError for a device it does not know (meta, MPS,
// ...).
TensorRef ToTensorRef(const at::Tensor& t, absl::string_view name);
std::optional<TensorRef> ToTensorRef(const c10::optional<at::Tensor>& t,
                                     absl::string_view name);

// Throws the torch exception for a non-OK status: InvalidArgument ->
// c10::TypeError when it is about a dtype, else c10::ValueError; Unimplemented
// -> c10::NotImplementedError; anything else
// -> c10::Error. The core's message ("<argument>: ...") is kept.
void ThrowIfError(const absl::Status& status);

// Runs call(ctx) -> absl::Status and throws its error. On host tensors with no
// backend named, an op the chosen backend does not implement (Unimplemented)
// runs on the reference backend.
template <typename Call>
void Run(const at::Tensor& like, const ExecContext& ctx, Call&& call) {
  absl::Status status = call(ctx);
  if (absl::IsUnimplemented(status) && ctx.backend.empty() &&
      like.device().is_cpu()) {
    ExecContext reference = ctx;
    reference.backend = "reference";
    status = call(reference);
  }
  ThrowIfError(status);
}

}  // namespace torch_ops
}  // namespace tapconv

#endif  // TAPCONV_OPS_LIBTORCH_TENSOR_CONVERSION_H_
