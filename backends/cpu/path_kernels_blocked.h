#ifndef TAPCONV_BACKENDS_CPU_PATH_KERNELS_BLOCKED_H_
#define TAPCONV_BACKENDS_CPU_PATH_KERNELS_BLOCKED_H_

// The path kernels that work on blocks of V = Vec<T>::kLanes channels, one
// vector per position: each block's planes (or rows) are transposed into a
// position-major scratch copy with in-register V x V transposes, so that
//   - the gather along a path is one aligned vector copy per position (instead
//     of a V-lane gather instruction per V positions of one channel),
//   - every tap of the conv reads an aligned vector (no cache-line splits),
//     with one weight vector per tap holding the V channels' weights,
//   - the weight gradient accumulates lane-wise, a channel per lane,
// and the results are transposed back in chunks of kPathChunk positions.

#include <cstdint>

#include "backends/cpu/path_kernels_common.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {
namespace path_internal {

// dst[l * V + v] = rows[v * row_stride + l] for l < n, v < cn; lanes v >= cn
// are zero.
template <typename S, typename T>
void TransposeIn(const S* rows, int64_t row_stride, int cn, int64_t n, T* dst) {
  constexpr int V = Vec<T>::kLanes;
  Vec<T> r[V];
  int64_t l = 0;
  for (; l + V <= n; l += V) {
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v)
      r[v] = v < cn ? LoadCvt(rows + v * row_stride + l) : Set1(T(0));
    TransposeBlock(r);
#pragma GCC unroll 16
    for (int i = 0; i < V; ++i) StoreU(dst + (l + i) * V, r[i]);
  }
  if (l < n) {
    const int count = static_cast<int>(n - l);
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v)
      r[v] = v < cn ? LoadCvtN(rows + v * row_stride + l, count) : Set1(T(0));
    TransposeBlock(r);
#pragma GCC unroll 16
    for (int i = 0; i < V; ++i) {
      if (i < count) StoreU(dst + (l + i) * V, r[i]);
    }
  }
}

// rows[v * row_stride + l] = src[l * V + v] for l < n, v < cn. The loops
// over v are unrolled with constant indices, which keeps r in registers.
template <typename T, typename S>
void TransposeOut(const T* src, int64_t n, S* rows, int64_t row_stride,
                  int cn) {
  constexpr int V = Vec<T>::kLanes;
  Vec<T> r[V];
  int64_t l = 0;
  for (; l + V <= n; l += V) {
#pragma GCC unroll 16
    for (int i = 0; i < V; ++i) r[i] = LoadU(src + (l + i) * V);
    TransposeBlock(r);
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) {
      if (v < cn) StoreCvt(rows + v * row_stride + l, r[v]);
    }
  }
  if (l < n) {
    const int count = static_cast<int>(n - l);
#pragma GCC unroll 16
    for (int i = 0; i < V; ++i)
      r[i] = i < count ? LoadU(src + (l + i) * V) : Set1(T(0));
    TransposeBlock(r);
#pragma GCC unroll 16
    for (int v = 0; v < V; ++v) {
      if (v < cn) StoreCvtN(rows + v * row_stride + l, r[v], count);
    }
  }
}

// out[v] = w[v * lane_stride] for v < cn, else 0.
template <typename T>
void LaneWeights(const T* w, int64_t lane_stride, int cn, T* out) {
  constexpr int V = Vec<T>::kLanes;
  for (int v = 0; v < V; ++v) out[v] = v < cn ? w[v * lane_stride] : T(0);
}

// out[(j + b) * V] = bias + sum over taps t of wv[t] * src[t][(j + b) * V],
// for B positions: B accumulator chains per weight vector.
template <int B, typename T>
inline void ConvBlockV(const T* const* src, const T* wv, int64_t ntaps,
                       Vec<T> bias, int64_t j, T* out) {
  constexpr int V = Vec<T>::kLanes;
  Vec<T> acc[B];
#pragma GCC unroll 8
  for (int b = 0; b < B; ++b) acc[b] = bias;
  for (int64_t t = 0; t < ntaps; ++t) {
    const Vec<T> w = LoadU(wv + t * V);
    const T* s = src[t] + j * V;
#pragma GCC unroll 8
    for (int b = 0; b < B; ++b) acc[b] = MulAdd(w, LoadU(s + b * V), acc[b]);
  }
#pragma GCC unroll 8
  for (int b = 0; b < B; ++b) StoreU(out + b * V, acc[b]);
}

