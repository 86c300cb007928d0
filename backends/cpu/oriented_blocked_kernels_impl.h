#ifndef TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_KERNELS_IMPL_H_
#define TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_KERNELS_IMPL_H_

// The channel-blocked oriented-conv kernels (see oriented_blocked_abi.h),
// written once over the SIMD layer and compiled per ISA by
// oriented_kernels_<isa>.cc. Raw pointers only (see simd.h).
//
// A work item packs the rows its band reads into the scratch X (NCHW: lanes x
// lanes blocks of channel rows transposed into pixel vectors; NHWC: each
// pixel's channels copied), computes the band tile by tile into O, and stores
// O back (transposed again for NCHW). Every output is reduced by one thread
// in the fixed order of its block's runs: results do not depend on threads.

#include <cstdint>
#include <type_traits>

#include "backends/cpu/kernel_util.h"
#include "backends/cpu/oriented_blocked_abi.h"
#include "backends/cpu/simd.h"

namespace tapconv::cpu::TAPCONV_SIMD_NS {
namespace oriented_blocked_internal {

// Register tiling: kTile accumulators, up to kMaxRun weights and the vector
// being loaded must fit the register file (32 vector registers with AVX-512,
// 16 with AVX2).
constexpr bool kWideRegisterFile = Vec<float>::kLanes >= 16;
constexpr int kTile = kWideRegisterFile ? 14 : 8;
constexpr int kMaxRun = kWideRegisterFile ? 8 : 4;
// The blocked layout only pays with several channels per vector.
constexpr int kMinLanes = 4;

// Pixel pitches of X and O: row-major for row tiles, column-major for
// column tiles (oriented_blocked_abi.h).
struct Pitches {
  int64_t x_row, x_col, o_row, o_col;
};
inline Pitches PitchesOf(const OrientedBlockedPlan& p, bool column_tiles) {
  return column_tiles ? Pitches{1, p.x_rows, 1, p.o_rows}
                      : Pitches{p.x_cols, 1, p.o_cols, 1};
}

// --- Tiles -------------------------------------------------------------------

// Makes v a register operand from here on. Without it GCC folds the load
// into every multiply-add that uses v, which loads the vector once per tap
// instead of once per run and undoes the runs' reuse.
template <typename T>
inline __attribute__((always_inline)) void KeepInRegister(Vec<T>& v) {
  if constexpr (Vec<T>::kLanes > 1) __asm__("" : "+v"(v.v));
}

// acc[r] += sum_j w[j] * src[(r + j) * step] for the kWidth outputs r of a
// tile and the M taps j of one run: each loaded vector feeds up to M
// accumulators.
template <typename T, int M, int kWidth>
inline __attribute__((always_inline)) void RunTaps(const T* src, int64_t step,
                                                   const T* w, Vec<T>* acc) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> wv[M];
#pragma GCC unroll 16
  for (int j = 0; j < M; ++j) wv[j] = LoadU(w + j * L);
#pragma GCC unroll 32
  for (int i = 0; i < kWidth + M - 1; ++i) {
    Vec<T> v = LoadU(src + i * step);
    if constexpr (M > 1) KeepInRegister(v);
#pragma GCC unroll 16
    for (int j = 0; j < M; ++j) {
      const int r = i - j;
      if (r >= 0 && r < kWidth) acc[r] = MulAdd(wv[j], v, acc[r]);
    }
  }
}

// Calls f(std::integral_constant<int, length>) for a run length known at run
// time (1 .. kMaxRun), so that the run's loops unroll fully.
template <int M = 1, typename F>
inline __attribute__((always_inline)) void WithRunLength(int length, F f) {
  if constexpr (M < kMaxRun) {
    if (length != M) return WithRunLength<M + 1>(length, f);
  }
  f(std::integral_constant<int, M>{});
}

// The runs [begin, end) of a geometry that a tile's line reads inside the
// source (the others read only X's zero border), or a diagonal tile's lines.
struct RunRange {
  int64_t begin, end;
};
// For a tile whose outputs read source line `line` (row for row tiles,
// column for column tiles) at across offset 0, of a source `extent` lines
// across. The runs are in ascending order of their across offsets.
inline RunRange RunsInside(const OrientedBlockGeometry& g, int64_t line,
                           int64_t extent) {
  RunRange r{0, g.num_runs};
  while (r.begin < r.end && line + g.runs[r.begin].across < 0) ++r.begin;
  while (r.end > r.begin && line + g.runs[r.end - 1].across >= extent) --r.end;
  return r;
}

// out[r] = bias + sum over the geometry's runs [runs.begin, runs.end), for
// the kWidth outputs r (O pixels r apart) whose X base pixels are `stride`
// pixels apart. The strides models use are compile-time constants (kStride >
// 0), so that the loads address base + constant; kStride 0 reads the stride
// at run time.
template <typename T, int kStride, int kWidth = kTile>
void Tile(const T* base, int64_t stride, const OrientedBlockGeometry& g,
          RunRange runs, const T* weights, const T* bias, T* out) {
  constexpr int L = Vec<T>::kLanes;
  const int64_t step = (kStride > 0 ? kStride : stride) * L;
  Vec<T> acc[kWidth];
  const Vec<T> init = bias != nullptr ? LoadU(bias) : Set1(T(0));
#pragma GCC unroll 32
  for (int r = 0; r < kWidth; ++r) acc[r] = init;
  for (int64_t k = runs.begin; k < runs.end; ++k) {
    const OrientedRun& run = g.runs[k];
    const T* src = base + run.offset;
    const T* w = weights + int64_t{run.first_tap} * L;
    WithRunLength(
        run.length, [&](auto m) __attribute__((always_inline)) {
          RunTaps<T, decltype(m)::value, kWidth>(src, step, w, acc);
        });
  }
#pragma GCC unroll 32
  for (int r = 0; r < kWidth; ++r) StoreU(out + r * L, acc[r]);
}

// Two rows of kTile / 2 outputs (O rows o_row elements apart) of a diagonal
// geometry (OrientedBlockGeometry::diagonal = kDirection). Row 1's tap j - 1
// reads the X line of row 0's tap j, one pixel to the side: the kTile / 2 + 1
// vectors loaded there serve both, where a one-row tile loads kTile vectors
// per tap for kTile multiply-adds (load-bound: 45° and 135° ran about 10%
// slower than 0°). Only the lines [lines.begin, lines.end) of 0 .. taps
// (line j: row 0's tap j, row 1's tap j - 1) are read.
template <typename T, int kDirection>
void DiagonalTile(const T* base, const OrientedBlockGeometry& g, RunRange lines,
                  const T* weights, const T* bias, T* out, int64_t o_row) {
  constexpr int L = Vec<T>::kLanes;
  constexpr int kRow = kTile / 2;
  // The kRow + 1 vectors loaded on a line start kLead pixels before row 0's
  // window: row 0's output t uses vector t + kLead, row 1's t + 1 - kLead.
  constexpr int kLead = kDirection > 0 ? 1 : 0;
  Vec<T> acc0[kRow], acc1[kRow];
  const Vec<T> init = bias != nullptr ? LoadU(bias) : Set1(T(0));
#pragma GCC unroll 16
  for (int t = 0; t < kRow; ++t) acc0[t] = acc1[t] = init;
  // Line j (0 .. taps) holds row 0's tap j and row 1's tap j - 1.
  const int64_t taps = g.taps;
  const int64_t step = g.runs[1].offset - g.runs[0].offset;
  const T* const line0 = base + g.runs[0].offset;
  if (lines.begin == 0 && lines.end > 0) {
    const Vec<T> w = LoadU(weights);
#pragma GCC unroll 16
    for (int t = 0; t < kRow; ++t)
      acc0[t] = MulAdd(w, LoadU(line0 + t * L), acc0[t]);
  }
  const int64_t begin = lines.begin > 1 ? lines.begin : 1;
  const int64_t end = lines.end < taps ? lines.end : taps;
  if (begin < end) {
    Vec<T> w_prev = LoadU(weights + (begin - 1) * L);
    for (int64_t j = begin; j < end; ++j) {
      const Vec<T> w = LoadU(weights + j * L);
      const T* first = line0 + j * step - kLead * L;
#pragma GCC unroll 16
      for (int i = 0; i <= kRow; ++i) {
        Vec<T> v = LoadU(first + i * L);
        KeepInRegister(v);
        const int t0 = i - kLead;        // row 0's output using v
        const int t1 = i - (1 - kLead);  // row 1's
        if (t0 >= 0 && t0 < kRow) acc0[t0] = MulAdd(w, v, acc0[t0]);
        if (t1 >= 0 && t1 < kRow) acc1[t1] = MulAdd(w_prev, v, acc1[t1]);
      }
      w_prev = w;
    }
  }
  if (lines.end > taps) {
    // Row 1's last tap, on the line below row 0's last.
    const Vec<T> w = LoadU(weights + (taps - 1) * L);
    const T* last = line0 + taps * step - kDirection * L;
#pragma GCC unroll 16
    for (int t = 0; t < kRow; ++t)
      acc1[t] = MulAdd(w, LoadU(last + t * L), acc1[t]);
  }
#pragma GCC unroll 16
  for (int t = 0; t < kRow; ++t) {
    StoreU(out + t * L, acc0[t]);
    StoreU(out + o_row + t * L, acc1[t]);
  }
}

// All tiles of a band of a diagonal geometry into O (row-major), two rows
// at a time down the band, then the next kTile / 2 columns; between() after
// each. A last odd row's partner row lands in O's spare rows.
template <typename T, typename Between>
void DiagonalTiles(const OrientedBlockedPlan& p, const Pitches& pitch,
                   int64_t p0, int64_t rows, const OrientedBlockGeometry& g,
                   const T* weights, const T* bias, const T* x, T* o,
                   Between& between) {
  constexpr int L = Vec<T>::kLanes;
  constexpr int kRow = kTile / 2;
  const T* x0 = x + (p.pad_top * pitch.x_row + p.pad_left * pitch.x_col) * L;
  const int64_t o_row = pitch.o_row * L;
  for (int64_t a0 = 0; a0 < p.dst_w; a0 += kRow) {
    for (int64_t c = 0; c < rows; c += 2) {
      const T* base = x0 + (c * pitch.x_row + a0) * L;
      T* out = o + c * o_row + a0 * L;
      // Line j of the tile reads source row p0 + c + dh_0 + j (stride 1):
      // only those inside the source (the rest read X's zero rows).
      const int64_t row0 = p0 + c + g.runs[0].across;
      const RunRange lines{Max64(0, -row0), Min64(g.taps + 1, p.src_h - row0)};
      if (g.diagonal > 0) {
        DiagonalTile<T, 1>(base, g, lines, weights, bias, out, o_row);
      } else {
        DiagonalTile<T, -1>(base, g, lines, weights, bias, out, o_row);
      }
      between();
    }
  }
}

// A band's `across` lines of `along` outputs (row tiles: along = columns,
// across = rows; column tiles: the other way round): output a of line c reads
// X from vector x0 + a * x_along + c * x_across and goes to O element a *
// o_along + c * o_across (or is dy staged like O there).
template <typename T>
struct TileGrid {
  const T* x0;
  int64_t along, across, x_along, x_across, o_along, o_across;
};
template <typename T>
inline TileGrid<T> TileGridOf(const OrientedBlockedPlan& p,
                              const Pitches& pitch, bool column, int64_t rows,
                              const T* x) {
  constexpr int L = Vec<T>::kLanes;
  const int64_t s = p.stride;
  // X pixel of output (i, j) of the band: (s * i + pad_top, s * j + pad_left).
  return {x + (p.pad_top * pitch.x_row + p.pad_left * pitch.x_col) * L,
          column ? rows : p.dst_w,
          column ? p.dst_w : rows,
          (column ? pitch.x_row : pitch.x_col) * s * L,
          (column ? pitch.x_col : pitch.x_row) * s * L,
          (column ? pitch.o_row : pitch.o_col) * L,
          (column ? pitch.o_col : pitch.o_row) * L};
}

// Lines of at most this many outputs (7x7 planes) take tiles of this width,
// two lines per tile in the forward: a tile of kTile computed as many outputs
// past the line's end as on it (and the weight gradient as many zero terms).
constexpr int kHalfTile = kTile / 2;

// Calls visit(x_base, o_offset, c) for every tile of a band: `along` outputs
// per line in tiles of kTile, `across` lines (row tiles: along = columns,
// across = rows; column tiles: the other way round). x_base is the X vector of
// the tile's first output, o_offset the element offset of that output in O (or
// in dy staged like O), c its line. Tiles go line after line
// (along_lines_first) or, for oblique taps, which the next line's tile reuses,
// down the lines first.
template <typename T, typename Visit>
inline __attribute__((always_inline)) void ForEachTile(
    const OrientedBlockedPlan& p, const Pitches& pitch, bool column,
    bool along_lines_first, int64_t rows, const T* x, Visit visit) {
  const auto [x0, along, across, x_along, x_across, o_along, o_across] =
      TileGridOf(p, pitch, column, rows, x);
  if (along_lines_first) {
    for (int64_t c = 0; c < across; ++c) {
      for (int64_t a0 = 0; a0 < along; a0 += kTile)
        visit(x0 + a0 * x_along + c * x_across, a0 * o_along + c * o_across, c);
    }
    return;
  }
  for (int64_t a0 = 0; a0 < along; a0 += kTile) {
    for (int64_t c = 0; c < across; ++c)
      visit(x0 + a0 * x_along + c * x_across, a0 * o_along + c * o_across, c);
  }
}

// All tiles of the band of output rows [p0, p0 + rows) into O, calling
// between() after each. Each tile runs only the runs whose source line lies
// inside the source (near the edges of small planes many do not: at 14x14,
// about a fifth of a 22.5° K=31 line's runs, over the plane's rows).
template <typename T, int kStride, typename Between>
void Tiles(const OrientedBlockedPlan& p, const Pitches& pitch, bool column,
           int64_t p0, int64_t rows, const OrientedBlockGeometry& g,
           const T* weights, const T* bias, const T* x, T* o,
           Between& between) {
  // Tile line c (an output row of the band, or an output column) reads
  // source line stride * (first + c) + across of each run.
  const int64_t first = column ? 0 : p0;
  const int64_t extent = column ? p.src_w : p.src_h;
  const TileGrid<T> grid = TileGridOf(p, pitch, column, rows, x);
  if (grid.along <= kHalfTile) {
    for (int64_t c = 0; c < grid.across; c += 2) {
      const T* base = grid.x0 + c * grid.x_across;
      T* out = o + c * grid.o_across;
      Tile<T, kStride, kHalfTile>(base, p.stride, g,
                                  RunsInside(g, p.stride * (first + c), extent),
                                  weights, bias, out);
      if (c + 1 < grid.across) {
        Tile<T, kStride, kHalfTile>(
            base + grid.x_across, p.stride, g,
            RunsInside(g, p.stride * (first + c + 1), extent), weights, bias,
            out + grid.o_across);
      }
      between();
    }
    return;
  }
  ForEachTile(p, pitch, column, g.along_lines_first, rows, x,
              [&](const T* base, int64_t at, int64_t c) {
                Tile<T, kStride>(base, p.stride, g,
                                 RunsInside(g, p.stride * (first + c), extent),
                                 weights, bias, o + at);
                between();
              });
}

// --- Packing -----------------------------------------------------------------

// At the start of a work item's scratch (the caller zeroes it whenever the
// buffer is new): the layout the two X regions' zero borders were written for,
// and which X rows of each hold source data rather than zeros. A plan with
// any other layout, or other region offsets, zeroes both regions first: a
// region of one plan may overlap the other region of the next.
struct ScratchHeader {
  int64_t x_rows, x_cols, pad_left, src_w, lanes, elem_bytes;
  int64_t x_rows_offset, x_columns_offset, x_block, o_offset;
  // Per X region: 2 * (X slot: the block in the item, or with pack_ahead the
  // item's slot) + (0: row-major, 1: column-major).
  int64_t data_lo[2 * kMaxBlocksPerItem], data_hi[2 * kMaxBlocksPerItem];
};
static_assert(sizeof(ScratchHeader) <= kOrientedBlockedHeaderBytes,
              "the scratch header outgrew its reserved bytes");

template <typename T>
void PrepareScratch(const OrientedBlockedPlan& p, char* scratch) {
  ScratchHeader* h = reinterpret_cast<ScratchHeader*>(scratch);
  const ScratchHeader want{p.x_rows,
                           p.x_cols,
                           p.pad_left,
                           p.src_w,
                           p.lanes,
                           int64_t{sizeof(T)},
                           p.scratch_x_rows,
                           p.scratch_x_columns,
                           p.x_block,
                           p.scratch_o,
                           {},
                           {}};
  if (h->x_rows == want.x_rows && h->x_cols == want.x_cols &&
      h->pad_left == want.pad_left && h->src_w == want.src_w &&
      h->lanes == want.lanes && h->elem_bytes == want.elem_bytes &&
      h->x_rows_offset == want.x_rows_offset &&
      h->x_columns_offset == want.x_columns_offset &&
      h->x_block == want.x_block && h->o_offset == want.o_offset) {
    return;
  }
  // Every X region, up to O.
  Zero(reinterpret_cast<T*>(scratch + p.scratch_x_rows),
       (p.scratch_o - p.scratch_x_rows) / static_cast<int64_t>(sizeof(T)));
  *h = want;
}

// Zeroes the image columns of X rows [lo, hi).
template <typename T>
void ZeroImageRows(const OrientedBlockedPlan& p, const Pitches& pitch, T* x,
                   int64_t lo, int64_t hi) {
  constexpr int L = Vec<T>::kLanes;
  for (int64_t u = lo; u < hi; ++u) {
    if (pitch.x_col == 1) {
      Zero(x + (u * pitch.x_row + p.pad_left) * L, p.src_w * L);
    } else {
      for (int64_t t = p.pad_left; t < p.pad_left + p.src_w; ++t)
        Zero(x + (u + t * pitch.x_col) * L, L);
    }
  }
}

// X rows [data_lo, data_hi) of one region are about to receive source rows:
// rows that held data before and do not now get their image columns zeroed,
// so that every row outside the new range reads zeros.
template <typename T>
void PrepareRows(const OrientedBlockedPlan& p, const Pitches& pitch,
                 ScratchHeader* h, int region, T* x, int64_t data_lo,
                 int64_t data_hi) {
  const int64_t old_lo = h->data_lo[region], old_hi = h->data_hi[region];
  if (old_lo < old_hi) {
    ZeroImageRows(p, pitch, x, old_lo, Min64(old_hi, data_lo));
    ZeroImageRows(p, pitch, x, Max64(old_lo, data_hi), old_hi);
  }
  h->data_lo[region] = data_lo;
  h->data_hi[region] = data_hi;
}

// Walks the pixels of a scratch buffer in the row-major order of an image
// `width` pixels wide: pixel (i, j) is at base + (i * row + j * col) * lanes.
template <typename T>
struct PixelCursor {
  PixelCursor(T* base, int64_t row, int64_t col, int64_t width)
      : row_start(base),
        pixel(base),
        next(col * Vec<std::remove_const_t<T>>::kLanes),
        next_row(row * Vec<std::remove_const_t<T>>::kLanes),
        width(width) {}
  void Advance() {
    pixel += next;
    if (++j == width) {
      j = 0;
      row_start += next_row;
      pixel = row_start;
    }
  }
  // Whether the next n pixels reach at most into the next row: then pixel k
  // of them is at Ahead()(k), and Skip(n) steps over them. Straight-line code
  // over such runs keeps a transposed block in registers, where a branch per
  // pixel made the compiler keep it in memory; a group that crosses a row's
  // end (one in seven on 56-pixel rows) takes the same path.
  bool ReachesAtMostNextRow(int64_t n) const { return n <= width; }
  // Copies of the fields, which the compiler cannot keep in registers across
  // stores through T* (they might alias the cursor).
  struct Upcoming {
    T* first;
    int64_t next, left, wrap;
    T* operator()(int64_t k) const {
      return first + k * next + (k >= left ? wrap : 0);
    }
  };
  Upcoming Ahead() const {
    return {pixel, next, width - j, next_row - width * next};
  }
  void Skip(int64_t n) {
    j += n;
    if (j >= width) {
      j -= width;
      row_start += next_row;
    }
    pixel = row_start + j * next;
  }
  // The addresses of the next n pixels, whichever rows they are on (planes
  // narrower than a group of pixels), stepping over them. Called on a local
  // copy of the cursor, which the group's stores cannot alias, before them:
  // the group's vectors then stay in registers. Pixel by pixel, a branch
  // between the stores had made GCC keep them on the stack (the N32 C512
  // 14x14 and N128 7x7 K31 forwards took 10-12% longer).
  template <int n>
  void Take(T* (&at)[n]) {
#pragma GCC unroll 16
    for (int k = 0; k < n; ++k) {
      at[k] = pixel;
      Advance();
    }
  }
  T* row_start;
  T* pixel;
  int64_t next, next_row, width, j = 0;
};

// Stores the `count` pixel vectors v[0, count) at the cursor and advances it.
template <typename T>
inline __attribute__((always_inline)) void StorePixels(PixelCursor<T>* to,
                                                       const Vec<T>* v,
                                                       int count) {
  constexpr int L = Vec<T>::kLanes;
  if (count == L && to->ReachesAtMostNextRow(L)) {
    const typename PixelCursor<T>::Upcoming at = to->Ahead();
#pragma GCC unroll 16
    for (int k = 0; k < L; ++k) StoreU(at(k), v[k]);
    to->Skip(L);
    return;
  }
  if (count == L) {
    PixelCursor<T> cursor = *to;
    T* at[L];
    cursor.Take(at);
    *to = cursor;
#pragma GCC unroll 16
    for (int k = 0; k < L; ++k) StoreU(at[k], v[k]);
    return;
  }
  for (int k = 0; k < count; ++k) {
    StoreU(to->pixel, v[k]);
    to->Advance();
  }
}

// Calls visit(v, count) for the flat elements [begin, end) of cn channel
// planes (`plane` elements apart, the first at `first`), in order, lanes at a
// time: v[k] holds element m + k of every channel (lanes past cn zero) for
// the count (<= lanes) elements from m. The blocks are loaded a plane at a
// time and transposed.
template <typename T, typename S, typename Visit>
inline __attribute__((always_inline)) void ForEachPixelOfPlanes(
    const S* first, int64_t plane, int64_t cn, int64_t begin, int64_t end,
    Visit visit) {
  constexpr int L = Vec<T>::kLanes;
  int64_t m = begin;
  if (cn == L) {
    // Whole blocks: fixed trip counts, so the block stays in registers.
    for (; m + L <= end; m += L) {
      Vec<T> v[L];
#pragma GCC unroll 16
      for (int c = 0; c < L; ++c) v[c] = LoadCvt(first + c * plane + m);
      Transpose(v);
      visit(v, L);
    }
  }
  for (; m < end; m += L) {
    const int count = static_cast<int>(Min64(L, end - m));
    Vec<T> v[L];
    for (int c = 0; c < L; ++c) {
      v[c] = c < cn ? LoadCvtN(first + c * plane + m, count) : Set1(T(0));
    }
    Transpose(v);
    visit(v, count);
  }
}

// NCHW: source rows [h_lo, h_hi) of channels [c0, c0 + cn) of image n into X
// rows from u_lo (read as one flat range of each plane, so narrow rows still
// fill whole blocks). Either all at once (Finish right after the constructor)
// or a few pixel groups at a time from Step between the previous item's tiles
// (pack_ahead), like NchwStorer.
template <typename T, typename S>
class NchwPacker {
 public:
  static constexpr int L = Vec<T>::kLanes;

