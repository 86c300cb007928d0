#include "backends/cpu/conv_nd_arrays.h"

#include "ops/float16.h"

namespace tapconv::cpu {

template <typename T>
std::vector<T> LoadAs(const TensorRef& t) {
  std::vector<T> v(t.numel());
  for (size_t i = 0; i < v.size(); ++i) {
    switch (t.dtype) {
      case DType::kF32:
        v[i] = static_cast<T>(t.data_as<const float>()[i]);
        break;
      case DType::kF64:
        v[i] = static_cast<T>(t.data_as<const double>()[i]);
        break;
      case DType::kBF16:
        v[i] = static_cast<T>(ToFloat(t.data_as<const BFloat16>()[i]));
        break;
      case DType::kF16:
        v[i] = static_cast<T>(ToFloat(t.data_as<const Half>()[i]));
        break;
      default:
        v[i] = T(0);
    }
  }
  return v;
}

void LoadDoubles(const TensorRef& t, int64_t offset, int64_t n, double* out) {
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kF32:
        out[i] = t.data_as<const float>()[offset + i];
        break;
      case DType::kF64:
        out[i] = t.data_as<const double>()[offset + i];
        break;
      case DType::kBF16:
        out[i] = ToFloat(t.data_as<const BFloat16>()[offset + i]);
        break;
      case DType::kF16:
        out[i] = ToFloat(t.data_as<const Half>()[offset + i]);
        break;
      default:
        out[i] = 0.0;
    }
  }
}

void StoreRounded(const double* v, int64_t n, const TensorRef& t,
                  int64_t offset) {
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
      case DType::kF32:
        t.data_as<float>()[offset + i] = static_cast<float>(v[i]);
        break;
      case DType::kF64:
        t.data_as<double>()[offset + i] = v[i];
        break;
      case DType::kBF16:
        t.data_as<BFloat16>()[offset + i] =
            ToBFloat16(static_cast<float>(v[i]));
        break;
      case DType::kF16:
        t.data_as<Half>()[offset + i] = ToHalf(static_cast<float>(v[i]));
        break;
      default:
        break;
    }
  }
}

template std::vector<float> LoadAs<float>(const TensorRef&);
template std::vector<double> LoadAs<double>(const TensorRef&);

}  // namespace tapconv::cpu
