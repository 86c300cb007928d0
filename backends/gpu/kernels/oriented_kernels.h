#ifndef TAPCONV_BACKENDS_GPU_KERNELS_ORIENTED_KERNELS_H_
#define TAPCONV_BACKENDS_GPU_KERNELS_ORIENTED_KERNELS_H_

// Oriented 1D depthwise conv kernels (docs/ops.md#oriented-conv). The tap
// geometry always comes from ops/geometry/oriented_taps.h
// (OrientedTapOffset), evaluated on the device from theta in device memory, so
// no launch waits for a device-to-host copy of the angles.
//
// Non-finite angles: the host backends reject them (ValidateOrientedAngles);
// reading theta on the host here would synchronise the stream, so instead the
// tap table marks such a channel invalid and every kernel writes NaN to that
// channel's outputs (y, dx, dweight; dbias stays exact). docs/gpu.md.

#include <cfloat>
#include <climits>
#include <cmath>
#include <cstdint>

#include "backends/gpu/kernels/common.h"
#include "backends/gpu/portability.h"
#include "ops/geometry/oriented_taps.h"

namespace tapconv::gpu {

// Tap table of one call, in device memory. Tap-major ([k * C + c]) so that
// channel-parallel threads (NHWC) read it coalesced.
template <typename A>
struct OrientedTapTable {
  int32_t* dh;     // [K * C], dilation applied
  int32_t* dw;     // [K * C]
  A* weight;       // [K * C], residual folded in; null when not needed
  int32_t* bbox;   // [C * 4]: min dh, max dh, min dw, max dw
  int32_t* valid;  // [C]: 0 when theta[c] is not finite (or beyond float)
};

TAPCONV_GPU_FN bool AngleIsUsable(double theta) {
  return theta == theta && theta <= static_cast<double>(FLT_MAX) &&
         theta >= -static_cast<double>(FLT_MAX);
}

// One tile per channel: offsets and weights of its K taps, then the bounding
// box of the offsets (which tiled kernels use to load only the rows and columns
// the channel's line touches).
template <typename T>
struct OrientedTapTableKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 2;
  OrientedTapTable<A> table;
  const void* theta;
  bool theta_is_f64;
  const T* weight;  // (C, 1, 1, K); null when only offsets are needed
  bool residual;
  TapRule rule;
  int64_t channels, taps, dilation;
  int threads;

  TAPCONV_GPU_FN size_t SharedBytes() const {
    return static_cast<size_t>(threads) * 16;
  }
  TAPCONV_GPU_FN int64_t tiles() const { return channels; }

  TAPCONV_GPU_FN void Phase(int phase, int64_t c, int thread,
                            unsigned char* smem) const {
    int32_t* box = At<int32_t>(smem, 0);  // [threads][4]
    const double angle =
        theta_is_f64 ? static_cast<const double*>(theta)[c]
                     : static_cast<double>(static_cast<const float*>(theta)[c]);
    const bool usable = AngleIsUsable(angle);
    if (phase == 0) {
      int32_t lo_h = INT_MAX, hi_h = INT_MIN, lo_w = INT_MAX, hi_w = INT_MIN;
      const int half = static_cast<int>(taps / 2);
      for (int64_t k = thread; k < taps; k += threads) {
        TapOffset o{0, 0};
        if (usable)
          o = OrientedTapOffset(angle, static_cast<int>(k) - half, rule);
        const int32_t dh = static_cast<int32_t>(o.dh * dilation);
        const int32_t dw = static_cast<int32_t>(o.dw * dilation);
        table.dh[k * channels + c] = dh;
        table.dw[k * channels + c] = dw;
        if (table.weight != nullptr) {
          A w = Load(weight, c * taps + k);
          if (residual && k == half) w += A(1);
          table.weight[k * channels + c] = w;
        }
        lo_h = Min(lo_h, dh);
        hi_h = Max(hi_h, dh);
        lo_w = Min(lo_w, dw);
        hi_w = Max(hi_w, dw);
      }
      box[4 * thread + 0] = lo_h;
      box[4 * thread + 1] = hi_h;
      box[4 * thread + 2] = lo_w;
      box[4 * thread + 3] = hi_w;
      return;
    }
    if (thread != 0) return;
    int32_t lo_h = INT_MAX, hi_h = INT_MIN, lo_w = INT_MAX, hi_w = INT_MIN;
    for (int t = 0; t < threads; ++t) {
      lo_h = Min(lo_h, box[4 * t + 0]);
      hi_h = Max(hi_h, box[4 * t + 1]);
      lo_w = Min(lo_w, box[4 * t + 2]);
      hi_w = Max(hi_w, box[4 * t + 3]);
    }
    if (!usable || taps == 0) lo_h = hi_h = lo_w = hi_w = 0;
    table.bbox[4 * c + 0] = lo_h;
    table.bbox[4 * c + 1] = hi_h;
    table.bbox[4 * c + 2] = lo_w;
    table.bbox[4 * c + 3] = hi_w;
    table.valid[c] = usable ? 1 : 0;
  }
};