  NchwPacker() = default;
  NchwPacker(const OrientedBlockedPlan& p, const Pitches& pitch, const S* src,
             int64_t n, int64_t c0, int64_t cn, int64_t h_lo, int64_t h_hi,
             int64_t u_lo, T* x)
      : first_(src + (n * p.channels + c0) * p.src_h * p.src_w),
        plane_(p.src_h * p.src_w),
        m_(h_lo * p.src_w),
        end_(h_hi * p.src_w),
        cn_(cn),
        to_(x + (u_lo * pitch.x_row + p.pad_left * pitch.x_col) * L,
            pitch.x_row, pitch.x_col, p.src_w) {}

  // Pixel groups of L still to pack (whole ones, of full blocks).
  int64_t GroupsLeft() const { return cn_ == L ? (end_ - m_) / L : 0; }

  // Up to `groups` whole groups of L pixels.
  void Step(int64_t groups) { PackUpTo(m_ + Min64(groups, GroupsLeft()) * L); }

  void Finish() { PackUpTo(end_); }

 private:
  void PackUpTo(int64_t stop) {
    ForEachPixelOfPlanes<T>(
        first_, plane_, cn_, m_, stop,
        [&](const Vec<T>* v, int count) { StorePixels(&to_, v, count); });
    m_ = stop;
  }

