// Reference oriented conv: docs/ops.md#oriented-conv, term by term.

#include "backends/reference/double_buffer.h"
#include "backends/reference/reference_backend.h"
#include "ops/geometry/oriented_taps.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

// Flat index of (n, c, h, w) in a contiguous activation of the given layout.
struct ActivationIndex {
  Layout layout;
  int64_t channels, height, width;

  int64_t operator()(int64_t n, int64_t c, int64_t h, int64_t w) const {
    if (layout == Layout::kNCHW)
      return ((n * channels + c) * height + h) * width + w;
    return ((n * height + h) * width + w) * channels + c;
  }
};

absl::StatusOr<OrientedTapTable> TapsFor(const OrientedConvArgs& args,
                                         const TensorRef& theta, int64_t taps) {
  const std::vector<double> angles = reference::LoadDoubles(theta);
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedAngles(angles));
  return BuildOrientedTapTable(angles, static_cast<int>(taps), args.tap_rule,
                               args.dilation);
}

// The weight the op applies: w, plus 1 on the centre tap for the fused
// residual.
std::vector<double> EffectiveWeight(const OrientedConvArgs& args,
                                    const TensorRef& weight, int64_t channels,
                                    int64_t taps) {
  std::vector<double> w = reference::LoadDoubles(weight);
  if (args.residual) {
    for (int64_t c = 0; c < channels; ++c) w[c * taps + taps / 2] += 1.0;
  }
  return w;
}

}  // namespace

absl::Status ReferenceBackend::OrientedConvForward(
    const OrientedConvArgs& args, const OrientedConvForwardIO& io,
    const ExecContext&) const {
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvForward(args, io, &s));
  TAPCONV_ASSIGN_OR_RETURN(const OrientedTapTable taps,
                           TapsFor(args, io.theta, s.taps));
  const std::vector<double> x = reference::LoadDoubles(io.x);
  const std::vector<double> w =
      EffectiveWeight(args, io.weight, s.channels, s.taps);
  const std::vector<double> b = io.bias ? reference::LoadDoubles(*io.bias)
                                        : std::vector<double>(s.channels, 0.0);
  const ActivationIndex xi{args.layout, s.channels, s.in_h, s.in_w};
  const ActivationIndex yi{args.layout, s.channels, s.out_h, s.out_w};
  std::vector<double> y(io.y.numel());
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      for (int64_t p = 0; p < s.out_h; ++p) {
        for (int64_t q = 0; q < s.out_w; ++q) {
          double acc = b[c];
          for (int k = 0; k < s.taps; ++k) {
            const TapOffset o = taps.at(c, k);
            const int64_t h = args.stride * p + o.dh;
            const int64_t wc = args.stride * q + o.dw;
            if (h < 0 || h >= s.in_h || wc < 0 || wc >= s.in_w)
              continue;  // zero padding
            acc += w[c * s.taps + k] * x[xi(n, c, h, wc)];
          }
          y[yi(n, c, p, q)] = acc;
        }
      }
    }
  }
  reference::StoreDoubles(y, io.y);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::OrientedConvBackwardInput(
    const OrientedConvArgs& args, const OrientedConvBackwardInputIO& io,
    const ExecContext&) const {
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvBackwardInput(args, io, &s));
  TAPCONV_ASSIGN_OR_RETURN(const OrientedTapTable taps,
                           TapsFor(args, io.theta, s.taps));
  const std::vector<double> dy = reference::LoadDoubles(io.dy);
  const std::vector<double> w =
      EffectiveWeight(args, io.weight, s.channels, s.taps);
  const ActivationIndex xi{args.layout, s.channels, s.in_h, s.in_w};
  const ActivationIndex yi{args.layout, s.channels, s.out_h, s.out_w};
  std::vector<double> dx(io.dx.numel());
  // dx[h, w] = sum_k w[k] * dy[(h - dh_k) / s, (w - dw_k) / s], for exact,
  // in-range quotients.
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      for (int64_t h = 0; h < s.in_h; ++h) {
        for (int64_t wc = 0; wc < s.in_w; ++wc) {
          double acc = 0.0;
          for (int k = 0; k < s.taps; ++k) {
            const TapOffset o = taps.at(c, k);
            const int64_t ph = h - o.dh, qw = wc - o.dw;
            if (ph < 0 || qw < 0 || ph % args.stride != 0 ||
                qw % args.stride != 0)
              continue;
            const int64_t p = ph / args.stride, q = qw / args.stride;
            if (p >= s.out_h || q >= s.out_w) continue;
            acc += w[c * s.taps + k] * dy[yi(n, c, p, q)];
          }
          dx[xi(n, c, h, wc)] = acc;
        }
      }
    }
  }
  reference::StoreDoubles(dx, io.dx);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::OrientedConvBackwardParams(
    const OrientedConvArgs& args, const OrientedConvBackwardParamsIO& io,
    const ExecContext&) const {
  OrientedConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidateOrientedConvBackwardParams(args, io, &s));
  const std::vector<double> dy = reference::LoadDoubles(io.dy);
  const ActivationIndex yi{args.layout, s.channels, s.out_h, s.out_w};
  if (io.dweight) {
    TAPCONV_ASSIGN_OR_RETURN(const OrientedTapTable taps,
                             TapsFor(args, io.theta, s.taps));
    const std::vector<double> x = reference::LoadDoubles(io.x);
    const ActivationIndex xi{args.layout, s.channels, s.in_h, s.in_w};
    std::vector<double> dw(io.dweight->numel(), 0.0);
    for (int64_t c = 0; c < s.channels; ++c) {
      for (int k = 0; k < s.taps; ++k) {
        const TapOffset o = taps.at(c, k);
        double acc = 0.0;
        for (int64_t n = 0; n < s.batch; ++n) {
          for (int64_t p = 0; p < s.out_h; ++p) {
            for (int64_t q = 0; q < s.out_w; ++q) {
              const int64_t h = args.stride * p + o.dh;
              const int64_t wc = args.stride * q + o.dw;
              if (h < 0 || h >= s.in_h || wc < 0 || wc >= s.in_w) continue;
              acc += dy[yi(n, c, p, q)] * x[xi(n, c, h, wc)];
            }
          }
        }
        dw[c * s.taps + k] = acc;
      }
    }
    reference::StoreDoubles(dw, *io.dweight);
  }
  if (io.dbias) {
    std::vector<double> db(s.channels, 0.0);
    for (int64_t n = 0; n < s.batch; ++n) {
      for (int64_t c = 0; c < s.channels; ++c) {
        for (int64_t p = 0; p < s.out_h; ++p) {
          for (int64_t q = 0; q < s.out_w; ++q) db[c] += dy[yi(n, c, p, q)];
        }
      }
    }
    reference::StoreDoubles(db, *io.dbias);
  }
  return absl::OkStatus();
}

}  // namespace tapconv
