#ifndef TAPCONV_BACKENDS_CPU_SIMD_AVX512_H_
#define TAPCONV_BACKENDS_CPU_SIMD_AVX512_H_

// AVX-512 (F, BW, DQ, VL) implementation of the SIMD layer (simd.h): 16 f32 /
// 8 f64 lanes. Include simd.h, not this file, from a unit compiled with
// -mavx512f -mavx512bw -mavx512dq -mavx512vl.

#if !defined(__AVX512F__) || !defined(__AVX512BW__) || \
    !defined(__AVX512DQ__) || !defined(__AVX512VL__)
#error "simd_avx512.h needs -mavx512f -mavx512bw -mavx512dq -mavx512vl"
#endif

// GCC 12's AVX-512 intrinsics start some results from _mm*_undefined_*(),
// which its uninitialised-use analysis flags at every inlining site (GCC bug
// 105593); silence that for the header's own lines only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cstdint>

namespace tapconv::cpu::avx512 {

template <typename T>
struct Vec;
template <>
struct Vec<float> {
  static constexpr int kLanes = 16;
  __m512 v;
};
template <>
struct Vec<double> {
  static constexpr int kLanes = 8;
  __m512d v;
};

// Masks whose first n lanes are set (n <= 16, resp. 8).
inline __mmask16 FirstLanes16(int n) {
  return static_cast<__mmask16>((1u << n) - 1u);
}
inline __mmask8 FirstLanes8(int n) {
  return static_cast<__mmask8>((1u << n) - 1u);
}

inline Vec<float> LoadU(const float* p) { return {_mm512_loadu_ps(p)}; }
inline Vec<double> LoadU(const double* p) { return {_mm512_loadu_pd(p)}; }
// Masked-off lanes are neither read nor able to fault.
inline Vec<float> LoadN(const float* p, int n) {
  return {_mm512_maskz_loadu_ps(FirstLanes16(n), p)};
}
inline Vec<double> LoadN(const double* p, int n) {
  return {_mm512_maskz_loadu_pd(FirstLanes8(n), p)};
}
inline void StoreU(float* p, Vec<float> v) { _mm512_storeu_ps(p, v.v); }
inline void StoreU(double* p, Vec<double> v) { _mm512_storeu_pd(p, v.v); }
inline void StoreN(float* p, Vec<float> v, int n) {
  _mm512_mask_storeu_ps(p, FirstLanes16(n), v.v);
}
inline void StoreN(double* p, Vec<double> v, int n) {
  _mm512_mask_storeu_pd(p, FirstLanes8(n), v.v);
}

inline Vec<float> Set1(float x) { return {_mm512_set1_ps(x)}; }
inline Vec<double> Set1(double x) { return {_mm512_set1_pd(x)}; }
inline Vec<float> Add(Vec<float> a, Vec<float> b) {
  return {_mm512_add_ps(a.v, b.v)};
}
inline Vec<double> Add(Vec<double> a, Vec<double> b) {
  return {_mm512_add_pd(a.v, b.v)};
}
inline Vec<float> Mul(Vec<float> a, Vec<float> b) {
  return {_mm512_mul_ps(a.v, b.v)};
}
inline Vec<double> Mul(Vec<double> a, Vec<double> b) {
  return {_mm512_mul_pd(a.v, b.v)};
}
inline Vec<float> MulAdd(Vec<float> a, Vec<float> b, Vec<float> c) {
  return {_mm512_fmadd_ps(a.v, b.v, c.v)};
}
inline Vec<double> MulAdd(Vec<double> a, Vec<double> b, Vec<double> c) {
  return {_mm512_fmadd_pd(a.v, b.v, c.v)};
}

// Non-temporal stores (p aligned to the vector size) write whole lines without
// reading them first; StreamFence orders them before later stores.
inline void StoreStream(float* p, Vec<float> v) { _mm512_stream_ps(p, v.v); }
inline void StoreStream(double* p, Vec<double> v) { _mm512_stream_pd(p, v.v); }
inline void StreamFence() { _mm_sfence(); }
inline void PrefetchL2(const void* p) {
  _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1);
}