  const S* first_ = nullptr;
  int64_t plane_ = 0, m_ = 0, end_ = 0, cn_ = 0;
  PixelCursor<T> to_{nullptr, 0, 0, 1};
};

// NHWC: the same rows, each pixel's channels of `count` blocks copied, the
// blocks' lines of one pixel in turn: neighbouring lines, of which the second
// costs little more than the first (the pack of a pair of blocks took 25-30%
// less time than two packs of one on N2 C512 56x56, where each pixel's block
// is a line C elements from the next pixel's).
template <typename S, typename T>
void PackNhwc(const OrientedBlockedPlan& p, const Pitches* pitch,
              const OrientedBlock* blocks, int count, const S* src, int64_t n,
              int64_t h_lo, int64_t h_hi, int64_t u_lo, T* const* x) {
  constexpr int L = Vec<T>::kLanes;
  const int64_t W = p.src_w, C = p.channels;
  bool whole = true;
  for (int k = 0; k < count; ++k) whole = whole && blocks[k].channels == L;
  for (int64_t h = h_lo; h < h_hi; ++h) {
    const S* row = src + ((n * p.src_h + h) * W) * C;
    T* dst[kMaxBlocksPerItem];
    int64_t next[kMaxBlocksPerItem];
    for (int k = 0; k < count; ++k) {
      dst[k] = x[k] + ((u_lo + h - h_lo) * pitch[k].x_row +
                       p.pad_left * pitch[k].x_col) *
                          L;
      next[k] = pitch[k].x_col * L;
    }
    if (whole && count == 2) {
      const S* from0 = row + blocks[0].c0;
      const S* from1 = row + blocks[1].c0;
      for (int64_t w = 0; w < W; ++w) {
        StoreU(dst[0] + w * next[0], LoadCvt(from0 + w * C));
        StoreU(dst[1] + w * next[1], LoadCvt(from1 + w * C));
      }
    } else if (whole && count == 1) {
      const S* from = row + blocks[0].c0;
      for (int64_t w = 0; w < W; ++w)
        StoreU(dst[0] + w * next[0], LoadCvt(from + w * C));
    } else {
      for (int64_t w = 0; w < W; ++w) {
        for (int k = 0; k < count; ++k) {
          StoreU(dst[k] + w * next[k],
                 LoadCvtN(row + w * C + blocks[k].c0,
                          static_cast<int>(blocks[k].channels)));
        }
      }
    }
  }
}

// --- Storing -----------------------------------------------------------------

// NCHW: O rows [0, rows) (output rows p0 ...) of channels [c0, c0 + cn) into
// dst, transposed back lanes x lanes at a time over the flat output range.
// Either all at once (Finish right after the constructor) or a few pixel
// groups at a time from Step between the next item's tiles (defer_store):
// the stores then drain while the multiply-adds run, where storing a whole
// band at once leaves the core waiting on memory. Non-temporal where the plan
// says so (stream_output).
template <typename T, typename S>
class NchwStorer {
 public:
  static constexpr int L = Vec<T>::kLanes;