// ---------------------------------------------------------------------------
// Tiled correlation over NCHW planes, shared by the forward and, through its
// phase decomposition, the backward input:
//
//   forward:        y[n, c, a, b] = bias[c] + sum_k w_k x[n, c, s a + dh_k, s b
//   + dw_k] backward input: for each phase (ph, pw) in [0, s)^2, the dx pixels
//                   (s a + ph, s b + pw) receive
//                   sum over taps with dh_k = ph, dw_k = pw (mod s) of
//                   w_k dy[n, c, a - (dh_k - ph)/s, b - (dw_k - pw)/s]
//                   -- a stride-1 correlation on the dy grid with only the taps
//                   of that phase, so no tap iteration is wasted on the stride.
//
// A tile is (n, c, phase, a-tile, b-tile) of TH x TW grid points. Phases:
//   0: tap flags and raw offsets to smem; the input region the channel's taps
//      touch (its angle-aware bounding box around the tile) to smem, zeros
//      outside the image;
//   1: compaction of the selected taps into a list (deterministic order);
//   2: every thread accumulates up to kMaxOutputsPerThread outputs from smem
//      and stores them.
template <typename T>
struct OrientedCorrTiledKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 3;

  const T* in;    // x (forward) or dy (backward input)
  T* out;         // y or dx
  const T* bias;  // forward only; may be null
  OrientedTapTable<A> table;
  bool backward;
  int64_t batch, channels;
  int64_t in_h, in_w;    // plane read
  int64_t out_h, out_w;  // plane written
  int64_t stride;        // the op's stride s
  int64_t taps;
  int64_t phases_h, phases_w;  // 1 forward; min(s, H), min(s, W) backward
  int64_t tile_h, tile_w, tiles_h, tiles_w;
  int64_t alloc_rows, alloc_cols;  // region buffer (pitch = alloc_cols)
  int threads;

  struct Layout {
    size_t region, flags, raw_off, raw_w, list_off, list_w, count, bytes;
  };
  TAPCONV_GPU_FN Layout SharedLayoutOf() const {
    SharedLayout s;
    Layout l;
    l.region = s.Take<A>(alloc_rows * alloc_cols);
    l.raw_w = s.Take<A>(taps);
    l.list_w = s.Take<A>(taps);
    l.flags = s.Take<int32_t>(taps);
    l.raw_off = s.Take<int32_t>(taps);
    l.list_off = s.Take<int32_t>(taps);
    l.count = s.Take<int32_t>(1);
    l.bytes = s.bytes;
    return l;
  }
  TAPCONV_GPU_FN size_t SharedBytes() const { return SharedLayoutOf().bytes; }
  TAPCONV_GPU_FN int64_t tiles() const {
    return batch * channels * phases_h * phases_w * tiles_h * tiles_w;
  }
  // Input stride of the grid (s forward, 1 on the dy grid backward) and output
  // stride (1 forward, s backward).
  TAPCONV_GPU_FN int64_t in_step() const { return backward ? 1 : stride; }
  TAPCONV_GPU_FN int64_t out_step() const { return backward ? stride : 1; }

  struct Tile {
    int64_t n, c, ph, pw, a0, b0, rows, cols;  // rows x cols valid grid points
    int64_t oh_min, oh_max, ow_min, ow_max;    // offsets' bounding box
    int64_t region_rows, region_cols;          // input region the taps read
    bool valid;
  };

  TAPCONV_GPU_FN Tile TileOf(int64_t t) const {
    Tile tile;
    const int64_t tb = t % tiles_w;
    t /= tiles_w;
    const int64_t ta = t % tiles_h;
    t /= tiles_h;
    tile.pw = t % phases_w;
    t /= phases_w;
    tile.ph = t % phases_h;
    t /= phases_h;
    tile.c = t % channels;
    tile.n = t / channels;
    tile.a0 = ta * tile_h;
    tile.b0 = tb * tile_w;
    const int64_t so = out_step();
    const int64_t grid_h = out_h > tile.ph ? (out_h - tile.ph - 1) / so + 1 : 0;
    const int64_t grid_w = out_w > tile.pw ? (out_w - tile.pw - 1) / so + 1 : 0;
    tile.rows = Max<int64_t>(0, Min(tile_h, grid_h - tile.a0));
    tile.cols = Max<int64_t>(0, Min(tile_w, grid_w - tile.b0));
    tile.valid = table.valid[tile.c] != 0;
    const int32_t* box = table.bbox + 4 * tile.c;
    if (!backward) {
      tile.oh_min = box[0];
      tile.oh_max = box[1];
      tile.ow_min = box[2];
      tile.ow_max = box[3];
    } else {
      // Offsets on the dy grid are -(dh - ph) / s for the phase's taps.
      tile.oh_min = -FloorDiv(box[1] - tile.ph, stride);
      tile.oh_max = -FloorDiv(box[0] - tile.ph, stride);
      tile.ow_min = -FloorDiv(box[3] - tile.pw, stride);
      tile.ow_max = -FloorDiv(box[2] - tile.pw, stride);
    }
    const int64_t si = in_step();
    tile.region_rows = si * (tile.rows - 1) + 1 + tile.oh_max - tile.oh_min;
    tile.region_cols = si * (tile.cols - 1) + 1 + tile.ow_max - tile.ow_min;
    // The planner sizes the buffer for the worst angle, so this never fails;
    // if it did, the tile reports NaN instead of writing past shared memory.
    if (tile.region_rows > alloc_rows || tile.region_cols > alloc_cols)
      tile.valid = false;
    return tile;
  }

  TAPCONV_GPU_FN void Phase(int phase, int64_t t, int thread,
                            unsigned char* smem) const {
    const Tile tile = TileOf(t);
    if (tile.rows == 0 || tile.cols == 0) return;
    const Layout l = SharedLayoutOf();
    A* region = At<A>(smem, l.region);
    A* raw_w = At<A>(smem, l.raw_w);
    A* list_w = At<A>(smem, l.list_w);
    int32_t* flags = At<int32_t>(smem, l.flags);
    int32_t* raw_off = At<int32_t>(smem, l.raw_off);
    int32_t* list_off = At<int32_t>(smem, l.list_off);
    int32_t* count = At<int32_t>(smem, l.count);
    const int64_t si = in_step();
    const int64_t pitch = alloc_cols;
    if (phase == 0) {
      for (int64_t k = thread; k < taps; k += threads) {
        const int64_t dh = table.dh[k * channels + tile.c];
        const int64_t dw = table.dw[k * channels + tile.c];
        bool selected = tile.valid;
        int64_t oh = dh, ow = dw;
        if (backward) {
          selected = selected && PositiveMod(dh, stride) == tile.ph &&
                     PositiveMod(dw, stride) == tile.pw;
          oh = -FloorDiv(dh - tile.ph, stride);
          ow = -FloorDiv(dw - tile.pw, stride);
        }
        flags[k] = selected ? 1 : 0;
        raw_off[k] = selected
                         ? static_cast<int32_t>((oh - tile.oh_min) * pitch +
                                                ow - tile.ow_min)
                         : 0;
        raw_w[k] = table.weight[k * channels + tile.c];
      }
      if (!tile.valid) return;
      const int64_t rows = tile.region_rows, cols = tile.region_cols;
      const int64_t r0 = si * tile.a0 + tile.oh_min;
      const int64_t c0 = si * tile.b0 + tile.ow_min;
      const int64_t plane = (tile.n * channels + tile.c) * in_h * in_w;
      // Walk the region row-major with a carried (r, cc) instead of a division
      // per element.
      int64_t r = thread / cols, cc = thread % cols;
      const int64_t dr = threads / cols, dc = threads % cols;
      while (r < rows) {
        const int64_t gh = r0 + r, gw = c0 + cc;
        A v = A(0);
        if (gh >= 0 && gh < in_h && gw >= 0 && gw < in_w)
          v = Load(in, plane + gh * in_w + gw);
        region[r * pitch + cc] = v;
        cc += dc;
        r += dr;
        if (cc >= cols) {
          cc -= cols;
          ++r;
        }
      }
      return;
    }
    if (phase == 1) {
      for (int64_t k = thread; k < taps; k += threads) {
        int32_t rank = 0;
        for (int64_t j = 0; j < k; ++j) rank += flags[j];
        if (flags[k]) {
          list_off[rank] = raw_off[k];
          list_w[rank] = raw_w[k];
        }
        if (k == taps - 1) *count = rank + flags[k];
      }
      return;
    }
    // Phase 2: outputs m = thread + u * threads of the tile.
    const int64_t m_count = tile.rows * tile.cols;
    const int64_t per_thread = (m_count + threads - 1) / threads;
    // Shared-memory indices fit 32 bits (the buffer is below the device's
    // shared memory size); 32-bit registers halve the register footprint.
    int32_t base[kMaxOutputsPerThread];
    A acc[kMaxOutputsPerThread];
    const A init = (!backward && bias != nullptr) ? Load(bias, tile.c) : A(0);
    TAPCONV_GPU_UNROLL
    for (int u = 0; u < kMaxOutputsPerThread; ++u) {
      const int64_t m = thread + static_cast<int64_t>(u) * threads;
      base[u] = 0;
      if (u < per_thread && m < m_count)
        base[u] = static_cast<int32_t>(si * (m / tile.cols) * pitch +
                                       si * (m % tile.cols));
      acc[u] = init;
    }
    const int32_t n_taps = tile.valid ? *count : 0;
    for (int32_t e = 0; e < n_taps; ++e) {
      const int32_t off = list_off[e];
      const A w = list_w[e];
      TAPCONV_GPU_UNROLL
      for (int u = 0; u < kMaxOutputsPerThread; ++u) {
        if (u < per_thread) acc[u] += w * region[base[u] + off];
      }
    }
    const int64_t so = out_step();
    const int64_t out_plane = (tile.n * channels + tile.c) * out_h * out_w;
    TAPCONV_GPU_UNROLL
    for (int u = 0; u < kMaxOutputsPerThread; ++u) {
      const int64_t m = thread + static_cast<int64_t>(u) * threads;
      if (u >= per_thread || m >= m_count) continue;
      const int64_t oh = so * (tile.a0 + m / tile.cols) + tile.ph;
      const int64_t ow = so * (tile.b0 + m % tile.cols) + tile.pw;
      Store(out, out_plane + oh * out_w + ow,
            tile.valid ? acc[u] : QuietNaN<A>());
    }
  }
};

