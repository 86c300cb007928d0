#ifndef TAPCONV_BACKENDS_GPU_KERNELS_PATH_KERNELS_H_
#define TAPCONV_BACKENDS_GPU_KERNELS_PATH_KERNELS_H_

// Path ops (docs/ops.md#path-ops). Index tensors live in device memory, so the
// host cannot check them: every index a kernel loads is bound-checked, and an
// out-of-range index makes the value it would have addressed NaN (it never
// reads out of bounds). Scatter and the input gradient are gathers through the
// inverse permutation: no atomics.

#include <cstdint>

#include "backends/gpu/gpu_api.h"
#include "backends/gpu/kernels/common.h"
#include "backends/gpu/portability.h"

namespace tapconv::gpu {

struct PathGeometry {
  int64_t batch, channels, length, paths, multiplier, taps, out_length, stride,
      padding;
  bool index_is_i64;

  static PathGeometry Of(const PathProblem& p) {
    return PathGeometry{p.batch,      p.channels,    p.length,     p.paths,
                        p.multiplier, p.taps,        p.out_length, p.stride,
                        p.padding,    p.index_is_i64};
  }
  TAPCONV_GPU_FN int64_t sequences() const { return paths * channels; }
  TAPCONV_GPU_FN int64_t out_channels() const {
    return sequences() * multiplier;
  }
};

// seq[n, g, pos]: x[n, c, perm[p, pos]] for pos in [0, L), 0 outside, NaN for
// a bad index.
template <typename T>
TAPCONV_GPU_FN Acc<T> PathSequenceAt(const PathGeometry& g, const T* x,
                                     const void* perm, int64_t n, int64_t seq,
                                     int64_t pos) {
  using A = Acc<T>;
  if (pos < 0 || pos >= g.length) return A(0);
  const int64_t p = seq / g.channels, c = seq % g.channels;
  const int64_t idx = LoadIndex(perm, g.index_is_i64, p * g.length + pos);
  if (idx < 0 || idx >= g.length) return QuietNaN<A>();
  return Load(x, (n * g.channels + c) * g.length + idx);
}

template <typename T>
struct PathGatherBody {
  const T* x;
  const void* perm;
  T* y;
  PathGeometry g;
  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t l = i % g.length;
    const int64_t ns = i / g.length;
    Store(
        y, i,
        PathSequenceAt(g, x, perm, ns / g.sequences(), ns % g.sequences(), l));
  }
};

template <typename T>
struct PathScatterBody {
  using A = Acc<T>;
  const T* y;
  const void* inv;
  T* x;
  PathGeometry g;
  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t q = i % g.length;
    const int64_t nc = i / g.length;
    const int64_t c = nc % g.channels, n = nc / g.channels;
    A acc = A(0);
    for (int64_t p = 0; p < g.paths; ++p) {
      const int64_t j = LoadIndex(inv, g.index_is_i64, p * g.length + q);
      if (j < 0 || j >= g.length) {
        acc = QuietNaN<A>();
        break;
      }
      acc += Load(y, (n * g.sequences() + p * g.channels + c) * g.length + j);
    }
    Store(x, i, acc);
  }
};

// Tiled fused forward: a tile is (n, sequence g, chunk of `chunk` outputs).
//   0: the chunk's stretch of the path (gathered through perm) to smem;
//   1: every output (o, l') of the tile from smem.
template <typename T>
struct PathConvForwardTiledKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 2;
  const T* x;
  const void* perm;
  const T* weight;
  const T* bias;
  T* y;
  PathGeometry g;
  int64_t chunk, chunks;
  int threads;

  TAPCONV_GPU_FN int64_t segment() const {
    return g.stride * (chunk - 1) + g.taps;
  }
  TAPCONV_GPU_FN size_t SharedBytes() const {
    SharedLayout s;
    s.Take<A>(segment());
    return s.bytes;
  }
  TAPCONV_GPU_FN int64_t tiles() const {
    return g.batch * g.sequences() * chunks;
  }

  TAPCONV_GPU_FN void Phase(int phase, int64_t t, int thread,
                            unsigned char* smem) const {
    A* seg = At<A>(smem, 0);
    const int64_t ch = t % chunks;
    const int64_t ns = t / chunks;
    const int64_t seq = ns % g.sequences(), n = ns / g.sequences();
    const int64_t l0 = ch * chunk;
    const int64_t count = Min(chunk, g.out_length - l0);
    const int64_t start = g.stride * l0 - g.padding;
    if (phase == 0) {
      const int64_t span = g.stride * (count - 1) + g.taps;
      for (int64_t i = thread; i < span; i += threads)
        seg[i] = PathSequenceAt(g, x, perm, n, seq, start + i);
      return;
    }
    const int64_t m = g.multiplier;
    for (int64_t item = thread; item < m * count; item += threads) {
      const int64_t o = item / count, j = item % count;
      const int64_t oc = seq * m + o;
      A acc = bias != nullptr ? Load(bias, oc) : A(0);
      for (int64_t k = 0; k < g.taps; ++k)
        acc += Load(weight, oc * g.taps + k) * seg[g.stride * j + k];
      Store(y, (n * g.out_channels() + oc) * g.out_length + l0 + j, acc);
    }
  }
};