// Halving tree: 512 -> 256 -> 128 -> 64 -> 32 bits, always in this order.
inline float ReduceAdd(Vec<float> v) {
  const __m256 lo = _mm512_castps512_ps256(v.v);
  const __m256 hi = _mm512_extractf32x8_ps(v.v, 1);
  const __m256 s8 = _mm256_add_ps(lo, hi);
  __m128 s =
      _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
inline double ReduceAdd(Vec<double> v) {
  const __m256d s4 = _mm256_add_pd(_mm512_castpd512_pd256(v.v),
                                   _mm512_extractf64x4_pd(v.v, 1));
  __m128d s =
      _mm_add_pd(_mm256_castpd256_pd128(s4), _mm256_extractf128_pd(s4, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

// The even lanes of the 2 * kLanes elements a, b: a0 a2 ... b0 b2 ...
inline Vec<float> EvenLanes(Vec<float> a, Vec<float> b) {
  const __m512i index = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                          22, 24, 26, 28, 30);
  return {_mm512_permutex2var_ps(a.v, index, b.v)};
}
inline Vec<double> EvenLanes(Vec<double> a, Vec<double> b) {
  const __m512i index = _mm512_setr_epi64(0, 2, 4, 6, 8, 10, 12, 14);
  return {_mm512_permutex2var_pd(a.v, index, b.v)};
}

// In-register transpose of a kLanes x kLanes block: m[i] holds row i on
// entry, column i on return.
inline __m512 UnpackLo64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(
      _mm512_unpacklo_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}
inline __m512 UnpackHi64(__m512 a, __m512 b) {
  return _mm512_castpd_ps(
      _mm512_unpackhi_pd(_mm512_castps_pd(a), _mm512_castps_pd(b)));
}
// Forced inline: as a call, the block would go through memory twice. The
// loops are unrolled explicitly: at -O2 GCC keeps them as loops over t and
// u in memory, a store and a reload around every shuffle (the oriented
// K=31 56² forward took 1.43 ms that way, 1.19 ms unrolled).
inline __attribute__((always_inline)) void Transpose(Vec<float>* m) {
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(m[2 * i].v, m[2 * i + 1].v);
    t[2 * i + 1] = _mm512_unpackhi_ps(m[2 * i].v, m[2 * i + 1].v);
  }
  // u[4i + j], 128-bit block b: column 4b + j of rows 4i .. 4i + 3.
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    u[4 * i + 0] = UnpackLo64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 1] = UnpackHi64(t[4 * i], t[4 * i + 2]);
    u[4 * i + 2] = UnpackLo64(t[4 * i + 1], t[4 * i + 3]);
    u[4 * i + 3] = UnpackHi64(t[4 * i + 1], t[4 * i + 3]);
  }
#pragma GCC unroll 8
  for (int j = 0; j < 4; ++j) {
    const __m512 a = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
    const __m512 b = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xdd);
    const __m512 c = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
    const __m512 d = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xdd);
    m[j].v = _mm512_shuffle_f32x4(a, c, 0x88);
    m[8 + j].v = _mm512_shuffle_f32x4(a, c, 0xdd);
    m[4 + j].v = _mm512_shuffle_f32x4(b, d, 0x88);
    m[12 + j].v = _mm512_shuffle_f32x4(b, d, 0xdd);
  }
}
inline __attribute__((always_inline)) void Transpose(Vec<double>* m) {
  __m512d t[8];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_unpacklo_pd(m[2 * i].v, m[2 * i + 1].v);
    t[2 * i + 1] = _mm512_unpackhi_pd(m[2 * i].v, m[2 * i + 1].v);
  }
  // t[2i + j], 128-bit block b: column 2b + j of rows 2i, 2i + 1.
#pragma GCC unroll 8
  for (int j = 0; j < 2; ++j) {
    const __m512d a = _mm512_shuffle_f64x2(t[j], t[2 + j], 0x88);
    const __m512d b = _mm512_shuffle_f64x2(t[j], t[2 + j], 0xdd);
    const __m512d c = _mm512_shuffle_f64x2(t[4 + j], t[6 + j], 0x88);
    const __m512d d = _mm512_shuffle_f64x2(t[4 + j], t[6 + j], 0xdd);
    m[j].v = _mm512_shuffle_f64x2(a, c, 0x88);
    m[4 + j].v = _mm512_shuffle_f64x2(a, c, 0xdd);
    m[2 + j].v = _mm512_shuffle_f64x2(b, d, 0x88);
    m[6 + j].v = _mm512_shuffle_f64x2(b, d, 0xdd);
  }
}

#include "backends/cpu/simd_bf16_scalar.inc"

inline Vec<float> Bf16BitsToF32(__m256i h) {
  return {_mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16))};
}
inline Vec<float> LoadBf16(const uint16_t* p) {
  return Bf16BitsToF32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline Vec<float> LoadBf16N(const uint16_t* p, int n) {
  return Bf16BitsToF32(_mm256_maskz_loadu_epi16(FirstLanes16(n), p));
}
// Sixteen bfloat16 bit patterns in the low 16 bits of each 32-bit lane.
inline __m512i RoundToBf16Bits(Vec<float> v) {
  const __m512i u = _mm512_castps_si512(v.v);
  const __m512i lsb =
      _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_srli_epi32(
      _mm512_add_epi32(_mm512_add_epi32(u, _mm512_set1_epi32(0x7fff)), lsb),
      16);
  const __m512i quiet =
      _mm512_or_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(0x40));
  const __mmask16 is_nan = _mm512_cmp_ps_mask(v.v, v.v, _CMP_UNORD_Q);
  return _mm512_mask_blend_epi32(is_nan, rounded, quiet);
}
inline void StoreBf16(uint16_t* p, Vec<float> v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                      _mm512_cvtepi32_epi16(RoundToBf16Bits(v)));
}
inline void StoreBf16N(uint16_t* p, Vec<float> v, int n) {
  _mm512_mask_cvtepi32_storeu_epi16(p, FirstLanes16(n), RoundToBf16Bits(v));
}
// p 32-byte aligned.
inline void StoreBf16Stream(uint16_t* p, Vec<float> v) {
  _mm256_stream_si256(reinterpret_cast<__m256i*>(p),
                      _mm512_cvtepi32_epi16(RoundToBf16Bits(v)));
}

}  // namespace tapconv::cpu::avx512

#endif  // TAPCONV_BACKENDS_CPU_SIMD_AVX512_H_
