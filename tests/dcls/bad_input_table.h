#ifndef TAPCONV_TESTS_DCLS_BAD_INPUT_TABLE_H_
#define TAPCONV_TESTS_DCLS_BAD_INPUT_TABLE_H_

// Table-driven bad-input tests: a valid call, then one mutation per row, each
// expected to give InvalidArgument naming one argument. The mutated tensors
// keep their (valid) memory, so a check that is missing shows up as a wrong
// status, or under ASan as an out-of-bounds access.
//
// Rows that make two tensors alias point the smaller one into the larger
// one's buffer, and rows that change a shape shrink it where an overlap check
// could run first: a view reaching past its buffer would overlap whatever the
// allocator put next to it, and the error would name that instead.

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "ops/tensor_ref.h"
#include "tests/test_util.h"

namespace tapconv::testing {

template <typename Args, typename IO>
struct BadInputRow {
  std::string what;
  std::function<void(Args&, IO&)> mutate;
  std::string arg;  // the argument the error must name
};

template <typename Args, typename IO, typename Op>
void RunBadInputTable(const Args& args, const IO& io, Op op,
                      const std::vector<BadInputRow<Args, IO>>& rows) {
  const absl::Status valid = op(args, io);
  ASSERT_TRUE(valid.ok()) << "the unmutated call must succeed: " << valid;
  for (const auto& row : rows) {
    Args a = args;
    IO i = io;
    row.mutate(a, i);
    ExpectInvalidArgument(op(a, i), row.arg, row.what);
  }
}

// Tensor mutations.
inline void SetShape(TensorRef& t, Dims shape) {
  t.shape = std::move(shape);
  t.strides = ContiguousStrides(t.shape);
}
inline void Resize(TensorRef& t, int axis, int64_t size) {
  Dims shape = t.shape;
  shape[axis < 0 ? axis + t.rank() : axis] = size;
  SetShape(t, shape);
}
inline void AddAxis(TensorRef& t) {
  Dims shape = t.shape;
  shape.push_back(1);
  SetShape(t, shape);
}
inline void DropAxis(TensorRef& t) {
  Dims shape = t.shape;
  shape.pop_back();
  SetShape(t, shape);
}
// Doubles the stride of the last axis longer than 1.
inline void MakeNonContiguous(TensorRef& t) {
  for (int i = t.rank() - 1; i >= 0; --i) {
    if (t.shape[i] > 1) {
      t.strides[i] *= 2;
      return;
    }
  }
}
inline void OtherFloatDType(TensorRef& t) {
  t.dtype = t.dtype == DType::kF64 ? DType::kF32 : DType::kF64;
}
inline void OnGpu(TensorRef& t) { t.device = Device{DeviceKind::kCuda, 0}; }

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_DCLS_BAD_INPUT_TABLE_H_
