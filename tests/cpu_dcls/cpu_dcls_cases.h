#ifndef TAPCONV_TESTS_CPU_DCLS_CPU_DCLS_CASES_H_
#define TAPCONV_TESTS_CPU_DCLS_CPU_DCLS_CASES_H_

// The dense-conv and DCLS configurations the cpu backend is checked on against
// the reference, and helpers shared by the cpu_dcls tests.

#include <vector>

#include "ops/exec_context.h"
#include "tests/conformance/op_cases.h"

namespace tapconv::testing {

// ConvNd 1-D/2-D/3-D: dense, grouped, depthwise (17x17, 31-tap, with a
// channel multiplier), 1x1; strides, asymmetric padding, dilation; with and
// without bias; every case in f32, f64 and bf16.
std::vector<conformance::ConvNdConfig> CpuConvNdConfigs();

// Construction: variants 1d, 2d, 3d, 2_1d, 3_1d, 3_2d (non-square and even
// boxes) x bilinear / gauss / triangle x natural / reversed axis order, the
// dtype cycling through f32, f64, bf16 and f16 (and f32 for all).
std::vector<conformance::DclsConfig> CpuDclsConstructConfigs();

// Fused depthwise: 1-D/2-D/3-D and the N-MD variants; strides, padding,
// dilation; positions partly or fully outside the box and many overlapping
// elements (K = 34 in 17x17); f32, f64, bf16.
std::vector<conformance::DclsDepthwiseConfig> CpuDclsDepthwiseConfigs();

// ExecContext on the cpu backend with `threads` threads (0 = all).
ExecContext CpuContext(int threads = 0);

// Bit-for-bit equality of two runs' outputs.
bool BitwiseEqual(const conformance::Outputs& a, const conformance::Outputs& b);

// op name with '.' replaced by '_', for test names.
std::string TestName(const conformance::OpCase& c, size_t index);

}  // namespace tapconv::testing

#endif  // TAPCONV_TESTS_CPU_DCLS_CPU_DCLS_CASES_H_
