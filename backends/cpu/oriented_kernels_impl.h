#ifndef TAPCONV_BACKENDS_CPU_ORIENTED_KERNELS_IMPL_H_
#define TAPCONV_BACKENDS_CPU_ORIENTED_KERNELS_IMPL_H_

// The oriented-conv kernels, written once over the SIMD layer and compiled once
// per ISA (oriented_kernels_<isa>.cc include this after simd.h). Everything
// lives in tapconv::cpu::TAPCONV_SIMD_NS; raw pointers only (see simd.h for
// why).
//
// Each work item packs the planes it reads into a zero-bordered scratch (the
// plan's layout: stride phases de-interleaved, so every tap reads contiguous
// memory and no tap ever needs a bounds check or a mask), then runs a
// register-blocked tile kernel over it:
//   forward / input gradient: RB output rows x CB vectors of accumulators; per
//     tap one broadcast weight and RB*CB load+FMA pairs;
//   weight gradient: G taps x CB vectors of accumulators; per dy vector pair
//     G*CB load+FMA pairs, the dy vectors reused across the G taps.
// Every output element is reduced by one thread in a fixed order, so results do
// not depend on the thread count or timing.
//
// NHWC goes through the same plane kernels: a group of up to 16 channels is
// transposed into planes while packing (reading each pixel's channels
// contiguously) and transposed back while storing, all in cache. A native
// channels-last kernel (vectors over C) would need every channel of a vector to
// share one tap table, which holds only for channel runs of equal angle, would
// need per-tap bounds checks at the image border (a K=31 border is more than
// half of a 56x56 image) and its own stride/phase and gradient variants; the
// transposes cost a small fraction of the taps' work and keep one kernel per
// op for both layouts.

#include <cstdint>

