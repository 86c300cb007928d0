#ifndef TAPCONV_BACKENDS_GPU_KERNELS_DCLS_KERNELS_H_
#define TAPCONV_BACKENDS_GPU_KERNELS_DCLS_KERNELS_H_

// DCLS kernels (docs/ops.md#dcls). Every coefficient and derivative comes from
// ops/geometry/dcls_interpolation.h (DclsElement); nothing is re-derived here.
//
// Construction is a gather: one thread per kernel grid point sums the elements
// of its block whose support covers it, so overlapping elements add without
// atomics. Its backward is one thread per element over that element's support.
// The fused depthwise path expands each channel's elements into at most 2^M
// bilinear taps (an entry list), never forming the S^M kernel.

#include <cstdint>

#include "backends/gpu/gpu_api.h"
#include "backends/gpu/kernels/common.h"
#include "backends/gpu/kernels/conv_kernels.h"
#include "backends/gpu/portability.h"
#include "ops/geometry/dcls_interpolation.h"

namespace tapconv::gpu {

// The element e = (block, k) of a construct problem, from its stored
// parameters.
template <typename T>
struct DclsPrepareBody {
  using A = Acc<T>;
  DclsElement<A>* elements;
  const T* positions;
  const T* sigma;  // null for bilinear
  DclsInterpolation interpolation;
  DclsAxisOrder order;
  int rank;
  int64_t size[kMaxDclsAxes];
  int64_t element_count;
  A sigma_floor, epsilon;

  TAPCONV_GPU_FN void operator()(int64_t e) const {
    A p[kMaxDclsAxes] = {}, s[kMaxDclsAxes] = {};
    for (int d = 0; d < rank; ++d) {
      p[d] = Load(positions, d * element_count + e);
      s[d] = sigma != nullptr ? Load(sigma, d * element_count + e) : A(0);
    }
    DclsElement<A> el;
    el.InitFromParameters(interpolation, order, rank, size, p, s, sigma_floor,
                          epsilon);
    elements[e] = el;
  }
};

template <typename A>
TAPCONV_GPU_FN bool InSupport(const DclsElement<A>& el, const int64_t* x) {
  for (int a = 0; a < el.rank; ++a) {
    if (x[a] < el.axis[a].first() || x[a] > el.axis[a].last()) return false;
  }
  return true;
}

// kernel[block, x] = sum over the block's elements of w * coefficient(x).
template <typename T>
struct DclsConstructBody {
  using A = Acc<T>;
  const DclsElement<A>* elements;
  const T* weight;
  T* kernel;
  int rank;
  int64_t size[kMaxDclsAxes];
  int64_t box, kernel_count;

  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t block = i / box;
    int64_t rest = i % box, x[kMaxDclsAxes] = {};
    for (int a = rank - 1; a >= 0; --a) {
      x[a] = rest % size[a];
      rest /= size[a];
    }
    A acc = A(0);
    for (int64_t k = 0; k < kernel_count; ++k) {
      const int64_t e = block * kernel_count + k;
      const DclsElement<A>& el = elements[e];
      if (!InSupport(el, x)) continue;
      acc += Load(weight, e) * el.Coefficient(x);
    }
    Store(kernel, i, acc);
  }
};

// One element: dweight, dpositions, dsigma from dkernel over its support.
template <typename T>
struct DclsConstructBackwardBody {
  using A = Acc<T>;
  const DclsElement<A>* elements;
  const T* weight;
  const T* dkernel;
  T* dweight;
  T* dpositions;
  T* dsigma;
  int rank;
  int64_t size[kMaxDclsAxes];
  int64_t box, kernel_count, element_count;

