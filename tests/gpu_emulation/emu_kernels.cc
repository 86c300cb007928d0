// The GPU op drivers and kernels instantiated over the host emulator, and the
// emulated backends ("gpu_emulation_<profile>", host memory) that the tests
// select by name.

#include <cstdlib>
#include <cstring>
#include <memory>

#include "backends/gpu/drivers/conv_dcls_driver.h"
#include "backends/gpu/drivers/oriented_driver.h"
#include "backends/gpu/drivers/path_driver.h"
#include "backends/gpu/gpu_backend.h"
#include "tests/gpu_emulation/emu_runtime.h"

namespace tapconv::gpu {
namespace {

DeviceInfo Nvidia(const char* arch, int major, int minor, int sms, size_t optin,
                  size_t per_sm) {
  DeviceInfo d;
  d.arch = arch;
  d.major = major;
  d.minor = minor;
  d.sm_count = sms;
  d.warp_size = 32;
  d.smem_per_block = 48 * 1024;
  d.smem_per_block_optin = optin;
  d.smem_per_sm = per_sm;
  return d;
}

DeviceInfo Amd(const char* arch, int sms, int wave) {
  DeviceInfo d;
  d.arch = arch;
  d.major = 9;
  d.sm_count = sms;
  d.warp_size = wave;
  d.smem_per_block = d.smem_per_block_optin = d.smem_per_sm = 64 * 1024;
  return d;
}

}  // namespace

std::vector<EmuProfile> EmuProfiles() {
  std::vector<EmuProfile> p;
  // Limits as the CUDA/HIP runtimes report them for A100, RTX 3090, H100,
  // MI200 and RX 6800.
  p.push_back({"sm80", Nvidia("sm_80", 8, 0, 108, 166912, 167936), false});
  p.push_back({"sm86", Nvidia("sm_86", 8, 6, 82, 101376, 102400), true});
  p.push_back({"sm90", Nvidia("sm_90", 9, 0, 132, 232448, 233472), false});
  p.push_back({"gfx90a", Amd("gfx90a:sramecc+:xnack-", 110, 64), true});
  p.push_back({"gfx1030", Amd("gfx1030", 60, 32), false});
  DeviceInfo tiny = Nvidia("sm_86", 8, 6, 2, 6 * 1024, 12 * 1024);
  tiny.smem_per_block = 6 * 1024;
  p.push_back({"tiny", tiny, true});
  return p;
}

EmuControl& Control() {
  static EmuControl* control = new EmuControl();
  return *control;
}

// One profile per kernels object; its runtime is built per call.
#define TAPCONV_KERNELS_CLASS EmuKernels
#define TAPCONV_WITH_RUNTIME(env, f) WithEmu(profile_, env, f)

template <typename F>
Status WithEmu(const EmuProfile& profile, const LaunchEnv& env, F&& f) {
  EmuRuntime rt(env, profile);
  return f(rt);
}

#include "backends/gpu/methods_conv_dcls.inc"
#include "backends/gpu/methods_oriented.inc"
#include "backends/gpu/methods_path.inc"

#undef TAPCONV_KERNELS_CLASS
#undef TAPCONV_WITH_RUNTIME

Status EmuKernels::Probe(int* device_count) const {
  *device_count = 1;
  return Status::Ok();
}
Status EmuKernels::Info(int, DeviceInfo* info) const {
  *info = profile_.info;
  return Status::Ok();
}
Status EmuKernels::Allocate(int, size_t bytes, void** pointer) const {
  *pointer = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  if (*pointer == nullptr)
    return Status::Error(Code::kResourceExhausted, "oom");
  return Status::Ok();
}
void EmuKernels::Free(int, void* pointer) const { std::free(pointer); }
Status EmuKernels::CopyToDevice(void* dst, const void* src,
                                size_t bytes) const {
  std::memcpy(dst, src, bytes);
  return Status::Ok();
}
Status EmuKernels::CopyToHost(void* dst, const void* src, size_t bytes) const {
  std::memcpy(dst, src, bytes);
  return Status::Ok();
}
Status EmuKernels::Synchronize(const LaunchEnv&) const { return Status::Ok(); }

namespace {

// Host-memory backends, one per profile, never picked by default.
struct Registrations {
  Registrations() {
    for (const EmuProfile& profile : EmuProfiles()) {
      auto* kernels = new EmuKernels(profile);
      BackendRegistry::Global().Register(std::make_unique<GpuBackend>(
          "gpu_emulation_" + profile.name, DeviceKind::kCpu, -100,
          [kernels](std::string*) { return kernels; }));
    }
  }
};
const Registrations registrations;

}  // namespace
}  // namespace tapconv::gpu
