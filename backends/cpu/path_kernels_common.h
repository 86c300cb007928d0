#ifndef TAPCONV_BACKENDS_CPU_PATH_KERNELS_COMMON_H_
#define TAPCONV_BACKENDS_CPU_PATH_KERNELS_COMMON_H_

// What both kernel families of the path ops share (see path_kernels_impl.h):
// storage conversion, vector gathers, register transposes. Compiled once per
// ISA; everything lives in tapconv::cpu::TAPCONV_SIMD_NS (see simd.h).

#include <cstdint>

#include "backends/cpu/kernel_util.h"
#include "backends/cpu/path_kernel_abi.h"
#include "backends/cpu/simd.h"
// Mirrors simd.h's choice, for the gathers the SIMD layer does not offer.
#if defined(TAPCONV_SIMD_WANT_SCALAR)
#define TAPCONV_PATH_GATHER_SCALAR 1
#elif defined(TAPCONV_SIMD_WANT_AVX2)
#define TAPCONV_PATH_GATHER_AVX2 1
#elif defined(__AVX512F__) && defined(__AVX512BW__) && \
    defined(__AVX512DQ__) && defined(__AVX512VL__)
#define TAPCONV_PATH_GATHER_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#define TAPCONV_PATH_GATHER_AVX2 1
#else
#define TAPCONV_PATH_GATHER_SCALAR 1
#endif

namespace tapconv::cpu::TAPCONV_SIMD_NS {
namespace path_internal {

// dst[0, n) = src[0, n) converted to the compute type.
template <typename S, typename T>
void CopyIn(const S* src, T* dst, int64_t n) {
  constexpr int L = Vec<T>::kLanes;
  int64_t i = 0;
  for (; i + L <= n; i += L) StoreU(dst + i, LoadCvt(src + i));
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    StoreN(dst + i, LoadCvtN(src + i, rest), rest);
  }
}

// dst[0, n) = v.
template <typename S, typename T>
void Fill(S* dst, int64_t n, T v) {
  constexpr int L = Vec<T>::kLanes;
  const Vec<T> x = Set1(v);
  int64_t i = 0;
  for (; i + L <= n; i += L) StoreCvt(dst + i, x);
  if (i < n) StoreCvtN(dst + i, x, static_cast<int>(n - i));
}

// One image plane in the compute type: the tensor itself for float32 and
// float64, a converted copy in `buffer` for bfloat16 (read by P gathers).
inline const float* PlaneAsCompute(const float* plane, int64_t, float*) {
  return plane;
}
inline const double* PlaneAsCompute(const double* plane, int64_t, double*) {
  return plane;
}
inline const float* PlaneAsCompute(const uint16_t* plane, int64_t n,
                                   float* buffer) {
  CopyIn(plane, buffer, n);
  return buffer;
}

// --- Gathers: one vector of base[idx[i]]
// --------------------------------------

#if defined(TAPCONV_PATH_GATHER_AVX512)
static_assert(Vec<float>::kLanes == 16, "gathers and SIMD layer disagree");
inline Vec<float> GatherV(const float* base, const int32_t* idx) {
  return {_mm512_i32gather_ps(_mm512_loadu_si512(idx), base, 4)};
}
inline Vec<float> GatherVN(const float* base, const int32_t* idx, int n) {
  const __mmask16 m = static_cast<__mmask16>((1u << n) - 1u);
  return {_mm512_mask_i32gather_ps(_mm512_setzero_ps(), m,
                                   _mm512_maskz_loadu_epi32(m, idx), base, 4)};
}
inline Vec<double> GatherV(const double* base, const int32_t* idx) {
  return {_mm512_i32gather_pd(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx)), base, 8)};
}
inline Vec<double> GatherVN(const double* base, const int32_t* idx, int n) {
  const __mmask8 m = static_cast<__mmask8>((1u << n) - 1u);
  return {_mm512_mask_i32gather_pd(_mm512_setzero_pd(), m,
                                   _mm256_maskz_loadu_epi32(m, idx), base, 8)};
}
#elif defined(TAPCONV_PATH_GATHER_AVX2)
static_assert(Vec<float>::kLanes == 8, "gathers and SIMD layer disagree");
// The masked forms with an explicit zero source: the plain ones start from
// _mm256_undefined_*(), which GCC 12 reports as uninitialised (bug 105593).
inline Vec<float> GatherV(const float* base, const int32_t* idx) {
  return {_mm256_mask_i32gather_ps(
      _mm256_setzero_ps(), base,
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(idx)),
      _mm256_castsi256_ps(_mm256_set1_epi32(-1)), 4)};
}
inline Vec<float> GatherVN(const float* base, const int32_t* idx, int n) {
  alignas(32) int32_t lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int i = 0; i < n; ++i) lanes[i] = idx[i];
  return {_mm256_mask_i32gather_ps(
      _mm256_setzero_ps(), base,
      _mm256_load_si256(reinterpret_cast<const __m256i*>(lanes)),
      _mm256_castsi256_ps(FirstLanes32(n)), 4)};
}
inline Vec<double> GatherV(const double* base, const int32_t* idx) {
  return {_mm256_mask_i32gather_pd(
      _mm256_setzero_pd(), base,
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(idx)),
      _mm256_castsi256_pd(_mm256_set1_epi64x(-1)), 8)};
}
inline Vec<double> GatherVN(const double* base, const int32_t* idx, int n) {
  alignas(16) int32_t lanes[4] = {0, 0, 0, 0};
  for (int i = 0; i < n; ++i) lanes[i] = idx[i];
  return {_mm256_mask_i32gather_pd(
      _mm256_setzero_pd(), base,
      _mm_load_si128(reinterpret_cast<const __m128i*>(lanes)),
      _mm256_castsi256_pd(FirstLanes64(n)), 8)};
}
#else
static_assert(Vec<float>::kLanes == 1, "gathers and SIMD layer disagree");
template <typename T>
inline Vec<T> GatherV(const T* base, const int32_t* idx) {
  return Vec<T>{base[*idx]};
}
template <typename T>
inline Vec<T> GatherVN(const T* base, const int32_t* idx, int n) {
  return Vec<T>{n > 0 ? base[*idx] : T(0)};
}
#endif

