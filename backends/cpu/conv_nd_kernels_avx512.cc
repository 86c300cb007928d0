// The tap-convolution kernels for the avx512 instruction set, compiled with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl (BUILD target
// :conv_nd_kernels_avx512).

#include "backends/cpu/conv_nd_kernels_impl.h"