#include "backends/cpu/kernel_util.h"
#include "backends/cpu/oriented_kernel_abi.h"
#include "backends/cpu/simd.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {
namespace oriented_internal {

// Accumulator registers a tile may use: the rest hold the broadcast weight,
// loaded operands and addresses.
constexpr int kMaxAccumulators =
    Vec<float>::kLanes >= 16 ? 16 : (Vec<float>::kLanes == 8 ? 12 : 8);
constexpr int kMaxTileRows = 8;
constexpr int kMaxTileVecs = 4;
// Column vectors per strip: bounds the L1 working set of wide planes.
constexpr int64_t kStripVecs = 8;
constexpr int kMaxParamTaps = 8;
// NHWC outputs: rows per plane computed before transposing them back.
constexpr int64_t kNhwcRowBlock = 8;
// NHWC inputs: how many pixel rows ahead of the pack to prefetch, and how
// many channels of each pixel (a multiple of every group size).
constexpr int64_t kNhwcPrefetchRows = 3;
constexpr int64_t kNhwcPrefetchChannels = 64;

// dst[0, n) = src[0, n) converted to the compute type T.
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

// dst[0, n) = src[0, n) converted to the storage type S.
template <typename T, typename S>
void CopyOut(const T* src, S* dst, int64_t n) {
  constexpr int L = Vec<T>::kLanes;
  int64_t i = 0;
  for (; i + L <= n; i += L) StoreCvt(dst + i, LoadU(src + i));
  if (i < n) {
    const int rest = static_cast<int>(n - i);
    StoreCvtN(dst + i, LoadN(src + i, rest), rest);
  }
}

// CopyOut with non-temporal stores for the vector-aligned middle: outputs far
// larger than the caches then cost one write instead of a read and a write.
template <typename T, typename S>
void CopyOutStream(const T* src, S* dst, int64_t n) {
  constexpr int L = Vec<T>::kLanes;
  constexpr uint64_t kAlign = L * sizeof(S);
  const uint64_t misalign = reinterpret_cast<uint64_t>(dst) % kAlign;
  int64_t head = misalign == 0 ? 0 : (kAlign - misalign) / sizeof(S);
  if (head > n) head = n;
  CopyOut(src, dst, head);
  int64_t i = head;
  for (; i + L <= n; i += L) StoreStreamCvt(dst + i, LoadU(src + i));
  CopyOut(src + i, dst + i, n - i);
}

// Scratch columns [lo, hi) of a phase hold source columns; the rest of the
// row is zero padding (see oriented_kernel_abi.h for the mapping).
struct ColumnRange {
  int64_t lo, hi;
};
inline ColumnRange ValidColumns(int64_t src_w, const OrientedGroupLayout& lay,
                                int64_t phase) {
  // Column col_step * (t + origin) + residue lies in [0, src_w) iff
  // t + origin >= 0 (the residue is below col_step) and
  // col_step * (t + origin) <= src_w - 1 - residue.
  ColumnRange range{Max64(0, -lay.col_origin), 0};
  const int64_t last = src_w - 1 - lay.residue[phase];
  range.hi =
      last < 0 ? range.lo
               : Min64(lay.row_pitch, last / lay.col_step - lay.col_origin + 1);
  if (range.hi < range.lo) range.hi = range.lo;
  return range;
}
// Source column of scratch column t of a phase.
inline int64_t SourceColumn(const OrientedGroupLayout& lay, int64_t phase,
                            int64_t t) {
  return lay.col_step * (t + lay.col_origin) + lay.residue[phase];
}

// Which rows and layout a scratch slot was last packed with: when the next
// pack has the same, its zero borders are already in place and only the
// image part is copied (consecutive channels of one angle share layouts).
struct PackedShape {
  const OrientedGroupLayout* layout = nullptr;
  int64_t row0 = 0, rows = 0, planes = 0;
};
inline bool SameLayout(const OrientedGroupLayout& a,
                       const OrientedGroupLayout& b) {
  if (a.phases != b.phases || a.col_step != b.col_step ||
      a.row_pitch != b.row_pitch || a.phase_pitch != b.phase_pitch ||
      a.col_origin != b.col_origin) {
    return false;
  }
  for (int64_t r = 0; r < a.phases; ++r) {
    if (a.residue[r] != b.residue[r]) return false;
  }
  return true;
}
// Records the shape about to be packed; returns whether the borders of the
// previous pack can be kept. Layouts live in the plan for its whole run.
inline bool UpdatePacked(PackedShape* packed, const OrientedGroupLayout& lay,
                         int64_t row0, int64_t rows, int64_t planes) {
  const bool same = packed->layout != nullptr &&
                    SameLayout(*packed->layout, lay) && packed->row0 == row0 &&
                    packed->rows == rows && packed->planes >= planes;
  if (!same) *packed = PackedShape{&lay, row0, rows, planes};
  return same;
}

// One plane with pixel stride 1 (NCHW, or a row buffer) into scratch rows
// [0, rows): row u <- source row row0 + u. With borders_ready, only the image
// part is written (the zeros are there from the previous pack).
template <typename S, typename T>
void PackPlane(const S* plane, int64_t src_h, int64_t src_w, int64_t row0,
               int64_t rows, const OrientedGroupLayout& lay, bool borders_ready,
               T* dst) {
  for (int64_t r = 0; r < lay.phases; ++r) {
    const ColumnRange cols = ValidColumns(src_w, lay, r);
    for (int64_t u = 0; u < rows; ++u) {
      T* d = dst + r * lay.phase_pitch + u * lay.row_pitch;
      const int64_t h = row0 + u;
      if (h < 0 || h >= src_h || cols.hi == cols.lo) {
        if (!borders_ready) Zero(d, lay.row_pitch);
        continue;
      }
      if (!borders_ready) {
        Zero(d, cols.lo);
        Zero(d + cols.hi, lay.row_pitch - cols.hi);
      }
      const S* row = plane + h * src_w;
      if (lay.col_step == 1) {
        CopyIn(row + SourceColumn(lay, r, cols.lo), d + cols.lo,
               cols.hi - cols.lo);
        continue;
      }
      int64_t t = cols.lo;
      if (lay.col_step == 2) {
        // Stride 2: every other element of 2 * L contiguous ones, while the
        // odd partner of the block's last element is still inside the row.
        constexpr int L = Vec<T>::kLanes;
        for (; t + L <= cols.hi && SourceColumn(lay, r, t + L - 1) + 1 < src_w;
             t += L) {
          const S* from = row + SourceColumn(lay, r, t);
          StoreU(d + t, EvenLanes(LoadCvt(from), LoadCvt(from + L)));
        }
      }
      for (; t < cols.hi; ++t) d[t] = ToCompute(row[SourceColumn(lay, r, t)]);
    }
  }
}

// Channels [c0, c0 + cn) of an NHWC image (pixel stride `channels`) into cn
// scratch planes plane_pitch apart: blocks of kLanes pixels x kLanes channels
// are loaded a pixel per vector and transposed in registers.
template <typename S, typename T>
void PackPlanesNhwc(const S* image, int64_t channels, int64_t c0, int64_t cn,
                    int64_t src_h, int64_t src_w, int64_t row0, int64_t rows,
                    const OrientedGroupLayout& lay, int64_t plane_pitch,
                    bool borders_ready, T* dst) {
  constexpr int L = Vec<T>::kLanes;
  const int64_t phases = lay.phases;
  for (int64_t u = 0; u < rows; ++u) {
    const int64_t h = row0 + u;
    const bool valid = h >= 0 && h < src_h;
    if (!borders_ready) {
      for (int64_t ci = 0; ci < cn; ++ci) {
        for (int64_t r = 0; r < phases; ++r) {
          T* d =
              dst + ci * plane_pitch + r * lay.phase_pitch + u * lay.row_pitch;
          const ColumnRange cols = ValidColumns(src_w, lay, r);
          if (!valid || cols.hi == cols.lo) {
            Zero(d, lay.row_pitch);
          } else {
            Zero(d, cols.lo);
            Zero(d + cols.hi, lay.row_pitch - cols.hi);
          }
        }
      }
    }
    // A row's pixels are `channels` apart, too far apart for the hardware
    // prefetchers: request a later row ahead of use. The first group of every
    // kNhwcPrefetchChannels requests the next groups' channels too, so that
    // memory is read in runs of that many channels per pixel; the following
    // groups (the next work items) then find their lines in L2.
    const int64_t ahead = h + kNhwcPrefetchRows;
    if (ahead >= 0 && ahead < src_h && u + kNhwcPrefetchRows < rows &&
        c0 % kNhwcPrefetchChannels == 0) {
      const S* next = image + ahead * src_w * channels + c0;
      const int64_t run = Min64(kNhwcPrefetchChannels, channels - c0);
      constexpr int64_t kLine = 64 / sizeof(S);
      for (int64_t w = 0; w < src_w; ++w) {
        for (int64_t e = 0; e < run; e += kLine)
          PrefetchL2(next + w * channels + e);
      }
    }
    if (!valid) continue;
    const S* image_row = image + h * src_w * channels + c0;
    for (int64_t r = 0; r < phases; ++r) {
      const ColumnRange cols = ValidColumns(src_w, lay, r);
      T* d = dst + r * lay.phase_pitch + u * lay.row_pitch;
      // Pixel of scratch column t.
      auto pixel = [&](int64_t t) {
        return image_row + SourceColumn(lay, r, t) * channels;
      };
      int64_t ci = 0;
      for (; ci + L <= cn; ci += L) {
        for (int64_t t = cols.lo; t < cols.hi; t += L) {
          // The last block of a row may have fewer than L pixels: the
          // missing ones transpose as zeros and are not stored.
          const int count = static_cast<int>(Min64(L, cols.hi - t));
          Vec<T> m[L];
          for (int j = 0; j < L; ++j)
            m[j] = j < count ? LoadCvt(pixel(t + j) + ci) : Set1(T(0));
          Transpose(m);
          T* out = d + ci * plane_pitch + t;
          if (count == L) {
            for (int j = 0; j < L; ++j) StoreU(out + j * plane_pitch, m[j]);
          } else {
            for (int j = 0; j < L; ++j)
              StoreN(out + j * plane_pitch, m[j], count);
          }
        }
      }
      for (; ci < cn; ++ci) {
        for (int64_t t = cols.lo; t < cols.hi; ++t)
          d[ci * plane_pitch + t] = ToCompute(pixel(t)[ci]);
      }
    }
  }
}

// cn row buffers (`rows` x `cols`, buffer rows `pitch` apart, planes
// plane_pitch apart) into an NHWC image region: element (i, j) of plane ci
// goes to image[(i * row_step + j) * channels + ci]. Transposed in
// kLanes x kLanes blocks, like the pack.
template <typename T, typename S>
void UnpackPlanesNhwc(const T* buf, int64_t plane_pitch, int64_t pitch,
                      int64_t cn, int64_t rows, int64_t cols, S* image,
                      int64_t channels, int64_t row_step) {
  constexpr int L = Vec<T>::kLanes;
  for (int64_t i = 0; i < rows; ++i) {
    S* image_row = image + i * row_step * channels;
    const T* b = buf + i * pitch;
    int64_t ci = 0;
    for (; ci + L <= cn; ci += L) {
      for (int64_t j = 0; j < cols; j += L) {
        // Buffer rows are padded to a multiple of L, so the last block's
        // loads stay inside; only its `count` pixels are stored.
        const int count = static_cast<int>(Min64(L, cols - j));
        Vec<T> m[L];
        for (int k = 0; k < L; ++k)
          m[k] = LoadU(b + (ci + k) * plane_pitch + j);
        Transpose(m);
        for (int k = 0; k < count; ++k)
          StoreCvt(image_row + (j + k) * channels + ci, m[k]);
      }
    }
    for (; ci < cn; ++ci) {
      for (int64_t j = 0; j < cols; ++j)
        FromCompute(image_row + j * channels + ci, b[ci * plane_pitch + j]);
    }
  }
}

// --- Forward / input-gradient tile -----------------------------------------

// out[r][c] = bias + sum_t w[t] * src[r * src_row_step + c + off[t]] for RB
// rows and CB vectors; the last vector stores `last_lanes` lanes.
template <typename T, typename O, int RB, int CB>
void ConvTile(const T* src, int64_t src_row_step, const int64_t* off,
              const T* w, int64_t ntaps, T bias, O* out, int64_t out_pitch,
              int last_lanes) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> acc[RB][CB];
  const Vec<T> b = Set1(bias);
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r) {
#pragma GCC unroll 4
    for (int c = 0; c < CB; ++c) acc[r][c] = b;
  }
  // One base pointer per row, so that every load addresses base + tap offset
  // + constant with no per-tap address arithmetic.
  const T* row[RB];
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r) row[r] = src + r * src_row_step;
  for (int64_t t = 0; t < ntaps; ++t) {
    const Vec<T> wt = Set1(w[t]);
    const int64_t o = off[t];
#pragma GCC unroll 8
    for (int r = 0; r < RB; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < CB; ++c)
        acc[r][c] = MulAdd(wt, LoadU(row[r] + o + c * L), acc[r][c]);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < RB; ++r) {
    O* o = out + r * out_pitch;
#pragma GCC unroll 4
    for (int c = 0; c + 1 < CB; ++c) StoreCvt(o + c * L, acc[r][c]);
    if (last_lanes == L) {
      StoreCvt(o + (CB - 1) * L, acc[r][CB - 1]);
    } else {
      StoreCvtN(o + (CB - 1) * L, acc[r][CB - 1], last_lanes);
    }
  }
}

