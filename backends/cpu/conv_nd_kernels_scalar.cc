// The tap-convolution kernels for the scalar instruction set, compiled with
// baseline x86-64 flags (BUILD target :conv_nd_kernels_scalar).
#define TAPCONV_SIMD_WANT_SCALAR

#include "backends/cpu/conv_nd_kernels_impl.h"