// Flat index of (n, c, h, w) in a contiguous activation.
struct ActivationIndexer {
  bool nhwc;
  int64_t channels, height, width;
  TAPCONV_GPU_FN int64_t operator()(int64_t n, int64_t c, int64_t h,
                                    int64_t w) const {
    return nhwc ? ((n * height + h) * width + w) * channels + c
                : ((n * channels + c) * height + h) * width + w;
  }
  // Inverse: the coordinates of flat index i.
  TAPCONV_GPU_FN void Split(int64_t i, int64_t* n, int64_t* c, int64_t* h,
                            int64_t* w) const {
    if (nhwc) {
      *c = i % channels;
      i /= channels;
      *w = i % width;
      i /= width;
      *h = i % height;
      *n = i / height;
    } else {
      *w = i % width;
      i /= width;
      *h = i % height;
      i /= height;
      *c = i % channels;
      *n = i / channels;
    }
  }
};

// One output per thread, any layout, any size, stride and K: the NHWC path
// (threads of a warp are consecutive channels, so loads and stores coalesce)
// and the fallback when a tile would not fit in shared memory.
template <typename T>
struct OrientedCorrDirectBody {
  using A = Acc<T>;
  const T* in;
  T* out;
  const T* bias;
  OrientedTapTable<A> table;
  bool backward;
  ActivationIndexer in_index, out_index;
  int64_t stride, taps;