  NchwStorer() = default;
  // The outputs of an item's one block (`block`), in O.
  NchwStorer(const OrientedBlockedPlan& p, const T* o, int64_t n, int64_t block,
             int64_t p0, int64_t rows, S* dst)
      : NchwStorer(
            p,
            PitchesOf(p, p.geometries[p.blocks[block].geometry].column_tiles),
            o, n, p.blocks[block].c0, p.blocks[block].channels, p0, rows, dst) {
  }
  NchwStorer(const OrientedBlockedPlan& p, const Pitches& pitch, const T* o,
             int64_t n, int64_t c0, int64_t cn, int64_t p0, int64_t rows,
             S* dst)
      : first_(dst + (n * p.channels + c0) * p.dst_h * p.dst_w),
        plane_(p.dst_h * p.dst_w),
        m_(p0 * p.dst_w),
        end_((p0 + rows) * p.dst_w),
        cn_(cn),
        from_(o, pitch.o_row, pitch.o_col, p.dst_w) {
    // Non-temporal stores need whole aligned vectors in every plane: a head
    // of pixels brings m to the vector boundary when the planes share it.
    constexpr uint64_t kAlign = L * sizeof(S);
    const bool aligned_planes = (plane_ * sizeof(S)) % kAlign == 0;
    if (cn == L && p.stream_output && aligned_planes) {
      const uint64_t misalign =
          reinterpret_cast<uint64_t>(first_ + m_) % kAlign;
      if (misalign % sizeof(S) == 0 && misalign != 0) {
        StorePartial(static_cast<int>(
            Min64((kAlign - misalign) / sizeof(S), end_ - m_)));
      }
      stream_ = reinterpret_cast<uint64_t>(first_ + m_) % kAlign == 0;
    }
  }

