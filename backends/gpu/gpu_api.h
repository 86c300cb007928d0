#ifndef TAPCONV_BACKENDS_GPU_GPU_API_H_
#define TAPCONV_BACKENDS_GPU_GPU_API_H_

// The boundary between the GPU backends' host side (GpuBackend, compiled by
// the C++ compiler, which validates and converts TensorRefs) and their kernels
// (compiled by nvcc / hipcc, or by the C++ compiler for the emulation tests).
// Only plain structs cross it: no absl, so that the .cu/.hip translation units
// stay cheap to compile.

#include <cstddef>
#include <cstdint>
#include <string>

#include "ops/geometry/dcls_interpolation.h"
#include "ops/geometry/oriented_taps.h"

namespace tapconv::gpu {

enum class Code : uint8_t {
  kOk,
  kInvalidArgument,
  kUnimplemented,
  kFailedPrecondition,
  kResourceExhausted,
  kInternal,
};

struct Status {
  Code code = Code::kOk;
  std::string message;

  bool ok() const { return code == Code::kOk; }
  static Status Ok() { return Status(); }
  static Status Error(Code code, std::string message) {
    return Status{code, std::move(message)};
  }
};

#define TAPCONV_GPU_RETURN_IF_ERROR(expr)        \
  do {                                           \
    ::tapconv::gpu::Status _gpu_status = (expr); \
    if (!_gpu_status.ok()) return _gpu_status;   \
  } while (0)

// Storage type of a tensor's elements (mirrors tapconv::DType without
// pulling in absl).
enum class ElementType : uint8_t { kF16, kBF16, kF32, kF64 };

inline size_t ElementSize(ElementType t) {
  return t == ElementType::kF64 ? 8 : (t == ElementType::kF32 ? 4 : 2);
}

// What a launch needs to know about the device (read once per device).
struct DeviceInfo {
  std::string arch;  // "sm_86", "gfx90a", "emulated sm_90", ...
  int major = 0, minor = 0;
  int sm_count = 1;
  int warp_size = 32;
  int max_threads_per_block = 1024;
  size_t smem_per_block = 48 * 1024;        // without opt-in
  size_t smem_per_block_optin = 48 * 1024;  // the hard per-block limit
  size_t smem_per_sm = 64 * 1024;
  int64_t max_grid_x = 2147483647;
  // cudaMallocAsync / memory pools: workspace is then freed stream-ordered.
  bool stream_ordered_alloc = false;
};

// Where an op runs: the stream (cudaStream_t / hipStream_t; null = default)
// and the device of its tensors.
struct LaunchEnv {
  void* stream = nullptr;
  int device = 0;
};

// ---------------------------------------------------------------------------
// Problems: shapes from validated tensors, data pointers in device memory.

enum class ActivationLayout : uint8_t { kNCHW, kNHWC };

struct OrientedProblem {
  ElementType type = ElementType::kF32;
  ActivationLayout layout = ActivationLayout::kNCHW;
  TapRule rule = TapRule::kTrunc;
  bool residual = false;
  int64_t batch = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t taps = 1, stride = 1, dilation = 1;
  const void* theta = nullptr;
  bool theta_is_f64 = false;
  // Forward: x, weight, bias (optional) -> y. Backward input: dy, weight -> dx.
  // Backward params: dy, x -> dweight and/or dbias.
  const void* x = nullptr;
  const void* weight = nullptr;
  const void* bias = nullptr;
  const void* dy = nullptr;
  void* y = nullptr;
  void* dx = nullptr;
  void* dweight = nullptr;
  void* dbias = nullptr;
};

// Dense N-D convolution, every rank viewed as 3-D (leading axes of size 1).
struct ConvProblem {
  ElementType type = ElementType::kF32;
  int spatial_rank = 2;
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  int64_t in[3] = {1, 1, 1}, kernel[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t stride[3] = {1, 1, 1}, padding[3] = {0, 0, 0},
          dilation[3] = {1, 1, 1};
  const void* x = nullptr;
  const void* weight = nullptr;
  const void* bias = nullptr;
  const void* dy = nullptr;
  void* y = nullptr;
  void* dx = nullptr;
  void* dweight = nullptr;
  void* dbias = nullptr;
};

// DCLS construct (any variant and interpolation).
struct DclsProblem {
  ElementType type = ElementType::kF32;
  DclsInterpolation interpolation = DclsInterpolation::kBilinear;
  DclsAxisOrder axis_order = DclsAxisOrder::kNatural;
  int learnable_rank = 1;
  int64_t dilated_size[kMaxDclsAxes] = {1, 1, 1};
  int64_t blocks = 0;  // C_out * C_in/g * prod(dense sizes)
  int64_t kernel_count = 0;
  double sigma_floor = 0, epsilon = 0;
  const void* weight = nullptr;
  const void* positions = nullptr;
  const void* sigma = nullptr;  // null for bilinear
  void* kernel = nullptr;
  const void* dkernel = nullptr;
  void* dweight = nullptr;
  void* dpositions = nullptr;
  void* dsigma = nullptr;
};

// Fused depthwise bilinear DCLS conv. The convolution geometry is `conv`
// (kernel = dense sizes then the S box, groups = channels); the per-channel
// parameters are weight (C, 1, *dense, K) and positions (M, C, 1, *dense, K).
struct DclsDepthwiseProblem {
  ConvProblem conv;
  DclsAxisOrder axis_order = DclsAxisOrder::kNatural;
  int dense_rank = 0, learnable_rank = 1;
  int64_t kernel_count = 0;
  const void* dcls_weight = nullptr;
  const void* positions = nullptr;
  void* dpositions = nullptr;
  // conv.weight / conv.dweight are unused: the dense kernel never exists.
};

struct PathProblem {
  ElementType type = ElementType::kF32;
  bool index_is_i64 = true;
  int64_t batch = 0, channels = 0, length = 0, paths = 0;
  int64_t multiplier = 1, taps = 0, out_length = 0, stride = 1, padding = 0;
  const void* x = nullptr;
  const void* perm = nullptr;  // gather, conv forward, conv params
  const void* inv = nullptr;   // scatter, conv backward input
  const void* weight = nullptr;
  const void* bias = nullptr;
  const void* y_in = nullptr;  // scatter input
  const void* dy = nullptr;
  void* y = nullptr;
  void* x_out = nullptr;  // scatter output
  void* dx = nullptr;
  void* dweight = nullptr;
  void* dbias = nullptr;
};

// ---------------------------------------------------------------------------

// One implementation per vendor runtime (backends/cuda, backends/hip) and one
// over host memory for the emulation tests. Every method checks every runtime
// call and launch it makes and returns the first error.
class GpuKernels {
 public:
  virtual ~GpuKernels() = default;

