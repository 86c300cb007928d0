#ifndef TAPCONV_BACKENDS_GPU_DRIVERS_DRIVER_UTIL_H_
#define TAPCONV_BACKENDS_GPU_DRIVERS_DRIVER_UTIL_H_

// Helpers the op drivers share. A driver is a function template over a runtime
// RT (backends/cuda/cuda_runtime.h, backends/hip/hip_runtime.h, or the host
// emulator of tests/gpu_emulation) that offers:
//
//   const DeviceInfo& info() const;   const ArchTuning& tuning() const;
//   Status Allocate(size_t bytes, void** p);   void Free(void* p);
//   Status Zero(void* p, size_t bytes);
//   template <class K> Status Launch(const K& kernel, int64_t tiles,
//                                     int threads, size_t smem, const char*
//                                     name);
//
// Allocation and launches are ordered on the op's stream.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "backends/gpu/gpu_api.h"
#include "backends/gpu/kernels/common.h"
#include "backends/gpu/portability.h"
#include "backends/gpu/tuning.h"

namespace tapconv::gpu {

// Calls f(T{}) with the storage type of `type`.
template <typename F>
Status DispatchElement(ElementType type, F&& f) {
  switch (type) {
    case ElementType::kF32:
      return f(float{});
    case ElementType::kF64:
      return f(double{});
    case ElementType::kF16:
      return f(F16{});
    case ElementType::kBF16:
      return f(BF16{});
  }
  return Status::Error(Code::kInvalidArgument, "unknown element type");
}

// Device memory that lives until the end of the op (freed stream-ordered).
template <class RT>
class Workspace {
 public:
  explicit Workspace(RT& rt) : rt_(rt) {}
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;
  ~Workspace() {
    for (void* p : pointers_) rt_.Free(p);
  }
  template <typename U>
  Status Get(int64_t count, U** out) {
    *out = nullptr;
    if (count <= 0) return Status::Ok();
    void* p = nullptr;
    TAPCONV_GPU_RETURN_IF_ERROR(
        rt_.Allocate(static_cast<size_t>(count) * sizeof(U), &p));
    pointers_.push_back(p);
    *out = static_cast<U*>(p);
    return Status::Ok();
  }

 private:
  RT& rt_;
  std::vector<void*> pointers_;
};

// Launch of an ElementwiseKernel over `count` items.
template <class RT, typename Body>
Status LaunchElementwise(RT& rt, const Body& body, int64_t count,
                         const char* name) {
  if (count <= 0) return Status::Ok();
  ElementwiseKernel<Body> k{body, count, rt.tuning().elementwise_threads};
  return rt.Launch(k, k.tiles(), k.threads, 0, name);
}

// Sums the rows of a partials matrix into the requested outputs
// (ReducePartialsKernel).
template <class RT, typename T>
Status LaunchReduce(RT& rt, const Acc<T>* partials, int64_t rows,
                    int64_t columns, int64_t weight_columns, T* weight_out,
                    T* bias_out, Acc<T>* acc_out) {
  if (columns <= 0) return Status::Ok();
  ReducePartialsKernel<T> k{partials,   rows,     columns, weight_columns,
                            weight_out, bias_out, acc_out, kMaxBlockThreads};
  return rt.Launch(k, k.tiles(), k.threads, k.SharedBytes(), "reduce_partials");
}

// Zeroes a requested output of `count` elements of `size` bytes.
template <class RT>
Status ZeroOutput(RT& rt, void* p, int64_t count, size_t size) {
  if (p == nullptr || count <= 0) return Status::Ok();
  return rt.Zero(p, static_cast<size_t>(count) * size);
}

// Rows of partial sums for a reduction of `length` terms into `columns`
// results: enough independent rows to fill the device, each at least
// `min_chunk` terms long.
inline int64_t ChunkFor(int64_t length, int64_t columns, const DeviceInfo& info,
                        int64_t min_chunk) {
  const int64_t want_threads = static_cast<int64_t>(info.sm_count) * 2048;
  int64_t rows = columns >= want_threads ? 1 : CeilDiv(want_threads, columns);
  int64_t chunk = CeilDiv(length, rows < 1 ? 1 : rows);
  if (chunk < min_chunk) chunk = min_chunk;
  return chunk < 1 ? 1 : chunk;
}

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_DRIVERS_DRIVER_UTIL_H_
