// The SIMD layer of one ISA behind plain function pointers (simd_probe.h).
// BUILD compiles this file once per ISA; simd.h picks the namespace.

#include "tests/cpu/simd_probe.h"

#include "backends/cpu/simd.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {
namespace {

template <typename T>
void CopyN(const T* src, T* dst, int n) {
  StoreN(dst, LoadN(src, n), n);
}
void LoadNF32(const float* src, float* dst, int n) {
  StoreU(dst, LoadN(src, n));
}
void Bf16N(const float* src, uint16_t* bits, float* back, int n) {
  StoreBf16N(bits, LoadN(src, n), n);
  StoreN(back, LoadBf16N(bits, n), n);
}
void Bf16Full(const float* src, uint16_t* bits) { StoreBf16(bits, LoadU(src)); }
void Bf16Stream(const float* src, uint16_t* bits) {
  StoreBf16Stream(bits, LoadU(src));
  StreamFence();
}
template <typename T>
void Stream(const T* src, T* dst) {
  StoreStream(dst, LoadU(src));
  StreamFence();
}
template <typename T>
T Reduce(const T* src) {
  return ReduceAdd(LoadU(src));
}
template <typename T>
void MulAddProbe(const T* a, const T* b, const T* c, T* out) {
  StoreU(out, MulAdd(LoadU(a), LoadU(b), LoadU(c)));
}
template <typename T>
void TransposeProbe(T* m) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> rows[L];
  for (int i = 0; i < L; ++i) rows[i] = LoadU(m + i * L);
  Transpose(rows);
  for (int i = 0; i < L; ++i) StoreU(m + i * L, rows[i]);
}
template <typename T>
void Even(const T* src, T* out) {
  StoreU(out, EvenLanes(LoadU(src), LoadU(src + Vec<T>::kLanes)));
}
uint16_t ToBf16(float v) { return F32ToBf16(v); }
float FromBf16(uint16_t v) { return Bf16ToF32(v); }

constexpr SimdProbe kProbe{Vec<float>::kLanes,
                           Vec<double>::kLanes,
                           &CopyN<float>,
                           &CopyN<double>,
                           &LoadNF32,
                           &Bf16N,
                           &Bf16Full,
                           &Bf16Stream,
                           &Stream<float>,
                           &Stream<double>,
                           &Reduce<float>,
                           &Reduce<double>,
                           &MulAddProbe<float>,
                           &MulAddProbe<double>,
                           &Even<float>,
                           &Even<double>,
                           &TransposeProbe<float>,
                           &TransposeProbe<double>,
                           &ToBf16,
                           &FromBf16};

}  // namespace

const SimdProbe& GetSimdProbe() { return kProbe; }

}  // namespace tapconv::cpu::TAPCONV_SIMD_NS
