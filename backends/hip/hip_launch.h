#ifndef TAPCONV_BACKENDS_HIP_HIP_LAUNCH_H_
#define TAPCONV_BACKENDS_HIP_HIP_LAUNCH_H_

// The HIP runtime behind the op drivers (the interface is described in
// backends/gpu/drivers/driver_util.h): workspace and checked launches of the
// phase kernels of backends/gpu/kernels. Included only by .hip files.

#include <hip/hip_runtime.h>

#include <cstdint>
#include <string>

#include "backends/gpu/gpu_api.h"
#include "backends/gpu/tuning.h"
#include "backends/hip/hip_kernels.h"

namespace tapconv::gpu {

// Runs kernel K over `tiles` tiles: for each tile (grid-stride), every phase
// on every thread with a barrier after each (backends/gpu/kernels/common.h).
template <class K>
__global__ void __launch_bounds__(kMaxBlockThreads)
    RunPhases(const K kernel, int64_t tiles) {
  extern __shared__ unsigned char smem[];
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
#pragma unroll
    for (int phase = 0; phase < K::kPhases; ++phase) {
      kernel.Phase(phase, t, static_cast<int>(threadIdx.x), smem);
      __syncthreads();
    }
  }
}

inline Status HipError(hipError_t e, const std::string& what) {
  return Status::Error(
      e == hipErrorOutOfMemory ? Code::kResourceExhausted : Code::kInternal,
      what + ": " + hipGetErrorName(e) + " (" + hipGetErrorString(e) + ")");
}

#define TAPCONV_HIP_CHECK(call, what)                        \
  do {                                                       \
    const hipError_t _hip_e = (call);                        \
    if (_hip_e != hipSuccess) return HipError(_hip_e, what); \
  } while (0)

class HipRuntime {
 public:
  HipRuntime(const LaunchEnv& env, const DeviceInfo& info)
      : stream_(static_cast<hipStream_t>(env.stream)),
        info_(info),
        tuning_(TuningFor(info)) {
    if (hipGetDevice(&previous_) != hipSuccess) previous_ = -1;
    if (previous_ != env.device) {
      const hipError_t e = hipSetDevice(env.device);
      if (e != hipSuccess) status_ = HipError(e, "hipSetDevice");
    }
  }
  ~HipRuntime() {
    int now = -1;
    if (previous_ >= 0 && hipGetDevice(&now) == hipSuccess && now != previous_)
      (void)hipSetDevice(previous_);
  }
  HipRuntime(const HipRuntime&) = delete;
  HipRuntime& operator=(const HipRuntime&) = delete;

  const Status& status() const { return status_; }
  const DeviceInfo& info() const { return info_; }
  const ArchTuning& tuning() const { return tuning_; }

  // hipMallocAsync is a beta feature of ROCm 5.2: plain hipMalloc, and
  // hipFree (which waits for the device) at the end of the op.
  Status Allocate(size_t bytes, void** p) {
    *p = nullptr;
    if (bytes == 0) return Status::Ok();
    TAPCONV_HIP_CHECK(hipMalloc(p, bytes), "hipMalloc of workspace");
    return Status::Ok();
  }
  void Free(void* p) {
    if (p != nullptr) (void)hipFree(p);
  }
  Status Zero(void* p, size_t bytes) {
    TAPCONV_HIP_CHECK(hipMemsetAsync(p, 0, bytes, stream_), "hipMemsetAsync");
    return Status::Ok();
  }

  template <class K>
  Status Launch(const K& kernel, int64_t tiles, int threads, size_t smem,
                const char* name) {
    if (tiles <= 0) return Status::Ok();
    if (threads <= 0 || threads > kMaxBlockThreads) {
      return Status::Error(
          Code::kInternal,
          std::string(name) + ": bad block size " + std::to_string(threads));
    }
    if (smem > info_.smem_per_block_optin) {
      return Status::Error(
          Code::kInternal,
          std::string(name) + " needs " + std::to_string(smem) +
              " bytes of shared memory; " + info_.arch + " allows " +
              std::to_string(info_.smem_per_block_optin));
    }
    const int64_t grid = tiles < info_.max_grid_x ? tiles : info_.max_grid_x;
    hipLaunchKernelGGL(RunPhases<K>, dim3(static_cast<unsigned int>(grid)),
                       dim3(threads), smem, stream_, kernel, tiles);
    TAPCONV_HIP_CHECK(hipGetLastError(), std::string("launch of ") + name);
    return Status::Ok();
  }

 private:
  hipStream_t stream_;
  const DeviceInfo& info_;
  const ArchTuning& tuning_;
  int previous_ = -1;
  Status status_;
};

template <typename F>
Status WithHipRuntime(const LaunchEnv& env, F&& f) {
  const DeviceInfo* info = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR(HipDeviceInfo(env.device, &info));
  HipRuntime rt(env, *info);
  TAPCONV_GPU_RETURN_IF_ERROR(rt.status());
  return f(rt);
}

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_HIP_HIP_LAUNCH_H_
