// The oriented-conv kernels for the avx512 instruction set, compiled with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl (BUILD target
// :oriented_kernels_avx512).

#include "backends/cpu/oriented_blocked_kernels_impl.h"
#include "backends/cpu/oriented_kernels_impl.h"

namespace tapconv::cpu::avx512 {
const OrientedKernelTable& OrientedKernels() { return kOrientedKernelTable; }
const OrientedBlockedKernelTable& OrientedBlockedKernels() {
  return kOrientedBlockedKernelTable;
}

}  // namespace tapconv::cpu::avx512
