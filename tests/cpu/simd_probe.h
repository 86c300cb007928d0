#ifndef TAPCONV_TESTS_CPU_SIMD_PROBE_H_
#define TAPCONV_TESTS_CPU_SIMD_PROBE_H_

// Plain entry points into the SIMD layer (backends/cpu/simd.h) of each ISA, for
// simd_test.cc. simd_probe.cc is compiled once per ISA with that ISA's flags
// (like the kernels), so the test itself stays generic code.

#include <cstdint>

namespace tapconv::cpu {

struct SimdProbe {
  int lanes_f32, lanes_f64;
  // dst[0, n) = src[0, n) through LoadN / StoreN (n <= lanes).
  void (*copy_n_f32)(const float* src, float* dst, int n);
  void (*copy_n_f64)(const double* src, double* dst, int n);
  // StoreU(dst, LoadN(src, n)): all lanes written, lanes >= n must be zero.
  void (*load_n_f32)(const float* src, float* dst, int n);
  // bits[0, n) = StoreBf16N(LoadN(src, n)); back[0, n) = LoadBf16N(bits, n).
  void (*bf16_n)(const float* src, uint16_t* bits, float* back, int n);
  // Full vectors: StoreBf16 and StoreBf16Stream (bits aligned to 2 * lanes).
  void (*bf16_full)(const float* src, uint16_t* bits);
  void (*bf16_stream)(const float* src, uint16_t* bits);
  // StoreStream (dst vector-aligned) then StreamFence.
  void (*stream_f32)(const float* src, float* dst);
  void (*stream_f64)(const double* src, double* dst);
  float (*reduce_f32)(const float* src);
  double (*reduce_f64)(const double* src);
  // out = MulAdd(a, b, c), full vectors.
  void (*muladd_f32)(const float* a, const float* b, const float* c,
                     float* out);
  void (*muladd_f64)(const double* a, const double* b, const double* c,
                     double* out);
  // out = EvenLanes(LoadU(src), LoadU(src + lanes)).
  void (*even_f32)(const float* src, float* out);
  void (*even_f64)(const double* src, double* out);
  // In-place transpose of a lanes x lanes row-major block.
  void (*transpose_f32)(float* m);
  void (*transpose_f64)(double* m);
  uint16_t (*f32_to_bf16)(float v);
  float (*bf16_to_f32)(uint16_t v);
};

namespace scalar {
const SimdProbe& GetSimdProbe();
}
namespace avx2 {
const SimdProbe& GetSimdProbe();
}
namespace avx512 {
const SimdProbe& GetSimdProbe();
}

}  // namespace tapconv::cpu

#endif  // TAPCONV_TESTS_CPU_SIMD_PROBE_H_