  TAPCONV_GPU_FN void operator()(int64_t i) const {
    int64_t n, c, a, b;
    out_index.Split(i, &n, &c, &a, &b);
    const int64_t channels = out_index.channels;
    if (table.valid[c] == 0) {
      Store(out, i, QuietNaN<A>());
      return;
    }
    A acc = (!backward && bias != nullptr) ? Load(bias, c) : A(0);
    for (int64_t k = 0; k < taps; ++k) {
      const int64_t dh = table.dh[k * channels + c];
      const int64_t dw = table.dw[k * channels + c];
      int64_t h, w;
      if (!backward) {
        h = stride * a + dh;
        w = stride * b + dw;
      } else {
        const int64_t th = a - dh, tw = b - dw;
        if (th < 0 || tw < 0 || th % stride != 0 || tw % stride != 0) continue;
        h = th / stride;
        w = tw / stride;
      }
      if (h < 0 || h >= in_index.height || w < 0 || w >= in_index.width)
        continue;
      acc += table.weight[k * channels + c] * Load(in, in_index(n, c, h, w));
    }
    Store(out, i, acc);
  }
};

// Where the partial sums of the parameter gradients go: row r of a
// (rows x (C*K + C)) matrix, weight item (c, k) at column c*K + k, bias item
// c at column C*K + c. ReducePartialsKernel then sums the rows.
TAPCONV_GPU_FN int64_t ParamColumn(int64_t c, int64_t item, int64_t channels,
                                   int64_t taps) {
  return item < taps ? c * taps + item : channels * taps + c;
}

