// Device management of HipKernels and the plugin's entry point.

#include <hip/hip_runtime.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backends/hip/hip_kernels.h"
#include "backends/hip/hip_launch.h"

namespace tapconv::gpu {

Status HipDeviceInfo(int device, const DeviceInfo** info) {
  static std::mutex mutex;
  static auto* cache = new std::map<int, std::unique_ptr<DeviceInfo>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find(device);
  if (it != cache->end()) {
    *info = it->second.get();
    return Status::Ok();
  }
  hipDeviceProp_t prop;
  TAPCONV_HIP_CHECK(hipGetDeviceProperties(&prop, device),
                    "hipGetDeviceProperties");
  auto d = std::make_unique<DeviceInfo>();
  d->arch = prop.gcnArchName;  // e.g. "gfx90a:sramecc+:xnack-"
  d->major = prop.major;
  d->minor = prop.minor;
  d->sm_count = prop.multiProcessorCount;
  d->warp_size = prop.warpSize;
  d->max_threads_per_block = prop.maxThreadsPerBlock;
  d->smem_per_block = prop.sharedMemPerBlock;
  d->smem_per_block_optin = prop.sharedMemPerBlock;  // no opt-in on AMD
  d->smem_per_sm = prop.maxSharedMemoryPerMultiProcessor > 0
                       ? prop.maxSharedMemoryPerMultiProcessor
                       : prop.sharedMemPerBlock;
  d->max_grid_x = prop.maxGridSize[0];
  *info = d.get();
  (*cache)[device] = std::move(d);
  return Status::Ok();
}

Status HipKernels::Probe(int* device_count) const {
  *device_count = 0;
  const hipError_t e = hipGetDeviceCount(device_count);
  if (e != hipSuccess) {
    *device_count = 0;
    return Status::Error(Code::kFailedPrecondition,
                         std::string("no usable HIP device: hipGetDeviceCount "
                                     "returned ") +
                             hipGetErrorName(e) + " (" + hipGetErrorString(e) +
                             ")");
  }
  return Status::Ok();
}

Status HipKernels::Info(int device, DeviceInfo* info) const {
  const DeviceInfo* cached = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR(HipDeviceInfo(device, &cached));
  *info = *cached;
  return Status::Ok();
}

Status HipKernels::Allocate(int device, size_t bytes, void** pointer) const {
  *pointer = nullptr;
  if (bytes == 0) return Status::Ok();
  int previous = -1;
  (void)hipGetDevice(&previous);
  if (previous != device) TAPCONV_HIP_CHECK(hipSetDevice(device), "hipSetDevice");
  const hipError_t e = hipMalloc(pointer, bytes);
  if (previous >= 0 && previous != device) (void)hipSetDevice(previous);
  if (e != hipSuccess)
    return HipError(e, "hipMalloc of " + std::to_string(bytes) + " bytes");
  return Status::Ok();
}

void HipKernels::Free(int device, void* pointer) const {
  if (pointer != nullptr) (void)hipFree(pointer);
}

Status HipKernels::CopyToDevice(void* dst, const void* src, size_t bytes) const {
  TAPCONV_HIP_CHECK(hipMemcpy(dst, src, bytes, hipMemcpyHostToDevice),
                    "hipMemcpy to device");
  return Status::Ok();
}

Status HipKernels::CopyToHost(void* dst, const void* src, size_t bytes) const {
  TAPCONV_HIP_CHECK(hipMemcpy(dst, src, bytes, hipMemcpyDeviceToHost),
                    "hipMemcpy to host");
  return Status::Ok();
}

Status HipKernels::Synchronize(const LaunchEnv& env) const {
  TAPCONV_HIP_CHECK(hipStreamSynchronize(static_cast<hipStream_t>(env.stream)),
                    "hipStreamSynchronize");
  return Status::Ok();
}

}  // namespace tapconv::gpu

extern "C" __attribute__((visibility("default"))) const tapconv::gpu::GpuKernels*
TapconvHipKernels() {
  static const tapconv::gpu::HipKernels* kernels =
      new tapconv::gpu::HipKernels();
  return kernels;
}
