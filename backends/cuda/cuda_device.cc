// Device management of CudaKernels: plain runtime calls, compiled by the C++
// compiler against cuda_runtime_api.h (no kernels here).

#include <cuda_runtime_api.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "backends/cuda/cuda_kernels.h"

namespace tapconv::gpu {
namespace {

Status Error(cudaError_t e, const std::string& what) {
  return Status::Error(
      e == cudaErrorMemoryAllocation ? Code::kResourceExhausted
                                     : Code::kInternal,
      what + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
}

// Makes `device` current for the scope.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    if (cudaGetDevice(&previous_) != cudaSuccess) previous_ = -1;
    if (previous_ != device) error_ = cudaSetDevice(device);
  }
  ~DeviceGuard() {
    int now = -1;
    if (previous_ >= 0 && cudaGetDevice(&now) == cudaSuccess &&
        now != previous_)
      cudaSetDevice(previous_);
  }
  cudaError_t error() const { return error_; }

 private:
  int previous_ = -1;
  cudaError_t error_ = cudaSuccess;
};

}  // namespace

Status CudaDeviceInfo(int device, const DeviceInfo** info) {
  static std::mutex mutex;
  static auto* cache = new std::map<int, std::unique_ptr<DeviceInfo>>();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find(device);
  if (it != cache->end()) {
    *info = it->second.get();
    return Status::Ok();
  }
  cudaDeviceProp prop;
  const cudaError_t e = cudaGetDeviceProperties(&prop, device);
  if (e != cudaSuccess) return Error(e, "cudaGetDeviceProperties");
  auto d = std::make_unique<DeviceInfo>();
  d->arch = "sm_" + std::to_string(prop.major) + std::to_string(prop.minor);
  d->major = prop.major;
  d->minor = prop.minor;
  d->sm_count = prop.multiProcessorCount;
  d->warp_size = prop.warpSize;
  d->max_threads_per_block = prop.maxThreadsPerBlock;
  d->smem_per_block = prop.sharedMemPerBlock;
  d->smem_per_block_optin = prop.sharedMemPerBlockOptin > prop.sharedMemPerBlock
                                ? prop.sharedMemPerBlockOptin
                                : prop.sharedMemPerBlock;
  d->smem_per_sm = prop.sharedMemPerMultiprocessor;
  d->max_grid_x = prop.maxGridSize[0];
  int pools = 0;
  if (cudaDeviceGetAttribute(&pools, cudaDevAttrMemoryPoolsSupported, device) !=
      cudaSuccess) {
    cudaGetLastError();  // clear it: pools are optional
    pools = 0;
  }
  d->stream_ordered_alloc = pools != 0;
  *info = d.get();
  (*cache)[device] = std::move(d);
  return Status::Ok();
}

Status CudaKernels::Probe(int* device_count) const {
  *device_count = 0;
  const cudaError_t e = cudaGetDeviceCount(device_count);
  if (e != cudaSuccess) {
    *device_count = 0;
    return Status::Error(
        Code::kFailedPrecondition,
        std::string("no usable CUDA device: cudaGetDeviceCount "
                    "returned ") +
            cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")");
  }
  return Status::Ok();
}

Status CudaKernels::Info(int device, DeviceInfo* info) const {
  const DeviceInfo* cached = nullptr;
  TAPCONV_GPU_RETURN_IF_ERROR(CudaDeviceInfo(device, &cached));
  *info = *cached;
  return Status::Ok();
}

Status CudaKernels::Allocate(int device, size_t bytes, void** pointer) const {
  *pointer = nullptr;
  if (bytes == 0) return Status::Ok();
  DeviceGuard guard(device);
  if (guard.error() != cudaSuccess)
    return Error(guard.error(), "cudaSetDevice");
  const cudaError_t e = cudaMalloc(pointer, bytes);
  if (e != cudaSuccess) {
    return Error(e, "cudaMalloc of " + std::to_string(bytes) + " bytes");
  }
  return Status::Ok();
}

void CudaKernels::Free(int device, void* pointer) const {
  if (pointer == nullptr) return;
  DeviceGuard guard(device);
  cudaFree(pointer);
}

Status CudaKernels::CopyToDevice(void* dst, const void* src,
                                 size_t bytes) const {
  const cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice);
  return e == cudaSuccess ? Status::Ok() : Error(e, "cudaMemcpy to device");
}

Status CudaKernels::CopyToHost(void* dst, const void* src, size_t bytes) const {
  const cudaError_t e = cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost);
  return e == cudaSuccess ? Status::Ok() : Error(e, "cudaMemcpy to host");
}

Status CudaKernels::Synchronize(const LaunchEnv& env) const {
  const cudaError_t e =
      cudaStreamSynchronize(static_cast<cudaStream_t>(env.stream));
  return e == cudaSuccess ? Status::Ok() : Error(e, "cudaStreamSynchronize");
}

const GpuKernels& CudaKernelsInstance() {
  static const CudaKernels* kernels = new CudaKernels();
  return *kernels;
}

}  // namespace tapconv::gpu