// Tiled parameter gradients over NCHW: a tile is (n, c, output tile). Items are
// the K taps and the bias; each item is split into J slices of the tile's
// outputs (J = threads / (K + 1)), summed in a fixed order.
//   0: tap offsets, the x region (as in the forward) and the dy tile to smem;
//   1: each (item, slice) sums its outputs;
//   2: each item sums its slices and writes one partial row entry.
template <typename T>
struct OrientedParamsTiledKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 3;
  const T* x;
  const T* dy;
  OrientedTapTable<A> table;
  A* partials;
  int64_t batch, channels, in_h, in_w, out_h, out_w, stride, taps;
  int64_t tile_h, tile_w, tiles_h, tiles_w;
  int64_t alloc_rows, alloc_cols;
  int threads;

  TAPCONV_GPU_FN int64_t items() const { return taps + 1; }
  TAPCONV_GPU_FN int64_t slices() const {
    return items() <= threads ? threads / items() : 1;
  }
  struct Layout {
    size_t region, dy, sums, off, bytes;
  };
  TAPCONV_GPU_FN Layout SharedLayoutOf() const {
    SharedLayout s;
    Layout l;
    l.region = s.Take<A>(alloc_rows * alloc_cols);
    l.dy = s.Take<A>(tile_h * tile_w);
    l.sums = s.Take<A>(items() * slices());
    l.off = s.Take<int32_t>(taps);
    l.bytes = s.bytes;
    return l;
  }
  TAPCONV_GPU_FN size_t SharedBytes() const { return SharedLayoutOf().bytes; }
  TAPCONV_GPU_FN int64_t tiles() const {
    return batch * channels * tiles_h * tiles_w;
  }
  TAPCONV_GPU_FN int64_t rows() const { return batch * tiles_h * tiles_w; }

  TAPCONV_GPU_FN void Phase(int phase, int64_t t, int thread,
                            unsigned char* smem) const {
    const int64_t tb = t % tiles_w;
    int64_t rest = t / tiles_w;
    const int64_t ta = rest % tiles_h;
    rest /= tiles_h;
    const int64_t c = rest % channels;
    const int64_t n = rest / channels;
    const int64_t a0 = ta * tile_h, b0 = tb * tile_w;
    const int64_t rows_valid = Min(tile_h, out_h - a0);
    const int64_t cols_valid = Min(tile_w, out_w - b0);
    const int64_t m_count = rows_valid * cols_valid;
    const int32_t* box = table.bbox + 4 * c;
    const int64_t rows = stride * (rows_valid - 1) + 1 + box[1] - box[0];
    const int64_t cols = stride * (cols_valid - 1) + 1 + box[3] - box[2];
    // Always true (the buffer is sized for the worst angle); NaN otherwise.
    const bool fits = rows <= alloc_rows && cols <= alloc_cols;
    const bool valid = table.valid[c] != 0 && fits;
    const int64_t pitch = alloc_cols;
    const Layout l = SharedLayoutOf();
    A* region = At<A>(smem, l.region);
    A* dy_tile = At<A>(smem, l.dy);
    A* sums = At<A>(smem, l.sums);
    int32_t* off = At<int32_t>(smem, l.off);
    const int64_t n_items = items(), n_slices = slices();
    if (phase == 0) {
      for (int64_t k = thread; k < taps; k += threads) {
        off[k] = valid ? static_cast<int32_t>(
                             (table.dh[k * channels + c] - box[0]) * pitch +
                             table.dw[k * channels + c] - box[2])
                       : 0;
      }
      const int64_t r0 = stride * a0 + box[0], c0 = stride * b0 + box[2];
      const int64_t x_plane = (n * channels + c) * in_h * in_w;
      for (int64_t i = thread; valid && i < rows * cols; i += threads) {
        const int64_t r = i / cols, cc = i % cols;
        const int64_t gh = r0 + r, gw = c0 + cc;
        A v = A(0);
        if (gh >= 0 && gh < in_h && gw >= 0 && gw < in_w)
          v = Load(x, x_plane + gh * in_w + gw);
        region[r * pitch + cc] = v;
      }
      const int64_t dy_plane = (n * channels + c) * out_h * out_w;
      for (int64_t m = thread; m < m_count; m += threads) {
        const int64_t i = m / cols_valid, j = m % cols_valid;
        dy_tile[m] = Load(dy, dy_plane + (a0 + i) * out_w + b0 + j);
      }
      return;
    }
    if (phase == 1) {
      for (int64_t u = thread; u < n_items * n_slices; u += threads) {
        const int64_t item = u % n_items, slice = u / n_items;
        A acc = A(0);
        if (m_count > slice && (valid || item == taps)) {
          const int32_t o = item < taps ? off[item] : 0;
          // Carried (i, j) of output m, stepping m by n_slices.
          int64_t i = slice / cols_valid, j = slice % cols_valid;
          const int64_t di = n_slices / cols_valid, dj = n_slices % cols_valid;
          for (int64_t m = slice; m < m_count; m += n_slices) {
            const A g = dy_tile[m];
            acc += item < taps ? g * region[stride * i * pitch + stride * j + o]
                               : g;
            j += dj;
            i += di;
            if (j >= cols_valid) {
              j -= cols_valid;
              ++i;
            }
          }
        }
        sums[u] = acc;
      }
      return;
    }
    const int64_t row = (n * tiles_h + ta) * tiles_w + tb;
    const int64_t columns = channels * (taps + 1);
    for (int64_t item = thread; item < n_items; item += threads) {
      A acc = A(0);
      for (int64_t s = 0; s < n_slices; ++s) acc += sums[s * n_items + item];
      if (!valid && item < taps) acc = QuietNaN<A>();
      partials[row * columns + ParamColumn(c, item, channels, taps)] = acc;
    }
  }
};

