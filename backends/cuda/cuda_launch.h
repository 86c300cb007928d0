#ifndef TAPCONV_BACKENDS_CUDA_CUDA_LAUNCH_H_
#define TAPCONV_BACKENDS_CUDA_CUDA_LAUNCH_H_

// The CUDA runtime behind the op drivers (backends/gpu/drivers/driver_util.h
// describes the interface): stream-ordered workspace, checked launches of the
// phase kernels of backends/gpu/kernels. Included only by .cu files.

#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "backends/cuda/cuda_kernels.h"
#include "backends/gpu/gpu_api.h"
#include "backends/gpu/tuning.h"

namespace tapconv::gpu {

// Runs kernel K over `tiles` tiles: for each tile (grid-stride), every phase
// on every thread with a barrier after each (backends/gpu/kernels/common.h).
template <class K>
__global__ void __launch_bounds__(kMaxBlockThreads)
    RunPhases(const K kernel, int64_t tiles) {
  extern __shared__ __align__(16) unsigned char smem[];
  for (int64_t t = blockIdx.x; t < tiles; t += gridDim.x) {
#pragma unroll
    for (int phase = 0; phase < K::kPhases; ++phase) {
      kernel.Phase(phase, t, static_cast<int>(threadIdx.x), smem);
      __syncthreads();
    }
  }
}

inline Status CudaError(cudaError_t e, const std::string& what) {
  return Status::Error(
      e == cudaErrorMemoryAllocation ? Code::kResourceExhausted
                                     : Code::kInternal,
      what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

#define TAPCONV_CUDA_CHECK(call, what)                           \
  do {                                                           \
    const cudaError_t _cuda_e = (call);                          \
    if (_cuda_e != cudaSuccess) return CudaError(_cuda_e, what); \
  } while (0)

class CudaRuntime {
 public:
  CudaRuntime(const LaunchEnv& env, const DeviceInfo& info)
      : stream_(static_cast<cudaStream_t>(env.stream)),
        info_(info),
        tuning_(TuningFor(info)) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != env.device) {
      const cudaError_t e = cudaSetDevice(env.device);
      if (e != cudaSuccess) status_ = CudaError(e, "cudaSetDevice");
    }
  }
  ~CudaRuntime() {
    int now = -1;
    if (previous_ >= 0 && cudaGetDevice(&now) == cudaSuccess &&
        now != previous_)
      cudaSetDevice(previous_);
  }
  CudaRuntime(const CudaRuntime&) = delete;
  CudaRuntime& operator=(const CudaRuntime&) = delete;

  const Status& status() const { return status_; }
  const DeviceInfo& info() const { return info_; }
  const ArchTuning& tuning() const { return tuning_; }

  Status Allocate(size_t bytes, void** p) {
    *p = nullptr;
    if (bytes == 0) return Status::Ok();
    if (info_.stream_ordered_alloc) {
      TAPCONV_CUDA_CHECK(cudaMallocAsync(p, bytes, stream_),
                         "cudaMallocAsync of workspace");
    } else {
      TAPCONV_CUDA_CHECK(cudaMalloc(p, bytes), "cudaMalloc of workspace");
    }
    return Status::Ok();
  }
  void Free(void* p) {
    if (p == nullptr) return;
    if (info_.stream_ordered_alloc) {
      cudaFreeAsync(p, stream_);
    } else {
      // cudaFree waits for the device: the work using p is finished.
      cudaFree(p);
    }
  }
  Status Zero(void* p, size_t bytes) {
    TAPCONV_CUDA_CHECK(cudaMemsetAsync(p, 0, bytes, stream_),
                       "cudaMemsetAsync");
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
    if (smem > info_.smem_per_block) {
      TAPCONV_CUDA_CHECK(
          cudaFuncSetAttribute(RunPhases<K>,
                               cudaFuncAttributeMaxDynamicSharedMemorySize,
                               static_cast<int>(smem)),
          std::string(name) + ": cudaFuncSetAttribute");
    }
    const int64_t grid = tiles < info_.max_grid_x ? tiles : info_.max_grid_x;
    RunPhases<K><<<static_cast<unsigned int>(grid), threads, smem, stream_>>>(
        kernel, tiles);
    TAPCONV_CUDA_CHECK(cudaGetLastError(), std::string("launch of ") + name);
    return Status::Ok();
  }

 private:
  cudaStream_t stream_;
  const DeviceInfo& info_;
  const ArchTuning& tuning_;
  int previous_ = -1;
  Status status_;
};

// Runs f(runtime) on the device and stream of env.
template <typename F>
Status WithCudaRuntime(const LaunchEnv& env, F&& f) {
  const DeviceInfo* info = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR(CudaDeviceInfo(env.device, &info));
  CudaRuntime rt(env, *info);
  TAPCONV_GPU_RETURN_IF_ERROR(rt.status());
  return f(rt);
}

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_CUDA_CUDA_LAUNCH_H_
