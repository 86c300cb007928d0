#ifndef TAPCONV_BACKENDS_CPU_KERNEL_UTIL_H_
#define TAPCONV_BACKENDS_CPU_KERNEL_UTIL_H_

// Helpers the per-ISA kernel families share, over the SIMD layer: storage <->
// compute conversion (activations stored as float32, float64 or bfloat16 in
// uint16_t bits, computed in float, or double for float64), zero fill and
// int64 min/max. Include from per-ISA units only (see simd.h).

#include <cstdint>

#include "backends/cpu/simd.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {

inline int64_t Min64(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t Max64(int64_t a, int64_t b) { return a > b ? a : b; }

inline float ToCompute(float v) { return v; }
inline double ToCompute(double v) { return v; }
inline float ToCompute(uint16_t v) { return Bf16ToF32(v); }
inline void FromCompute(float* p, float v) { *p = v; }
inline void FromCompute(double* p, double v) { *p = v; }
inline void FromCompute(uint16_t* p, float v) { *p = F32ToBf16(v); }

inline Vec<float> LoadCvt(const float* p) { return LoadU(p); }
inline Vec<double> LoadCvt(const double* p) { return LoadU(p); }
inline Vec<float> LoadCvt(const uint16_t* p) { return LoadBf16(p); }
inline Vec<float> LoadCvtN(const float* p, int n) { return LoadN(p, n); }
inline Vec<double> LoadCvtN(const double* p, int n) { return LoadN(p, n); }
inline Vec<float> LoadCvtN(const uint16_t* p, int n) { return LoadBf16N(p, n); }
inline void StoreCvt(float* p, Vec<float> v) { StoreU(p, v); }
inline void StoreCvt(double* p, Vec<double> v) { StoreU(p, v); }
inline void StoreCvt(uint16_t* p, Vec<float> v) { StoreBf16(p, v); }
// Non-temporal: p aligned to a whole vector of the storage type.
inline void StoreStreamCvt(float* p, Vec<float> v) { StoreStream(p, v); }
inline void StoreStreamCvt(double* p, Vec<double> v) { StoreStream(p, v); }
inline void StoreStreamCvt(uint16_t* p, Vec<float> v) { StoreBf16Stream(p, v); }
inline void StoreCvtN(float* p, Vec<float> v, int n) { StoreN(p, v, n); }
inline void StoreCvtN(double* p, Vec<double> v, int n) { StoreN(p, v, n); }
inline void StoreCvtN(uint16_t* p, Vec<float> v, int n) { StoreBf16N(p, v, n); }

// dst[0, n) = 0, for n elements of storage type S (compute type T).
template <typename S, typename T>
void ZeroOut(S* dst, int64_t n) {
  constexpr int L = Vec<T>::kLanes;
  const Vec<T> z = Set1(T(0));
  int64_t i = 0;
  for (; i + L <= n; i += L) StoreCvt(dst + i, z);
  if (i < n) StoreCvtN(dst + i, z, static_cast<int>(n - i));
}

// dst[0, n) = 0, in the compute type.
template <typename T>
void Zero(T* dst, int64_t n) {
  ZeroOut<T, T>(dst, n);
}

}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_KERNEL_UTIL_H_
