#ifndef TAPCONV_TESTS_HOST_TENSOR_H_
#define TAPCONV_TESTS_HOST_TENSOR_H_

// An owned host tensor for tests, the demo and benchmarks (the op interface
// itself never owns memory).

#include <cstdint>
#include <random>
#include <vector>

#include "ops/tensor_ref.h"

namespace tapconv::testing {

// A contiguous tensor in host memory that owns its storage (8-byte aligned:
// kernels must not count on more).
class HostTensor {
 public:
  HostTensor() = default;
  HostTensor(DType dtype, Dims shape);

  // A view for the op interface. Mutating through it mutates this tensor.
  TensorRef ref() const;
  const Dims& shape() const { return shape_; }
  DType dtype() const { return dtype_; }
  int64_t numel() const { return numel_; }

  // Element values converted to double, and back (rounded to the dtype).
  std::vector<double> ToDoubles() const;
  void SetFromDoubles(const std::vector<double>& values);
  double Get(int64_t i) const;
  void Set(int64_t i, double v);

  // Uniform values in [lo, hi), rounded to the dtype. Deterministic for a given
  // rng state.
  void FillUniform(std::mt19937_64& rng, double lo = -1.0, double hi = 1.0);
  void Fill(double v);

 private:
  DType dtype_ = DType::kF32;
  Dims shape_;
  int64_t numel_ = 0;
  std::vector<uint64_t>
      storage_;  // 8-byte words; data() is at least 8-byte aligned
};

HostTensor Uniform(DType dtype, Dims shape, std::mt19937_64& rng,
                   double lo = -1.0, double hi = 1.0);

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_HOST_TENSOR_H_
