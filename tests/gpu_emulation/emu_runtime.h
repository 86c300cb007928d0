#ifndef TAPCONV_TESTS_GPU_EMULATION_EMU_RUNTIME_H_
#define TAPCONV_TESTS_GPU_EMULATION_EMU_RUNTIME_H_

// A host "GPU": runs the GPU backends' kernels (backends/gpu/kernels) exactly
// as a device would schedule them -- for every tile, phase 0 on all threads,
// then phase 1 on all threads, ... (the barrier) -- over host memory, for the
// launch configurations the drivers plan for a given device profile. So index
// math, halos, bounds checks, shared-memory layouts and the reductions of the
// real kernels are exercised without a GPU.
//
// To catch what a sequential emulation could hide:
// - every tile gets a fresh shared-memory buffer of exactly the planned size
//   filled with NaN bytes (reading something no phase wrote shows up as NaN;
//   overruns are caught by AddressSanitizer);
// - workspace memory starts as NaN bytes too;
// - profiles may run a phase's threads in reverse order (a result that depends
//   on the order of threads within a phase is a race on the device);
// - launches check block size and shared memory against the profile.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "backends/gpu/gpu_api.h"
#include "backends/gpu/tuning.h"

namespace tapconv::gpu {

struct EmuProfile {
  std::string name;  // backend name suffix: "sm86", "gfx90a", ...
  DeviceInfo info;
  bool reverse_threads = false;
};

// The profiles the emulation tests run: the architectures of the tuning
// tables, plus a device with tiny shared memory (forces small tiles and the
// direct fallbacks).
std::vector<EmuProfile> EmuProfiles();

// Launch statistics and an optional tile filter (for the 64-bit index tests,
// which run only a few tiles of enormous problems).
struct EmuControl {
  // Launches with more tiles than this run only the tiles `keep` accepts.
  int64_t filter_above = INT64_MAX;
  std::function<bool(int64_t tile, int64_t tiles)> keep;
  // Names of the kernels launched since the last Reset, in order.
  std::vector<std::string> launched;
  void Reset() {
    filter_above = INT64_MAX;
    keep = nullptr;
    launched.clear();
  }
};
EmuControl& Control();

class EmuRuntime {
 public:
  EmuRuntime(const LaunchEnv&, const EmuProfile& profile)
      : profile_(profile), tuning_(TuningFor(profile.info)) {}

  const Status& status() const { return status_; }
  const DeviceInfo& info() const { return profile_.info; }
  const ArchTuning& tuning() const { return tuning_; }

  Status Allocate(size_t bytes, void** p) {
    *p = nullptr;
    if (bytes == 0) return Status::Ok();
    *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
    if (*p == nullptr) return Status::Error(Code::kResourceExhausted, "oom");
    std::memset(*p, 0xff, bytes);  // NaN in every float type
    return Status::Ok();
  }
  void Free(void* p) { std::free(p); }
  Status Zero(void* p, size_t bytes) {
    if (bytes != 0) std::memset(p, 0, bytes);
    return Status::Ok();
  }

  template <class K>
  Status Launch(const K& kernel, int64_t tiles, int threads, size_t smem,
                const char* name) {
    Control().launched.emplace_back(name);
    if (tiles <= 0) return Status::Ok();
    if (threads <= 0 || threads > kMaxBlockThreads) {
      return Status::Error(
          Code::kInternal,
          std::string(name) + ": bad block size " + std::to_string(threads));
    }
    if (smem > profile_.info.smem_per_block_optin) {
      return Status::Error(Code::kInternal, std::string(name) + " needs " +
                                                std::to_string(smem) +
                                                " bytes of shared memory");
    }
    const EmuControl& control = Control();
    const bool filtered = tiles > control.filter_above && control.keep;
    std::vector<unsigned char> shared(smem);
    for (int64_t t = 0; t < tiles; ++t) {
      if (filtered && !control.keep(t, tiles)) continue;
      if (!shared.empty()) std::memset(shared.data(), 0xff, shared.size());
      unsigned char* s = shared.empty() ? nullptr : shared.data();
      for (int phase = 0; phase < K::kPhases; ++phase) {
        for (int i = 0; i < threads; ++i) {
          const int thread = profile_.reverse_threads ? threads - 1 - i : i;
          kernel.Phase(phase, t, thread, s);
        }
      }
    }
    return Status::Ok();
  }

 private:
  const EmuProfile& profile_;
  ArchTuning tuning_;
  Status status_;
};

// GpuKernels over EmuRuntime for one profile.
class EmuKernels final : public GpuKernels {
 public:
  explicit EmuKernels(EmuProfile profile) : profile_(std::move(profile)) {}
  const EmuProfile& profile() const { return profile_; }

#include "backends/gpu/kernels_class.inc"

 private:
  EmuProfile profile_;
};

}  // namespace tapconv::gpu

#endif  // TAPCONV_TESTS_GPU_EMULATION_EMU_RUNTIME_H_