  TAPCONV_GPU_FN void operator()(int64_t e) const {
    const DclsElement<A>& el = elements[e];
    const int64_t block = e / kernel_count;
    A dw = A(0), dq[kMaxDclsAxes] = {}, ds[kMaxDclsAxes] = {};
    int64_t first[kMaxDclsAxes] = {}, last[kMaxDclsAxes] = {},
            x[kMaxDclsAxes] = {};
    bool empty = false;
    for (int a = 0; a < rank; ++a) {
      first[a] = el.axis[a].first();
      last[a] = el.axis[a].last();
      empty = empty || first[a] > last[a];
      x[a] = first[a];
    }
    while (!empty) {
      int64_t offset = 0;
      for (int a = 0; a < rank; ++a) offset = offset * size[a] + x[a];
      const A g = Load(dkernel, block * box + offset);
      dw += g * el.Coefficient(x);
      A cq[kMaxDclsAxes], cs[kMaxDclsAxes];
      el.CoefficientGradient(x, cq, cs);
      for (int a = 0; a < rank; ++a) {
        dq[a] += g * cq[a];
        ds[a] += g * cs[a];
      }
      int a = rank - 1;
      while (a >= 0 && x[a] == last[a]) {
        x[a] = first[a];
        --a;
      }
      if (a < 0) break;
      ++x[a];
    }
    const A w = Load(weight, e);
    for (int a = 0; a < rank; ++a) {
      dq[a] *= w;
      ds[a] *= w;
    }
    A dp[kMaxDclsAxes], dsg[kMaxDclsAxes];
    el.ParameterGradient(dq, ds, dp, dsg);
    if (dweight != nullptr) Store(dweight, e, dw);
    for (int d = 0; d < rank; ++d) {
      if (dpositions != nullptr)
        Store(dpositions, d * element_count + e, dp[d]);
      if (dsigma != nullptr) Store(dsigma, d * element_count + e, dsg[d]);
    }
  }
};

// ---------------------------------------------------------------------------
// Fused depthwise bilinear DCLS.

// One bilinear tap of a channel: its position in the (dense, S) kernel (on the
// 3-D view) and its coefficient w * phi (0 for a corner outside the box).
template <typename A>
struct DclsTap {
  int64_t k[3];
  A coefficient;
};

// Geometry of the depthwise problem shared by its kernels.
struct DclsDepthwiseGeometry {
  ConvGeometry conv;  // kernel = (*dense, *S) on the 3-D view
  DclsAxisOrder order;
  int dense_rank, learnable_rank;
  int64_t dense_size[3], learnable_size[3];
  int64_t dense_volume, kernel_count;

  TAPCONV_GPU_FN int64_t corners() const {
    return int64_t{1} << learnable_rank;
  }
  // Taps per channel.
  TAPCONV_GPU_FN int64_t taps() const {
    return dense_volume * kernel_count * corners();
  }
  // Elements over all channels.
  TAPCONV_GPU_FN int64_t elements() const {
    return conv.out_channels * dense_volume * kernel_count;
  }
};

// The element (c, t, k) of a depthwise problem (bilinear: no sigma).
template <typename T>
TAPCONV_GPU_FN DclsElement<Acc<T>> LoadDepthwiseElement(
    const DclsDepthwiseGeometry& g, const T* positions, int64_t e) {
  using A = Acc<T>;
  A p[kMaxDclsAxes] = {};
  const int64_t elements = g.elements();
  for (int d = 0; d < g.learnable_rank; ++d)
    p[d] = Load(positions, d * elements + e);
  DclsElement<A> el;
  el.InitFromParameters(DclsInterpolation::kBilinear, g.order, g.learnable_rank,
                        g.learnable_size, p, nullptr, A(0), A(0));
  return el;
}

// Learnable grid coordinates of corner `corner` of an element; false when the
// corner lies outside the box (bilinear drops it).
template <typename A>
TAPCONV_GPU_FN bool CornerOf(const DclsDepthwiseGeometry& g,
                             const DclsElement<A>& el, int64_t corner,
                             int64_t* x) {
  bool inside = true;
  for (int a = 0; a < g.learnable_rank; ++a) {
    x[a] = el.axis[a].floor_q + ((corner >> a) & 1);
    inside = inside && x[a] >= 0 && x[a] < g.learnable_size[a];
  }
  return inside;
}

