#ifndef TAPCONV_BACKENDS_CPU_ISA_H_
#define TAPCONV_BACKENDS_CPU_ISA_H_

// The vector instruction set the cpu backend's kernels use, chosen at run time
// so one binary runs on any x86-64 machine.

#include "absl/strings/string_view.h"

namespace tapconv::cpu {

enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

// The best instruction set this processor supports (AVX2 needs FMA too; AVX-512
// needs F, BW, DQ and VL).
Isa DetectedIsa();

// The instruction set kernels use: DetectedIsa(), lowered by the environment
// variable TAPCONV_CPU_ISA=scalar|avx2|avx512 (never raised above what the
// processor supports). Read once; tests use it to run every kernel variant on
// one machine.
Isa ActiveIsa();

absl::string_view IsaName(Isa isa);

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_ISA_H_
