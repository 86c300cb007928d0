#ifndef TAPCONV_BACKENDS_CPU_SIMD_H_
#define TAPCONV_BACKENDS_CPU_SIMD_H_

// The cpu backend's SIMD layer: f32 and f64 vectors (Vec<float>, Vec<double>)
// with unaligned and partial ("first n lanes") loads and stores, fused
// multiply-add, a fixed-order horizontal sum, and bfloat16 <-> float32
// conversion (round to nearest even, NaN kept quiet).
//
// This header picks the implementation from the flags the including
// translation unit is compiled with, and defines TAPCONV_SIMD_NS, the
// namespace (tapconv::cpu::TAPCONV_SIMD_NS) that implementation lives in:
//   -mavx512f -mavx512bw -mavx512dq -mavx512vl  -> avx512 (16 f32 lanes)
//   -mavx2 -mfma                                -> avx2   (8 f32 lanes)
//   baseline x86-64 (or any other target)       -> scalar (1 lane)
//
// Kernels written over this layer must live in namespace
// tapconv::cpu::TAPCONV_SIMD_NS too, and only in translation units that
// BUILD compiles with the matching flags (cc_library targets named *_avx2,
// *_avx512): every inline function and template instantiation such a unit
// emits then has an ISA-specific name, so the linker can never substitute an
// AVX-512 copy for code that runs on an AVX2-only machine. Those units use raw
// pointers and plain structs only: no standard-library templates and no absl,
// whose out-of-line copies would be shared with the rest of the program.
//
// API (T = float or double; uint16_t holds bfloat16 bits):
//   Vec<T>::kLanes
//   Vec<T> LoadU(const T* p);               void StoreU(T* p, Vec<T> v);
//   Vec<T> LoadN(const T* p, int n);        lanes >= n are zero, never read
//   void StoreN(T* p, Vec<T> v, int n);     writes only the first n lanes
//   Vec<T> Set1(T x);  Add(a, b);  Mul(a, b);  MulAdd(a, b, c) = a * b + c
//   T ReduceAdd(Vec<T> v);                  fixed summation order
//   void Transpose(Vec<T>* m);              m[0..kLanes): rows in, columns out
//   Vec<T> EvenLanes(Vec<T> a, Vec<T> b);   a0 a2 .. b0 b2 .. (stride-2 split)
//   void StoreStream(T* p, Vec<T> v);       non-temporal, p vector-aligned
//   void StoreBf16Stream(uint16_t* p, Vec<float> v);  p aligned to 2*kLanes
//   void StreamFence();                     orders streamed stores
//   void PrefetchL2(const void* p);
//   Vec<float> LoadBf16(const uint16_t* p);  LoadBf16N(p, n);
//   void StoreBf16(uint16_t* p, Vec<float> v);  StoreBf16N(p, v, n);
//   float Bf16ToF32(uint16_t);  uint16_t F32ToBf16(float);   (scalar)

// A unit may pin the choice by defining TAPCONV_SIMD_WANT_SCALAR or
// TAPCONV_SIMD_WANT_AVX2 first (a -march=native build then still compiles every
// variant).
#if defined(TAPCONV_SIMD_WANT_SCALAR)
#define TAPCONV_SIMD_NS scalar
#include "backends/cpu/simd_scalar.h"
#elif defined(TAPCONV_SIMD_WANT_AVX2)
#define TAPCONV_SIMD_NS avx2
#include "backends/cpu/simd_avx2.h"
#elif defined(__AVX512F__) && defined(__AVX512BW__) && \
    defined(__AVX512DQ__) && defined(__AVX512VL__)
#define TAPCONV_SIMD_NS avx512
#include "backends/cpu/simd_avx512.h"
#elif defined(__AVX2__) && defined(__FMA__)
#define TAPCONV_SIMD_NS avx2
#include "backends/cpu/simd_avx2.h"
#else
#define TAPCONV_SIMD_NS scalar
#include "backends/cpu/simd_scalar.h"
#endif

#endif  // TAPCONV_BACKENDS_CPU_SIMD_H_