template <typename T>
struct DclsTapBuildBody {
  using A = Acc<T>;
  DclsTap<A>* taps;
  const T* weight;
  const T* positions;
  DclsDepthwiseGeometry g;

  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t per_channel = g.taps();
    const int64_t c = i / per_channel;
    int64_t rest = i % per_channel;
    const int64_t corner = rest % g.corners();
    rest /= g.corners();
    const int64_t k = rest % g.kernel_count, t = rest / g.kernel_count;
    const int64_t e = (c * g.dense_volume + t) * g.kernel_count + k;
    const DclsElement<A> el = LoadDepthwiseElement(g, positions, e);
    int64_t x[kMaxDclsAxes] = {};
    const bool inside = CornerOf(g, el, corner, x);
    // Kernel index: dense multi-index of t, then the learnable corner, right
    // aligned on the 3-D view.
    int64_t full[3] = {0, 0, 0};
    const int rank = g.dense_rank + g.learnable_rank;
    int64_t td = t;
    for (int a = g.dense_rank - 1; a >= 0; --a) {
      full[a] = td % g.dense_size[a];
      td /= g.dense_size[a];
    }
    for (int a = 0; a < g.learnable_rank; ++a)
      full[g.dense_rank + a] = inside ? x[a] : 0;
    DclsTap<A> tap;
    for (int a = 0; a < 3; ++a) tap.k[a] = 0;
    for (int a = 0; a < rank; ++a) tap.k[3 - rank + a] = full[a];
    tap.coefficient = inside ? Load(weight, e) * el.Coefficient(x) : A(0);
    taps[i] = tap;
  }
};

template <typename T>
struct DclsDepthwiseForwardBody {
  using A = Acc<T>;
  const DclsTap<A>* taps;
  const T* x;
  const T* bias;
  T* y;
  DclsDepthwiseGeometry g;

  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const ConvGeometry& cg = g.conv;
    const int64_t out_volume = cg.out_volume();
    int64_t o[3];
    ConvGeometry::Split3(i % out_volume, cg.out, o);
    const int64_t nc = i / out_volume;
    const int64_t c = nc % cg.out_channels;
    const int64_t x_plane = nc * cg.in_volume();
    const int64_t per_channel = g.taps();
    A acc = bias != nullptr ? Load(bias, c) : A(0);
    for (int64_t e = 0; e < per_channel; ++e) {
      const DclsTap<A>& tap = taps[c * per_channel + e];
      if (tap.coefficient == A(0)) continue;
      int64_t v[3];
      bool inside = true;
      for (int a = 0; a < 3; ++a) {
        v[a] = o[a] * cg.stride[a] - cg.padding[a] + tap.k[a] * cg.dilation[a];
        inside = inside && v[a] >= 0 && v[a] < cg.in[a];
      }
      if (!inside) continue;
      acc += tap.coefficient *
             Load(x, x_plane + (v[0] * cg.in[1] + v[1]) * cg.in[2] + v[2]);
    }
    Store(y, i, acc);
  }
};

template <typename T>
struct DclsDepthwiseBackwardInputBody {
  using A = Acc<T>;
  const DclsTap<A>* taps;
  const T* dy;
  T* dx;
  DclsDepthwiseGeometry g;

  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const ConvGeometry& cg = g.conv;
    const int64_t in_volume = cg.in_volume();
    int64_t v[3];
    ConvGeometry::Split3(i % in_volume, cg.in, v);
    const int64_t nc = i / in_volume;
    const int64_t c = nc % cg.in_channels;
    const int64_t dy_plane = nc * cg.out_volume();
    const int64_t per_channel = g.taps();
    A acc = A(0);
    for (int64_t e = 0; e < per_channel; ++e) {
      const DclsTap<A>& tap = taps[c * per_channel + e];
      if (tap.coefficient == A(0)) continue;
      int64_t o[3];
      bool hit = true;
      for (int a = 0; a < 3 && hit; ++a) {
        hit = SourceOf(v[a], tap.k[a], cg.stride[a], cg.padding[a],
                       cg.dilation[a], cg.out[a], &o[a]);
      }
      if (!hit) continue;
      acc += tap.coefficient *
             Load(dy, dy_plane + (o[0] * cg.out[1] + o[1]) * cg.out[2] + o[2]);
    }
    Store(dx, i, acc);
  }
};

