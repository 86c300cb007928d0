// The tap-convolution kernels for the avx2 instruction set, compiled with
// -mavx2 -mfma (BUILD target :conv_nd_kernels_avx2).
#define TAPCONV_SIMD_WANT_AVX2

#include "backends/cpu/conv_nd_kernels_impl.h"
