// The oriented-conv kernels for the scalar instruction set, compiled with
// baseline x86-64 flags (BUILD target :oriented_kernels_scalar).
#define TAPCONV_SIMD_WANT_SCALAR

#include "backends/cpu/oriented_blocked_kernels_impl.h"
#include "backends/cpu/oriented_kernels_impl.h"

namespace tapconv::cpu::scalar {
const OrientedKernelTable& OrientedKernels() { return kOrientedKernelTable; }
const OrientedBlockedKernelTable& OrientedBlockedKernels() {
  return kOrientedBlockedKernelTable;
}

}  // namespace tapconv::cpu::scalar