// Positions [j, j + n) of the blocked conv into out[0, n).
template <typename T>
void ConvTapsV(const T* const* src, const T* wv, int64_t ntaps, Vec<T> bias,
               int64_t j, int64_t n, T* out) {
  constexpr int V = Vec<T>::kLanes;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    ConvBlockV<8>(src, wv, ntaps, bias, j + i, out + i * V);
  if (i + 4 <= n) {
    ConvBlockV<4>(src, wv, ntaps, bias, j + i, out + i * V);
    i += 4;
  }
  if (i + 2 <= n) {
    ConvBlockV<2>(src, wv, ntaps, bias, j + i, out + i * V);
    i += 2;
  }
  if (i < n) ConvBlockV<1>(src, wv, ntaps, bias, j + i, out + i * V);
}

// sums[g * V + v] += lane v of sum over i < n of dy[i * V] * src[g][(j + i) *
// V], for G taps.
template <int G, typename T>
void ParamsGroupV(const T* dy, const T* const* src, int64_t j, int64_t n,
                  T* sums) {
  constexpr int V = Vec<T>::kLanes;
  Vec<T> acc[G];
  const T* s[G];
#pragma GCC unroll 16
  for (int g = 0; g < G; ++g) {
    acc[g] = Set1(T(0));
    s[g] = src[g] + j * V;
  }
  for (int64_t i = 0; i < n; ++i) {
    const Vec<T> d = LoadU(dy + i * V);
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g) acc[g] = MulAdd(d, LoadU(s[g] + i * V), acc[g]);
  }
#pragma GCC unroll 16
  for (int g = 0; g < G; ++g)
    StoreU(sums + g * V, Add(LoadU(sums + g * V), acc[g]));
}

template <typename T>
void ParamsPassV(const T* dy, const T* const* src, int g, int64_t j, int64_t n,
                 T* sums) {
  switch (g) {
    case 1:
      return ParamsGroupV<1>(dy, src, j, n, sums);
    case 2:
      return ParamsGroupV<2>(dy, src, j, n, sums);
    case 3:
      return ParamsGroupV<3>(dy, src, j, n, sums);
    case 4:
      return ParamsGroupV<4>(dy, src, j, n, sums);
    case 5:
      return ParamsGroupV<5>(dy, src, j, n, sums);
    case 6:
      return ParamsGroupV<6>(dy, src, j, n, sums);
    case 7:
      return ParamsGroupV<7>(dy, src, j, n, sums);
    case 8:
      return ParamsGroupV<8>(dy, src, j, n, sums);
#if TAPCONV_PATH_GATHER_AVX512
    case 9:
      return ParamsGroupV<9>(dy, src, j, n, sums);
    case 10:
      return ParamsGroupV<10>(dy, src, j, n, sums);
    case 11:
      return ParamsGroupV<11>(dy, src, j, n, sums);
    case 12:
      return ParamsGroupV<12>(dy, src, j, n, sums);
#endif
    default:
      return;
  }
}

// Work items ------------------------------------------------------------------

struct Block {
  int64_t n, c0;
  int cn;
};

template <typename T>
Block BlockOf(const PathPlan& plan, int64_t item) {
  constexpr int V = Vec<T>::kLanes;
  const int64_t blocks = (plan.channels + V - 1) / V;
  Block b;
  b.n = item / blocks;
  b.c0 = item % blocks * V;
  b.cn = static_cast<int>(Min64(V, plan.channels - b.c0));
  return b;
}

// The block's sequence along path p: seq phase r, entry t (a vector) <- the
// pixel seq_index names, from the transposed planes.
template <typename T>
void GatherSequenceV(const PathPlan& plan, const T* plane, int64_t p, T* seq) {
  constexpr int V = Vec<T>::kLanes;
  for (int64_t r = 0; r < plan.seq_phases; ++r) {
    const int32_t* idx =
        plan.seq_index + (p * plan.seq_phases + r) * plan.seq_pitch;
    T* dst = seq + r * plan.seq_pitch * V;
    for (int64_t t = plan.seq_lo[r]; t < plan.seq_hi[r]; ++t)
      StoreU(dst + t * V, LoadU(plane + int64_t{idx[t]} * V));
  }
}