  // Pixel groups of L still to store (whole ones, of full blocks).
  int64_t GroupsLeft() const { return cn_ == L ? (end_ - m_) / L : 0; }

  // Up to `groups` whole groups of L pixels.
  void Step(int64_t groups) {
    if (cn_ != L) return;
    for (; groups > 0 && m_ + L <= end_; --groups, m_ += L) {
      // Fixed trip counts, so that the block stays in registers.
      Vec<T> v[L];
      if (from_.ReachesAtMostNextRow(L)) {
        const typename PixelCursor<const T>::Upcoming at = from_.Ahead();
#pragma GCC unroll 16
        for (int k = 0; k < L; ++k) v[k] = LoadU(at(k));
        from_.Skip(L);
      } else {
        PixelCursor<const T> cursor = from_;
        const T* at[L];
        cursor.Take(at);
        from_ = cursor;
#pragma GCC unroll 16
        for (int k = 0; k < L; ++k) v[k] = LoadU(at[k]);
      }
      Transpose(v);
      if (stream_) {
#pragma GCC unroll 16
        for (int c = 0; c < L; ++c)
          StoreStreamCvt(first_ + c * plane_ + m_, v[c]);
      } else {
#pragma GCC unroll 16
        for (int c = 0; c < L; ++c) StoreCvt(first_ + c * plane_ + m_, v[c]);
      }
    }
  }

  void Finish() {
    Step(GroupsLeft());
    while (m_ < end_) StorePartial(static_cast<int>(Min64(L, end_ - m_)));
  }

 private:
  // `count` pixels from m_, through masked stores.
  void StorePartial(int count) {
    Vec<T> v[L];
    for (int k = 0; k < L; ++k) {
      if (k < count) {
        v[k] = LoadU(from_.pixel);
        from_.Advance();
      } else {
        v[k] = Set1(T(0));
      }
    }
    Transpose(v);
    for (int64_t c = 0; c < cn_; ++c)
      StoreCvtN(first_ + c * plane_ + m_, v[c], count);
    m_ += count;
  }

  S* first_ = nullptr;
  int64_t plane_ = 0, m_ = 0, end_ = 0, cn_ = 0;
  PixelCursor<const T> from_{nullptr, 0, 0, 1};
  bool stream_ = false;
};

// NHWC: O rows [0, rows) (output rows p0 ...) of an item's blocks (the
// item's first O, then one every o_block elements) into dst, each output
// pixel's channels, all at once or a few pixels at a time from Step between
// the next item's tiles, like NchwStorer. With the channels C apart, each
// pixel's block is a line of its own: a band's lines stored in one burst
// left the core waiting on them, and the neighbouring block's line of the
// same pixel, written in turn, halved the cost per line of those writes
// (with non-temporal stores; measured on N2 C512 56x56). Non-temporal where
// the plan says so and the lines are whole and aligned (written without
// reading them first).
template <typename T, typename S>
class NhwcStorer {
 public:
  static constexpr int L = Vec<T>::kLanes;

  NhwcStorer() = default;
  NhwcStorer(const OrientedBlockedPlan& p, const T* o, int64_t n,
             int64_t first_block, int64_t p0, int64_t rows, S* dst)
      : first_(dst + ((n * p.dst_h + p0) * p.dst_w) * p.channels),
        channels_(p.channels),
        end_(rows * p.dst_w),
        blocks_(static_cast<int>(
            Min64(p.blocks_per_item, p.num_blocks - first_block))) {
    constexpr uint64_t kAlign = L * sizeof(S);
    bool whole = true;
    for (int k = 0; k < blocks_; ++k) {
      const OrientedBlock& block = p.blocks[first_block + k];
      const Pitches pitch =
          PitchesOf(p, p.geometries[block.geometry].column_tiles);
      c0_[k] = block.c0;
      cn_[k] = static_cast<int>(block.channels);
      from_[k] = PixelCursor<const T>(o + k * p.o_block, pitch.o_row,
                                      pitch.o_col, p.dst_w);
      whole = whole && cn_[k] == L &&
              reinterpret_cast<uint64_t>(first_ + c0_[k]) % kAlign == 0;
    }
    stream_ =
        whole && p.stream_output && (p.channels * sizeof(S)) % kAlign == 0;
  }

  // Pixels still to store.
  int64_t GroupsLeft() const { return end_ - m_; }

  // Up to `pixels` pixels.
  void Step(int64_t pixels) {
    const int64_t stop = Min64(end_, m_ + pixels);
    if (stream_) {
      for (; m_ < stop; ++m_) {
        S* pixel = first_ + m_ * channels_;
        for (int k = 0; k < blocks_; ++k) {
          StoreStreamCvt(pixel + c0_[k], LoadU(from_[k].pixel));
          from_[k].Advance();
        }
      }
      return;
    }
    for (; m_ < stop; ++m_) {
      S* pixel = first_ + m_ * channels_;
      for (int k = 0; k < blocks_; ++k) {
        const Vec<T> v = LoadU(from_[k].pixel);
        from_[k].Advance();
        if (cn_[k] == L) {
          StoreCvt(pixel + c0_[k], v);
        } else {
          StoreCvtN(pixel + c0_[k], v, cn_[k]);
        }
      }
    }
  }

  void Finish() { Step(GroupsLeft()); }

