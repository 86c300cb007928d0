// The oriented-conv kernels for the avx2 instruction set, compiled with
// -mavx2 -mfma (BUILD target :oriented_kernels_avx2).
#define TAPCONV_SIMD_WANT_AVX2

#include "backends/cpu/oriented_blocked_kernels_impl.h"
#include "backends/cpu/oriented_kernels_impl.h"

namespace tapconv::cpu::avx2 {
const OrientedKernelTable& OrientedKernels() { return kOrientedKernelTable; }
const OrientedBlockedKernelTable& OrientedBlockedKernels() {
  return kOrientedBlockedKernelTable;
}

}  // namespace tapconv::cpu::avx2
