#ifndef TAPCONV_BACKENDS_CPU_SIMD_AVX2_H_
#define TAPCONV_BACKENDS_CPU_SIMD_AVX2_H_

// AVX2 + FMA implementation of the SIMD layer (simd.h): 8 f32 / 4 f64 lanes.
// Include simd.h, not this file, from a unit compiled with -mavx2 -mfma.

#if !defined(__AVX2__) || !defined(__FMA__)
#error "simd_avx2.h needs -mavx2 -mfma"
#endif

#include <immintrin.h>

#include <cstdint>

namespace tapconv::cpu::avx2 {

template <typename T>
struct Vec;
template <>
struct Vec<float> {
  static constexpr int kLanes = 8;
  __m256 v;
};
template <>
struct Vec<double> {
  static constexpr int kLanes = 4;
  __m256d v;
};

// A lane mask whose first n (0..8) 32-bit lanes are set: eight -1 then eight 0,
// read from offset 8 - n.
inline __m256i FirstLanes32(int n) {
  alignas(32) static const int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                 0,  0,  0,  0,  0,  0,  0,  0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTable + 8 - n));
}
inline __m256i FirstLanes64(int n) {
  alignas(32) static const int64_t kTable[8] = {-1, -1, -1, -1, 0, 0, 0, 0};
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kTable + 4 - n));
}

inline Vec<float> LoadU(const float* p) { return {_mm256_loadu_ps(p)}; }
inline Vec<double> LoadU(const double* p) { return {_mm256_loadu_pd(p)}; }
// vmaskmov never touches masked-off lanes' memory.
inline Vec<float> LoadN(const float* p, int n) {
  return {_mm256_maskload_ps(p, FirstLanes32(n))};
}
inline Vec<double> LoadN(const double* p, int n) {
  return {_mm256_maskload_pd(p, FirstLanes64(n))};
}
inline void StoreU(float* p, Vec<float> v) { _mm256_storeu_ps(p, v.v); }
inline void StoreU(double* p, Vec<double> v) { _mm256_storeu_pd(p, v.v); }
inline void StoreN(float* p, Vec<float> v, int n) {
  _mm256_maskstore_ps(p, FirstLanes32(n), v.v);
}
inline void StoreN(double* p, Vec<double> v, int n) {
  _mm256_maskstore_pd(p, FirstLanes64(n), v.v);
}

inline Vec<float> Set1(float x) { return {_mm256_set1_ps(x)}; }
inline Vec<double> Set1(double x) { return {_mm256_set1_pd(x)}; }
inline Vec<float> Add(Vec<float> a, Vec<float> b) {
  return {_mm256_add_ps(a.v, b.v)};
}
inline Vec<double> Add(Vec<double> a, Vec<double> b) {
  return {_mm256_add_pd(a.v, b.v)};
}
inline Vec<float> Mul(Vec<float> a, Vec<float> b) {
  return {_mm256_mul_ps(a.v, b.v)};
}
inline Vec<double> Mul(Vec<double> a, Vec<double> b) {
  return {_mm256_mul_pd(a.v, b.v)};
}
inline Vec<float> MulAdd(Vec<float> a, Vec<float> b, Vec<float> c) {
  return {_mm256_fmadd_ps(a.v, b.v, c.v)};
}
inline Vec<double> MulAdd(Vec<double> a, Vec<double> b, Vec<double> c) {
  return {_mm256_fmadd_pd(a.v, b.v, c.v)};
}

// Non-temporal stores (p aligned to the vector size) write whole lines without
// reading them first; StreamFence orders them before later stores.
inline void StoreStream(float* p, Vec<float> v) { _mm256_stream_ps(p, v.v); }
inline void StoreStream(double* p, Vec<double> v) { _mm256_stream_pd(p, v.v); }
inline void StreamFence() { _mm_sfence(); }
inline void PrefetchL2(const void* p) {
  _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T1);
}

