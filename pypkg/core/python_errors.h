#ifndef TAPCONV_PYPKG_CORE_PYTHON_ERRORS_H_
#define TAPCONV_PYPKG_CORE_PYTHON_ERRORS_H_

// How the core's absl::Status errors reach Python: as the built-in exception a
// Python user expects, with the core's message ("<argument>: expected ..., got
// ...") unchanged.

#include <Python.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace tapconv {
namespace python {

// The Python exception type for a non-OK status:
//   InvalidArgument -> TypeError when the message is about a dtype, else
//   ValueError; OutOfRange -> ValueError; Unimplemented -> NotImplementedError;
//   ResourceExhausted -> MemoryError; anything else (FailedPrecondition,
//   Internal, ...) -> RuntimeError.
PyObject* ExceptionTypeFor(const absl::Status& status);

// Raises the exception for `status` (as pybind11::error_already_set) unless it
// is OK.
void ThrowIfError(const absl::Status& status);

// The value of an OK StatusOr; raises its error otherwise.
template <typename T>
T ValueOrThrow(absl::StatusOr<T> value) {
  ThrowIfError(value.status());
  return *std::move(value);
}

// Raises `type` with the message "<arg>: <message>", the core's convention.
[[noreturn]] void RaiseArgError(PyObject* type, absl::string_view arg,
                                absl::string_view message);

}  // namespace python
}  // namespace tapconv

#endif  // TAPCONV_PYPKG_CORE_PYTHON_ERRORS_H_
