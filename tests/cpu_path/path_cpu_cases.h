#ifndef TAPCONV_TESTS_CPU_PATH_PATH_CPU_CASES_H_
#define TAPCONV_TESTS_CPU_PATH_PATH_CPU_CASES_H_

#include <vector>

#include "tests/conformance/op_cases.h"

namespace tapconv::testing {

// The path-op configurations the cpu backend is compared with the reference
// on: every curve kind, shifted and rotated paths, 1, 3 and 6 paths,
// multiplier 1 and 2, strides 1-3, padding 0, K/2 and beyond K, K = 1..31,
// sizes 1x1, 1xN, Nx1, odd, 32x32 and 64x64 with the research note's Hilbert
// sets, channel counts that are and are not multiples of the vector width, an
// empty batch, float32/float64/bfloat16 and int32/int64 indices.
std::vector<conformance::PathConfig> CpuPathConfigs();

// Larger configurations whose work splits into many chunks: the determinism
// test runs them under several thread counts.
std::vector<conformance::PathConfig> PathDeterminismConfigs();

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_CPU_PATH_PATH_CPU_CASES_H_
