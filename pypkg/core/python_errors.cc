#include "pypkg/core/python_errors.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pybind11/pybind11.h"

namespace tapconv {
namespace python {

PyObject* ExceptionTypeFor(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kInvalidArgument:
      // The core names a wrong dtype "expected dtype ..." / "expected a
      // floating-point dtype": in Python that is a TypeError, as torch raises
      // for a dtype mismatch.
      return absl::StrContains(status.message(), "dtype") ? PyExc_TypeError
                                                          : PyExc_ValueError;
    case absl::StatusCode::kOutOfRange:
      return PyExc_ValueError;
    case absl::StatusCode::kUnimplemented:
      return PyExc_NotImplementedError;
    case absl::StatusCode::kResourceExhausted:
      return PyExc_MemoryError;
    default:
      return PyExc_RuntimeError;
  }
}

void ThrowIfError(const absl::Status& status) {
  if (status.ok()) return;
  const std::string message(status.message());
  PyErr_SetString(ExceptionTypeFor(status), message.c_str());
  throw pybind11::error_already_set();
}

void RaiseArgError(PyObject* type, absl::string_view arg,
                   absl::string_view message) {
  const std::string text = absl::StrCat(arg, ": ", message);
  PyErr_SetString(type, text.c_str());
  throw pybind11::error_already_set();
}

}  // namespace python
}  // namespace tapconv
