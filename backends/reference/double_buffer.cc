#include "backends/reference/double_buffer.h"

#include "ops/float16.h"

namespace tapconv::reference {

std::vector<double> LoadDoubles(const TensorRef& t) {
  const int64_t n = t.numel();
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kF16:
        out[i] = ToFloat(t.data_as<const Half>()[i]);
        break;
      case DType::kBF16:
        out[i] = ToFloat(t.data_as<const BFloat16>()[i]);
        break;
      case DType::kF32:
        out[i] = t.data_as<const float>()[i];
        break;
      case DType::kF64:
        out[i] = t.data_as<const double>()[i];
        break;
      case DType::kI32:
        out[i] = t.data_as<const int32_t>()[i];
        break;
      case DType::kI64:
        out[i] = static_cast<double>(t.data_as<const int64_t>()[i]);
        break;
    }
  }
  return out;
}

void StoreDoubles(const std::vector<double>& values, const TensorRef& t) {
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) {
    const double v = values[i];
    switch (t.dtype) {
      case DType::kF16:
        t.data_as<Half>()[i] = ToHalf(static_cast<float>(v));
        break;
      case DType::kBF16:
        t.data_as<BFloat16>()[i] = ToBFloat16(static_cast<float>(v));
        break;
      case DType::kF32:
        t.data_as<float>()[i] = static_cast<float>(v);
        break;
      case DType::kF64:
        t.data_as<double>()[i] = v;
        break;
      case DType::kI32:
      case DType::kI64:
        break;  // never an output dtype of a floating op; validation rejects it
    }
  }
}

std::vector<int64_t> LoadIndices(const TensorRef& t) {
  const int64_t n = t.numel();
  std::vector<int64_t> out(n);
  for (int64_t i = 0; i < n; ++i) {
    out[i] = t.dtype == DType::kI32 ? t.data_as<const int32_t>()[i]
                                    : t.data_as<const int64_t>()[i];
  }
  return out;
}

}  // namespace tapconv::reference
