#ifndef TAPCONV_BACKENDS_GPU_PORTABILITY_H_
#define TAPCONV_BACKENDS_GPU_PORTABILITY_H_

// The thin layer that lets one kernel source compile three ways: as CUDA
// (nvcc), as HIP (hipcc) and as plain host C++ (g++, for the emulation tests
// that run every kernel's phases in host loops). Nothing here calls a vendor
// runtime: launch code lives in backends/cuda and backends/hip.
//
// 16-bit floats are plain bit containers converted in software, so the
// emulation rounds exactly as the device does and neither cuda_fp16.h nor
// hip_fp16.h is needed.

#include <cstdint>
#include <cstring>

#include "ops/geometry/host_device.h"

#if defined(__HIPCC__)
#include <hip/hip_runtime.h>
#endif

#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#define TAPCONV_GPU_DEVICE_PASS 1
#endif

#define TAPCONV_GPU_FN TAPCONV_HOST_DEVICE inline

// Loop unrolling for nvcc/hipcc; nothing for the host compiler (emulation),
// which would warn about an unknown pragma.
#if defined(__CUDACC__) || defined(__HIPCC__)
#define TAPCONV_GPU_UNROLL _Pragma("unroll")
#else
#define TAPCONV_GPU_UNROLL
#endif

namespace tapconv::gpu {

// Storage types. Arithmetic always happens in Acc<T> (float, or double for
// double storage).
struct F16 {
  uint16_t bits;
};
struct BF16 {
  uint16_t bits;
};

template <typename T>
struct AccumulatorOf {
  using type = float;
};
template <>
struct AccumulatorOf<double> {
  using type = double;
};
template <typename T>
using Acc = typename AccumulatorOf<T>::type;

TAPCONV_GPU_FN uint32_t BitsOf(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}
TAPCONV_GPU_FN float FloatOf(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

TAPCONV_GPU_FN float ToFloat(BF16 h) { return FloatOf(uint32_t{h.bits} << 16); }

TAPCONV_GPU_FN BF16 ToBF16(float f) {
  uint32_t u = BitsOf(f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return BF16{static_cast<uint16_t>((u >> 16) | 0x40u)};  // quiet NaN
  u += 0x7fffu + ((u >> 16) & 1u);                          // nearest even
  return BF16{static_cast<uint16_t>(u >> 16)};
}

TAPCONV_GPU_FN float ToFloat(F16 h) {
  const uint32_t sign = uint32_t{h.bits & 0x8000u} << 16;
  const uint32_t exponent = (h.bits >> 10) & 0x1fu;
  const uint32_t mantissa = h.bits & 0x3ffu;
  if (exponent == 0x1f) return FloatOf(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0)
    return FloatOf(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  const float magnitude = static_cast<float>(mantissa) * 5.9604644775390625e-8f;
  return sign ? -magnitude : magnitude;  // subnormal: exact
}

TAPCONV_GPU_FN F16 ToF16(float f) {
  const uint32_t u = BitsOf(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) {  // inf or NaN
    return F16{static_cast<uint16_t>(sign | 0x7c00u |
                                     (a > 0x7f800000u ? 0x200u : 0u))};
  }
  if (a >= 0x477ff000u) return F16{static_cast<uint16_t>(sign | 0x7c00u)};
  if (a < 0x38800000u) {
    // Subnormal half (or zero): round m * 2^(e - 150) to a multiple of 2^-24.
    if (a <= 0x33000000u) return F16{sign};  // <= 2^-25 rounds to zero (even)
    const uint32_t e = a >> 23;
    const uint32_t m = (a & 0x7fffffu) | 0x800000u;
    const uint32_t shift = 126u - e;  // 14 .. 24
    uint32_t r = m >> shift;
    const uint32_t rest = m & ((1u << shift) - 1u);
    const uint32_t half = 1u << (shift - 1u);
    if (rest > half || (rest == half && (r & 1u))) ++r;
    return F16{static_cast<uint16_t>(sign | r)};
  }
  uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  rounded -= 0x38000000u;
  return F16{static_cast<uint16_t>(sign | (rounded >> 13))};
}

// Load element i of a storage array as its accumulator type, and store back
// (rounding once).
TAPCONV_GPU_FN float Load(const float* p, int64_t i) { return p[i]; }
TAPCONV_GPU_FN double Load(const double* p, int64_t i) { return p[i]; }
TAPCONV_GPU_FN float Load(const F16* p, int64_t i) { return ToFloat(p[i]); }
TAPCONV_GPU_FN float Load(const BF16* p, int64_t i) { return ToFloat(p[i]); }

TAPCONV_GPU_FN void Store(float* p, int64_t i, float v) { p[i] = v; }
TAPCONV_GPU_FN void Store(double* p, int64_t i, double v) { p[i] = v; }
TAPCONV_GPU_FN void Store(F16* p, int64_t i, float v) { p[i] = ToF16(v); }
TAPCONV_GPU_FN void Store(BF16* p, int64_t i, float v) { p[i] = ToBF16(v); }

template <typename A>
TAPCONV_GPU_FN A QuietNaN() {
  return static_cast<A>(FloatOf(0x7fc00000u));
}

template <typename A>
TAPCONV_GPU_FN A Zero() {
  return A(0);
}

// Index tensors (paths) hold int32 or int64; which one is a run-time flag (a
// uniform branch), not a template parameter, to halve the instantiations.
TAPCONV_GPU_FN int64_t LoadIndex(const void* p, bool is64, int64_t i) {
  return is64 ? static_cast<const int64_t*>(p)[i]
              : static_cast<int64_t>(static_cast<const int32_t*>(p)[i]);
}

// Floor division and non-negative remainder for a positive divisor.
TAPCONV_GPU_FN int64_t FloorDiv(int64_t a, int64_t b) {
  const int64_t q = a / b;
  return (a % b != 0 && a < 0) ? q - 1 : q;
}
TAPCONV_GPU_FN int64_t PositiveMod(int64_t a, int64_t b) {
  const int64_t r = a % b;
  return r < 0 ? r + b : r;
}

template <typename T>
TAPCONV_GPU_FN T Min(T a, T b) {
  return a < b ? a : b;
}
template <typename T>
TAPCONV_GPU_FN T Max(T a, T b) {
  return a < b ? b : a;
}

// Shared-memory carving: a bump allocator over the block's dynamic shared
// memory, so that a kernel's layout is computed by the same code on the host
// (to size the launch) and in the kernel.
struct SharedLayout {
  size_t bytes = 0;
  template <typename U>
  TAPCONV_GPU_FN size_t Take(int64_t count) {
    const size_t align = alignof(U) < 8 ? 8 : alignof(U);
    bytes = (bytes + align - 1) / align * align;
    const size_t offset = bytes;
    bytes += static_cast<size_t>(count) * sizeof(U);
    return offset;
  }
};

template <typename U>
TAPCONV_GPU_FN U* At(unsigned char* smem, size_t offset) {
  return reinterpret_cast<U*>(smem + offset);
}

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_PORTABILITY_H_