template <typename T>
void SequenceTapsV(const PathPlan& plan, const T* seq, const T** taps) {
  constexpr int V = Vec<T>::kLanes;
  int64_t r = 0, a = 0;
  for (int64_t k = 0; k < plan.taps; ++k) {
    taps[k] = seq + (r * plan.seq_pitch + a) * V;
    if (++r == plan.stride) {
      r = 0;
      ++a;
    }
  }
}

template <typename S, typename T>
void BlockGatherItems(const PathPlan& plan, int64_t begin, int64_t end,
                      void* scratch) {
  constexpr int V = Vec<T>::kLanes;
  const int64_t C = plan.channels, L = plan.length, G = plan.paths * C;
  T* plane = ScratchAt<T*>(scratch, plan.scratch_plane);
  T* chunk = ScratchAt<T*>(scratch, plan.scratch_chunk);
  for (int64_t item = begin; item < end; ++item) {
    const Block b = BlockOf<T>(plan, item);
    TransposeIn(static_cast<const S*>(plan.x) + (b.n * C + b.c0) * L, L, b.cn,
                L, plane);
    for (int64_t p = 0; p < plan.paths; ++p) {
      const int32_t* perm = plan.index + p * L;
      S* rows = static_cast<S*>(plan.out) + (b.n * G + p * C + b.c0) * L;
      for (int64_t l0 = 0; l0 < L; l0 += kPathChunk) {
        const int64_t count = Min64(kPathChunk, L - l0);
        for (int64_t i = 0; i < count; ++i)
          StoreU(chunk + i * V, LoadU(plane + int64_t{perm[l0 + i]} * V));
        TransposeOut(chunk, count, rows + l0, L, b.cn);
      }
    }
  }
}

template <typename S, typename T>
void BlockScatterItems(const PathPlan& plan, int64_t begin, int64_t end,
                       void* scratch) {
  constexpr int V = Vec<T>::kLanes;
  const int64_t C = plan.channels, L = plan.length, P = plan.paths;
  const int64_t G = P * C;
  T* rows = ScratchAt<T*>(scratch, plan.scratch_plane);  // P transposed rows
  T* chunk = ScratchAt<T*>(scratch, plan.scratch_chunk);
  for (int64_t item = begin; item < end; ++item) {
    const Block b = BlockOf<T>(plan, item);
    for (int64_t p = 0; p < P; ++p) {
      TransposeIn(static_cast<const S*>(plan.y) + (b.n * G + p * C + b.c0) * L,
                  L, b.cn, L, rows + p * L * V);
    }
    S* x = static_cast<S*>(plan.out) + (b.n * C + b.c0) * L;
    for (int64_t q0 = 0; q0 < L; q0 += kPathChunk) {
      const int64_t count = Min64(kPathChunk, L - q0);
      for (int64_t i = 0; i < count; ++i) {
        const int64_t q = q0 + i;
        Vec<T> acc = LoadU(rows + int64_t{plan.index[q]} * V);
        for (int64_t p = 1; p < P; ++p) {
          acc = Add(acc, LoadU(rows + (p * L + plan.index[p * L + q]) * V));
        }
        StoreU(chunk + i * V, acc);
      }
      TransposeOut(chunk, count, x + q0, L, b.cn);
    }
  }
}