template <typename T, typename O>
using ConvTileFn = void (*)(const T*, int64_t, const int64_t*, const T*,
                            int64_t, T, O*, int64_t, int);

template <typename T, typename O, int CB>
ConvTileFn<T, O> ConvTileForRows(int rb) {
  switch (rb) {
    case 1:
      return &ConvTile<T, O, 1, CB>;
    case 2:
      return &ConvTile<T, O, 2, CB>;
    case 3:
      return &ConvTile<T, O, 3, CB>;
    case 4:
      return &ConvTile<T, O, 4, CB>;
    case 5:
      return &ConvTile<T, O, 5, CB>;
    case 6:
      return &ConvTile<T, O, 6, CB>;
    case 7:
      return &ConvTile<T, O, 7, CB>;
    default:
      return &ConvTile<T, O, 8, CB>;
  }
}

template <typename T, typename O>
ConvTileFn<T, O> ConvTileFor(int rb, int cb) {
  switch (cb) {
    case 1:
      return ConvTileForRows<T, O, 1>(rb);
    case 2:
      return ConvTileForRows<T, O, 2>(rb);
    case 3:
      return ConvTileForRows<T, O, 3>(rb);
    default:
      return ConvTileForRows<T, O, 4>(rb);
  }
}

// A rows x cols output block: out[i][j] = bias + sum_t w[t] * src[i *
// src_row_step + j + off[t]]. src must be readable up to the vector-rounded
// column count; only cols columns are stored.
template <typename T, typename O>
void ConvPlane(const T* src, int64_t src_row_step, const int64_t* off,
               const T* w, int64_t ntaps, T bias, O* out, int64_t out_pitch,
               int64_t rows, int64_t cols) {
  constexpr int L = Vec<T>::kLanes;
  if (rows <= 0 || cols <= 0) return;
  const int64_t nvec = (cols + L - 1) / L;
  const int last = static_cast<int>(cols - (nvec - 1) * L);
  for (int64_t v0 = 0; v0 < nvec; v0 += kStripVecs) {
    const int64_t strip = Min64(kStripVecs, nvec - v0);
    const int64_t widest = Min64(kMaxTileVecs, strip);
    const int64_t rbmax = Min64(kMaxTileRows, kMaxAccumulators / widest);
    for (int64_t r0 = 0; r0 < rows; r0 += rbmax) {
      const int rb = static_cast<int>(Min64(rbmax, rows - r0));
      for (int64_t v = v0; v < v0 + strip; v += kMaxTileVecs) {
        const int cb = static_cast<int>(Min64(kMaxTileVecs, v0 + strip - v));
        const int lanes = v + cb == nvec ? last : L;
        ConvTileFor<T, O>(rb, cb)(
            src + r0 * src_row_step + v * L, src_row_step, off, w, ntaps, bias,
            out + r0 * out_pitch + v * L, out_pitch, lanes);
      }
    }
  }
}

