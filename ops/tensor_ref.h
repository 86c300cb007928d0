#ifndef TAPCONV_OPS_TENSOR_REF_H_
#define TAPCONV_OPS_TENSOR_REF_H_

#include <cstdint>
#include <initializer_list>
#include <string>

#include "absl/container/inlined_vector.h"
#include "absl/types/span.h"
#include "ops/device.h"
#include "ops/dtype.h"

namespace tapconv {

using Dims = absl::InlinedVector<int64_t, 6>;

// A non-owning view of a strided tensor: what the op interface passes around.
// Strides are in elements, as in PyTorch and DLPack >= 0.6. Outputs are
// allocated by the caller and passed as TensorRefs too; an op never allocates
// or frees tensor memory it returns.
struct TensorRef {
  void* data = nullptr;
  DType dtype = DType::kF32;
  Device device;
  Dims shape;
  Dims strides;

  int rank() const { return static_cast<int>(shape.size()); }
  int64_t dim(int i) const { return shape[i < 0 ? i + rank() : i]; }

  // Number of elements, or -1 if the product overflows int64 (validation
  // reports that).
  int64_t numel() const;

  // True if the strides are those of a dense row-major tensor of this shape
  // (dimensions of size 1 may have any stride, as in PyTorch).
  bool IsContiguous() const;

  template <typename T>
  T* data_as() const {
    return static_cast<T*>(data);
  }
};

// Row-major strides for `shape`.
Dims ContiguousStrides(absl::Span<const int64_t> shape);

// A contiguous TensorRef over caller-owned memory.
TensorRef MakeTensorRef(void* data, DType dtype,
                        absl::Span<const int64_t> shape,
                        Device device = Device{});

// "[2, 3, 4]", for error messages.
std::string ShapeString(absl::Span<const int64_t> shape);

}  // namespace tapconv

#endif  // TAPCONV_OPS_TENSOR_REF_H_
