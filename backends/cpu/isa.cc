#include "backends/cpu/isa.h"

#include <cstdlib>
#include <string>

namespace tapconv::cpu {

Isa DetectedIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    return Isa::kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return Isa::kAvx2;
  return Isa::kScalar;
}

Isa ActiveIsa() {
  static const Isa active = [] {
    Isa isa = DetectedIsa();
    const char* requested = std::getenv("TAPCONV_CPU_ISA");
    if (requested == nullptr) return isa;
    const std::string r(requested);
    Isa want = isa;
    if (r == "scalar") want = Isa::kScalar;
    if (r == "avx2") want = Isa::kAvx2;
    if (r == "avx512") want = Isa::kAvx512;
    return static_cast<int>(want) < static_cast<int>(isa) ? want : isa;
  }();
  return active;
}

absl::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "unknown";
}

}  // namespace tapconv::cpu
