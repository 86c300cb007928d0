#ifndef TAPCONV_TESTS_TEST_UTIL_H_
#define TAPCONV_TESTS_TEST_UTIL_H_

// Shared helpers for the C++ tests: owned host tensors, seeded random data,
// tolerances derived from dtype and reduction length, finite-difference
// gradient checks, and status matchers.

#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "gtest/gtest.h"
#include "ops/tensor_ref.h"
#include "tests/host_tensor.h"
#include "tests/tolerance.h"

namespace tapconv::testing {

// Compares element-wise: |a - e| <= atol + rtol * |e|. Reports the first few
// mismatches with their flat index, and the count.
void ExpectAllClose(const std::vector<double>& actual,
                    const std::vector<double>& expected, double atol,
                    double rtol, absl::string_view what);

// Central finite differences of a scalar loss with respect to the float64
// tensor `input`, compared with `analytic` (the op's gradient of the same
// loss). Checks `max_points` entries chosen with `rng` (all of them if the
// tensor is smaller). The loss function must read `input` afresh on each call.
void ExpectGradientMatchesFiniteDifferences(
    const std::function<double()>& loss, HostTensor& input,
    const std::vector<double>& analytic, absl::string_view what,
    std::mt19937_64& rng, int max_points = 64, double step = 1e-6,
    double tolerance = 1e-6);

// sum_i a[i] * b[i]: the <output, cotangent> losses of the gradient checks.
double Dot(const std::vector<double>& a, const std::vector<double>& b);

// Expects InvalidArgument whose message starts with "<arg>:".
void ExpectInvalidArgument(const absl::Status& status, absl::string_view arg,
                           absl::string_view context);

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_TEST_UTIL_H_