// Partial sums of G[c, e] = dL/dkernel at tap e of channel c (and of dbias, the
// last item) over chunk r of the (n, output position) pairs. Columns: tap
// (c, e) at c * taps + e, bias c at C * taps + c.
template <typename T>
struct DclsDepthwiseParamsKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 1;
  const DclsTap<A>* taps;
  const T* x;
  const T* dy;
  A* partials;
  DclsDepthwiseGeometry g;
  int64_t chunk, chunks;
  int threads;

  TAPCONV_GPU_FN int64_t item_tiles() const {
    return (g.taps() + 1 + threads - 1) / threads;
  }
  TAPCONV_GPU_FN int64_t tiles() const {
    return chunks * g.conv.out_channels * item_tiles();
  }

  TAPCONV_GPU_FN void Phase(int, int64_t t, int thread, unsigned char*) const {
    const ConvGeometry& cg = g.conv;
    const int64_t per_channel = g.taps();
    const int64_t item = (t % item_tiles()) * threads + thread;
    const int64_t rc = t / item_tiles();
    const int64_t c = rc % cg.out_channels, r = rc / cg.out_channels;
    if (item > per_channel) return;
    const int64_t out_volume = cg.out_volume();
    const int64_t m_begin = r * chunk;
    const int64_t m_end = Min(m_begin + chunk, cg.batch * out_volume);
    const int64_t channels = cg.out_channels;
    A acc = A(0);
    if (item == per_channel) {
      for (int64_t m = m_begin; m < m_end; ++m) {
        const int64_t n = m / out_volume;
        acc += Load(dy, (n * channels + c) * out_volume + m % out_volume);
      }
    } else {
      const DclsTap<A>& tap = taps[c * per_channel + item];
      for (int64_t m = tap.coefficient == A(0) ? m_end : m_begin; m < m_end;
           ++m) {
        const int64_t n = m / out_volume;
        int64_t o[3], v[3];
        ConvGeometry::Split3(m % out_volume, cg.out, o);
        bool inside = true;
        for (int a = 0; a < 3; ++a) {
          v[a] =
              o[a] * cg.stride[a] - cg.padding[a] + tap.k[a] * cg.dilation[a];
          inside = inside && v[a] >= 0 && v[a] < cg.in[a];
        }
        if (!inside) continue;
        acc += Load(dy, (n * channels + c) * out_volume + m % out_volume) *
               Load(x, (n * channels + c) * cg.in_volume() +
                           (v[0] * cg.in[1] + v[1]) * cg.in[2] + v[2]);
      }
    }
    const int64_t column = item == per_channel ? channels * per_channel + c
                                               : c * per_channel + item;
    partials[r * channels * (per_channel + 1) + column] = acc;
  }
};

// dweight, dpositions of element i (and dbias for i >= elements) from G.
template <typename T>
struct DclsDepthwiseFinalizeBody {
  using A = Acc<T>;
  const A* grad;  // G: (C * taps) tap columns then C bias columns
  const T* weight;
  const T* positions;
  T* dweight;
  T* dpositions;
  T* dbias;
  DclsDepthwiseGeometry g;

  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t elements = g.elements();
    const int64_t per_channel = g.taps();
    if (i >= elements) {
      const int64_t c = i - elements;
      if (dbias != nullptr)
        Store(dbias, c, grad[g.conv.out_channels * per_channel + c]);
      return;
    }
    const DclsElement<A> el = LoadDepthwiseElement(g, positions, i);
    const int64_t c = i / (g.dense_volume * g.kernel_count);
    const int64_t within = i % (g.dense_volume * g.kernel_count);
    const int m = g.learnable_rank;
    A dw = A(0), dq[kMaxDclsAxes] = {}, unused[kMaxDclsAxes] = {};
    for (int64_t corner = 0; corner < g.corners(); ++corner) {
      int64_t x[kMaxDclsAxes] = {};
      if (!CornerOf(g, el, corner, x)) continue;
      const A gv = grad[c * per_channel + within * g.corners() + corner];
      dw += gv * el.Coefficient(x);
      A cq[kMaxDclsAxes], cs[kMaxDclsAxes];
      el.CoefficientGradient(x, cq, cs);
      for (int a = 0; a < m; ++a) dq[a] += gv * cq[a];
    }
    const A w = Load(weight, i);
    for (int a = 0; a < m; ++a) dq[a] *= w;
    A dp[kMaxDclsAxes], dsg[kMaxDclsAxes];
    el.ParameterGradient(dq, unused, dp, dsg);
    if (dweight != nullptr) Store(dweight, i, dw);
    if (dpositions != nullptr) {
      for (int d = 0; d < m; ++d) Store(dpositions, d * elements + i, dp[d]);
    }
  }
};

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_KERNELS_DCLS_KERNELS_H_
