#include "tests/host_tensor.h"

#include "ops/float16.h"

namespace tapconv::testing {

HostTensor::HostTensor(DType dtype, Dims shape)
    : dtype_(dtype), shape_(std::move(shape)) {
  numel_ = 1;
  for (int64_t d : shape_) numel_ *= d;
  storage_.assign((numel_ * SizeOf(dtype_) + 7) / 8 + 1, 0);
}

TensorRef HostTensor::ref() const {
  TensorRef t =
      MakeTensorRef(const_cast<uint64_t*>(storage_.data()), dtype_, shape_);
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

HostTensor Uniform(DType dtype, Dims shape, std::mt19937_64& rng, double lo,
                   double hi) {
  HostTensor t(dtype, std::move(shape));
  t.FillUniform(rng, lo, hi);
  return t;
}

}  // namespace tapconv::testing
