#include "tests/test_util.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ops/float16.h"

namespace tapconv::testing {

void ExpectAllClose(const std::vector<double>& actual,
                    const std::vector<double>& expected, double atol,
                    double rtol, absl::string_view what) {
  ASSERT_EQ(actual.size(), expected.size()) << what << ": sizes differ";
  int64_t bad = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double err = std::fabs(actual[i] - expected[i]);
    const bool ok =
        err <= atol + rtol * std::fabs(expected[i]);  // false for NaN
    if (!ok) {
      if (bad < 5) {
        ADD_FAILURE() << what << ": element " << i << " is " << actual[i]
                      << ", expected " << expected[i] << " (|diff| " << err
                      << " > atol " << atol << " + rtol " << rtol
                      << " * |expected|)";
      }
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << actual.size()
                    << " elements differ";
}

void ExpectGradientMatchesFiniteDifferences(
    const std::function<double()>& loss, HostTensor& input,
    const std::vector<double>& analytic, absl::string_view what,
    std::mt19937_64& rng, int max_points, double step, double tolerance) {
  ASSERT_EQ(input.dtype(), DType::kF64)
      << what << ": finite differences need float64";
  ASSERT_EQ(static_cast<int64_t>(analytic.size()), input.numel()) << what;
  std::vector<int64_t> points(input.numel());
  std::iota(points.begin(), points.end(), 0);
  if (static_cast<int64_t>(points.size()) > max_points) {
    std::shuffle(points.begin(), points.end(), rng);
    points.resize(max_points);
  }
  int bad = 0;
  for (int64_t i : points) {
    const double saved = input.Get(i);
    input.Set(i, saved + step);
    const double plus = loss();
    input.Set(i, saved - step);
    const double minus = loss();
    input.Set(i, saved);
    const double numeric = (plus - minus) / (2 * step);
    const double err = std::fabs(numeric - analytic[i]);
    if (!(err <= tolerance * (1.0 + std::fabs(numeric)))) {
      if (bad < 5) {
        ADD_FAILURE() << what << ": d loss / d element " << i << ": analytic "
                      << analytic[i] << ", finite difference " << numeric
                      << " (|diff| " << err << ")";
      }
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << points.size()
                    << " checked gradient entries differ";
}

double Dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0.0;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i) s += a[i] * b[i];
  return s;
}

void ExpectInvalidArgument(const absl::Status& status, absl::string_view arg,
                           absl::string_view context) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument)
      << context << ": expected InvalidArgument naming '" << arg << "', got "
      << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), absl::StrCat(arg, ":")))
      << context << ": the message should start with '" << arg << ":', got '"
      << status.message() << "'";
}

}  // namespace tapconv::testing