// One output per thread, reading the path through perm for every tap: for
// kernels too long for a tile in shared memory.
template <typename T>
struct PathConvForwardDirectBody {
  using A = Acc<T>;
  const T* x;
  const void* perm;
  const T* weight;
  const T* bias;
  T* y;
  PathGeometry g;
  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t lo = i % g.out_length;
    const int64_t noc = i / g.out_length;
    const int64_t oc = noc % g.out_channels(), n = noc / g.out_channels();
    const int64_t seq = oc / g.multiplier;
    A acc = bias != nullptr ? Load(bias, oc) : A(0);
    for (int64_t k = 0; k < g.taps; ++k) {
      acc += Load(weight, oc * g.taps + k) *
             PathSequenceAt(g, x, perm, n, seq, g.stride * lo + k - g.padding);
    }
    Store(y, i, acc);
  }
};

// dx[n, c, q]: for each path p, pixel q sits at position i = inv[p, q]; the
// outputs l' whose taps read it are those with stride*l' + k - padding = i.
template <typename T>
struct PathConvBackwardInputBody {
  using A = Acc<T>;
  const T* dy;
  const void* inv;
  const T* weight;
  T* dx;
  PathGeometry g;
  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t q = i % g.length;
    const int64_t nc = i / g.length;
    const int64_t c = nc % g.channels, n = nc / g.channels;
    A acc = A(0);
    for (int64_t p = 0; p < g.paths; ++p) {
      const int64_t pos = LoadIndex(inv, g.index_is_i64, p * g.length + q);
      if (pos < 0 || pos >= g.length) {
        acc = QuietNaN<A>();
        break;
      }
      const int64_t reach = pos + g.padding;  // = stride * l' + k
      const int64_t lo_first =
          Max<int64_t>(0, -FloorDiv(-(reach - g.taps + 1), g.stride));
      const int64_t lo_last = Min(FloorDiv(reach, g.stride), g.out_length - 1);
      const int64_t seq = p * g.channels + c;
      for (int64_t o = 0; o < g.multiplier; ++o) {
        const int64_t oc = seq * g.multiplier + o;
        const int64_t dy_row = (n * g.out_channels() + oc) * g.out_length;
        for (int64_t lo = lo_first; lo <= lo_last; ++lo) {
          const int64_t k = reach - g.stride * lo;
          acc += Load(weight, oc * g.taps + k) * Load(dy, dy_row + lo);
        }
      }
    }
    Store(dx, i, acc);
  }
};

// Column of a parameter-gradient item: weight (oc, k) at oc * taps + k, bias
// oc at out_channels * taps + oc.
TAPCONV_GPU_FN int64_t PathParamColumn(int64_t oc, int64_t k, int64_t taps,
                                       int64_t out_channels) {
  return k < taps ? oc * taps + k : out_channels * taps + oc;
}

