// Reference path ops: docs/ops.md#path-ops, term by term, in double. Every
// index tensor is re-validated (a permutation in every row) before it is used
// to address memory.

#include "backends/reference/double_buffer.h"
#include "backends/reference/reference_backend.h"
#include "ops/status_macros.h"

namespace tapconv {
namespace {

// Flat offsets into contiguous (N, C, H*W) images and (N, channels, length)
// sequences.
struct Index3 {
  int64_t rows, cols;
  int64_t operator()(int64_t n, int64_t c, int64_t l) const {
    return (n * rows + c) * cols + l;
  }
};

// seq[n, g, i] for a position i of the zero-padded path, i.e. x[n, c, perm[p,
// i]] with g = p*C + c when 0 <= i < H*W, else 0.
struct PathSequence {
  const std::vector<double>& x;
  const std::vector<int64_t>& perm;
  const PathShape& s;

  double operator()(int64_t n, int64_t g, int64_t i) const {
    if (i < 0 || i >= s.length) return 0.0;
    const int64_t p = g / s.channels, c = g % s.channels;
    return x[(n * s.channels + c) * s.length + perm[p * s.length + i]];
  }
};

}  // namespace

absl::Status ReferenceBackend::PathGather(const PathGatherIO& io,
                                          const ExecContext&) const {
  PathShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathGather(io, &s));
  const std::vector<double> x = reference::LoadDoubles(io.x);
  const std::vector<int64_t> perm = reference::LoadIndices(io.perm);
  const Index3 xi{s.channels, s.length}, yi{s.paths * s.channels, s.length};
  std::vector<double> y(io.y.numel());
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t p = 0; p < s.paths; ++p) {
      for (int64_t c = 0; c < s.channels; ++c) {
        for (int64_t l = 0; l < s.length; ++l) {
          y[yi(n, p * s.channels + c, l)] = x[xi(n, c, perm[p * s.length + l])];
        }
      }
    }
  }
  reference::StoreDoubles(y, io.y);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::PathScatter(const PathScatterIO& io,
                                           const ExecContext&) const {
  PathShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathScatter(io, &s));
  const std::vector<double> y = reference::LoadDoubles(io.y);
  const std::vector<int64_t> inv = reference::LoadIndices(io.inv);
  const Index3 xi{s.channels, s.length}, yi{s.paths * s.channels, s.length};
  std::vector<double> x(io.x.numel());
  for (int64_t n = 0; n < s.batch; ++n) {
    for (int64_t c = 0; c < s.channels; ++c) {
      for (int64_t q = 0; q < s.length; ++q) {
        double acc = 0.0;
        for (int64_t p = 0; p < s.paths; ++p) {
          acc += y[yi(n, p * s.channels + c, inv[p * s.length + q])];
        }
        x[xi(n, c, q)] = acc;
      }
    }
  }
  reference::StoreDoubles(x, io.x);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::PathConvForward(const PathConvArgs& args,
                                               const PathConvForwardIO& io,
                                               const ExecContext&) const {
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathConvForward(args, io, &s));
  const std::vector<double> x = reference::LoadDoubles(io.x);
  const std::vector<int64_t> perm = reference::LoadIndices(io.perm);
  const std::vector<double> w = reference::LoadDoubles(io.weight);
  const int64_t out_channels = io.weight.shape[0];
  const std::vector<double> b = io.bias
                                    ? reference::LoadDoubles(*io.bias)
                                    : std::vector<double>(out_channels, 0.0);
  const PathSequence seq{x, perm, s.path};
  const Index3 yi{out_channels, s.out_length};
  std::vector<double> y(io.y.numel());
  for (int64_t n = 0; n < s.path.batch; ++n) {
    for (int64_t oc = 0; oc < out_channels; ++oc) {
      const int64_t g = oc / s.multiplier;
      for (int64_t lo = 0; lo < s.out_length; ++lo) {
        double acc = b[oc];
        for (int64_t k = 0; k < s.taps; ++k) {
          acc += w[oc * s.taps + k] *
                 seq(n, g, args.stride * lo + k - args.padding);
        }
        y[yi(n, oc, lo)] = acc;
      }
    }
  }
  reference::StoreDoubles(y, io.y);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::PathConvBackwardInput(
    const PathConvArgs& args, const PathConvBackwardInputIO& io,
    const ExecContext&) const {
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathConvBackwardInput(args, io, &s));
  const std::vector<double> dy = reference::LoadDoubles(io.dy);
  const std::vector<int64_t> inv = reference::LoadIndices(io.inv);
  const std::vector<double> w = reference::LoadDoubles(io.weight);
  const PathShape& ps = s.path;
  const int64_t m = s.multiplier;
  const Index3 xi{ps.channels, ps.length}, yi{io.dy.shape[1], s.out_length};
  std::vector<double> dx(io.dx.numel());
  // Pixel q sits at position i = inv[p, q] of path p; output l' read it through
  // tap k when stride*l' + k - padding = i.
  for (int64_t n = 0; n < ps.batch; ++n) {
    for (int64_t c = 0; c < ps.channels; ++c) {
      for (int64_t q = 0; q < ps.length; ++q) {
        double acc = 0.0;
        for (int64_t p = 0; p < ps.paths; ++p) {
          const int64_t g = p * ps.channels + c;
          const int64_t i = inv[p * ps.length + q];
          for (int64_t o = 0; o < m; ++o) {
            for (int64_t k = 0; k < s.taps; ++k) {
              const int64_t t = i + args.padding - k;
              if (t < 0 || t % args.stride != 0) continue;
              const int64_t lo = t / args.stride;
              if (lo >= s.out_length) continue;
              acc += w[(g * m + o) * s.taps + k] * dy[yi(n, g * m + o, lo)];
            }
          }
        }
        dx[xi(n, c, q)] = acc;
      }
    }
  }
  reference::StoreDoubles(dx, io.dx);
  return absl::OkStatus();
}

