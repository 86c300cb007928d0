#ifndef TAPCONV_PYPKG_CORE_DLPACK_TENSOR_H_
#define TAPCONV_PYPKG_CORE_DLPACK_TENSOR_H_

// Borrowing Python tensors through DLPack: any object with __dlpack__ (torch,
// NumPy, CuPy, JAX) or a "dltensor" capsule becomes a TensorRef for the
// duration of one op call, without a copy.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "dlpack/dlpack.h"
#include "ops/tensor_ref.h"
#include "pybind11/pybind11.h"

namespace tapconv {
namespace python {

// Owns one DLManagedTensor taken from its producer and calls its deleter
// exactly once, when destroyed (with the GIL held: NumPy's deleter touches
// Python objects). The TensorRef views the producer's memory, which stays alive
// until then.
class DlpackTensor {
 public:
  DlpackTensor() = default;
  DlpackTensor(DLManagedTensor* managed, TensorRef ref)
      : managed_(managed), ref_(std::move(ref)) {}
  DlpackTensor(DlpackTensor&& other) noexcept;
  DlpackTensor& operator=(DlpackTensor&& other) noexcept;
  DlpackTensor(const DlpackTensor&) = delete;
  DlpackTensor& operator=(const DlpackTensor&) = delete;
  ~DlpackTensor();

  const TensorRef& ref() const { return ref_; }

 private:
  void Release();

  DLManagedTensor* managed_ = nullptr;
  TensorRef ref_;
};

// Takes `obj` (an object with __dlpack__, or a "dltensor" capsule, which is
// consumed) as the op argument `name`. `stream` is the CUDA/HIP stream the op
// will run on, handed to a GPU producer's __dlpack__ so it can order its
// pending work before ours (0: the default stream). Raises TypeError (not a
// tensor, unsupported dtype) or ValueError (unsupported device, a malformed
// tensor) whose message starts with "<name>: ".
DlpackTensor BorrowTensor(pybind11::handle obj, absl::string_view name,
                          uintptr_t stream);

// The same for an optional argument: None gives an empty optional.
std::optional<DlpackTensor> BorrowOptionalTensor(pybind11::handle obj,
                                                 absl::string_view name,
                                                 uintptr_t stream);

// The TensorRef of an optional borrowed tensor.
inline std::optional<TensorRef> RefOf(const std::optional<DlpackTensor>& t) {
  if (!t.has_value()) return std::nullopt;
  return t->ref();
}

}  // namespace python
}  // namespace tapconv

#endif  // TAPCONV_PYPKG_CORE_DLPACK_TENSOR_H_
