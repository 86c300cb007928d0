#ifndef TAPCONV_BACKENDS_CPU_SIMD_SCALAR_H_
#define TAPCONV_BACKENDS_CPU_SIMD_SCALAR_H_

// One-lane implementation of the SIMD layer (simd.h): the fallback that runs
// on any x86-64 processor. Include simd.h, not this file.

#include <cstdint>

namespace tapconv::cpu::scalar {

template <typename T>
struct Vec {
  static constexpr int kLanes = 1;
  T v;
};

template <typename T>
inline Vec<T> LoadU(const T* p) {
  return Vec<T>{*p};
}
template <typename T>
inline Vec<T> LoadN(const T* p, int n) {
  return Vec<T>{n > 0 ? *p : T(0)};
}
template <typename T>
inline void StoreU(T* p, Vec<T> v) {
  *p = v.v;
}
template <typename T>
inline void StoreN(T* p, Vec<T> v, int n) {
  if (n > 0) *p = v.v;
}
inline Vec<float> Set1(float x) { return Vec<float>{x}; }
inline Vec<double> Set1(double x) { return Vec<double>{x}; }
template <typename T>
inline Vec<T> Add(Vec<T> a, Vec<T> b) {
  return Vec<T>{a.v + b.v};
}
template <typename T>
inline Vec<T> Mul(Vec<T> a, Vec<T> b) {
  return Vec<T>{a.v * b.v};
}
// Baseline x86-64 has no FMA instruction; a library fma() call would be far
// slower than the separate multiply and add.
template <typename T>
inline Vec<T> MulAdd(Vec<T> a, Vec<T> b, Vec<T> c) {
  return Vec<T>{a.v * b.v + c.v};
}
template <typename T>
inline T ReduceAdd(Vec<T> v) {
  return v.v;
}

// The even lanes of a, b (one lane each): a.
template <typename T>
inline Vec<T> EvenLanes(Vec<T> a, Vec<T>) {
  return a;
}
// A 1 x 1 block is its own transpose.
template <typename T>
inline void Transpose(Vec<T>*) {}

// Plain stores: baseline x86-64 streams only from SSE registers, which this
// one-lane layer does not use.
template <typename T>
inline void StoreStream(T* p, Vec<T> v) {
  *p = v.v;
}
inline void StreamFence() {}
inline void PrefetchL2(const void* p) { __builtin_prefetch(p, 0, 2); }

#include "backends/cpu/simd_bf16_scalar.inc"

inline Vec<float> LoadBf16(const uint16_t* p) {
  return Vec<float>{Bf16ToF32(*p)};
}
inline Vec<float> LoadBf16N(const uint16_t* p, int n) {
  return Vec<float>{n > 0 ? Bf16ToF32(*p) : 0.0f};
}
inline void StoreBf16(uint16_t* p, Vec<float> v) { *p = F32ToBf16(v.v); }
inline void StoreBf16N(uint16_t* p, Vec<float> v, int n) {
  if (n > 0) *p = F32ToBf16(v.v);
}
inline void StoreBf16Stream(uint16_t* p, Vec<float> v) { StoreBf16(p, v); }

}  // namespace tapconv::cpu::scalar

#endif  // TAPCONV_BACKENDS_CPU_SIMD_SCALAR_H_
