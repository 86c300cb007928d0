#include "tests/paths/path_test_support.h"

#include <utility>

#include "ops/status_macros.h"

namespace tapconv::testing {

ExecContext ReferenceContext() {
  ExecContext ctx;
  ctx.backend = "reference";
  return ctx;
}

PathTensors MakePaths(int64_t h, int64_t w, const std::vector<PathSpec>& specs,
                      DType index_dtype) {
  PathTensors t;
  t.paths = static_cast<int64_t>(specs.size());
  const int64_t length = h * w;
  t.perm = HostTensor(index_dtype, {t.paths, length});
  t.inv = HostTensor(index_dtype, {t.paths, length});
  for (int64_t p = 0; p < t.paths; ++p) {
    absl::StatusOr<std::vector<int64_t>> perm = BuildPath(h, w, specs[p]);
    EXPECT_TRUE(perm.ok()) << perm.status();
    if (!perm.ok()) continue;
    const std::vector<int64_t> inv = InvertPermutation(*perm);
    for (int64_t l = 0; l < length; ++l) {
      t.perm.Set(p * length + l, static_cast<double>((*perm)[l]));
      t.inv.Set(p * length + l, static_cast<double>(inv[l]));
    }
  }
  return t;
}

absl::StatusOr<HostTensor> RunGather(const HostTensor& x,
                                     const HostTensor& perm) {
  const Dims& s = x.shape();
  HostTensor y(x.dtype(), {s[0], perm.shape()[0] * s[1], s[2] * s[3]});
  TAPCONV_RETURN_IF_ERROR(ops::PathGather(
      PathGatherIO{x.ref(), perm.ref(), y.ref()}, ReferenceContext()));
  return y;
}

absl::StatusOr<HostTensor> RunScatter(const HostTensor& y,
                                      const HostTensor& inv,
                                      const Dims& x_shape) {
  HostTensor x(y.dtype(), x_shape);
  TAPCONV_RETURN_IF_ERROR(ops::PathScatter(
      PathScatterIO{y.ref(), inv.ref(), x.ref()}, ReferenceContext()));
  return x;
}

absl::StatusOr<HostTensor> RunConvForward(const PathConvArgs& args,
                                          const HostTensor& x,
                                          const HostTensor& perm,
                                          const HostTensor& weight,
                                          const HostTensor* bias) {
  const Dims& s = x.shape();
  const int64_t k = weight.shape()[2];
  HostTensor y(x.dtype(),
               {s[0], weight.shape()[0],
                (s[2] * s[3] + 2 * args.padding - k) / args.stride + 1});
  PathConvForwardIO io{x.ref(), perm.ref(), weight.ref(), std::nullopt,
                       y.ref()};
  if (bias != nullptr) io.bias = bias->ref();
  TAPCONV_RETURN_IF_ERROR(ops::PathConvForward(args, io, ReferenceContext()));
  return y;
}

absl::StatusOr<HostTensor> RunConvBackwardInput(const PathConvArgs& args,
                                                const HostTensor& dy,
                                                const HostTensor& inv,
                                                const HostTensor& weight,
                                                const Dims& x_shape) {
  HostTensor dx(dy.dtype(), x_shape);
  TAPCONV_RETURN_IF_ERROR(ops::PathConvBackwardInput(
      args,
      PathConvBackwardInputIO{dy.ref(), inv.ref(), weight.ref(), dx.ref()},
      ReferenceContext()));
  return dx;
}

absl::StatusOr<ParamGrads> RunConvBackwardParams(
    const PathConvArgs& args, const HostTensor& dy, const HostTensor& x,
    const HostTensor& perm, const Dims& weight_shape, bool want_dweight,
    bool want_dbias) {
  ParamGrads g;
  PathConvBackwardParamsIO io{dy.ref(), x.ref(), perm.ref(), std::nullopt,
                              std::nullopt};
  if (want_dweight) {
    g.dweight.emplace(x.dtype(), weight_shape);
    io.dweight = g.dweight->ref();
  }
  if (want_dbias) {
    g.dbias.emplace(x.dtype(), Dims{weight_shape[0]});
    io.dbias = g.dbias->ref();
  }
  TAPCONV_RETURN_IF_ERROR(
      ops::PathConvBackwardParams(args, io, ReferenceContext()));
  return g;
}

std::vector<double> NaiveGather(const std::vector<double>& x,
                                const std::vector<double>& perm, int64_t n,
                                int64_t c, int64_t length, int64_t paths) {
  std::vector<double> seq(n * paths * c * length);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t p = 0; p < paths; ++p) {
      for (int64_t ch = 0; ch < c; ++ch) {
        for (int64_t l = 0; l < length; ++l) {
          const int64_t q = static_cast<int64_t>(perm[p * length + l]);
          seq[((b * paths + p) * c + ch) * length + l] =
              x[(b * c + ch) * length + q];
        }
      }
    }
  }
  return seq;
}