absl::Status ReferenceBackend::PathConvBackwardParams(
    const PathConvArgs& args, const PathConvBackwardParamsIO& io,
    const ExecContext&) const {
  PathConvShape s;
  TAPCONV_RETURN_IF_ERROR(ValidatePathConvBackwardParams(args, io, &s));
  const std::vector<double> dy = reference::LoadDoubles(io.dy);
  const int64_t out_channels = io.dy.shape[1];
  const Index3 yi{out_channels, s.out_length};
  if (io.dweight) {
    const std::vector<double> x = reference::LoadDoubles(io.x);
    const std::vector<int64_t> perm = reference::LoadIndices(io.perm);
    const PathSequence seq{x, perm, s.path};
    std::vector<double> dw(io.dweight->numel(), 0.0);
    for (int64_t oc = 0; oc < out_channels; ++oc) {
      const int64_t g = oc / s.multiplier;
      for (int64_t k = 0; k < s.taps; ++k) {
        double acc = 0.0;
        for (int64_t n = 0; n < s.path.batch; ++n) {
          for (int64_t lo = 0; lo < s.out_length; ++lo) {
            acc += dy[yi(n, oc, lo)] *
                   seq(n, g, args.stride * lo + k - args.padding);
          }
        }
        dw[oc * s.taps + k] = acc;
      }
    }
    reference::StoreDoubles(dw, *io.dweight);
  }
  if (io.dbias) {
    std::vector<double> db(out_channels, 0.0);
    for (int64_t n = 0; n < s.path.batch; ++n) {
      for (int64_t oc = 0; oc < out_channels; ++oc) {
        for (int64_t lo = 0; lo < s.out_length; ++lo)
          db[oc] += dy[yi(n, oc, lo)];
      }
    }
    reference::StoreDoubles(db, *io.dbias);
  }
  return absl::OkStatus();
}

}  // namespace tapconv