// --- Weight-gradient tile ----------------------------------------------------

// Lane-wise vector sums: sums[g * kLanes + lane] += sum over rows i and
// vectors [v_begin, v_end) (a multiple of CB) of dy[i][j] * src[i *
// src_row_step + j + off[g]], for G taps.
template <typename T, int G, int CB>
void ParamsTile(const T* src, int64_t src_row_step, const int64_t* off,
                const T* dy, int64_t dy_pitch, int64_t rows, int64_t v_begin,
                int64_t v_end, T* sums) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> acc[G][CB];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
#pragma GCC unroll 2
    for (int c = 0; c < CB; ++c) acc[g][c] = Set1(T(0));
  }
  for (int64_t i = 0; i < rows; ++i) {
    const T* x_row = src + i * src_row_step;
    const T* d_row = dy + i * dy_pitch;
    for (int64_t v = v_begin; v < v_end; v += CB) {
      Vec<T> d[CB];
#pragma GCC unroll 2
      for (int c = 0; c < CB; ++c) d[c] = LoadU(d_row + (v + c) * L);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const T* x = x_row + off[g] + v * L;
#pragma GCC unroll 2
        for (int c = 0; c < CB; ++c)
          acc[g][c] = MulAdd(d[c], LoadU(x + c * L), acc[g][c]);
      }
    }
  }
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) {
    Vec<T> s = acc[g][0];
#pragma GCC unroll 2
    for (int c = 1; c < CB; ++c) s = Add(s, acc[g][c]);
    StoreU(sums + g * L, Add(LoadU(sums + g * L), s));
  }
}

template <typename T>
using ParamsTileFn = void (*)(const T*, int64_t, const int64_t*, const T*,
                              int64_t, int64_t, int64_t, int64_t, T*);

template <typename T, int CB>
ParamsTileFn<T> ParamsTileForTaps(int g) {
  switch (g) {
    case 1:
      return &ParamsTile<T, 1, CB>;
    case 2:
      return &ParamsTile<T, 2, CB>;
    case 3:
      return &ParamsTile<T, 3, CB>;
    case 4:
      return &ParamsTile<T, 4, CB>;
    case 5:
      return &ParamsTile<T, 5, CB>;
    case 6:
      return &ParamsTile<T, 6, CB>;
    case 7:
      return &ParamsTile<T, 7, CB>;
    default:
      return &ParamsTile<T, 8, CB>;
  }
}

// Lane-wise sums[t * kLanes + lane] += <dy, src shifted by off[t]> over a
// rows x (nvec vectors) block.
template <typename T>
void ParamsPlane(const T* src, int64_t src_row_step, const int64_t* off,
                 int64_t ntaps, const T* dy, int64_t dy_pitch, int64_t rows,
                 int64_t nvec, T* sums) {
  constexpr int L = Vec<T>::kLanes;
  constexpr int kTapsPerPass = kMaxParamTaps * 2 <= kMaxAccumulators
                                   ? kMaxParamTaps
                                   : kMaxAccumulators / 2;
  const int64_t pairs_end = nvec / 2 * 2;
  for (int64_t t = 0; t < ntaps; t += kTapsPerPass) {
    const int g = static_cast<int>(Min64(kTapsPerPass, ntaps - t));
    if (pairs_end > 0) {
      ParamsTileForTaps<T, 2>(g)(src, src_row_step, off + t, dy, dy_pitch, rows,
                                 0, pairs_end, sums + t * L);
    }
    if (pairs_end < nvec) {
      ParamsTileForTaps<T, 1>(g)(src, src_row_step, off + t, dy, dy_pitch, rows,
                                 pairs_end, nvec, sums + t * L);
    }
  }
}