// dst[i] = src[idx[i]] for i in [0, n), converted to dst's type.
template <typename T, typename O>
void GatherRow(const T* src, const int32_t* idx, int64_t n, O* dst) {
  constexpr int L = Vec<T>::kLanes;
  int64_t i = 0;
  for (; i + 4 * L <= n; i += 4 * L) {
    const Vec<T> a = GatherV(src, idx + i);
    const Vec<T> b = GatherV(src, idx + i + L);
    const Vec<T> c = GatherV(src, idx + i + 2 * L);
    const Vec<T> d = GatherV(src, idx + i + 3 * L);
    StoreCvt(dst + i, a);
    StoreCvt(dst + i + L, b);
    StoreCvt(dst + i + 2 * L, c);
    StoreCvt(dst + i + 3 * L, d);
  }
  for (; i + L <= n; i += L) StoreCvt(dst + i, GatherV(src, idx + i));
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    StoreCvtN(dst + i, GatherVN(src, idx + i, rest), rest);
  }
}

// dst[q] = sum over p in order of rows[p][index[p * n + q]], q in [0, n).
template <typename T, typename O>
void GatherSum(const T* const* rows, const int32_t* index, int64_t paths,
               int64_t n, O* dst) {
  constexpr int L = Vec<T>::kLanes;
  int64_t q = 0;
  for (; q + 2 * L <= n; q += 2 * L) {
    Vec<T> a = GatherV(rows[0], index + q);
    Vec<T> b = GatherV(rows[0], index + q + L);
    for (int64_t p = 1; p < paths; ++p) {
      a = Add(a, GatherV(rows[p], index + p * n + q));
      b = Add(b, GatherV(rows[p], index + p * n + q + L));
    }
    StoreCvt(dst + q, a);
    StoreCvt(dst + q + L, b);
  }
  for (; q < n; q += L) {
    const int rest = static_cast<int>(Min64(L, n - q));
    Vec<T> a = GatherVN(rows[0], index + q, rest);
    for (int64_t p = 1; p < paths; ++p)
      a = Add(a, GatherVN(rows[p], index + p * n + q, rest));
    StoreCvtN(dst + q, a, rest);
  }
}

// Taps per pass: one accumulator chain each (two vectors per step when few),
// with room left for the dy vector and the loaded operand.
constexpr int kMaxParamTaps = Vec<float>::kLanes >= 16 ? 12 : 8;

template <typename S, typename T>
double RowSum(const S* row, int64_t n) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> a = Set1(T(0)), b = Set1(T(0));
  int64_t j = 0;
  for (; j + 2 * L <= n; j += 2 * L) {
    a = Add(a, LoadCvt(row + j));
    b = Add(b, LoadCvt(row + j + L));
  }
  for (; j < n; j += L)
    a = Add(a, LoadCvtN(row + j, static_cast<int>(Min64(L, n - j))));
  return static_cast<double>(ReduceAdd(Add(a, b)));
}

// --- Register transposes ---------------------------------------------------