 private:
  S* first_ = nullptr;  // the band's first pixel's channel 0
  int64_t channels_ = 0, m_ = 0, end_ = 0;
  int blocks_ = 0;
  int64_t c0_[kMaxBlocksPerItem] = {};
  int cn_[kMaxBlocksPerItem] = {};
  PixelCursor<const T> from_[kMaxBlocksPerItem] = {{nullptr, 0, 0, 1},
                                                   {nullptr, 0, 0, 1}};
  bool stream_ = false;
};

// --- Weight gradient ---------------------------------------------------------

// Each tap's sum over a tile is split over kGradientSplit accumulators, so
// that a run of one tap still keeps several multiply-adds in flight.
constexpr int kGradientSplit = kWideRegisterFile ? 2 : 1;
// Lane sums in the compute type are folded into doubles after at most this
// many terms per lane.
constexpr int64_t kMaxTermsPerFlush = 2048;

// sums[j] += sum_r d[r] * src[(r + j) * step] for the M taps j of one run and
// the kWidth outputs r of a tile.
template <typename T, int M, int kWidth>
inline __attribute__((always_inline)) void RunGradient(const T* src,
                                                       int64_t step,
                                                       const Vec<T>* d,
                                                       T* sums) {
  constexpr int L = Vec<T>::kLanes;
  Vec<T> a[M][kGradientSplit];
#pragma GCC unroll 16
  for (int j = 0; j < M; ++j) {
    a[j][0] = LoadU(sums + j * L);
#pragma GCC unroll 4
    for (int h = 1; h < kGradientSplit; ++h) a[j][h] = Set1(T(0));
  }
#pragma GCC unroll 32
  for (int i = 0; i < kWidth + M - 1; ++i) {
    Vec<T> v = LoadU(src + i * step);
    if constexpr (M > 1) KeepInRegister(v);
#pragma GCC unroll 16
    for (int j = 0; j < M; ++j) {
      const int r = i - j;
      if (r >= 0 && r < kWidth) {
        Vec<T>& acc = a[j][r % kGradientSplit];
        acc = MulAdd(d[r], v, acc);
      }
    }
  }
#pragma GCC unroll 16
  for (int j = 0; j < M; ++j) {
    Vec<T> sum = a[j][0];
#pragma GCC unroll 4
    for (int h = 1; h < kGradientSplit; ++h) sum = Add(sum, a[j][h]);
    StoreU(sums + j * L, sum);
  }
}

// sums[tap] += sum over the kWidth outputs r of a tile of dy[r] * x at the
// tap, dy staged like O (r * L apart), for the taps of the runs [runs.begin,
// runs.end) (the others' x is X's zero border).
template <typename T, int kStride, int kWidth = kTile>
void GradientTile(const T* base, int64_t stride, const OrientedBlockGeometry& g,
                  RunRange runs, const T* dy, T* sums) {
  constexpr int L = Vec<T>::kLanes;
  const int64_t step = (kStride > 0 ? kStride : stride) * L;
  Vec<T> d[kWidth];
#pragma GCC unroll 32
  for (int r = 0; r < kWidth; ++r) d[r] = LoadU(dy + r * L);
  for (int64_t k = runs.begin; k < runs.end; ++k) {
    const OrientedRun& run = g.runs[k];
    const T* src = base + run.offset;
    T* tap_sums = sums + int64_t{run.first_tap} * L;
    WithRunLength(
        run.length, [&](auto m) __attribute__((always_inline)) {
          RunGradient<T, decltype(m)::value, kWidth>(src, step, d, tap_sums);
        });
  }
}

// Lane sums of one work item: `fast` in the compute type, folded into the
// doubles `folded` every kMaxTermsPerFlush terms; tap j at j * L, the bias
// after the last tap.
template <typename T>
struct GradientSums {
  T* fast;
  double* folded;
  int64_t slots, terms;

  void Fold() {
    constexpr int L = Vec<T>::kLanes;
    for (int64_t i = 0; i < slots * L; ++i) folded[i] += fast[i];
    Zero(fast, slots * L);
    terms = 0;
  }
  // About to add `more` terms per lane.
  void Count(int64_t more) {
    if (terms + more > kMaxTermsPerFlush) Fold();
    terms += more;
  }
};

template <typename T, int kStride>
void GradientTiles(const OrientedBlockedPlan& p, const Pitches& pitch,
                   bool column, int64_t p0, int64_t rows,
                   const OrientedBlockGeometry& g, const T* x, const T* dy,
                   GradientSums<T>* sums) {
  const int64_t first = column ? 0 : p0;  // as in Tiles
  const int64_t extent = column ? p.src_w : p.src_h;
  const TileGrid<T> grid = TileGridOf(p, pitch, column, rows, x);
  if (grid.along <= kHalfTile) {
    for (int64_t c = 0; c < grid.across; ++c) {
      sums->Count(kHalfTile);
      GradientTile<T, kStride, kHalfTile>(
          grid.x0 + c * grid.x_across, p.stride, g,
          RunsInside(g, p.stride * (first + c), extent), dy + c * grid.o_across,
          sums->fast);
    }
    return;
  }
  // Always down the lines first: the sums' order stays that of every version.
  ForEachTile(p, pitch, column, false, rows, x,
              [&](const T* base, int64_t at, int64_t c) {
                sums->Count(kTile);
                GradientTile<T, kStride>(
                    base, p.stride, g,
                    RunsInside(g, p.stride * (first + c), extent), dy + at,
                    sums->fast);
              });
}

// dy rows [p0, p0 + rows) of image n of blocks [first, last) (channels-first:
// one block) into their O's (the first at o, then one every o_block
// elements; the inverse of NchwStorer / NhwcStorer), zeros where tiles run
// past the band's outputs; block k's sum goes to bias_sum[k].
template <typename S, typename T>
void StageGradient(const OrientedBlockedPlan& p, const S* dy, int64_t n,
                   int64_t first, int64_t last, int64_t p0, int64_t rows, T* o,
                   T* const* bias_sum) {
  constexpr int L = Vec<T>::kLanes;
  const int64_t Q = p.dst_w, C = p.channels;
  const int count = static_cast<int>(last - first);
  const OrientedBlock* blocks = p.blocks + first;
  bool column[kMaxBlocksPerItem];
  Pitches pitch[kMaxBlocksPerItem];
  Vec<T> total[kMaxBlocksPerItem];
  for (int k = 0; k < count; ++k) {
    column[k] = p.geometries[blocks[k].geometry].column_tiles;
    pitch[k] = PitchesOf(p, column[k]);
    total[k] = LoadU(bias_sum[k]);
  }
  auto at = [&](int k, int64_t i, int64_t j) {
    return o + k * p.o_block + (i * pitch[k].o_row + j * pitch[k].o_col) * L;
  };
  const bool whole_pair =
      count == 2 && blocks[0].channels == L && blocks[1].channels == L;
  if (p.nhwc && whole_pair) {
    // Each pixel's two lines in turn (see PackNhwc), each sum in a register of
    // its own: the loop below, indexing them by block, kept them in memory, a
    // store-to-load chain per pixel that cost all the pairing gained.
    Vec<T> total0 = total[0], total1 = total[1];
    for (int64_t i = 0; i < rows; ++i) {
      const S* row = dy + ((n * p.dst_h + p0 + i) * Q) * C;
      const S* from0 = row + blocks[0].c0;
      const S* from1 = row + blocks[1].c0;
      T* to0 = at(0, i, 0);
      T* to1 = at(1, i, 0);
      const int64_t next0 = pitch[0].o_col * L, next1 = pitch[1].o_col * L;
      for (int64_t q = 0; q < Q; ++q) {
        const Vec<T> v0 = LoadCvt(from0 + q * C);
        const Vec<T> v1 = LoadCvt(from1 + q * C);
        StoreU(to0 + q * next0, v0);
        StoreU(to1 + q * next1, v1);
        total0 = Add(total0, v0);
        total1 = Add(total1, v1);
      }
    }
    total[0] = total0;
    total[1] = total1;
  } else if (p.nhwc) {
    // Each pixel's blocks in turn: neighbouring lines (see PackNhwc).
    for (int64_t i = 0; i < rows; ++i) {
      const S* row = dy + ((n * p.dst_h + p0 + i) * Q) * C;
      for (int64_t q = 0; q < Q; ++q) {
        for (int k = 0; k < count; ++k) {
          const S* from = row + q * C + blocks[k].c0;
          const Vec<T> v =
              blocks[k].channels == L
                  ? LoadCvt(from)
                  : LoadCvtN(from, static_cast<int>(blocks[k].channels));
          StoreU(at(k, i, q), v);
          total[k] = Add(total[k], v);
        }
      }
    }
  } else {
    const int64_t plane = p.dst_h * Q;
    PixelCursor<T> to(o, pitch[0].o_row, pitch[0].o_col, Q);
    Vec<T> sum = total[0];
    ForEachPixelOfPlanes<T>(dy + (n * C + blocks[0].c0) * plane, plane,
                            blocks[0].channels, p0 * Q, (p0 + rows) * Q,
                            [&](const Vec<T>* v, int pixels) {
                              for (int j = 0; j < pixels; ++j)
                                sum = Add(sum, v[j]);
                              StorePixels(&to, v, pixels);
                            });
    total[0] = sum;
  }
  const Vec<T> zero = Set1(T(0));
  for (int k = 0; k < count; ++k) {
    StoreU(bias_sum[k], total[k]);
    if (column[k]) {
      for (int64_t i = rows; i < p.o_rows; ++i) {
        for (int64_t q = 0; q < Q; ++q) StoreU(at(k, i, q), zero);
      }
    } else {
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t q = Q; q < p.o_cols; ++q) StoreU(at(k, i, q), zero);
      }
    }
  }
}

