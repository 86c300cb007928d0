#include "tests/oriented/oriented_test_support.h"

#include <utility>

#include "ops/geometry/oriented_taps.h"
#include "ops/status_macros.h"

namespace tapconv::testing {

ExecContext ReferenceContext() {
  ExecContext ctx;
  ctx.backend = "reference";
  return ctx;
}

Dims ActivationShape(Layout layout, int64_t n, int64_t c, int64_t h,
                     int64_t w) {
  return layout == Layout::kNCHW ? Dims{n, c, h, w} : Dims{n, h, w, c};
}

HostTensor ThetaTensor(const std::vector<double>& radians, DType dtype) {
  HostTensor t(dtype, {static_cast<int64_t>(radians.size())});
  t.SetFromDoubles(radians);
  return t;
}

namespace {

struct NchwSizes {
  int64_t n, c, h, w;
};

NchwSizes ReadSizes(Layout layout, const Dims& shape) {
  if (layout == Layout::kNCHW) return {shape[0], shape[1], shape[2], shape[3]};
  return {shape[0], shape[3], shape[1], shape[2]};
}

}  // namespace

absl::StatusOr<HostTensor> RunForward(const OrientedConvArgs& args,
                                      const HostTensor& x,
                                      const HostTensor& weight,
                                      const HostTensor& theta,
                                      const HostTensor* bias) {
  const NchwSizes s = ReadSizes(args.layout, x.shape());
  HostTensor y(x.dtype(),
               ActivationShape(args.layout, s.n, s.c,
                               OrientedOutputSize(s.h, args.stride),
                               OrientedOutputSize(s.w, args.stride)));
  OrientedConvForwardIO io{x.ref(), weight.ref(), theta.ref(), std::nullopt,
                           y.ref()};
  if (bias != nullptr) io.bias = bias->ref();
  TAPCONV_RETURN_IF_ERROR(
      ops::OrientedConv2dForward(args, io, ReferenceContext()));
  return y;
}

absl::StatusOr<HostTensor> RunBackwardInput(const OrientedConvArgs& args,
                                            const HostTensor& dy,
                                            const HostTensor& weight,
                                            const HostTensor& theta,
                                            const Dims& x_shape) {
  HostTensor dx(dy.dtype(), x_shape);
  TAPCONV_RETURN_IF_ERROR(ops::OrientedConv2dBackwardInput(
      args, {dy.ref(), weight.ref(), theta.ref(), dx.ref()},
      ReferenceContext()));
  return dx;
}

absl::StatusOr<ParamGrads> RunBackwardParams(
    const OrientedConvArgs& args, const HostTensor& dy, const HostTensor& x,
    const HostTensor& theta, int64_t taps, bool want_dweight, bool want_dbias) {
  const NchwSizes s = ReadSizes(args.layout, x.shape());
  ParamGrads grads;
  OrientedConvBackwardParamsIO io{dy.ref(), x.ref(), theta.ref(), std::nullopt,
                                  std::nullopt};
  if (want_dweight) {
    grads.dweight.emplace(x.dtype(), Dims{s.c, 1, 1, taps});
    io.dweight = grads.dweight->ref();
  }
  if (want_dbias) {
    grads.dbias.emplace(x.dtype(), Dims{s.c});
    io.dbias = grads.dbias->ref();
  }
  TAPCONV_RETURN_IF_ERROR(
      ops::OrientedConv2dBackwardParams(args, io, ReferenceContext()));
  return grads;
}

std::vector<double> NaiveOrientedForward(const OrientedConvArgs& args,
                                         const OrientedSizes& s,
                                         const std::vector<double>& x,
                                         const std::vector<double>& weight,
                                         const std::vector<double>& theta,
                                         const std::vector<double>& bias) {
  const int64_t p_size = OrientedOutputSize(s.h, args.stride);
  const int64_t q_size = OrientedOutputSize(s.w, args.stride);
  const OrientedTapTable table = BuildOrientedTapTable(
      theta, static_cast<int>(s.k), args.tap_rule, args.dilation);
  std::vector<double> y(s.n * s.c * p_size * q_size, 0.0);
  auto plane = [](int64_t n, int64_t c, int64_t channels) {
    return n * channels + c;
  };
  for (int64_t n = 0; n < s.n; ++n) {
    for (int64_t c = 0; c < s.c; ++c) {
      const double* xp = x.data() + plane(n, c, s.c) * s.h * s.w;
      double* yp = y.data() + plane(n, c, s.c) * p_size * q_size;
      if (!bias.empty()) {
        for (int64_t i = 0; i < p_size * q_size; ++i) yp[i] = bias[c];
      }
      // One shifted, subsampled copy of the image per tap, scaled by the tap's
      // weight.
      for (int64_t k = 0; k < s.k; ++k) {
        const TapOffset o = table.at(c, static_cast<int>(k));
        double wk = weight[c * s.k + k];
        if (args.residual && k == s.k / 2) wk += 1.0;
        for (int64_t p = 0; p < p_size; ++p) {
          const int64_t row = p * args.stride + o.dh;
          if (row < 0 || row >= s.h) continue;
          for (int64_t q = 0; q < q_size; ++q) {
            const int64_t col = q * args.stride + o.dw;
            if (col < 0 || col >= s.w) continue;
            yp[p * q_size + q] += wk * xp[row * s.w + col];
          }
        }
      }
    }
  }
  return y;
}

std::vector<double> NchwToNhwc(const std::vector<double>& v, int64_t n,
                               int64_t c, int64_t h, int64_t w) {
  std::vector<double> out(v.size());
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t ic = 0; ic < c; ++ic) {
      for (int64_t ih = 0; ih < h; ++ih) {
        for (int64_t iw = 0; iw < w; ++iw) {
          out[((in * h + ih) * w + iw) * c + ic] =
              v[((in * c + ic) * h + ih) * w + iw];
        }
      }
    }
  }
  return out;
}