  // Device management. Probe fails with the runtime's reason when no usable
  // device is present.
  virtual Status Probe(int* device_count) const = 0;
  virtual Status Info(int device, DeviceInfo* info) const = 0;
  virtual Status Allocate(int device, size_t bytes, void** pointer) const = 0;
  virtual void Free(int device, void* pointer) const = 0;
  virtual Status CopyToDevice(void* dst, const void* src,
                              size_t bytes) const = 0;
  virtual Status CopyToHost(void* dst, const void* src, size_t bytes) const = 0;
  virtual Status Synchronize(const LaunchEnv& env) const = 0;

  virtual Status OrientedForward(const LaunchEnv& env,
                                 const OrientedProblem& p) const = 0;
  virtual Status OrientedBackwardInput(const LaunchEnv& env,
                                       const OrientedProblem& p) const = 0;
  virtual Status OrientedBackwardParams(const LaunchEnv& env,
                                        const OrientedProblem& p) const = 0;

  // Our direct convolution (every configuration; the HIP backend's dense
  // conv, the CUDA backend's fallback where cuDNN declines).
  virtual Status ConvForward(const LaunchEnv& env,
                             const ConvProblem& p) const = 0;
  virtual Status ConvBackwardInput(const LaunchEnv& env,
                                   const ConvProblem& p) const = 0;
  virtual Status ConvBackwardParams(const LaunchEnv& env,
                                    const ConvProblem& p) const = 0;
  // y[n, c, ...] += bias[c] (after a vendor library's conv).
  virtual Status AddBias(const LaunchEnv& env, const ConvProblem& p) const = 0;

  virtual Status DclsConstruct(const LaunchEnv& env,
                               const DclsProblem& p) const = 0;
  virtual Status DclsConstructBackward(const LaunchEnv& env,
                                       const DclsProblem& p) const = 0;
  virtual Status DclsDepthwiseForward(const LaunchEnv& env,
                                      const DclsDepthwiseProblem& p) const = 0;
  virtual Status DclsDepthwiseBackwardInput(
      const LaunchEnv& env, const DclsDepthwiseProblem& p) const = 0;
  virtual Status DclsDepthwiseBackwardParams(
      const LaunchEnv& env, const DclsDepthwiseProblem& p) const = 0;

  virtual Status PathGather(const LaunchEnv& env,
                            const PathProblem& p) const = 0;
  virtual Status PathScatter(const LaunchEnv& env,
                             const PathProblem& p) const = 0;
  virtual Status PathConvForward(const LaunchEnv& env,
                                 const PathProblem& p) const = 0;
  virtual Status PathConvBackwardInput(const LaunchEnv& env,
                                       const PathProblem& p) const = 0;
  virtual Status PathConvBackwardParams(const LaunchEnv& env,
                                        const PathProblem& p) const = 0;
};

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_GPU_API_H_
