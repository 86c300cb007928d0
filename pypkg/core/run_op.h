#ifndef TAPCONV_PYPKG_CORE_RUN_OP_H_
#define TAPCONV_PYPKG_CORE_RUN_OP_H_

// The tail of every binding: run an ops:: entry point without the GIL, and fall
// back to the reference backend where the fastest host backend does not
// implement an op yet, so Python users on CPU always get a result.

#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "ops/device.h"
#include "ops/exec_context.h"
#include "pybind11/pybind11.h"
#include "pypkg/core/python_errors.h"

namespace tapconv {
namespace python {

// The keyword arguments every op binding takes: backend name ("" = pick by
// device), the CUDA/HIP stream as an integer handle (0 = default stream), and
// the cpu backend's threads.
#define TAPCONV_PY_EXEC_ARGS                                                \
  pybind11::arg("backend") = std::string(), pybind11::arg("stream") = 0ULL, \
  pybind11::arg("num_threads") = 0

inline ExecContext MakeExecContext(const std::string& backend, uintptr_t stream,
                                   int num_threads) {
  ExecContext ctx;
  ctx.backend = backend;
  ctx.stream = reinterpret_cast<void*>(stream);
  ctx.num_threads = num_threads;
  return ctx;
}

// Runs call(ctx) -> absl::Status with the GIL released, then raises its error,
// if any, as a Python exception. Tensors on the host whose backend was not
// named explicitly are retried on the reference backend when the chosen backend
// returns Unimplemented.
template <typename Call>
void RunOp(const Device& device, const ExecContext& ctx, Call&& call) {
  absl::Status status;
  {
    pybind11::gil_scoped_release release;
    status = call(ctx);
    if (absl::IsUnimplemented(status) && ctx.backend.empty() &&
        device.kind == DeviceKind::kCpu) {
      ExecContext reference = ctx;
      reference.backend = "reference";
      status = call(reference);
    }
  }
  ThrowIfError(status);
}

}  // namespace python
}  // namespace tapconv

#endif  // TAPCONV_PYPKG_CORE_RUN_OP_H_