// Lane-wise sum[lane] += sum of a rows x pitch block (pitch a multiple of
// kLanes).
template <typename T>
void SumRows(const T* buf, int64_t pitch, int64_t rows, T* sum) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> acc = Set1(T(0));
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < pitch; j += L)
      acc = Add(acc, LoadU(buf + i * pitch + j));
  }
  StoreU(sum, Add(LoadU(sum), acc));
}

// --- Work items
// -----------------------------------------------------------------

constexpr int64_t kNoResidue[1] = {0};

// ceil(a / b) for a > 0, b > 0, without overflow for any b.
inline int64_t CeilDivPositive(int64_t a, int64_t b) { return (a - 1) / b + 1; }

inline char* ScratchAt(void* scratch, int64_t offset) {
  return static_cast<char*>(scratch) + offset;
}

// Packs the source planes of channels [c0, c0 + cn), batch entry n, source
// rows [row0, row0 + rows) into the scratch; `packed` remembers what the
// scratch holds, so that unchanged zero borders are not rewritten.
template <typename S, typename T>
void PackGroup(const OrientedPlan& plan, const S* source, int64_t src_h,
               int64_t src_w, int64_t n, int64_t c0, int64_t cn, int64_t row0,
               int64_t rows, const OrientedGroupLayout& lay,
               int64_t plane_pitch, PackedShape* packed, T* dst) {
  const int64_t channels = plan.channels;
  const bool ready = UpdatePacked(packed, lay, row0, rows, cn);
  if (plan.nhwc) {
    PackPlanesNhwc(source + n * src_h * src_w * channels, channels, c0, cn,
                   src_h, src_w, row0, rows, lay, plane_pitch, ready, dst);
    return;
  }
  for (int64_t ci = 0; ci < cn; ++ci) {
    PackPlane(source + ((n * channels) + c0 + ci) * src_h * src_w, src_h, src_w,
              row0, rows, lay, ready, dst + ci * plane_pitch);
  }
}

// Starts loading the rows a work item will pack into L2 while the current item
// computes: planes are small, and a burst of demand misses per plane would
// leave the memory system idle during the arithmetic.
template <typename S>
void PrefetchRows(const OrientedPlan& plan, const S* source, int64_t src_h,
                  int64_t src_w, int64_t n, int64_t c0, int64_t cn,
                  int64_t row0, int64_t rows) {
  constexpr int64_t kLine = 64 / sizeof(S);
  constexpr int64_t kMaxLines = 4096;
  const int64_t h0 = Max64(0, row0), h1 = Min64(src_h, row0 + rows);
  if (h1 <= h0) return;
  int64_t lines = 0;
  if (plan.nhwc) return;  // PackPlanesNhwc prefetches as it goes
  for (int64_t ci = 0; ci < cn; ++ci) {
    const S* base =
        source + ((n * plan.channels + c0 + ci) * src_h + h0) * src_w;
    const int64_t count = (h1 - h0) * src_w;
    for (int64_t e = 0; e < count && lines < kMaxLines; e += kLine, ++lines)
      PrefetchL2(base + e);
  }
}

