#ifndef TAPCONV_BACKENDS_CPU_PATH_KERNELS_ROWS_H_
#define TAPCONV_BACKENDS_CPU_PATH_KERNELS_ROWS_H_

// The path kernels that work one channel at a time, vectorised along the
// sequence with gather instructions: the choice when the channel count is
// below the vector width (see path_kernels_impl.h).

#include <cstdint>

#include "backends/cpu/path_kernels_common.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {
namespace path_internal {

// --- Taps
// ---------------------------------------------------------------------

// out[j] = bias + sum over taps t in order of w[t] * src[t][j] for the B
// vectors starting at j; the last of them stores `last` lanes. Reads whole
// vectors (the buffers have the slack).
template <int B, typename T, typename O>
inline void ConvBlock(const T* const* src, const T* w, int64_t ntaps, T bias,
                      int64_t j, int last, O* out) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> acc[B];
#pragma GCC unroll 8
  for (int b = 0; b < B; ++b) acc[b] = Set1(bias);
  for (int64_t t = 0; t < ntaps; ++t) {
    const Vec<T> wv = Set1(w[t]);
    const T* s = src[t] + j;
#pragma GCC unroll 8
    for (int b = 0; b < B; ++b) acc[b] = MulAdd(wv, LoadU(s + b * L), acc[b]);
  }
#pragma GCC unroll 8
  for (int b = 0; b < B - 1; ++b) StoreCvt(out + j + b * L, acc[b]);
  if (last == L) {
    StoreCvt(out + j + (B - 1) * L, acc[B - 1]);
  } else {
    StoreCvtN(out + j + (B - 1) * L, acc[B - 1], last);
  }
}

// out[j] = bias + sum_t w[t] * src[t][j] for j in [0, n): blocks of 8 vectors
// keep 8 independent accumulator chains in flight per broadcast weight.
template <typename T, typename O>
void ConvTaps(const T* const* src, const T* w, int64_t ntaps, T bias, int64_t n,
              O* out) {
  constexpr int L = Vec<T>::kLanes;
  if (n <= 0) return;
  const int64_t nvec = (n + L - 1) / L;
  const int last = static_cast<int>(n - (nvec - 1) * L);
  int64_t v = 0;
  for (; v + 8 <= nvec; v += 8)
    ConvBlock<8>(src, w, ntaps, bias, v * L, v + 8 == nvec ? last : L, out);
  if (v + 4 <= nvec) {
    ConvBlock<4>(src, w, ntaps, bias, v * L, v + 4 == nvec ? last : L, out);
    v += 4;
  }
  if (v + 2 <= nvec) {
    ConvBlock<2>(src, w, ntaps, bias, v * L, v + 2 == nvec ? last : L, out);
    v += 2;
  }
  if (v < nvec) ConvBlock<1>(src, w, ntaps, bias, v * L, last, out);
}

// sums[g] += sum over j in [0, n) of dy[j] * src[g][j], for G taps, with CB
// vectors per step; dy lanes past n are zero, so src may be read whole.
template <int G, int CB, typename S, typename T>
void ParamsGroup(const S* dy, const T* const* src, int64_t n, double* sums) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> acc[G][CB];
  const T* s[G];
#pragma GCC unroll 16
  for (int g = 0; g < G; ++g) {
    s[g] = src[g];
#pragma GCC unroll 2
    for (int c = 0; c < CB; ++c) acc[g][c] = Set1(T(0));
  }
  int64_t j = 0;
  for (; j + CB * L <= n; j += CB * L) {
    Vec<T> d[CB];
#pragma GCC unroll 2
    for (int c = 0; c < CB; ++c) d[c] = LoadCvt(dy + j + c * L);
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g) {
#pragma GCC unroll 2
      for (int c = 0; c < CB; ++c)
        acc[g][c] = MulAdd(d[c], LoadU(s[g] + j + c * L), acc[g][c]);
    }
  }
  for (; j < n; j += L) {
    const Vec<T> d = LoadCvtN(dy + j, static_cast<int>(Min64(L, n - j)));
#pragma GCC unroll 16
    for (int g = 0; g < G; ++g)
      acc[g][0] = MulAdd(d, LoadU(s[g] + j), acc[g][0]);
  }
#pragma GCC unroll 16
  for (int g = 0; g < G; ++g) {
    Vec<T> a = acc[g][0];
#pragma GCC unroll 2
    for (int c = 1; c < CB; ++c) a = Add(a, acc[g][c]);
    sums[g] += static_cast<double>(ReduceAdd(a));
  }
}