inline float ReduceAdd(Vec<float> v) {
  __m128 s =
      _mm_add_ps(_mm256_castps256_ps128(v.v), _mm256_extractf128_ps(v.v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
inline double ReduceAdd(Vec<double> v) {
  __m128d s =
      _mm_add_pd(_mm256_castpd256_pd128(v.v), _mm256_extractf128_pd(v.v, 1));
  s = _mm_add_sd(s, _mm_unpackhi_pd(s, s));
  return _mm_cvtsd_f64(s);
}

// The even lanes of the 2 * kLanes elements a, b: a0 a2 ... b0 b2 ...
inline Vec<float> EvenLanes(Vec<float> a, Vec<float> b) {
  // Per 128-bit half: a0 a2 b0 b2 | a4 a6 b4 b6; then order the quarters.
  const __m256 mixed = _mm256_shuffle_ps(a.v, b.v, _MM_SHUFFLE(2, 0, 2, 0));
  return {_mm256_castpd_ps(
      _mm256_permute4x64_pd(_mm256_castps_pd(mixed), _MM_SHUFFLE(3, 1, 2, 0)))};
}
inline Vec<double> EvenLanes(Vec<double> a, Vec<double> b) {
  return {_mm256_permute4x64_pd(_mm256_unpacklo_pd(a.v, b.v),
                                _MM_SHUFFLE(3, 1, 2, 0))};
}

// In-register transpose of a kLanes x kLanes block: m[i] holds row i on
// entry, column i on return.
// Forced inline: as a call, the block would go through memory twice. The
// loops are unrolled explicitly: at -O2 GCC keeps them as loops over t and
// u in memory, a store and a reload around every shuffle (the oriented
// K=31 56² forward took 1.43 ms that way, 1.19 ms unrolled).
inline __attribute__((always_inline)) void Transpose(Vec<float>* m) {
  __m256 t[8], u[8];
#pragma GCC unroll 8
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(m[2 * i].v, m[2 * i + 1].v);
    t[2 * i + 1] = _mm256_unpackhi_ps(m[2 * i].v, m[2 * i + 1].v);
  }
  // u[4i + j], 128-bit half b: column 4b + j of rows 4i .. 4i + 3.
#pragma GCC unroll 8
  for (int i = 0; i < 2; ++i) {
    u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
    u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xee);
    u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
    u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xee);
  }
#pragma GCC unroll 8
  for (int j = 0; j < 4; ++j) {
    m[j].v = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    m[4 + j].v = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}
inline __attribute__((always_inline)) void Transpose(Vec<double>* m) {
  const __m256d t0 = _mm256_unpacklo_pd(m[0].v, m[1].v);
  const __m256d t1 = _mm256_unpackhi_pd(m[0].v, m[1].v);
  const __m256d t2 = _mm256_unpacklo_pd(m[2].v, m[3].v);
  const __m256d t3 = _mm256_unpackhi_pd(m[2].v, m[3].v);
  m[0].v = _mm256_permute2f128_pd(t0, t2, 0x20);
  m[1].v = _mm256_permute2f128_pd(t1, t3, 0x20);
  m[2].v = _mm256_permute2f128_pd(t0, t2, 0x31);
  m[3].v = _mm256_permute2f128_pd(t1, t3, 0x31);
}

#include "backends/cpu/simd_bf16_scalar.inc"

inline Vec<float> LoadBf16(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return {_mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16))};
}
inline Vec<float> LoadBf16N(const uint16_t* p, int n) {
  alignas(16) uint16_t buffer[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < n; ++i) buffer[i] = p[i];
  return LoadBf16(buffer);
}
// Eight bfloat16 bit patterns in the low 16 bits of each 32-bit lane.
inline __m256i RoundToBf16Bits(Vec<float> v) {
  const __m256i u = _mm256_castps_si256(v.v);
  const __m256i lsb =
      _mm256_and_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(1));
  const __m256i rounded = _mm256_srli_epi32(
      _mm256_add_epi32(_mm256_add_epi32(u, _mm256_set1_epi32(0x7fff)), lsb),
      16);
  const __m256i quiet =
      _mm256_or_si256(_mm256_srli_epi32(u, 16), _mm256_set1_epi32(0x40));
  const __m256 is_nan = _mm256_cmp_ps(v.v, v.v, _CMP_UNORD_Q);
  return _mm256_castps_si256(_mm256_blendv_ps(
      _mm256_castsi256_ps(rounded), _mm256_castsi256_ps(quiet), is_nan));
}
inline void StoreBf16(uint16_t* p, Vec<float> v) {
  const __m256i bits = RoundToBf16Bits(v);
  // packus works per 128-bit half: [0..3 0..3 | 4..7 4..7]; gather the two low
  // quarters.
  const __m256i packed = _mm256_permute4x64_epi64(
      _mm256_packus_epi32(bits, bits), _MM_SHUFFLE(3, 1, 2, 0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                   _mm256_castsi256_si128(packed));
}
inline void StoreBf16N(uint16_t* p, Vec<float> v, int n) {
  alignas(16) uint16_t buffer[8];
  StoreBf16(buffer, v);
  for (int i = 0; i < n; ++i) p[i] = buffer[i];
}
// p 16-byte aligned.
inline void StoreBf16Stream(uint16_t* p, Vec<float> v) {
  const __m256i bits = RoundToBf16Bits(v);
  const __m256i packed = _mm256_permute4x64_epi64(
      _mm256_packus_epi32(bits, bits), _MM_SHUFFLE(3, 1, 2, 0));
  _mm_stream_si128(reinterpret_cast<__m128i*>(p),
                   _mm256_castsi256_si128(packed));
}

}  // namespace tapconv::cpu::avx2

#endif  // TAPCONV_BACKENDS_CPU_SIMD_AVX2_H_