// r[i] lane c <-> r[c] lane i, a V x V transpose kept in registers: every loop
// is unrolled (GCC keeps a rolled loop's temporaries in memory at -O2).
#if defined(TAPCONV_PATH_GATHER_AVX512)
inline void TransposeBlock(Vec<float> (&r)[16]) {
  __m512 t[16], u[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i].v, r[2 * i + 1].v);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i].v, r[2 * i + 1].v);
  }
  // u[4i + j], 128-bit lane L: column 4L + j of rows 4i .. 4i + 3.
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512d a = _mm512_castps_pd(t[4 * i]);
    const __m512d b = _mm512_castps_pd(t[4 * i + 2]);
    const __m512d c = _mm512_castps_pd(t[4 * i + 1]);
    const __m512d d = _mm512_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));
    u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
    u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
    u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
  }
  // Row 4L + j gathers lane L of u[j], u[4 + j], u[8 + j], u[12 + j].
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    const __m512 v0 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0x88);
    const __m512 v1 = _mm512_shuffle_f32x4(u[j], u[4 + j], 0xDD);
    const __m512 v2 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0x88);
    const __m512 v3 = _mm512_shuffle_f32x4(u[8 + j], u[12 + j], 0xDD);
    r[j].v = _mm512_shuffle_f32x4(v0, v2, 0x88);
    r[8 + j].v = _mm512_shuffle_f32x4(v0, v2, 0xDD);
    r[4 + j].v = _mm512_shuffle_f32x4(v1, v3, 0x88);
    r[12 + j].v = _mm512_shuffle_f32x4(v1, v3, 0xDD);
  }
}
inline void TransposeBlock(Vec<double> (&r)[8]) {
  __m512d t[8];
  // t[2i + j], 128-bit lane L: column 2L + j of rows 2i, 2i + 1.
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm512_unpacklo_pd(r[2 * i].v, r[2 * i + 1].v);
    t[2 * i + 1] = _mm512_unpackhi_pd(r[2 * i].v, r[2 * i + 1].v);
  }
#pragma GCC unroll 2
  for (int j = 0; j < 2; ++j) {
    const __m512d v0 = _mm512_shuffle_f64x2(t[j], t[2 + j], 0x88);
    const __m512d v1 = _mm512_shuffle_f64x2(t[j], t[2 + j], 0xDD);
    const __m512d v2 = _mm512_shuffle_f64x2(t[4 + j], t[6 + j], 0x88);
    const __m512d v3 = _mm512_shuffle_f64x2(t[4 + j], t[6 + j], 0xDD);
    r[j].v = _mm512_shuffle_f64x2(v0, v2, 0x88);
    r[4 + j].v = _mm512_shuffle_f64x2(v0, v2, 0xDD);
    r[2 + j].v = _mm512_shuffle_f64x2(v1, v3, 0x88);
    r[6 + j].v = _mm512_shuffle_f64x2(v1, v3, 0xDD);
  }
}
#elif defined(TAPCONV_PATH_GATHER_AVX2)
inline void TransposeBlock(Vec<float> (&r)[8]) {
  __m256 t[8], u[8];
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i].v, r[2 * i + 1].v);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i].v, r[2 * i + 1].v);
  }
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i) {
    const __m256d a = _mm256_castps_pd(t[4 * i]);
    const __m256d b = _mm256_castps_pd(t[4 * i + 2]);
    const __m256d c = _mm256_castps_pd(t[4 * i + 1]);
    const __m256d d = _mm256_castps_pd(t[4 * i + 3]);
    u[4 * i] = _mm256_castpd_ps(_mm256_unpacklo_pd(a, b));
    u[4 * i + 1] = _mm256_castpd_ps(_mm256_unpackhi_pd(a, b));
    u[4 * i + 2] = _mm256_castpd_ps(_mm256_unpacklo_pd(c, d));
    u[4 * i + 3] = _mm256_castpd_ps(_mm256_unpackhi_pd(c, d));
  }
#pragma GCC unroll 4
  for (int j = 0; j < 4; ++j) {
    r[j].v = _mm256_permute2f128_ps(u[j], u[4 + j], 0x20);
    r[4 + j].v = _mm256_permute2f128_ps(u[j], u[4 + j], 0x31);
  }
}
inline void TransposeBlock(Vec<double> (&r)[4]) {
  __m256d t[4];
#pragma GCC unroll 2
  for (int i = 0; i < 2; ++i) {
    t[2 * i] = _mm256_unpacklo_pd(r[2 * i].v, r[2 * i + 1].v);
    t[2 * i + 1] = _mm256_unpackhi_pd(r[2 * i].v, r[2 * i + 1].v);
  }
#pragma GCC unroll 2
  for (int j = 0; j < 2; ++j) {
    r[j].v = _mm256_permute2f128_pd(t[j], t[2 + j], 0x20);
    r[2 + j].v = _mm256_permute2f128_pd(t[j], t[2 + j], 0x31);
  }
}
#else
template <typename T>
inline void TransposeBlock(Vec<T> (&)[1]) {}
#endif

template <typename P>
P ScratchAt(void* scratch, int64_t offset) {
  return reinterpret_cast<P>(static_cast<char*>(scratch) + offset);
}

}  // namespace path_internal
}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_PATH_KERNELS_COMMON_H_
