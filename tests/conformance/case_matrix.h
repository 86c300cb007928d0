#ifndef TAPCONV_TESTS_CONFORMANCE_CASE_MATRIX_H_
#define TAPCONV_TESTS_CONFORMANCE_CASE_MATRIX_H_

#include <vector>

#include "tests/conformance/op_cases.h"

namespace tapconv::conformance {

// The conformance matrix: every op over the configurations that stress it
// (oblique and duplicate-tap angles, K in {3, 7, 13, 15, 31}, strides 1-3,
// ragged and 1x1 sizes, both layouts, every DCLS
// dimension/variant/interpolation, every path kind and shift), in float32,
// float64 and bfloat16.
std::vector<OpCase> ConformanceCases();

}  // namespace tapconv::conformance

#endif  // TAPCONV_TESTS_CONFORMANCE_CASE_MATRIX_H_