std::vector<double> NhwcToNchw(const std::vector<double>& v, int64_t n,
                               int64_t c, int64_t h, int64_t w) {
  std::vector<double> out(v.size());
  for (int64_t in = 0; in < n; ++in) {
    for (int64_t ic = 0; ic < c; ++ic) {
      for (int64_t ih = 0; ih < h; ++ih) {
        for (int64_t iw = 0; iw < w; ++iw) {
          out[((in * c + ic) * h + ih) * w + iw] =
              v[((in * h + ih) * w + iw) * c + ic];
        }
      }
    }
  }
  return out;
}

absl::StatusOr<std::vector<double>> DenseDepthwiseConv2d(
    const HostTensor& x, const HostTensor& weight, const HostTensor* bias,
    int64_t stride, SpatialDims padding, SpatialDims dilation) {
  ConvNdArgs args;
  args.stride = {stride};
  args.padding = padding;
  args.dilation = dilation;
  args.groups = x.shape()[1];
  Dims out_shape = {x.shape()[0], weight.shape()[0]};
  for (int d = 0; d < 2; ++d) {
    const int64_t extent = dilation[d] * (weight.shape()[2 + d] - 1) + 1;
    out_shape.push_back((x.shape()[2 + d] + 2 * padding[d] - extent) / stride +
                        1);
  }
  HostTensor y(x.dtype(), out_shape);
  ConvNdForwardIO io{x.ref(), weight.ref(), std::nullopt, y.ref()};
  if (bias != nullptr) io.bias = bias->ref();
  TAPCONV_RETURN_IF_ERROR(ops::ConvNdForward(args, io, ReferenceContext()));
  return y.ToDoubles();
}

HostTensor ToF64(const HostTensor& t) { return ToDType(t, DType::kF64); }

HostTensor ToDType(const HostTensor& t, DType dtype) {
  HostTensor out(dtype, t.shape());
  out.SetFromDoubles(t.ToDoubles());
  return out;
}

}  // namespace tapconv::testing