// Parameter gradient partials without shared memory, any layout: a tile is
// (chunk of `chunk` consecutive outputs (n, p, q), group of `group_channels`
// channels); thread (channel in group, slice) sums items slice, slice + G, ...
// over the chunk. Channels are the fast thread index: coalesced for NHWC.
template <typename T>
struct OrientedParamsDirectKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 1;
  const T* x;
  const T* dy;
  OrientedTapTable<A> table;
  A* partials;
  ActivationIndexer x_index, dy_index;
  int64_t batch, stride, taps;
  int64_t chunk, chunks;           // outputs (n, p, q) per row of partials
  int64_t group_channels, groups;  // channels per tile, tiles per chunk
  int threads;

  TAPCONV_GPU_FN int64_t tiles() const { return chunks * groups; }
  TAPCONV_GPU_FN int64_t rows() const { return chunks; }

  TAPCONV_GPU_FN void Phase(int, int64_t t, int thread, unsigned char*) const {
    const int64_t group = t % groups;
    const int64_t r = t / groups;
    const int64_t channels = x_index.channels;
    const int64_t c = group * group_channels + thread % group_channels;
    const int64_t slice = thread / group_channels;
    const int64_t n_slices = threads / group_channels;
    if (c >= channels || slice >= n_slices) return;
    const int64_t out_h = dy_index.height, out_w = dy_index.width;
    const int64_t m_begin = r * chunk;
    const int64_t m_end = Min(m_begin + chunk, batch * out_h * out_w);
    const bool valid = table.valid[c] != 0;
    const int64_t columns = channels * (taps + 1);
    for (int64_t item = slice; item <= taps; item += n_slices) {
      A acc = A(0);
      int64_t dh = 0, dw = 0;
      if (item < taps) {
        dh = table.dh[item * channels + c];
        dw = table.dw[item * channels + c];
      }
      int64_t q = m_begin % out_w, rest = m_begin / out_w;
      int64_t p = rest % out_h, n = rest / out_h;
      for (int64_t m = m_begin; m < m_end; ++m) {
        const A g = Load(dy, dy_index(n, c, p, q));
        if (item == taps) {
          acc += g;
        } else {
          const int64_t h = stride * p + dh, w = stride * q + dw;
          if (h >= 0 && h < x_index.height && w >= 0 && w < x_index.width)
            acc += g * Load(x, x_index(n, c, h, w));
        }
        if (++q == out_w) {
          q = 0;
          if (++p == out_h) {
            p = 0;
            ++n;
          }
        }
      }
      if (!valid && item < taps) acc = QuietNaN<A>();
      partials[r * columns + ParamColumn(c, item, channels, taps)] = acc;
    }
  }
};

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_KERNELS_ORIENTED_KERNELS_H_
