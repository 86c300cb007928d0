#ifndef TAPCONV_BACKENDS_GPU_KERNELS_CONV_KERNELS_H_
#define TAPCONV_BACKENDS_GPU_KERNELS_CONV_KERNELS_H_

// Direct dense N-D convolution (docs/ops.md#dense-conv), every rank viewed as
// 3-D. One output per thread for the forward and the input gradient (a gather:
// no atomics); the parameter gradients as per-chunk partial sums reduced in a
// fixed order. Correct for every configuration; fast only for small channel
// counts (depthwise) -- the CUDA backend prefers cuDNN.

#include <cstdint>

#include "backends/gpu/gpu_api.h"
#include "backends/gpu/kernels/common.h"
#include "backends/gpu/portability.h"

namespace tapconv::gpu {

// The sizes of a ConvProblem, copied into kernels by value.
struct ConvGeometry {
  int64_t batch, in_channels, out_channels, groups;
  int64_t in[3], kernel[3], out[3], stride[3], padding[3], dilation[3];

  static ConvGeometry Of(const ConvProblem& p) {
    ConvGeometry g;
    g.batch = p.batch;
    g.in_channels = p.in_channels;
    g.out_channels = p.out_channels;
    g.groups = p.groups;
    for (int a = 0; a < 3; ++a) {
      g.in[a] = p.in[a];
      g.kernel[a] = p.kernel[a];
      g.out[a] = p.out[a];
      g.stride[a] = p.stride[a];
      g.padding[a] = p.padding[a];
      g.dilation[a] = p.dilation[a];
    }
    return g;
  }
  TAPCONV_GPU_FN int64_t in_volume() const { return in[0] * in[1] * in[2]; }
  TAPCONV_GPU_FN int64_t out_volume() const { return out[0] * out[1] * out[2]; }
  TAPCONV_GPU_FN int64_t kernel_volume() const {
    return kernel[0] * kernel[1] * kernel[2];
  }
  TAPCONV_GPU_FN int64_t in_per_group() const { return in_channels / groups; }
  TAPCONV_GPU_FN int64_t out_per_group() const { return out_channels / groups; }
  // Flat spatial index -> coordinates, for sizes s.
  TAPCONV_GPU_FN static void Split3(int64_t i, const int64_t* s, int64_t* v) {
    v[2] = i % s[2];
    i /= s[2];
    v[1] = i % s[1];
    v[0] = i / s[1];
  }
};

template <typename T>
struct ConvForwardBody {
  using A = Acc<T>;
  const T* x;
  const T* weight;
  const T* bias;
  T* y;
  ConvGeometry g;

  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t out_volume = g.out_volume();
    int64_t o[3];
    ConvGeometry::Split3(i % out_volume, g.out, o);
    const int64_t nc = i / out_volume;
    const int64_t oc = nc % g.out_channels, n = nc / g.out_channels;
    const int64_t cin = g.in_per_group();
    const int64_t group = oc / g.out_per_group();
    const int64_t kvol = g.kernel_volume();
    A acc = bias != nullptr ? Load(bias, oc) : A(0);
    for (int64_t ic = 0; ic < cin; ++ic) {
      const int64_t x_plane =
          (n * g.in_channels + group * cin + ic) * g.in_volume();
      const int64_t w_base = (oc * cin + ic) * kvol;
      for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
        const int64_t i0 =
            o[0] * g.stride[0] - g.padding[0] + k0 * g.dilation[0];
        if (i0 < 0 || i0 >= g.in[0]) continue;
        for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
          const int64_t i1 =
              o[1] * g.stride[1] - g.padding[1] + k1 * g.dilation[1];
          if (i1 < 0 || i1 >= g.in[1]) continue;
          for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
            const int64_t i2 =
                o[2] * g.stride[2] - g.padding[2] + k2 * g.dilation[2];
            if (i2 < 0 || i2 >= g.in[2]) continue;
            acc += Load(weight,
                        w_base + (k0 * g.kernel[1] + k1) * g.kernel[2] + k2) *
                   Load(x, x_plane + (i0 * g.in[1] + i1) * g.in[2] + i2);
          }
        }
      }
    }
    Store(y, i, acc);
  }
};

// Output coordinate o with o * stride - padding + k * dilation = i, if any.
TAPCONV_GPU_FN bool SourceOf(int64_t i, int64_t k, int64_t stride,
                             int64_t padding, int64_t dilation, int64_t out,
                             int64_t* o) {
  const int64_t t = i + padding - k * dilation;
  if (t < 0 || t % stride != 0) return false;
  *o = t / stride;
  return *o < out;
}

