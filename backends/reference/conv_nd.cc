// Reference dense N-D convolution: torch.nn.functional.conv{1,2,3}d, term by
// term.

#include <array>

#include "backends/reference/double_buffer.h"
#include "backends/reference/reference_backend.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

// Every spatial rank is handled as 3-D: missing leading axes have size 1,
// stride 1, no padding.
struct Geometry3 {
  std::array<int64_t, 3> in, kernel, out, stride, padding, dilation;
};

Geometry3 ToGeometry3(const ConvNdShape& s) {
  Geometry3 g;
  const int lead = 3 - s.spatial_rank;
  for (int d = 0; d < 3; ++d) {
    const bool present = d >= lead;
    const int i = d - lead;
    g.in[d] = present ? s.in[i] : 1;
    g.kernel[d] = present ? s.kernel[i] : 1;
    g.out[d] = present ? s.out[i] : 1;
    g.stride[d] = present ? s.stride[i] : 1;
    g.padding[d] = present ? s.padding[i] : 0;
    g.dilation[d] = present ? s.dilation[i] : 1;
  }
  return g;
}

// Calls visit(x_index, w_index, y_index) for every (output, input) product of
// the convolution whose input position lies inside the (unpadded) input.
template <typename Visit>
void ForEachProduct(const ConvNdShape& s, Visit visit) {
  const Geometry3 g = ToGeometry3(s);
  const int64_t out_per_group = s.out_channels / s.groups;
  const int64_t in_per_group = s.in_channels / s.groups;
  const int64_t in_volume = g.in[0] * g.in[1] * g.in[2];
  const int64_t out_volume = g.out[0] * g.out[1] * g.out[2];
  const int64_t kernel_volume = g.kernel[0] * g.kernel[1] * g.kernel[2];
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t oc = 0; oc < s.out_channels; ++oc) {
      const int64_t group = oc / out_per_group;
      for (int64_t o0 = 0; o0 < g.out[0]; ++o0) {
        for (int64_t o1 = 0; o1 < g.out[1]; ++o1) {
          for (int64_t o2 = 0; o2 < g.out[2]; ++o2) {
            const int64_t y_index = (n * s.out_channels + oc) * out_volume +
                                    (o0 * g.out[1] + o1) * g.out[2] + o2;
            for (int64_t ic = 0; ic < in_per_group; ++ic) {
              const int64_t c = group * in_per_group + ic;
              for (int64_t k0 = 0; k0 < g.kernel[0]; ++k0) {
                const int64_t i0 =
                    o0 * g.stride[0] - g.padding[0] + k0 * g.dilation[0];
                if (i0 < 0 || i0 >= g.in[0]) continue;
                for (int64_t k1 = 0; k1 < g.kernel[1]; ++k1) {
                  const int64_t i1 =
                      o1 * g.stride[1] - g.padding[1] + k1 * g.dilation[1];
                  if (i1 < 0 || i1 >= g.in[1]) continue;
                  for (int64_t k2 = 0; k2 < g.kernel[2]; ++k2) {
                    const int64_t i2 =
                        o2 * g.stride[2] - g.padding[2] + k2 * g.dilation[2];
                    if (i2 < 0 || i2 >= g.in[2]) continue;
                    const int64_t x_index =
                        (n * s.in_channels + c) * in_volume +
                        (i0 * g.in[1] + i1) * g.in[2] + i2;
                    const int64_t w_index =
                        (oc * in_per_group + ic) * kernel_volume +
                        (k0 * g.kernel[1] + k1) * g.kernel[2] + k2;
                    visit(x_index, w_index, y_index);
                  }
                }
              }
            }
          }
        }
      }
    }
  }
}

int64_t OutVolume(const ConvNdShape& s) {
  int64_t v = 1;
  for (int64_t o : s.out) v *= o;
  return v;
}

}  // namespace

absl::Status ReferenceBackend::ConvNdForward(const ConvNdArgs& args,
                                             const ConvNdForwardIO& io,
                                             const ExecContext&) const {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdForward(args, io, &s));
  const std::vector<double> x = reference::LoadDoubles(io.x);
  const std::vector<double> w = reference::LoadDoubles(io.weight);
  std::vector<double> y(io.y.numel(), 0.0);
  if (io.bias) {
    const std::vector<double> b = reference::LoadDoubles(*io.bias);
    const int64_t volume = OutVolume(s);
    for (size_t i = 0; i < y.size(); ++i)
      y[i] = b[(i / volume) % s.out_channels];
  }
  ForEachProduct(
      s, [&](int64_t xi, int64_t wi, int64_t yi) { y[yi] += w[wi] * x[xi]; });
  reference::StoreDoubles(y, io.y);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::ConvNdBackwardInput(
    const ConvNdArgs& args, const ConvNdBackwardInputIO& io,
    const ExecContext&) const {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdBackwardInput(args, io, &s));
  const std::vector<double> dy = reference::LoadDoubles(io.dy);
  const std::vector<double> w = reference::LoadDoubles(io.weight);
  std::vector<double> dx(io.dx.numel(), 0.0);
  ForEachProduct(
      s, [&](int64_t xi, int64_t wi, int64_t yi) { dx[xi] += w[wi] * dy[yi]; });
  reference::StoreDoubles(dx, io.dx);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::ConvNdBackwardParams(
    const ConvNdArgs& args, const ConvNdBackwardParamsIO& io,
    const ExecContext&) const {
  ConvNdShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateConvNdBackwardParams(args, io, &s));
  const std::vector<double> dy = reference::LoadDoubles(io.dy);
  if (io.dweight) {
    const std::vector<double> x = reference::LoadDoubles(io.x);
    std::vector<double> dw(io.dweight->numel(), 0.0);
    ForEachProduct(s, [&](int64_t xi, int64_t wi, int64_t yi) {
      dw[wi] += dy[yi] * x[xi];
    });
    reference::StoreDoubles(dw, *io.dweight);
  }
  if (io.dbias) {
    std::vector<double> db(s.out_channels, 0.0);
    const int64_t volume = OutVolume(s);
    for (size_t i = 0; i < dy.size(); ++i)
      db[(i / volume) % s.out_channels] += dy[i];
    reference::StoreDoubles(db, *io.dbias);
  }
  return absl::OkStatus();
}

}  // namespace tapconv
