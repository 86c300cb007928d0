#ifndef TAPCONV_BACKENDS_GPU_TUNING_H_
#define TAPCONV_BACKENDS_GPU_TUNING_H_

// Per-architecture launch constants, and the shared-memory budget every tiled
// launch is planned against. The tables are starting points chosen from each
// architecture's published limits (registers, shared memory per SM, wave
// width); they were not measured (no GPU was available when they were
// written): docs/gpu.md says how to re-tune them with //bench:gpu_bench.

#include <cstddef>
#include <cstdint>
#include <string>

#include "backends/gpu/gpu_api.h"

namespace tapconv::gpu {

// The oriented tiled kernel keeps this many outputs per thread in registers
// (a compile-time array; the planner never asks for more).
inline constexpr int kMaxOutputsPerThread = 8;
// Every kernel is compiled with __launch_bounds__ of this many threads.
inline constexpr int kMaxBlockThreads = 256;

struct ArchTuning {
  const char* name;
  // Threads of the tiled kernels; a multiple of the wave width.
  int block_threads;
  // Threads of the one-output-per-thread kernels.
  int elementwise_threads;
  // Register blocking of the oriented tiled kernel (<= kMaxOutputsPerThread).
  int outputs_per_thread;
  // Shared memory is budgeted so that this many blocks fit on one SM / CU.
  int blocks_per_sm;
  // Widest output tile of the oriented tiled kernel, in columns.
  int max_tile_w;
};

// sm_80 (A100): 164 KB shared per SM, 2 blocks of up to ~80 KB.
// sm_86 (RTX 3090, the tuning reference of seed 000): 100 KB per SM.
// sm_90 (H100/H200): 228 KB per SM.
// gfx90a (MI200, wave64): 64 KB LDS per CU. gfx1030 (RDNA2, wave32): 64 KB per
// WGP, shared by two CUs.
inline const ArchTuning& TuningFor(const DeviceInfo& info) {
  static const ArchTuning kSm80{"sm_80", 256, 256, 8, 2, 128};
  static const ArchTuning kSm86{"sm_86", 256, 256, 8, 2, 128};
  static const ArchTuning kSm90{"sm_90", 256, 256, 8, 2, 128};
  static const ArchTuning kGfx90a{"gfx90a", 256, 256, 8, 2, 64};
  static const ArchTuning kGfx1030{"gfx1030", 256, 256, 4, 2, 64};
  static const ArchTuning kDefault{"default", 256, 256, 4, 2, 64};
  const std::string& a = info.arch;
  auto contains = [&a](const char* s) {
    return a.find(s) != std::string::npos;
  };
  if (contains("gfx90a") || contains("gfx908") || contains("gfx94"))
    return kGfx90a;
  if (contains("gfx10") || contains("gfx11")) return kGfx1030;
  if (contains("gfx")) return kDefault;
  if (contains("sm_")) {
    if (info.major >= 9) return kSm90;
    if (info.major == 8 && info.minor == 0) return kSm80;
    if (info.major == 8) return kSm86;
  }
  return kDefault;
}

// Bytes of dynamic shared memory a tiled launch may use: the per-block hard
// limit, lowered so that `blocks_per_sm` blocks fit on one SM (1 KB of each
// SM's shared memory is reserved per block on NVIDIA GPUs).
inline size_t SharedBudget(const DeviceInfo& info, const ArchTuning& tuning) {
  size_t per_sm = info.smem_per_sm / static_cast<size_t>(tuning.blocks_per_sm);
  per_sm = per_sm > 1024 ? per_sm - 1024 : per_sm;
  size_t budget =
      info.smem_per_block_optin < per_sm ? info.smem_per_block_optin : per_sm;
  // Never plan below the portable 16 KB unless the device itself has less.
  const size_t floor = info.smem_per_block_optin < 16384
                           ? info.smem_per_block_optin
                           : size_t{16384};
  return budget < floor ? floor : budget;
}

// Threads for a block that has `work` independent items: enough for all of
// them, rounded up to the wave width, within [wave, tuning maximum].
inline int ThreadsFor(int64_t work, int warp, int max_threads) {
  int64_t t = (work + warp - 1) / warp * warp;
  if (t < warp) t = warp;
  if (t > max_threads) t = max_threads;
  return static_cast<int>(t);
}

inline int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_TUNING_H_