template <typename S, typename T>
void ForwardItems(const OrientedPlan& plan, int64_t begin, int64_t end,
                  void* scratch) {
  const S* x = static_cast<const S*>(plan.x);
  S* y = static_cast<S*>(plan.y);
  const T* weight = static_cast<const T*>(plan.tap_weight);
  const T* bias = static_cast<const T*>(plan.bias);
  T* src = reinterpret_cast<T*>(ScratchAt(scratch, plan.scratch_src));
  T* buf = reinterpret_cast<T*>(ScratchAt(scratch, plan.scratch_aux));
  const int64_t P = plan.out_h, Q = plan.out_w, C = plan.channels;
  // The row stride; with one output row it never multiplies anything but 0.
  const int64_t s = P > 1 ? plan.stride : 1;
  PackedShape packed;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t band = item % plan.num_bands;
    const int64_t g = (item / plan.num_bands) % plan.num_groups;
    const int64_t n = item / plan.num_bands / plan.num_groups;
    const int64_t c0 = g * plan.group_channels;
    const int64_t cn = Min64(plan.group_channels, C - c0);
    const int64_t p0 = band * plan.band_rows;
    const int64_t pn = Min64(plan.band_rows, P - p0);
    const OrientedGroupLayout& lay = plan.layout[g];
    PackGroup(plan, x, plan.in_h, plan.in_w, n, c0, cn, s * p0 + lay.row_origin,
              s * (pn - 1) + lay.row_span, lay, plan.plane_pitch, &packed, src);
    if (item + 1 < end) {
      const int64_t next_band = (item + 1) % plan.num_bands;
      const int64_t next_g = ((item + 1) / plan.num_bands) % plan.num_groups;
      const int64_t next_p0 = next_band * plan.band_rows;
      const OrientedGroupLayout& next = plan.layout[next_g];
      PrefetchRows(
          plan, x, plan.in_h, plan.in_w,
          (item + 1) / plan.num_bands / plan.num_groups,
          next_g * plan.group_channels, plan.group_channels,
          s * next_p0 + next.row_origin,
          s * (Min64(plan.band_rows, P - next_p0) - 1) + next.row_span);
    }
    if (plan.nhwc) {
      // A few rows of every plane at a time, transposed back into pixels
      // while they are still in L1.
      const int64_t block = Min64(kNhwcRowBlock, plan.band_rows);
      const int64_t block_pitch = block * plan.buffer_pitch;
      for (int64_t r0 = 0; r0 < pn; r0 += block) {
        const int64_t rn = Min64(block, pn - r0);
        for (int64_t ci = 0; ci < cn; ++ci) {
          const int64_t c = c0 + ci;
          const int64_t t0 = plan.tap_begin[c];
          ConvPlane(src + ci * plan.plane_pitch + r0 * s * lay.row_pitch,
                    s * lay.row_pitch, plan.tap_offset + t0, weight + t0,
                    plan.tap_begin[c + 1] - t0,
                    bias != nullptr ? bias[c] : T(0), buf + ci * block_pitch,
                    plan.buffer_pitch, rn, Q);
        }
        UnpackPlanesNhwc(buf, block_pitch, plan.buffer_pitch, cn, rn, Q,
                         y + ((n * P + p0 + r0) * Q) * C + c0, C, Q);
      }
      continue;
    }
    for (int64_t ci = 0; ci < cn; ++ci) {
      const int64_t c = c0 + ci;
      const int64_t t0 = plan.tap_begin[c];
      const T* plane = src + ci * plan.plane_pitch;
      const T b = bias != nullptr ? bias[c] : T(0);
      if (plan.stream_output) {
        ConvPlane(plane, s * lay.row_pitch, plan.tap_offset + t0, weight + t0,
                  plan.tap_begin[c + 1] - t0, b, buf, Q, pn, Q);
        CopyOutStream(buf, y + ((n * C + c) * P + p0) * Q, pn * Q);
      } else {
        ConvPlane(plane, s * lay.row_pitch, plan.tap_offset + t0, weight + t0,
                  plan.tap_begin[c + 1] - t0, b, y + ((n * C + c) * P + p0) * Q,
                  Q, pn, Q);
      }
    }
  }
  if (plan.stream_output) StreamFence();
}