template <typename T>
struct ConvBackwardInputBody {
  using A = Acc<T>;
  const T* dy;
  const T* weight;
  T* dx;
  ConvGeometry g;

  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t in_volume = g.in_volume();
    int64_t v[3];
    ConvGeometry::Split3(i % in_volume, g.in, v);
    const int64_t nc = i / in_volume;
    const int64_t ci = nc % g.in_channels, n = nc / g.in_channels;
    const int64_t cin = g.in_per_group(), cout = g.out_per_group();
    const int64_t group = ci / cin, ic = ci % cin;
    const int64_t kvol = g.kernel_volume();
    A acc = A(0);
    for (int64_t oc = group * cout; oc < (group + 1) * cout; ++oc) {
      const int64_t dy_plane = (n * g.out_channels + oc) * g.out_volume();
      const int64_t w_base = (oc * cin + ic) * kvol;
      for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
        int64_t o0;
        if (!SourceOf(v[0], k0, g.stride[0], g.padding[0], g.dilation[0],
                      g.out[0], &o0))
          continue;
        for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
          int64_t o1;
          if (!SourceOf(v[1], k1, g.stride[1], g.padding[1], g.dilation[1],
                        g.out[1], &o1))
            continue;
          for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
            int64_t o2;
            if (!SourceOf(v[2], k2, g.stride[2], g.padding[2], g.dilation[2],
                          g.out[2], &o2))
              continue;
            acc += Load(weight,
                        w_base + (k0 * g.kernel[1] + k1) * g.kernel[2] + k2) *
                   Load(dy, dy_plane + (o0 * g.out[1] + o1) * g.out[2] + o2);
          }
        }
      }
    }
    Store(dx, i, acc);
  }
};

// Partial sums of dweight (items (oc, ic, t) when with_weight) and dbias
// (items oc when with_bias) over chunk r of the (n, output position) pairs:
// partials[r][item], weight items first.
template <typename T>
struct ConvParamsKernel {
  using A = Acc<T>;
  static constexpr int kPhases = 1;
  const T* x;
  const T* dy;
  A* partials;
  ConvGeometry g;
  bool with_weight, with_bias;
  int64_t chunk, chunks;
  int threads;

  TAPCONV_GPU_FN int64_t weight_items() const {
    return with_weight ? g.out_channels * g.in_per_group() * g.kernel_volume()
                       : 0;
  }
  TAPCONV_GPU_FN int64_t items() const {
    return weight_items() + (with_bias ? g.out_channels : 0);
  }
  TAPCONV_GPU_FN int64_t item_tiles() const {
    return (items() + threads - 1) / threads;
  }
  TAPCONV_GPU_FN int64_t tiles() const { return chunks * item_tiles(); }

  TAPCONV_GPU_FN void Phase(int, int64_t t, int thread, unsigned char*) const {
    const int64_t per_row = (items() + threads - 1) / threads;
    const int64_t r = t / per_row;
    const int64_t item = (t % per_row) * threads + thread;
    if (item >= items()) return;
    const int64_t out_volume = g.out_volume();
    const int64_t m_begin = r * chunk;
    const int64_t m_end = Min(m_begin + chunk, g.batch * out_volume);
    A acc = A(0);
    if (item >= weight_items()) {
      const int64_t oc = item - weight_items();
      for (int64_t m = m_begin; m < m_end; ++m) {
        const int64_t n = m / out_volume, o = m % out_volume;
        acc += Load(dy, (n * g.out_channels + oc) * out_volume + o);
      }
    } else {
      const int64_t kvol = g.kernel_volume(), cin = g.in_per_group();
      int64_t k[3];
      ConvGeometry::Split3(item % kvol, g.kernel, k);
      const int64_t oc = item / kvol / cin, ic = item / kvol % cin;
      const int64_t ci = oc / g.out_per_group() * cin + ic;
      for (int64_t m = m_begin; m < m_end; ++m) {
        const int64_t n = m / out_volume;
        int64_t o[3], v[3];
        ConvGeometry::Split3(m % out_volume, g.out, o);
        bool inside = true;
        for (int a = 0; a < 3; ++a) {
          v[a] = o[a] * g.stride[a] - g.padding[a] + k[a] * g.dilation[a];
          inside = inside && v[a] >= 0 && v[a] < g.in[a];
        }
        if (!inside) continue;
        acc +=
            Load(dy, (n * g.out_channels + oc) * out_volume + m % out_volume) *
            Load(x, (n * g.in_channels + ci) * g.in_volume() +
                        (v[0] * g.in[1] + v[1]) * g.in[2] + v[2]);
      }
    }
    partials[r * items() + item] = acc;
  }
};

// y[n, c, ...] += bias[c], after a vendor library's convolution.
template <typename T>
struct AddBiasBody {
  T* y;
  const T* bias;
  int64_t channels, volume;
  TAPCONV_GPU_FN void operator()(int64_t i) const {
    const int64_t c = i / volume % channels;
    Store(y, i, Load(y, i) + Load(bias, c));
  }
};

}  // namespace tapconv::gpu

#endif  // TAPCONV_BACKENDS_GPU_KERNELS_CONV_KERNELS_H_
