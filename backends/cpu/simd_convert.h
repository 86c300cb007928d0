#ifndef TAPCONV_BACKENDS_CPU_SIMD_CONVERT_H_
#define TAPCONV_BACKENDS_CPU_SIMD_CONVERT_H_

// Storage <-> compute conversion over the SIMD layer, for kernels that store
// activations as float32, float64 or bfloat16 (uint16_t bits) and compute in
// float (double for float64). Include after simd.h, from per-ISA units only.

#include <cstdint>

#include "backends/cpu/simd.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {

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
inline void StoreCvtN(float* p, Vec<float> v, int n) { StoreN(p, v, n); }
inline void StoreCvtN(double* p, Vec<double> v, int n) { StoreN(p, v, n); }
inline void StoreCvtN(uint16_t* p, Vec<float> v, int n) { StoreBf16N(p, v, n); }

}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_SIMD_CONVERT_H_