template <typename S, typename T>
void ParamsPass(const S* dy, const T* const* src, int g, int64_t n,
                double* sums) {
  switch (g) {
    case 1:
      return ParamsGroup<1, 2>(dy, src, n, sums);
    case 2:
      return ParamsGroup<2, 2>(dy, src, n, sums);
    case 3:
      return ParamsGroup<3, 2>(dy, src, n, sums);
    case 4:
      return ParamsGroup<4, 2>(dy, src, n, sums);
    case 5:
      return ParamsGroup<5, 1>(dy, src, n, sums);
    case 6:
      return ParamsGroup<6, 1>(dy, src, n, sums);
    case 7:
      return ParamsGroup<7, 1>(dy, src, n, sums);
    case 8:
      return ParamsGroup<8, 1>(dy, src, n, sums);
#if TAPCONV_PATH_GATHER_AVX512
    case 9:
      return ParamsGroup<9, 1>(dy, src, n, sums);
    case 10:
      return ParamsGroup<10, 1>(dy, src, n, sums);
    case 11:
      return ParamsGroup<11, 1>(dy, src, n, sums);
    case 12:
      return ParamsGroup<12, 1>(dy, src, n, sums);
#endif
    default:
      return;
  }
}

// sums[t] += sum_j dy[j] * src[t][j] for every tap, in passes of nearly equal
// size (9 taps on AVX2: 5 + 4, not 8 + 1).
template <typename S, typename T>
void ParamsTaps(const S* dy, const T* const* src, int64_t ntaps, int64_t n,
                double* sums) {
  const int64_t passes = (ntaps + kMaxParamTaps - 1) / kMaxParamTaps;
  int64_t t = 0;
  for (int64_t i = 0; i < passes; ++i) {
    const int64_t g = (ntaps - t) / (passes - i);
    ParamsPass(dy, src + t, static_cast<int>(g), n, sums + t);
    t += g;
  }
}

// --- Work items ------------------------------------------------------------

// The sequence of `plane` along path p into the phase buffers `seq`.
template <typename T>
void GatherSequence(const PathPlan& plan, const T* plane, int64_t p, T* seq) {
  for (int64_t r = 0; r < plan.seq_phases; ++r) {
    const int64_t lo = plan.seq_lo[r], hi = plan.seq_hi[r];
    const int32_t* idx =
        plan.seq_index + (p * plan.seq_phases + r) * plan.seq_pitch;
    GatherRow(plane, idx + lo, hi - lo, seq + r * plan.seq_pitch + lo);
  }
}

// Tap k of the forward / weight gradient reads phase k mod stride at entry
// offset k / stride.
template <typename T>
void SequenceTaps(const PathPlan& plan, const T* seq, const T** taps) {
  int64_t r = 0, a = 0;
  for (int64_t k = 0; k < plan.taps; ++k) {
    taps[k] = seq + r * plan.seq_pitch + a;
    if (++r == plan.stride) {
      r = 0;
      ++a;
    }
  }
}

template <typename S, typename T>
void GatherItems(const PathPlan& plan, int64_t begin, int64_t end,
                 void* scratch) {
  const int64_t C = plan.channels, L = plan.length, G = plan.paths * C;
  T* buffer = ScratchAt<T*>(scratch, plan.scratch_plane);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t n = item / C, c = item % C;
    const T* plane =
        PlaneAsCompute(static_cast<const S*>(plan.x) + item * L, L, buffer);
    for (int64_t p = 0; p < plan.paths; ++p) {
      S* row = static_cast<S*>(plan.out) + (n * G + p * C + c) * L;
      GatherRow(plane, plan.index + p * L, L, row);
    }
  }
}

template <typename S, typename T>
void ScatterItems(const PathPlan& plan, int64_t begin, int64_t end,
                  void* scratch) {
  const int64_t C = plan.channels, L = plan.length, G = plan.paths * C;
  T* buffer = ScratchAt<T*>(scratch, plan.scratch_plane);
  const T** rows = ScratchAt<const T**>(scratch, plan.scratch_rows);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t n = item / C, c = item % C;
    for (int64_t p = 0; p < plan.paths; ++p) {
      const S* row = static_cast<const S*>(plan.y) + (n * G + p * C + c) * L;
      rows[p] = PlaneAsCompute(row, L, buffer + p * L);
    }
    GatherSum(rows, plan.index, plan.paths, L,
              static_cast<S*>(plan.out) + item * L);
  }
}

template <typename S, typename T>
void ForwardItems(const PathPlan& plan, int64_t begin, int64_t end,
                  void* scratch) {
  const int64_t C = plan.channels, L = plan.length, M = plan.multiplier,
                K = plan.taps, L_out = plan.out_length;
  const int64_t GM = plan.paths * C * M;
  const int64_t j0 = plan.first_out, J = plan.valid_out;
  T* buffer = ScratchAt<T*>(scratch, plan.scratch_plane);
  T* seq = ScratchAt<T*>(scratch, plan.scratch_seq);
  const T** taps = ScratchAt<const T**>(scratch, plan.scratch_taps);
  SequenceTaps(plan, static_cast<const T*>(seq), taps);
  const T* weight = static_cast<const T*>(plan.weight);
  const T* bias = static_cast<const T*>(plan.bias);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t n = item / C, c = item % C;
    const T* plane =
        PlaneAsCompute(static_cast<const S*>(plan.x) + item * L, L, buffer);
    for (int64_t p = 0; p < plan.paths; ++p) {
      if (J > 0) GatherSequence(plan, plane, p, seq);
      for (int64_t o = 0; o < M; ++o) {
        const int64_t oc = (p * C + c) * M + o;
        S* row = static_cast<S*>(plan.out) + (n * GM + oc) * L_out;
        const T b = bias != nullptr ? bias[oc] : T(0);
        Fill(row, j0, b);
        Fill(row + j0 + J, L_out - j0 - J, b);
        ConvTaps(taps, weight + oc * K, K, b, J, row + j0);
      }
    }
  }
}