std::vector<double> NaiveScatterAdd(const std::vector<double>& y,
                                    const std::vector<double>& perm, int64_t n,
                                    int64_t c, int64_t length, int64_t paths) {
  std::vector<double> x(n * c * length, 0.0);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t p = 0; p < paths; ++p) {
      for (int64_t ch = 0; ch < c; ++ch) {
        for (int64_t l = 0; l < length; ++l) {
          const int64_t q = static_cast<int64_t>(perm[p * length + l]);
          x[(b * c + ch) * length + q] +=
              y[((b * paths + p) * c + ch) * length + l];
        }
      }
    }
  }
  return x;
}

std::vector<double> NaiveGroupedConv1d(const std::vector<double>& in, int64_t n,
                                       int64_t groups, int64_t length,
                                       const std::vector<double>& weight,
                                       int64_t m, int64_t k,
                                       const std::vector<double>& bias,
                                       int64_t stride, int64_t padding) {
  const int64_t out_length = (length + 2 * padding - k) / stride + 1;
  std::vector<double> out(n * groups * m * out_length);
  // Zero-pad explicitly, then slide: the textbook definition.
  const int64_t padded = length + 2 * padding;
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      std::vector<double> row(padded, 0.0);
      for (int64_t l = 0; l < length; ++l)
        row[padding + l] = in[(b * groups + g) * length + l];
      for (int64_t o = 0; o < m; ++o) {
        const int64_t oc = g * m + o;
        for (int64_t j = 0; j < out_length; ++j) {
          double acc = bias.empty() ? 0.0 : bias[oc];
          for (int64_t t = 0; t < k; ++t)
            acc += weight[oc * k + t] * row[j * stride + t];
          out[(b * groups * m + oc) * out_length + j] = acc;
        }
      }
    }
  }
  return out;
}

std::vector<double> NaiveGroupedConv1dTranspose(
    const std::vector<double>& dout, int64_t n, int64_t groups, int64_t length,
    const std::vector<double>& weight, int64_t m, int64_t k, int64_t stride,
    int64_t padding) {
  const int64_t out_length = (length + 2 * padding - k) / stride + 1;
  const int64_t padded = length + 2 * padding;
  std::vector<double> din(n * groups * length, 0.0);
  for (int64_t b = 0; b < n; ++b) {
    for (int64_t g = 0; g < groups; ++g) {
      std::vector<double> row(padded, 0.0);
      for (int64_t o = 0; o < m; ++o) {
        const int64_t oc = g * m + o;
        for (int64_t j = 0; j < out_length; ++j) {
          for (int64_t t = 0; t < k; ++t) {
            row[j * stride + t] += weight[oc * k + t] *
                                   dout[(b * groups * m + oc) * out_length + j];
          }
        }
      }
      for (int64_t l = 0; l < length; ++l)
        din[(b * groups + g) * length + l] = row[padding + l];
    }
  }
  return din;
}

HostTensor ToDType(const HostTensor& t, DType dtype) {
  HostTensor out(dtype, t.shape());
  out.SetFromDoubles(t.ToDoubles());
  return out;
}

}  // namespace tapconv::testing