template <typename S, typename T>
void BlockForwardItems(const PathPlan& plan, int64_t begin, int64_t end,
                       void* scratch) {
  constexpr int V = Vec<T>::kLanes;
  const int64_t C = plan.channels, L = plan.length, M = plan.multiplier,
                K = plan.taps, L_out = plan.out_length;
  const int64_t GM = plan.paths * C * M;
  const int64_t j0 = plan.first_out, J = plan.valid_out;
  T* plane = ScratchAt<T*>(scratch, plan.scratch_plane);
  T* seq = ScratchAt<T*>(scratch, plan.scratch_seq);
  T* chunk = ScratchAt<T*>(scratch, plan.scratch_chunk);
  const T** taps = ScratchAt<const T**>(scratch, plan.scratch_taps);
  T* wv = ScratchAt<T*>(scratch, plan.scratch_taps + plan.max_tap_list * 8);
  T* bias_lanes = wv + K * V;
  SequenceTapsV(plan, static_cast<const T*>(seq), taps);
  const T* weight = static_cast<const T*>(plan.weight);
  const T* bias = static_cast<const T*>(plan.bias);
  for (int64_t item = begin; item < end; ++item) {
    const Block b = BlockOf<T>(plan, item);
    if (J > 0) {
      TransposeIn(static_cast<const S*>(plan.x) + (b.n * C + b.c0) * L, L, b.cn,
                  L, plane);
    }
    for (int64_t p = 0; p < plan.paths; ++p) {
      if (J > 0) GatherSequenceV(plan, static_cast<const T*>(plane), p, seq);
      for (int64_t o = 0; o < M; ++o) {
        const int64_t oc0 = (p * C + b.c0) * M + o;  // lane v: oc0 + v * M
        S* rows = static_cast<S*>(plan.out) + (b.n * GM + oc0) * L_out;
        for (int64_t k = 0; k < K; ++k)
          LaneWeights(weight + oc0 * K + k, M * K, b.cn, wv + k * V);
        if (bias != nullptr) {
          LaneWeights(bias + oc0, M, b.cn, bias_lanes);
        } else {
          for (int v = 0; v < V; ++v) bias_lanes[v] = T(0);
        }
        for (int v = 0; v < b.cn; ++v) {
          S* row = rows + v * M * L_out;
          Fill(row, j0, bias_lanes[v]);
          Fill(row + j0 + J, L_out - j0 - J, bias_lanes[v]);
        }
        const Vec<T> bias_vec = LoadU(bias_lanes);
        for (int64_t j = 0; j < J; j += kPathChunk) {
          const int64_t count = Min64(kPathChunk, J - j);
          ConvTapsV(taps, wv, K, bias_vec, j, count, chunk);
          TransposeOut(chunk, count, rows + j0 + j, M * L_out, b.cn);
        }
      }
    }
  }
}

template <typename S, typename T>
void BlockBackwardInputItems(const PathPlan& plan, int64_t begin, int64_t end,
                             void* scratch) {
  constexpr int V = Vec<T>::kLanes;
  const int64_t C = plan.channels, L = plan.length, M = plan.multiplier,
                K = plan.taps, L_out = plan.out_length, P = plan.paths;
  const int64_t GM = P * C * M;
  T* dyb = ScratchAt<T*>(scratch, plan.scratch_dyb);
  T* z = ScratchAt<T*>(scratch, plan.scratch_z);
  T* chunk = ScratchAt<T*>(scratch, plan.scratch_chunk);
  const T** taps = ScratchAt<const T**>(scratch, plan.scratch_taps);
  T* wv = ScratchAt<T*>(scratch, plan.scratch_taps + plan.max_tap_list * 8);
  const int64_t path_pitch = plan.z_phases * plan.z_pitch * V;
  const T* weight = static_cast<const T*>(plan.weight);
  for (int64_t item = begin; item < end; ++item) {
    const Block b = BlockOf<T>(plan, item);
    for (int64_t p = 0; p < P; ++p) {
      const int64_t oc0 = (p * C + b.c0) * M;  // lane v, o: oc0 + v * M + o
      for (int64_t o = 0; o < M; ++o) {
        TransposeIn(
            static_cast<const S*>(plan.dy) + (b.n * GM + oc0 + o) * L_out,
            M * L_out, b.cn, L_out,
            dyb + (o * plan.dy_pitch + plan.dy_front) * V);
      }
      T* zp = z + p * path_pitch;
      for (int64_t rho = 0; rho < plan.z_phases; ++rho) {
        const PathInputPhase& ph = plan.z_phase[rho];
        if (ph.taps == 0 || ph.length == 0) continue;
        int64_t count = 0;
        for (int64_t o = 0; o < M; ++o) {
          for (int64_t a = 0; a < ph.taps; ++a) {
            taps[count] = dyb + (o * plan.dy_pitch + ph.offset - a) * V;
            LaneWeights(weight + (oc0 + o) * K + ph.first_tap + plan.stride * a,
                        M * K, b.cn, wv + count * V);
            ++count;
          }
        }
        ConvTapsV(taps, wv, count, Set1(T(0)), 0, ph.length,
                  zp + rho * plan.z_pitch * V);
      }
    }
    S* dx = static_cast<S*>(plan.out) + (b.n * C + b.c0) * L;
    for (int64_t q0 = 0; q0 < L; q0 += kPathChunk) {
      const int64_t count = Min64(kPathChunk, L - q0);
      for (int64_t i = 0; i < count; ++i) {
        const int64_t q = q0 + i;
        Vec<T> acc = LoadU(z + int64_t{plan.z_index[q]} * V);
        for (int64_t p = 1; p < P; ++p) {
          acc = Add(acc, LoadU(z + p * path_pitch +
                               int64_t{plan.z_index[p * L + q]} * V));
        }
        StoreU(chunk + i * V, acc);
      }
      TransposeOut(chunk, count, dx + q0, L, b.cn);
    }
  }
}

