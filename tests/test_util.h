#ifndef TAPCONV_TESTS_TEST_UTIL_H_
#define TAPCONV_TESTS_TEST_UTIL_H_

// Shared helpers for the C++ tests: owned host tensors, seeded random data, tolerances derived
// from dtype and reduction length, finite-difference gradient checks, and status matchers.

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "ops/tensor_ref.h"

namespace tapconv::testing {

// A contiguous tensor in host memory that owns its (64-byte aligned) storage.
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

  // Uniform values in [lo, hi), rounded to the dtype. Deterministic for a given rng state.
  void FillUniform(std::mt19937_64& rng, double lo = -1.0, double hi = 1.0);
  void Fill(double v);

 private:
  DType dtype_ = DType::kF32;
  Dims shape_;
  int64_t numel_ = 0;
  std::vector<uint64_t> storage_;  // 8-byte words; data() is at least 8-byte aligned
};

HostTensor Uniform(DType dtype, Dims shape, std::mt19937_64& rng, double lo = -1.0,
                   double hi = 1.0);

// Absolute tolerance for an entry that is a sum of `reduction_length` products of O(1) terms
// computed in `dtype` with float32 or better accumulation: a few rounding errors of the storage
// type (inputs and output are rounded once each) plus an accumulation term growing like
// sqrt(length) (random-walk rounding of the float32/float64 sums).
double Tolerance(DType dtype, int64_t reduction_length);

// Compares element-wise: |a - e| <= atol + rtol * |e|. Reports the first few mismatches with
// their flat index, and the count.
void ExpectAllClose(const std::vector<double>& actual, const std::vector<double>& expected,
                    double atol, double rtol, absl::string_view what);

// Central finite differences of a scalar loss with respect to the float64 tensor `input`,
// compared with `analytic` (the op's gradient of the same loss). Checks `max_points` entries
// chosen with `rng` (all of them if the tensor is smaller). The loss function must read
// `input` afresh on each call.
void ExpectGradientMatchesFiniteDifferences(const std::function<double()>& loss,
                                            HostTensor& input,
                                            const std::vector<double>& analytic,
                                            absl::string_view what, std::mt19937_64& rng,
                                            int max_points = 64, double step = 1e-6,
                                            double tolerance = 1e-6);

// sum_i a[i] * b[i]: the <output, cotangent> losses of the gradient checks.
double Dot(const std::vector<double>& a, const std::vector<double>& b);

// Expects InvalidArgument whose message starts with "<arg>:".
void ExpectInvalidArgument(const absl::Status& status, absl::string_view arg,
                           absl::string_view context);

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_TEST_UTIL_H_
