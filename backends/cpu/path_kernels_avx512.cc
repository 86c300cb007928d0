// The path-op kernels for the avx512 instruction set, compiled with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl (BUILD target
// :path_kernels_avx512).

#include "backends/cpu/path_kernels_impl.h"

namespace tapconv::cpu::avx512 {

const PathKernelTable& PathKernels() { return path_internal::kPathKernelTable; }

}  // namespace tapconv::cpu::avx512
