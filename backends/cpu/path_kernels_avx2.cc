// The path-op kernels for the avx2 instruction set, compiled with
// -mavx2 -mfma (BUILD target :path_kernels_avx2).
#define TAPCONV_SIMD_WANT_AVX2

#include "backends/cpu/path_kernels_impl.h"

namespace tapconv::cpu::avx2 {

const PathKernelTable& PathKernels() { return path_internal::kPathKernelTable; }

}  // namespace tapconv::cpu::avx2
