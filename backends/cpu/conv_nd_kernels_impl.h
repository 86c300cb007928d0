#ifndef TAPCONV_BACKENDS_CPU_CONV_ND_KERNELS_IMPL_H_
#define TAPCONV_BACKENDS_CPU_CONV_ND_KERNELS_IMPL_H_

// The tap-convolution kernels (conv_nd_kernel_abi.h), written once over the
// SIMD layer and compiled once per ISA (conv_nd_kernels_<isa>.cc include this
// after choosing the ISA). Everything lives in tapconv::cpu::TAPCONV_SIMD_NS;
// raw pointers and plain structs only (see simd.h for why).
//
//   accumulate: a register tile of R output rows x V vectors; per term one
//     broadcast weight and R*V load+FMA pairs. R*V <= kMaxAccumulators keeps
//     enough independent FMA chains in flight to hide the FMA latency.
//   dot: kDotTerms terms x 2 vectors of accumulators; each dy vector is loaded
//     once and reused by the kDotTerms terms.

#include <cstdint>

#include "backends/cpu/conv_nd_kernel_abi.h"
#include "backends/cpu/simd.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {
namespace conv_nd_internal {

constexpr int kMaxAccumulators = 8;
constexpr int kMaxTileVecs = 8;
// AVX-512 has 32 vector registers: 8 terms x 2 accumulators fit.
constexpr int kDotTerms = Vec<float>::kLanes >= 16 ? 8 : 4;

template <TapStorage S>
struct Storage;
template <>
struct Storage<TapStorage::kF32> {
  using T = float;
  using Out = float;
  static void Store(float* p, Vec<float> v, int n) {
    if (n == Vec<float>::kLanes) {
      StoreU(p, v);
    } else {
      StoreN(p, v, n);
    }
  }
  static float Round(float v) { return v; }
};
template <>
struct Storage<TapStorage::kF64> {
  using T = double;
  using Out = double;
  static void Store(double* p, Vec<double> v, int n) {
    if (n == Vec<double>::kLanes) {
      StoreU(p, v);
    } else {
      StoreN(p, v, n);
    }
  }
  static double Round(double v) { return v; }
};
template <>
struct Storage<TapStorage::kBF16> {
  using T = float;
  using Out = uint16_t;
  static void Store(uint16_t* p, Vec<float> v, int n) {
    if (n == Vec<float>::kLanes) {
      StoreBf16(p, v);
    } else {
      StoreBf16N(p, v, n);
    }
  }
  static uint16_t Round(float v) { return F32ToBf16(v); }
};

// One R x V tile: rows [r0, r0 + R) of the list, columns [j0, j0 + V * L)
// clipped to cols.
template <TapStorage S, int R, int V>
void AccumulateTile(const TapAccumulateArgs& a, int64_t r0, int64_t j0) {
  using T = typename Storage<S>::T;
  using Out = typename Storage<S>::Out;
  constexpr int L = Vec<T>::kLanes;
  const T* base = static_cast<const T*>(a.src) + j0;
  const T* w = static_cast<const T*>(a.weight);
  const int64_t* off = a.off;
  const T* src[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) src[r] = base + a.row_src[r0 + r];
  Vec<T> acc[R][V];
  const Vec<T> init = Set1(static_cast<T>(a.init));
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) acc[r][v] = init;
  }
  for (int64_t t = 0; t < a.terms; ++t) {
    const Vec<T> wv = Set1(w[t]);
    const int64_t o = off[t];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
#pragma GCC unroll 16
      for (int v = 0; v < V; ++v) {
        acc[r][v] = MulAdd(wv, LoadU(src[r] + o + v * L), acc[r][v]);
      }
    }
  }
  Out* dst = static_cast<Out*>(a.dst);
  const int64_t cs = a.dst_col_stride;
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    Out* row = dst + a.row_dst[r0 + r];
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) {
      const int64_t j = j0 + v * L;
      const int64_t left = a.cols - j;
      const int n = left < L ? static_cast<int>(left) : L;
      if (cs == 1) {
        Storage<S>::Store(row + j, acc[r][v], n);
      } else {
        alignas(64) T lanes[L];
        StoreU(lanes, acc[r][v]);
        for (int i = 0; i < n; ++i)
          row[(j + i) * cs] = Storage<S>::Round(lanes[i]);
      }
    }
  }
}

// A tile of `rows` (< R) rows, by recursion down to the matching instance.
template <TapStorage S, int V, int R>
void AccumulateShortTile(const TapAccumulateArgs& a, int64_t r0, int64_t rows,
                         int64_t j0) {
  if constexpr (R <= 1) {
    AccumulateTile<S, 1, V>(a, r0, j0);
  } else {
    if (rows == R) {
      AccumulateTile<S, R, V>(a, r0, j0);
    } else {
      AccumulateShortTile<S, V, R - 1>(a, r0, rows, j0);
    }
  }
}

// Every row of a strip of V vectors starting at column j0.
template <TapStorage S, int V>
void AccumulateStrip(const TapAccumulateArgs& a, int64_t j0) {
  constexpr int R = kMaxAccumulators / V > 0 ? kMaxAccumulators / V : 1;
  int64_t r = 0;
  for (; r + R <= a.rows; r += R) AccumulateTile<S, R, V>(a, r, j0);
  if (r < a.rows) AccumulateShortTile<S, V, R>(a, r, a.rows - r, j0);
}