// --- Work items --------------------------------------------------------------

// Where block k of a work item keeps its X of either layout.
template <typename T>
T* XOf(const OrientedBlockedPlan& p, char* scratch, int64_t k, bool column) {
  return reinterpret_cast<T*>(
      scratch + (column ? p.scratch_x_columns : p.scratch_x_rows) +
      k * p.x_block);
}

// X rows of blocks [first, last) (channels-first: one block), image n, for
// the band starting at output row p0, each into XOf(slot + k) for its
// layout: their rows readied, channels-last ones packed, channels-first ones
// through the packer returned (Finish packs them all at once).
template <typename S, typename T>
NchwPacker<T, S> StartPackBand(const OrientedBlockedPlan& p, char* scratch,
                               const S* src, int64_t n, int64_t first,
                               int64_t last, int64_t p0, int64_t slot) {
  ScratchHeader* header = reinterpret_cast<ScratchHeader*>(scratch);
  // X row u holds source row first_row + u.
  const int64_t first_row = p.stride * p0 - p.pad_top;
  const int64_t h_lo = Max64(0, first_row);
  const int64_t h_hi = Min64(p.src_h, first_row + p.x_rows);
  const int64_t u_lo = h_lo - first_row;
  const int64_t u_hi = Max64(u_lo, h_hi - first_row);
  const int count = static_cast<int>(last - first);
  Pitches pitch[kMaxBlocksPerItem];
  T* x[kMaxBlocksPerItem];
  for (int k = 0; k < count; ++k) {
    const bool column = p.geometries[p.blocks[first + k].geometry].column_tiles;
    pitch[k] = PitchesOf(p, column);
    x[k] = XOf<T>(p, scratch, slot + k, column);
    PrepareRows(p, pitch[k], header, 2 * (slot + k) + (column ? 1 : 0), x[k],
                u_lo, u_hi);
  }
  if (h_lo >= h_hi) return {};
  if (p.nhwc) {
    PackNhwc(p, pitch, p.blocks + first, count, src, n, h_lo, h_hi, u_lo, x);
    return {};
  }
  const OrientedBlock& block = p.blocks[first];
  return NchwPacker<T, S>(p, pitch[0], src, n, block.c0, block.channels, h_lo,
                          h_hi, u_lo, x[0]);
}

template <typename S, typename T>
void PackBand(const OrientedBlockedPlan& p, char* scratch, const S* src,
              int64_t n, int64_t first, int64_t last, int64_t p0) {
  StartPackBand<S, T>(p, scratch, src, n, first, last, p0, 0).Finish();
}

// The image, blocks and output rows of a forward or input-gradient item.
struct ItemSpan {
  int64_t n, first_block, last_block, p0, rows;
};
inline ItemSpan SpanOf(const OrientedBlockedPlan& p, int64_t item) {
  const int64_t groups =
      (p.num_blocks + p.blocks_per_item - 1) / p.blocks_per_item;
  const int64_t band = item % p.num_bands;
  const int64_t first_block = (item / p.num_bands) % groups * p.blocks_per_item;
  const int64_t p0 = band * p.band_rows;
  return ItemSpan{item / p.num_bands / groups, first_block,
                  Min64(p.num_blocks, first_block + p.blocks_per_item), p0,
                  Min64(p.band_rows, p.dst_h - p0)};
}

// The tiles of a band of `rows` output rows (see ForEachTile).
inline int64_t TilesOf(const OrientedBlockedPlan& p, bool column,
                       int64_t rows) {
  const int64_t along = column ? rows : p.dst_w;
  const int64_t across = column ? p.dst_w : rows;
  if (along <= kHalfTile) return (across + 1) / 2;
  return (along + kTile - 1) / kTile * across;
}

// Forward and stride-1 input gradient, storing through Storer (NchwStorer or
// NhwcStorer). An item's blocks are packed and computed one after the other
// into their O's, then stored together. With defer_store, an item's outputs
// are stored during the next item's tiles (O is double-buffered), and with
// pack_ahead the next item's X is packed during the current one's (X is
// double-buffered too): memory traffic and arithmetic overlap instead of
// taking turns, a pixel group of each between consecutive tiles.
template <typename S, typename T, typename Storer>
void ConvItemsStoringWith(const OrientedBlockedPlan& p, WorkQueue* items,
                          char* bytes) {
  const S* src = static_cast<const S*>(p.src);
  S* dst = static_cast<S*>(p.dst);
  T* o_sets[2] = {reinterpret_cast<T*>(bytes + p.scratch_o),
                  reinterpret_cast<T*>(bytes + p.scratch_o_next)};
  int which = 0;
  Storer pending;  // the previous item's outputs, still to store
  // With pack_ahead, items alternate between two X slots; the next item is
  // taken before this one runs, so that its X can be packed during this
  // one's tiles.
  int64_t slot = 0;
  NchwPacker<T, S> ahead_pack;
  bool packed_ahead = false;
  WorkCursor cursor(items);
  for (int64_t item = cursor.Next(), next; item >= 0; item = next) {
    next = cursor.Next();
    const ItemSpan span = SpanOf(p, item);
    const int64_t first_block = span.first_block, last_block = span.last_block;
    const int64_t n = span.n, p0 = span.p0, rows = span.rows;
    T* o = o_sets[which];
    // The previous item's stores are spread over all of this item's tiles.
    int64_t tiles_left = 0;
    for (int64_t b = first_block; b < last_block; ++b) {
      tiles_left +=
          TilesOf(p, p.geometries[p.blocks[b].geometry].column_tiles, rows);
    }
    const int64_t store_per_tile =
        (pending.GroupsLeft() + tiles_left - 1) / tiles_left;
    if (packed_ahead) {
      ahead_pack.Finish();
    } else {
      StartPackBand<S, T>(p, bytes, src, n, first_block, last_block, p0, slot)
          .Finish();
    }
    packed_ahead = p.pack_ahead && next >= 0;
    int64_t pack_per_tile = 0;
    if (packed_ahead) {
      const ItemSpan to = SpanOf(p, next);
      ahead_pack = StartPackBand<S, T>(p, bytes, src, to.n, to.first_block,
                                       to.last_block, to.p0, slot ^ 1);
      pack_per_tile = (ahead_pack.GroupsLeft() + tiles_left - 1) / tiles_left;
    }
    for (int64_t b = first_block; b < last_block; ++b) {
      const OrientedBlock& block = p.blocks[b];
      const OrientedBlockGeometry& g = p.geometries[block.geometry];
      const bool column = g.column_tiles;
      const Pitches pitch = PitchesOf(p, column);
      const T* x = XOf<T>(p, bytes, slot + b - first_block, column);
      T* ob = o + (b - first_block) * p.o_block;
      const T* weights = static_cast<const T*>(block.weights);
      const T* bias = static_cast<const T*>(block.bias);
      auto between = [&] {
        ahead_pack.Step(pack_per_tile);
        pending.Step(store_per_tile);
      };
      if (g.diagonal != 0) {
        DiagonalTiles(p, pitch, p0, rows, g, weights, bias, x, ob, between);
      } else {
        switch (p.stride) {
          case 1:
            Tiles<T, 1>(p, pitch, column, p0, rows, g, weights, bias, x, ob,
                        between);
            break;
          case 2:
            Tiles<T, 2>(p, pitch, column, p0, rows, g, weights, bias, x, ob,
                        between);
            break;
          default:
            Tiles<T, 0>(p, pitch, column, p0, rows, g, weights, bias, x, ob,
                        between);
            break;
        }
      }
    }
    pending.Finish();
    Storer stored(p, o, n, first_block, p0, rows, dst);
    if (p.defer_store) {
      pending = stored;
      which ^= 1;
    } else {
      stored.Finish();
    }
    if (p.pack_ahead) slot ^= 1;
  }
  pending.Finish();
  if (p.stream_output) StreamFence();
}

