#include "ops/tensor_ref.h"

#include <limits>

#include "absl/strings/str_join.h"

namespace tapconv {

int64_t TensorRef::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) return -1;
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

bool TensorRef::IsContiguous() const {
  if (strides.size() != shape.size()) return false;
  int64_t expected = 1;
  for (int i = rank() - 1; i >= 0; --i) {
    if (shape[i] != 1 && strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

Dims ContiguousStrides(absl::Span<const int64_t> shape) {
  Dims strides(shape.size());
  int64_t s = 1;
  for (int i = static_cast<int>(shape.size()) - 1; i >= 0; --i) {
    strides[i] = s;
    s *= shape[i];
  }
  return strides;
}

TensorRef MakeTensorRef(void* data, DType dtype,
                        absl::Span<const int64_t> shape, Device device) {
  TensorRef t;
  t.data = data;
  t.dtype = dtype;
  t.device = device;
  t.shape.assign(shape.begin(), shape.end());
  t.strides = ContiguousStrides(shape);
  return t;
}

std::string ShapeString(absl::Span<const int64_t> shape) {
  return "[" + absl::StrJoin(shape, ", ") + "]";
}

}  // namespace tapconv
