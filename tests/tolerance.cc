#include "tests/tolerance.h"

#include <algorithm>
#include <cmath>

namespace tapconv::testing {

double Tolerance(DType dtype, int64_t reduction_length) {
  const double storage = UnitRoundoff(dtype);
  const double accumulate =
      UnitRoundoff(dtype == DType::kF64 ? DType::kF64 : DType::kF32);
  const double n = static_cast<double>(std::max<int64_t>(reduction_length, 1));
  return 4.0 * storage * std::sqrt(n) + 8.0 * accumulate * n;
}

}  // namespace tapconv::testing