template <typename S, typename T>
void ConvItems(const OrientedBlockedPlan& p, WorkQueue* items, char* bytes) {
  if (p.nhwc) {
    ConvItemsStoringWith<S, T, NhwcStorer<T, S>>(p, items, bytes);
  } else {
    ConvItemsStoringWith<S, T, NchwStorer<T, S>>(p, items, bytes);
  }
}

// Weight gradient: an item's blocks are staged and packed together, image
// by image and band by band, each block summing its own products.
template <typename S, typename T>
void GradientItems(const OrientedBlockedPlan& p, WorkQueue* items,
                   char* bytes) {
  constexpr int L = Vec<T>::kLanes;
  const S* src = static_cast<const S*>(p.src);
  const S* dy = static_cast<const S*>(p.dy);
  T* o = reinterpret_cast<T*>(bytes + p.scratch_o);
  const int64_t slots = p.max_taps + 1;  // the taps, then the bias
  WorkCursor cursor(items);
  for (int64_t item = cursor.Next(); item >= 0; item = cursor.Next()) {
    const int64_t part = item % p.batch_parts;
    const int64_t first = item / p.batch_parts * p.blocks_per_item;
    const int64_t last = Min64(p.num_blocks, first + p.blocks_per_item);
    const int count = static_cast<int>(last - first);
    GradientSums<T> sums[kMaxBlocksPerItem];
    T* bias_sum[kMaxBlocksPerItem];
    for (int k = 0; k < count; ++k) {
      char* at = bytes + p.scratch_sums + k * p.sums_block;
      sums[k] = GradientSums<T>{
          reinterpret_cast<T*>(at),
          reinterpret_cast<double*>(at + slots * L * sizeof(T)), slots, 0};
      Zero(sums[k].fast, slots * L);
      for (int64_t i = 0; i < slots * L; ++i) sums[k].folded[i] = 0.0;
      bias_sum[k] = sums[k].fast + p.max_taps * L;
    }
    const int64_t n0 = part * p.batch_per_part;
    const int64_t n1 = Min64(p.batch, n0 + p.batch_per_part);
    for (int64_t n = n0; n < n1; ++n) {
      for (int64_t band = 0; band < p.num_bands; ++band) {
        const int64_t p0 = band * p.band_rows;
        const int64_t rows = Min64(p.band_rows, p.dst_h - p0);
        // The bias sum takes rows * Q terms per lane.
        for (int k = 0; k < count; ++k) sums[k].Count(rows * p.dst_w);
        StageGradient(p, dy, n, first, last, p0, rows, o, bias_sum);
        if (p.dweight_partial == nullptr) continue;
        PackBand<S, T>(p, bytes, src, n, first, last, p0);
        for (int k = 0; k < count; ++k) {
          const OrientedBlockGeometry& g =
              p.geometries[p.blocks[first + k].geometry];
          const bool column = g.column_tiles;
          const Pitches pitch = PitchesOf(p, column);
          const T* x = XOf<T>(p, bytes, k, column);
          const T* d = o + k * p.o_block;
          switch (p.stride) {
            case 1:
              GradientTiles<T, 1>(p, pitch, column, p0, rows, g, x, d,
                                  &sums[k]);
              break;
            case 2:
              GradientTiles<T, 2>(p, pitch, column, p0, rows, g, x, d,
                                  &sums[k]);
              break;
            default:
              GradientTiles<T, 0>(p, pitch, column, p0, rows, g, x, d,
                                  &sums[k]);
              break;
          }
        }
      }
    }
    for (int k = 0; k < count; ++k) {
      const OrientedBlock& block = p.blocks[first + k];
      const OrientedBlockGeometry& g = p.geometries[block.geometry];
      sums[k].Fold();
      for (int64_t lane = 0; lane < block.channels; ++lane) {
        const int64_t c = block.c0 + lane;
        if (p.dweight_partial != nullptr) {
          double* to = p.dweight_partial + part * p.total_taps +
                       block.tap_base + lane * g.taps;
          for (int64_t j = 0; j < g.taps; ++j)
            to[g.tap_index[j]] = sums[k].folded[j * L + lane];
        }
        if (p.dbias_partial != nullptr) {
          p.dbias_partial[part * p.channels + c] =
              sums[k].folded[p.max_taps * L + lane];
        }
      }
    }
  }
}

template <typename S, typename T>
void Items(const OrientedBlockedPlan& p, WorkQueue* items, void* scratch) {
  char* bytes = static_cast<char*>(scratch);
  PrepareScratch<T>(p, bytes);
  if (p.weight_gradient) {
    GradientItems<S, T>(p, items, bytes);
  } else {
    ConvItems<S, T>(p, items, bytes);
  }
}

inline void Run(const OrientedBlockedPlan& plan, WorkQueue* items,
                void* scratch) {
  switch (plan.storage) {
    case OrientedStorage::kF32:
      return Items<float, float>(plan, items, scratch);
    case OrientedStorage::kF64:
      return Items<double, double>(plan, items, scratch);
    case OrientedStorage::kBF16:
      return Items<uint16_t, float>(plan, items, scratch);
  }
}

constexpr int LanesOrNone(int lanes) { return lanes >= kMinLanes ? lanes : 0; }

}  // namespace oriented_blocked_internal

// The table oriented_kernels_<isa>.cc exports (constexpr: no static
// initialiser compiled with this ISA's flags).
constexpr OrientedBlockedKernelTable kOrientedBlockedKernelTable{
    oriented_blocked_internal::LanesOrNone(Vec<float>::kLanes),
    oriented_blocked_internal::LanesOrNone(Vec<double>::kLanes),
    oriented_blocked_internal::kTile, oriented_blocked_internal::kMaxRun,
    &oriented_blocked_internal::Run};

}  // namespace tapconv::cpu::TAPCONV_SIMD_NS

#endif  // TAPCONV_BACKENDS_CPU_ORIENTED_BLOCKED_KERNELS_IMPL_H_