template <typename S, typename T>
void BackwardInputItems(const PathPlan& plan, int64_t begin, int64_t end,
                        void* scratch) {
  const int64_t C = plan.channels, L = plan.length, M = plan.multiplier,
                K = plan.taps, L_out = plan.out_length;
  const int64_t GM = plan.paths * C * M;
  T* dyb = ScratchAt<T*>(scratch, plan.scratch_dyb);
  T* z = ScratchAt<T*>(scratch, plan.scratch_z);
  const T** taps = ScratchAt<const T**>(scratch, plan.scratch_taps);
  T* tap_weight =
      ScratchAt<T*>(scratch, plan.scratch_taps + plan.max_tap_list * 8);
  const T** rows = ScratchAt<const T**>(scratch, plan.scratch_rows);
  const int64_t path_pitch = plan.z_phases * plan.z_pitch;
  for (int64_t p = 0; p < plan.paths; ++p) rows[p] = z + p * path_pitch;
  const T* weight = static_cast<const T*>(plan.weight);
  for (int64_t item = begin; item < end; ++item) {
    const int64_t n = item / C, c = item % C;
    for (int64_t p = 0; p < plan.paths; ++p) {
      const int64_t g = p * C + c;
      for (int64_t o = 0; o < M; ++o) {
        CopyIn(static_cast<const S*>(plan.dy) + (n * GM + g * M + o) * L_out,
               dyb + o * plan.dy_pitch + plan.dy_front, L_out);
      }
      T* zp = z + p * path_pitch;
      for (int64_t rho = 0; rho < plan.z_phases; ++rho) {
        const PathInputPhase& ph = plan.z_phase[rho];
        if (ph.taps == 0 || ph.length == 0) continue;
        int64_t count = 0;
        for (int64_t o = 0; o < M; ++o) {
          const T* w = weight + (g * M + o) * K + ph.first_tap;
          for (int64_t a = 0; a < ph.taps; ++a) {
            taps[count] = dyb + o * plan.dy_pitch + ph.offset - a;
            tap_weight[count] = w[plan.stride * a];
            ++count;
          }
        }
        ConvTaps(taps, tap_weight, count, T(0), ph.length,
                 zp + rho * plan.z_pitch);
      }
    }
    GatherSum(rows, plan.z_index, plan.paths, L,
              static_cast<S*>(plan.out) + item * L);
  }
}

template <typename S, typename T>
void BackwardParamsItems(const PathPlan& plan, int64_t begin, int64_t end,
                         void* scratch) {
  const int64_t C = plan.channels, L = plan.length, M = plan.multiplier,
                K = plan.taps, L_out = plan.out_length;
  const int64_t GM = plan.paths * C * M;
  const int64_t j0 = plan.first_out, J = plan.valid_out;
  const bool want_dweight = plan.dweight != nullptr && K > 0 && J > 0;
  T* buffer = ScratchAt<T*>(scratch, plan.scratch_plane);
  T* seq = ScratchAt<T*>(scratch, plan.scratch_seq);
  const T** taps = ScratchAt<const T**>(scratch, plan.scratch_taps);
  if (want_dweight) SequenceTaps(plan, static_cast<const T*>(seq), taps);
  // Channel c's plane is read once per image for all of its P sequences.
  for (int64_t c = begin; c < end; ++c) {
    for (int64_t n = 0; n < plan.batch; ++n) {
      const T* plane =
          want_dweight
              ? PlaneAsCompute(static_cast<const S*>(plan.x) + (n * C + c) * L,
                               L, buffer)
              : nullptr;
      for (int64_t p = 0; p < plan.paths; ++p) {
        const int64_t g = p * C + c;
        if (want_dweight) GatherSequence(plan, plane, p, seq);
        for (int64_t o = 0; o < M; ++o) {
          const int64_t oc = g * M + o;
          const S* row = static_cast<const S*>(plan.dy) + (n * GM + oc) * L_out;
          if (want_dweight)
            ParamsTaps(row + j0, taps, K, J, plan.dweight + oc * K);
          if (plan.dbias != nullptr) plan.dbias[oc] += RowSum<S, T>(row, L_out);
        }
      }
    }
  }
}

}  // namespace path_internal
}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_PATH_KERNELS_ROWS_H_