template <typename S, typename T>
void BlockBackwardParamsItems(const PathPlan& plan, int64_t begin, int64_t end,
                              void* scratch) {
  constexpr int V = Vec<T>::kLanes;
  constexpr int kMaxTaps = kMaxParamTaps;
  const int64_t C = plan.channels, L = plan.length, M = plan.multiplier,
                K = plan.taps, L_out = plan.out_length;
  const int64_t GM = plan.paths * C * M;
  const int64_t j0 = plan.first_out, J = plan.valid_out;
  const bool want_dweight = plan.dweight != nullptr && K > 0 && J > 0;
  T* plane = ScratchAt<T*>(scratch, plan.scratch_plane);
  T* seq = ScratchAt<T*>(scratch, plan.scratch_seq);
  T* chunk = ScratchAt<T*>(scratch, plan.scratch_chunk);
  const T** taps = ScratchAt<const T**>(scratch, plan.scratch_taps);
  T* sums = ScratchAt<T*>(scratch, plan.scratch_taps + plan.max_tap_list * 8);
  if (want_dweight) SequenceTapsV(plan, static_cast<const T*>(seq), taps);
  for (int64_t blk = begin; blk < end; ++blk) {
    const int64_t c0 = blk * V;
    const int cn = static_cast<int>(Min64(V, C - c0));
    for (int64_t n = 0; n < plan.batch; ++n) {
      if (want_dweight) {
        TransposeIn(static_cast<const S*>(plan.x) + (n * C + c0) * L, L, cn, L,
                    plane);
      }
      for (int64_t p = 0; p < plan.paths; ++p) {
        if (want_dweight)
          GatherSequenceV(plan, static_cast<const T*>(plane), p, seq);
        for (int64_t o = 0; o < M; ++o) {
          const int64_t oc0 = (p * C + c0) * M + o;  // lane v: oc0 + v * M
          const S* rows =
              static_cast<const S*>(plan.dy) + (n * GM + oc0) * L_out;
          if (want_dweight) {
            for (int64_t i = 0; i < K * V; ++i) sums[i] = T(0);
            // Chunks keep the transposed dy in L1; each chunk's float sums
            // are folded into the double totals, bounding the rounding.
            for (int64_t j = 0; j < J; j += kPathChunk) {
              const int64_t count = Min64(kPathChunk, J - j);
              TransposeIn(rows + j0 + j, M * L_out, cn, count, chunk);
              const int64_t passes = (K + kMaxTaps - 1) / kMaxTaps;
              int64_t t = 0;
              for (int64_t i = 0; i < passes; ++i) {
                const int64_t g = (K - t) / (passes - i);
                ParamsPassV(static_cast<const T*>(chunk), taps + t,
                            static_cast<int>(g), j, count, sums + t * V);
                t += g;
              }
              for (int64_t k = 0; k < K; ++k) {
                for (int v = 0; v < cn; ++v) {
                  plan.dweight[(oc0 + v * M) * K + k] +=
                      static_cast<double>(sums[k * V + v]);
                  sums[k * V + v] = T(0);
                }
              }
            }
          }
          if (plan.dbias != nullptr) {
            for (int v = 0; v < cn; ++v)
              plan.dbias[oc0 + v * M] +=
                  RowSum<S, T>(rows + v * M * L_out, L_out);
          }
        }
      }
    }
  }
}

}  // namespace path_internal
}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_PATH_KERNELS_BLOCKED_H_