// Tiled parameter gradients: a tile is (n, g, chunk) as in the forward; items
// (o, k) for k <= K (k = K: the bias) are split into slices of the chunk.
//   0: path stretch and the dy rows of the tile to smem;
//   1: each (item, slice) sums;  2: each item sums its slices -> partials.
template <typename T>
struct PathConvParamsTiledKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 3;
  const T* x;
  const void* perm;
  const T* dy;
  A* partials;
  PathGeometry g;  // g.taps = 0 when only dbias is requested
  int64_t chunk, chunks;
  int threads;

  TAPCONV_GPU_FN int64_t items() const { return g.multiplier * (g.taps + 1); }
  TAPCONV_GPU_FN int64_t slices() const {
    return items() <= threads ? threads / items() : 1;
  }
  struct Layout {
    size_t seg, dy, sums, bytes;
  };
  TAPCONV_GPU_FN Layout SharedLayoutOf() const {
    SharedLayout s;
    Layout l;
    l.seg = s.Take<A>(g.stride * (chunk - 1) + g.taps + 1);
    l.dy = s.Take<A>(g.multiplier * chunk);
    l.sums = s.Take<A>(items() * slices());
    l.bytes = s.bytes;
    return l;
  }
  TAPCONV_GPU_FN size_t SharedBytes() const { return SharedLayoutOf().bytes; }
  TAPCONV_GPU_FN int64_t tiles() const {
    return g.batch * g.sequences() * chunks;
  }
  TAPCONV_GPU_FN int64_t rows() const { return g.batch * chunks; }
  TAPCONV_GPU_FN int64_t columns() const {
    return g.out_channels() * (g.taps + 1);
  }

  TAPCONV_GPU_FN void Phase(int phase, int64_t t, int thread,
                            unsigned char* smem) const {
    const Layout l = SharedLayoutOf();
    A* seg = At<A>(smem, l.seg);
    A* dyt = At<A>(smem, l.dy);
    A* sums = At<A>(smem, l.sums);
    const int64_t ch = t % chunks;
    const int64_t ns = t / chunks;
    const int64_t seq = ns % g.sequences(), n = ns / g.sequences();
    const int64_t l0 = ch * chunk;
    const int64_t count = Min(chunk, g.out_length - l0);
    const int64_t m = g.multiplier;
    if (phase == 0) {
      const int64_t start = g.stride * l0 - g.padding;
      const int64_t span = g.taps > 0 ? g.stride * (count - 1) + g.taps : 0;
      for (int64_t i = thread; i < span; i += threads)
        seg[i] = PathSequenceAt(g, x, perm, n, seq, start + i);
      for (int64_t i = thread; i < m * count; i += threads) {
        const int64_t o = i / count, j = i % count;
        dyt[o * chunk + j] = Load(
            dy, (n * g.out_channels() + seq * m + o) * g.out_length + l0 + j);
      }
      return;
    }
    const int64_t n_items = items(), n_slices = slices();
    if (phase == 1) {
      for (int64_t u = thread; u < n_items * n_slices; u += threads) {
        const int64_t item = u % n_items, slice = u / n_items;
        const int64_t o = item / (g.taps + 1), k = item % (g.taps + 1);
        A acc = A(0);
        for (int64_t j = slice; j < count; j += n_slices) {
          const A d = dyt[o * chunk + j];
          acc += k < g.taps ? d * seg[g.stride * j + k] : d;
        }
        sums[u] = acc;
      }
      return;
    }
    const int64_t row = n * chunks + ch;
    for (int64_t item = thread; item < n_items; item += threads) {
      A acc = A(0);
      for (int64_t s = 0; s < n_slices; ++s) acc += sums[s * n_items + item];
      const int64_t o = item / (g.taps + 1), k = item % (g.taps + 1);
      partials[row * columns() +
               PathParamColumn(seq * m + o, k, g.taps, g.out_channels())] = acc;
    }
  }
};

// Parameter-gradient partials without shared memory (kernels too long for a
// tile): one thread per (row, item), reading the path through perm.
template <typename T>
struct PathConvParamsDirectKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 1;
  const T* x;
  const void* perm;
  const T* dy;
  A* partials;
  PathGeometry g;
  int64_t chunk, chunks;  // over the N * out_length (n, l') pairs
  int threads;

  TAPCONV_GPU_FN int64_t columns() const {
    return g.out_channels() * (g.taps + 1);
  }
  TAPCONV_GPU_FN int64_t item_tiles() const {
    return (columns() + threads - 1) / threads;
  }
  TAPCONV_GPU_FN int64_t tiles() const { return chunks * item_tiles(); }
  TAPCONV_GPU_FN int64_t rows() const { return chunks; }

  TAPCONV_GPU_FN void Phase(int, int64_t t, int thread, unsigned char*) const {
    const int64_t column = (t % item_tiles()) * threads + thread;
    const int64_t r = t / item_tiles();
    if (column >= columns()) return;
    const int64_t weight_columns = g.out_channels() * g.taps;
    const bool is_bias = column >= weight_columns;
    const int64_t oc = is_bias ? column - weight_columns : column / g.taps;
    const int64_t k = is_bias ? g.taps : column % g.taps;
    const int64_t seq = oc / g.multiplier;
    const int64_t m_begin = r * chunk;
    const int64_t m_end = Min(m_begin + chunk, g.batch * g.out_length);
    A acc = A(0);
    for (int64_t mm = m_begin; mm < m_end; ++mm) {
      const int64_t n = mm / g.out_length, lo = mm % g.out_length;
      const A d = Load(dy, (n * g.out_channels() + oc) * g.out_length + lo);
      acc += is_bias ? d
                     : d * PathSequenceAt(g, x, perm, n, seq,
                                          g.stride * lo + k - g.padding);
    }
    partials[r * columns() + column] = acc;
  }
};

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_KERNELS_PATH_KERNELS_H_