template <typename S, typename T>
void BackwardInputItems(const OrientedPlan& plan, int64_t begin, int64_t end,
                        void* scratch) {
  const S* dy = static_cast<const S*>(plan.dy);
  S* dx = static_cast<S*>(plan.dx);
  const T* weight = static_cast<const T*>(plan.tap_weight);
  T* src = reinterpret_cast<T*>(ScratchAt(scratch, plan.scratch_src));
  T* phase_buf = reinterpret_cast<T*>(ScratchAt(scratch, plan.scratch_aux));
  T* rows_buf = reinterpret_cast<T*>(ScratchAt(scratch, plan.scratch_aux2));
  const int64_t s = plan.stride, H = plan.in_h, W = plan.in_w;
  const int64_t P = plan.out_h, Q = plan.out_w, C = plan.channels;
  const int64_t rows_pitch = plan.in_buffer_pitch;
  PackedShape packed;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t band = item % plan.num_bands;
    const int64_t g = (item / plan.num_bands) % plan.num_groups;
    const int64_t n = item / plan.num_bands / plan.num_groups;
    const int64_t c0 = g * plan.group_channels;
    const int64_t cn = Min64(plan.group_channels, C - c0);
    const int64_t i0 = band * plan.band_rows;
    const int64_t in = Min64(plan.band_rows, P - i0);
    // dx rows [h0, h_end) (s * P may exceed the int64 range; H does not).
    const int64_t h0 = s * i0;
    const int64_t h_end = i0 + in == P ? H : s * (i0 + in);
    const OrientedGroupLayout& lay = plan.layout[g];
    PackGroup(plan, dy, P, Q, n, c0, cn, i0 + lay.row_origin,
              in - 1 + lay.row_span, lay, plan.plane_pitch, &packed, src);
    if (item + 1 < end) {
      const int64_t next_band = (item + 1) % plan.num_bands;
      const int64_t next_g = ((item + 1) / plan.num_bands) % plan.num_groups;
      const int64_t next_i0 = next_band * plan.band_rows;
      const OrientedGroupLayout& next = plan.layout[next_g];
      PrefetchRows(plan, dy, P, Q,
                   (item + 1) / plan.num_bands / plan.num_groups,
                   next_g * plan.group_channels, plan.group_channels,
                   next_i0 + next.row_origin,
                   Min64(plan.band_rows, P - next_i0) - 1 + next.row_span);
    }
    if (s == 1) {
      // One phase: a plain conv of dy with the mirrored taps, straight into
      // dx (NCHW) or a few rows at a time through the transpose (NHWC).
      const int64_t block = plan.nhwc ? Min64(kNhwcRowBlock, in) : in;
      const int64_t block_pitch = block * rows_pitch;
      for (int64_t r0 = 0; r0 < in; r0 += block) {
        const int64_t rn = Min64(block, in - r0);
        for (int64_t ci = 0; ci < cn; ++ci) {
          const int64_t c = c0 + ci;
          const T* plane = src + ci * plan.plane_pitch + r0 * lay.row_pitch;
          // No entry: no tap reaches the image, dx is 0.
          const int64_t e = plan.phase_begin[c];
          const bool any = plan.phase_begin[c + 1] > e;
          const int64_t t0 = any ? plan.phase_tap[e] : 0;
          const int64_t nt = any ? plan.phase_tap[e + 1] - t0 : 0;
          const int64_t* off = plan.tap_offset + t0;
          const T* w = weight + t0;
          if (plan.nhwc) {
            ConvPlane(plane, lay.row_pitch, off, w, nt, T(0),
                      rows_buf + ci * block_pitch, rows_pitch, rn, W);
          } else if (plan.stream_output) {
            ConvPlane(plane, lay.row_pitch, off, w, nt, T(0), phase_buf, W, rn,
                      W);
            CopyOutStream(phase_buf, dx + ((n * C + c) * H + h0 + r0) * W,
                          rn * W);
          } else {
            ConvPlane(plane, lay.row_pitch, off, w, nt, T(0),
                      dx + ((n * C + c) * H + h0 + r0) * W, W, rn, W);
          }
        }
        if (plan.nhwc) {
          UnpackPlanesNhwc(rows_buf, block_pitch, rows_pitch, cn, rn, W,
                           dx + (n * H + h0 + r0) * W * C + c0, C, W);
        }
      }
      continue;
    }
    // Stride > 1: each dx phase (rows = rh, columns = rw mod s) is a stride-1
    // conv of dy with that phase's taps; the results interleave into dx, and
    // phases without taps stay 0.
    const int64_t band_h = h_end - h0;
    const int64_t rows_plane = band_h * rows_pitch;
    for (int64_t ci = 0; ci < cn; ++ci) {
      const int64_t c = c0 + ci;
      const T* plane = src + ci * plan.plane_pitch;
      S* dx_band = dx + ((n * C + c) * H + h0) * W;  // NCHW
      T* rows_out = rows_buf + ci * rows_plane;      // NHWC
      if (plan.nhwc) {
        Zero(rows_out, rows_plane);
      } else {
        ZeroOut<S, T>(dx_band, band_h * W);
      }
      for (int64_t e = plan.phase_begin[c]; e < plan.phase_begin[c + 1]; ++e) {
        const int64_t rh = plan.phase_row[e], rw = plan.phase_col[e];
        // Sub-grid rows i of this phase inside the band: rh + s * i < band_h.
        if (band_h - rh <= 0) continue;
        const int64_t nrows = CeilDivPositive(band_h - rh, s);
        const int64_t ncols = CeilDivPositive(W - rw, s);  // rw < W
        const int64_t t0 = plan.phase_tap[e];
        ConvPlane(plane, lay.row_pitch, plan.tap_offset + t0, weight + t0,
                  plan.phase_tap[e + 1] - t0, T(0), phase_buf,
                  plan.buffer_pitch, nrows, ncols);
        for (int64_t i = 0; i < nrows; ++i) {
          const T* from = phase_buf + i * plan.buffer_pitch;
          if (plan.nhwc) {
            T* to = rows_out + (rh + s * i) * rows_pitch + rw;
            for (int64_t j = 0; j < ncols; ++j) to[s * j] = from[j];
          } else {
            S* to = dx_band + (rh + s * i) * W + rw;
            for (int64_t j = 0; j < ncols; ++j)
              FromCompute(to + s * j, from[j]);
          }
        }
      }
    }
    if (plan.nhwc) {
      UnpackPlanesNhwc(rows_buf, rows_plane, rows_pitch, cn, band_h, W,
                       dx + (n * H + h0) * W * C + c0, C, W);
    }
  }
  if (plan.stream_output) StreamFence();
}

// Lane-wise float partial sums are folded into the float64 results after at
// most this many terms per lane (and at the end of every item).
constexpr int64_t kMaxTermsPerFlush = 2048;

