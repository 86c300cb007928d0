// The path-op kernels for the scalar instruction set, compiled with
// baseline x86-64 flags (BUILD target :path_kernels_scalar).
#define TAPCONV_SIMD_WANT_SCALAR

#include "backends/cpu/path_kernels_impl.h"

namespace tapconv::cpu::scalar {

const PathKernelTable& PathKernels() { return path_internal::kPathKernelTable; }

}  // namespace tapconv::cpu::scalar
