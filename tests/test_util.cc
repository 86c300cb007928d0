#include "tests/test_util.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "ops/float16.h"

namespace tapconv::testing {

HostTensor::HostTensor(DType dtype, Dims shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = 1;
  for (int64_t d : shape_) numel_ *= d;
  storage_.assign((numel_ * SizeOf(dtype_) + 7) / 8 + 1, 0);
}

TensorRef HostTensor::ref() const {
  TensorRef t = MakeTensorRef(const_cast<uint64_t*>(storage_.data()), dtype_, shape_);
  return t;
}

double HostTensor::Get(int64_t i) const {
  const void* p = storage_.data();
  switch (dtype_) {
    case DType::kF16:
      return ToFloat(static_cast<const Half*>(p)[i]);
    case DType::kBF16:
      return ToFloat(static_cast<const BFloat16*>(p)[i]);
    case DType::kF32:
      return static_cast<const float*>(p)[i];
    case DType::kF64:
      return static_cast<const double*>(p)[i];
    case DType::kI32:
      return static_cast<const int32_t*>(p)[i];
    case DType::kI64:
      return static_cast<double>(static_cast<const int64_t*>(p)[i]);
  }
  return 0.0;
}

void HostTensor::Set(int64_t i, double v) {
  void* p = storage_.data();
  switch (dtype_) {
    case DType::kF16:
      static_cast<Half*>(p)[i] = ToHalf(static_cast<float>(v));
      break;
    case DType::kBF16:
      static_cast<BFloat16*>(p)[i] = ToBFloat16(static_cast<float>(v));
      break;
    case DType::kF32:
      static_cast<float*>(p)[i] = static_cast<float>(v);
      break;
    case DType::kF64:
      static_cast<double*>(p)[i] = v;
      break;
    case DType::kI32:
      static_cast<int32_t*>(p)[i] = static_cast<int32_t>(v);
      break;
    case DType::kI64:
      static_cast<int64_t*>(p)[i] = static_cast<int64_t>(v);
      break;
  }
}

std::vector<double> HostTensor::ToDoubles() const {
  std::vector<double> out(numel_);
  for (int64_t i = 0; i < numel_; ++i) out[i] = Get(i);
  return out;
}

void HostTensor::SetFromDoubles(const std::vector<double>& values) {
  for (int64_t i = 0; i < numel_; ++i) Set(i, values[i]);
}

void HostTensor::FillUniform(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> dist(lo, hi);
  for (int64_t i = 0; i < numel_; ++i) Set(i, dist(rng));
}

void HostTensor::Fill(double v) {
  for (int64_t i = 0; i < numel_; ++i) Set(i, v);
}

HostTensor Uniform(DType dtype, Dims shape, std::mt19937_64& rng, double lo, double hi) {
  HostTensor t(dtype, std::move(shape));
  t.FillUniform(rng, lo, hi);
  return t;
}

double Tolerance(DType dtype, int64_t reduction_length) {
  const double storage = UnitRoundoff(dtype);
  const double accumulate = UnitRoundoff(dtype == DType::kF64 ? DType::kF64 : DType::kF32);
  const double n = static_cast<double>(std::max<int64_t>(reduction_length, 1));
  return 4.0 * storage * std::sqrt(n) + 8.0 * accumulate * n;
}

void ExpectAllClose(const std::vector<double>& actual, const std::vector<double>& expected,
                    double atol, double rtol, absl::string_view what) {
  ASSERT_EQ(actual.size(), expected.size()) << what << ": sizes differ";
  int64_t bad = 0;
  for (size_t i = 0; i < actual.size(); ++i) {
    const double err = std::fabs(actual[i] - expected[i]);
    const bool ok = err <= atol + rtol * std::fabs(expected[i]);  // false for NaN
    if (!ok) {
      if (bad < 5) {
        ADD_FAILURE() << what << ": element " << i << " is " << actual[i] << ", expected "
                      << expected[i] << " (|diff| " << err << " > atol " << atol << " + rtol "
                      << rtol << " * |expected|)";
      }
      ++bad;
    }
  }
  EXPECT_EQ(bad, 0) << what << ": " << bad << " of " << actual.size() << " elements differ";
}

void ExpectGradientMatchesFiniteDifferences(const std::function<double()>& loss,
                                            HostTensor& input,
                                            const std::vector<double>& analytic,
                                            absl::string_view what, std::mt19937_64& rng,
                                            int max_points, double step, double tolerance) {
  ASSERT_EQ(input.dtype(), DType::kF64) << what << ": finite differences need float64";
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
        ADD_FAILURE() << what << ": d loss / d element " << i << ": analytic " << analytic[i]
                      << ", finite difference " << numeric << " (|diff| " << err << ")";
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
      << context << ": expected InvalidArgument naming '" << arg << "', got " << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), absl::StrCat(arg, ":")))
      << context << ": the message should start with '" << arg << ":', got '"
      << status.message() << "'";
}

}  // namespace tapconv::testing