template <typename S, typename T>
void BackwardParamsItems(const OrientedPlan& plan, int64_t begin, int64_t end,
                         void* scratch) {
  constexpr int L = Vec<T>::kLanes;
  const S* x = static_cast<const S*>(plan.x);
  const S* dy = static_cast<const S*>(plan.dy);
  T* src = reinterpret_cast<T*>(ScratchAt(scratch, plan.scratch_src));
  T* dy_buf = reinterpret_cast<T*>(ScratchAt(scratch, plan.scratch_aux));
  T* lanes = reinterpret_cast<T*>(ScratchAt(scratch, plan.scratch_aux2));
  const int64_t P = plan.out_h, Q = plan.out_w;
  const int64_t s = P > 1 ? plan.stride : 1;  // as in ForwardItems
  const int64_t C = plan.channels, pitch = plan.buffer_pitch;
  const int64_t band_pitch = plan.band_rows * pitch;
  const int64_t nvec = pitch / L;
  // Per channel slot: max_channel_taps tap sums, then the dbias sum.
  const int64_t slot = (plan.max_channel_taps + 1) * L;
  // The dy buffer is a zero-padded copy: one phase, no column offset.
  const OrientedGroupLayout dy_layout{1,          1, kNoResidue, pitch,
                                      band_pitch, 1, 0,          0};
  PackedShape packed_x, packed_dy;
  for (int64_t item = begin; item < end; ++item) {
    const int64_t part = item % plan.batch_parts;
    const int64_t g = item / plan.batch_parts;
    const int64_t c0 = g * plan.group_channels;
    const int64_t cn = Min64(plan.group_channels, C - c0);
    const int64_t n0 = part * plan.batch_per_part;
    const int64_t n1 = Min64(plan.batch, n0 + plan.batch_per_part);
    const OrientedGroupLayout& lay = plan.layout[g];
    double* dw_sums = plan.dweight_partial != nullptr
                          ? plan.dweight_partial + part * plan.total_taps
                          : nullptr;
    double* db_sums =
        plan.dbias_partial != nullptr ? plan.dbias_partial + part * C : nullptr;
    for (int64_t ci = 0; ci < cn; ++ci) {
      const int64_t c = c0 + ci;
      if (db_sums != nullptr) db_sums[c] = 0.0;
      if (dw_sums == nullptr) continue;
      for (int64_t t = plan.tap_begin[c]; t < plan.tap_begin[c + 1]; ++t)
        dw_sums[t] = 0.0;
    }
    Zero(lanes, cn * slot);
    int64_t terms = 0;
    auto flush = [&] {
      for (int64_t ci = 0; ci < cn; ++ci) {
        const int64_t c = c0 + ci;
        T* sums = lanes + ci * slot;
        if (dw_sums != nullptr) {
          const int64_t t0 = plan.tap_begin[c];
          for (int64_t t = 0; t < plan.tap_begin[c + 1] - t0; ++t)
            dw_sums[t0 + t] +=
                static_cast<double>(ReduceAdd(LoadU(sums + t * L)));
        }
        if (db_sums != nullptr) {
          const T* b = sums + plan.max_channel_taps * L;
          db_sums[c] += static_cast<double>(ReduceAdd(LoadU(b)));
        }
      }
      Zero(lanes, cn * slot);
      terms = 0;
    };
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t band = 0; band < plan.num_bands; ++band) {
        const int64_t p0 = band * plan.band_rows;
        const int64_t pn = Min64(plan.band_rows, P - p0);
        if (terms + pn * nvec > kMaxTermsPerFlush && terms > 0) flush();
        // NHWC packs the group's planes together (a pixel's channels are
        // adjacent); NCHW one channel at a time, each into the first slot,
        // reading the group's planes of image n in memory order.
        const int64_t per_pack = plan.nhwc ? cn : 1;
        for (int64_t cp = 0; cp < cn; cp += per_pack) {
          if (dw_sums != nullptr) {
            PackGroup(plan, x, plan.in_h, plan.in_w, n, c0 + cp, per_pack,
                      s * p0 + lay.row_origin, s * (pn - 1) + lay.row_span, lay,
                      plan.plane_pitch, &packed_x, src);
          }
          PackGroup(plan, dy, P, Q, n, c0 + cp, per_pack, p0, pn, dy_layout,
                    band_pitch, &packed_dy, dy_buf);
          for (int64_t k = 0; k < per_pack; ++k) {
            const int64_t ci = cp + k, c = c0 + ci;
            const T* d = dy_buf + k * band_pitch;
            T* sums = lanes + ci * slot;
            if (db_sums != nullptr)
              SumRows(d, pitch, pn, sums + plan.max_channel_taps * L);
            if (dw_sums == nullptr) continue;
            const int64_t t0 = plan.tap_begin[c];
            ParamsPlane(src + k * plan.plane_pitch, s * lay.row_pitch,
                        plan.tap_offset + t0, plan.tap_begin[c + 1] - t0, d,
                        pitch, pn, nvec, sums);
          }
        }
        terms += pn * nvec;
      }
    }
    flush();
  }
}

inline void Forward(const OrientedPlan& plan, int64_t begin, int64_t end,
                    void* scratch) {
  switch (plan.storage) {
    case OrientedStorage::kF32:
      return ForwardItems<float, float>(plan, begin, end, scratch);
    case OrientedStorage::kF64:
      return ForwardItems<double, double>(plan, begin, end, scratch);
    case OrientedStorage::kBF16:
      return ForwardItems<uint16_t, float>(plan, begin, end, scratch);
  }
}

inline void BackwardInput(const OrientedPlan& plan, int64_t begin, int64_t end,
                          void* scratch) {
  switch (plan.storage) {
    case OrientedStorage::kF32:
      return BackwardInputItems<float, float>(plan, begin, end, scratch);
    case OrientedStorage::kF64:
      return BackwardInputItems<double, double>(plan, begin, end, scratch);
    case OrientedStorage::kBF16:
      return BackwardInputItems<uint16_t, float>(plan, begin, end, scratch);
  }
}

inline void BackwardParams(const OrientedPlan& plan, int64_t begin, int64_t end,
                           void* scratch) {
  switch (plan.storage) {
    case OrientedStorage::kF32:
      return BackwardParamsItems<float, float>(plan, begin, end, scratch);
    case OrientedStorage::kF64:
      return BackwardParamsItems<double, double>(plan, begin, end, scratch);
    case OrientedStorage::kBF16:
      return BackwardParamsItems<uint16_t, float>(plan, begin, end, scratch);
  }
}

}  // namespace oriented_internal

// The table oriented_kernels_<isa>.cc exports. constexpr, so that no static
// initialiser compiled with this ISA's flags runs at program start.
constexpr OrientedKernelTable kOrientedKernelTable{
    Vec<float>::kLanes, Vec<double>::kLanes, &oriented_internal::Forward,
    &oriented_internal::BackwardInput, &oriented_internal::BackwardParams};

}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_ORIENTED_KERNELS_IMPL_H_
