#ifndef TAPCONV_TESTS_GPU_EMULATION_GPU_EXTRA_CASES_H_
#define TAPCONV_TESTS_GPU_EMULATION_GPU_EXTRA_CASES_H_

#include <vector>

#include "tests/conformance/op_cases.h"

namespace tapconv::conformance {

// Cases aimed at the GPU kernels' tiling on top of the conformance matrix: the
// 1344 x 1344 stem (K = 31, stride 2), large ragged sizes, strides 1-9, long
// kernels, channels-last with many channels, f16, large DCLS boxes and long
// path kernels.
std::vector<OpCase> GpuExtraCases();

}  // namespace tapconv::conformance

#endif  // TAPCONV_TESTS_GPU_EMULATION_GPU_EXTRA_CASES_H_