template <TapStorage S, int V>
void AccumulateNarrowStrip(const TapAccumulateArgs& a, int64_t vecs,
                           int64_t j0) {
  if constexpr (V <= 1) {
    AccumulateStrip<S, 1>(a, j0);
  } else {
    if (vecs == V) {
      AccumulateStrip<S, V>(a, j0);
    } else {
      AccumulateNarrowStrip<S, V - 1>(a, vecs, j0);
    }
  }
}

template <TapStorage S>
void Accumulate(const TapAccumulateArgs& a) {
  using T = typename Storage<S>::T;
  constexpr int L = Vec<T>::kLanes;
  if (a.rows <= 0 || a.cols <= 0) return;
  const int64_t vecs = (a.cols + L - 1) / L;
  for (int64_t v0 = 0; v0 < vecs; v0 += kMaxTileVecs) {
    const int64_t n = vecs - v0 < kMaxTileVecs ? vecs - v0 : kMaxTileVecs;
    if (n == kMaxTileVecs) {
      AccumulateStrip<S, kMaxTileVecs>(a, v0 * L);
    } else {
      AccumulateNarrowStrip<S, kMaxTileVecs - 1>(a, n, v0 * L);
    }
  }
}

// B terms (B <= kDotTerms) starting at term t0, over every row. Two
// accumulators per term (even and odd vectors of a row) keep 2 * B FMA chains
// in flight.
template <typename T, int B>
void DotTerms(const TapDotArgs& a, int64_t t0) {
  constexpr int L = Vec<T>::kLanes;
  const int64_t full = a.cols / L;
  const int tail = static_cast<int>(a.cols - full * L);
  const int64_t pairs = full / 2;
  const bool odd = (full & 1) != 0;
  const T* dy = static_cast<const T*>(a.dy);
  const T* src = static_cast<const T*>(a.src);
  const Vec<T> zero = Set1(T(0));
  Vec<T> acc0[B], acc1[B];
  int64_t off[B];
#pragma GCC unroll 8
  for (int b = 0; b < B; ++b) {
    acc0[b] = zero;
    acc1[b] = zero;
    off[b] = a.off[t0 + b];
  }
  for (int64_t r = 0; r < a.rows; ++r) {
    const T* d = dy + a.row_dy[r];
    const T* x = src + a.row_src[r];
    int64_t j = 0;
    for (int64_t i = 0; i < pairs; ++i, j += 2 * L) {
      const Vec<T> d0 = LoadU(d + j);
      const Vec<T> d1 = LoadU(d + j + L);
#pragma GCC unroll 8
      for (int b = 0; b < B; ++b) {
        acc0[b] = MulAdd(d0, LoadU(x + off[b] + j), acc0[b]);
        acc1[b] = MulAdd(d1, LoadU(x + off[b] + j + L), acc1[b]);
      }
    }
    if (odd) {
      const Vec<T> d0 = LoadU(d + j);
#pragma GCC unroll 8
      for (int b = 0; b < B; ++b)
        acc0[b] = MulAdd(d0, LoadU(x + off[b] + j), acc0[b]);
      j += L;
    }
    if (tail > 0) {
      const Vec<T> d1 = LoadN(d + j, tail);
#pragma GCC unroll 8
      for (int b = 0; b < B; ++b)
        acc1[b] = MulAdd(d1, LoadN(x + off[b] + j, tail), acc1[b]);
    }
  }
  T* out = static_cast<T*>(a.out);
#pragma GCC unroll 8
  for (int b = 0; b < B; ++b) out[t0 + b] = ReduceAdd(Add(acc0[b], acc1[b]));
}

// The last terms - t0 (< kDotTerms) terms.
template <typename T, int B>
void DotRemainder(const TapDotArgs& a, int64_t t0) {
  if constexpr (B >= 1) {
    if (a.terms - t0 == B) {
      DotTerms<T, B>(a, t0);
    } else {
      DotRemainder<T, B - 1>(a, t0);
    }
  }
}

template <typename T>
void Dot(const TapDotArgs& a) {
  int64_t t = 0;
  for (; t + kDotTerms <= a.terms; t += kDotTerms) DotTerms<T, kDotTerms>(a, t);
  if (t < a.terms) DotRemainder<T, kDotTerms - 1>(a, t);
}

void AccumulateF32(const TapAccumulateArgs& a) {
  Accumulate<TapStorage::kF32>(a);
}
void AccumulateF64(const TapAccumulateArgs& a) {
  Accumulate<TapStorage::kF64>(a);
}
void AccumulateBf16(const TapAccumulateArgs& a) {
  Accumulate<TapStorage::kBF16>(a);
}
void DotF32(const TapDotArgs& a) { Dot<float>(a); }
void DotF64(const TapDotArgs& a) { Dot<double>(a); }

}  // namespace conv_nd_internal

const TapKernelTable& TapKernels() {
  static const TapKernelTable table = {
      Vec<float>::kLanes,
      Vec<double>::kLanes,
      {conv_nd_internal::AccumulateF32, conv_nd_internal::AccumulateF64,
       conv_nd_internal::AccumulateBf16},
      conv_nd_internal::DotF32,
      conv_nd_internal::DotF64,
  };
  return table;
}

}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_CONV_ND_KERNELS_IMPL_H_
