#ifndef TAPCONV_TESTS_TOLERANCE_H_
#define TAPCONV_TESTS_TOLERANCE_H_

#include <cstdint>

#include "ops/dtype.h"

namespace tapconv::testing {

// Absolute tolerance for an entry that is a sum of `reduction_length` products
// of O(1) terms, computed from inputs stored in `dtype` with float32 (float64
// for float64) accumulation: the independent rounding errors of the stored
// inputs and the output add up like sqrt(length) units of the storage type,
// the accumulation's rounding at worst like length units of the accumulator.
double Tolerance(DType dtype, int64_t reduction_length);

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_TOLERANCE_H_
