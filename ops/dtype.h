#ifndef TAPCONV_OPS_DTYPE_H_
#define TAPCONV_OPS_DTYPE_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace tapconv {

// Element types a TensorRef can hold. Floating types are the data types of the
// ops; integer types are for index tensors (path permutations).
enum class DType : uint8_t { kF16, kBF16, kF32, kF64, kI32, kI64 };

constexpr size_t SizeOf(DType dtype) {
  switch (dtype) {
    case DType::kF16:
    case DType::kBF16:
      return 2;
    case DType::kF32:
    case DType::kI32:
      return 4;
    case DType::kF64:
    case DType::kI64:
      return 8;
  }
  return 0;
}

constexpr bool IsFloating(DType dtype) {
  return dtype == DType::kF16 || dtype == DType::kBF16 ||
         dtype == DType::kF32 || dtype == DType::kF64;
}

constexpr bool IsInteger(DType dtype) {
  return dtype == DType::kI32 || dtype == DType::kI64;
}

// Unit roundoff of the type's significand (2^-p): the scale of one rounding
// error.
constexpr double UnitRoundoff(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return 1.0 / (1 << 11);
    case DType::kBF16:
      return 1.0 / (1 << 8);
    case DType::kF32:
      return 1.0 / (1 << 24);
    case DType::kF64:
      return 1.0 / 9007199254740992.0;  // 2^-53
    default:
      return 0.0;
  }
}

absl::string_view DTypeName(DType dtype);

}  // namespace tapconv

#endif  // TAPCONV_OPS_DTYPE_H_
