#include "tests/dcls/dcls_test_util.h"

#include <algorithm>
#include <cmath>

namespace tapconv::testing {
namespace {

double Fraction(double v) { return v - std::floor(v); }

bool NearInteger(double v, double margin) {
  const double f = Fraction(v);
  return f < margin || f > 1.0 - margin;
}

int64_t Product(const Dims& d, size_t begin, size_t end) {
  int64_t p = 1;
  for (size_t i = begin; i < end; ++i) p *= d[i];
  return p;
}

// Row-major unravel of `flat` over `sizes`.
std::vector<int64_t> Unravel(int64_t flat, const std::vector<int64_t>& sizes) {
  std::vector<int64_t> x(sizes.size());
  for (int a = static_cast<int>(sizes.size()) - 1; a >= 0; --a) {
    x[a] = flat % sizes[a];
    flat /= sizes[a];
  }
  return x;
}

double Phi(DclsInterpolation kind, const std::vector<int64_t>& x,
           const std::vector<double>& q, const std::vector<double>& sigma) {
  double v = 1.0;
  if (kind == DclsInterpolation::kGauss) {
    double e = 0.0;
    for (size_t a = 0; a < x.size(); ++a) {
      const double u = (x[a] - q[a]) / sigma[a];
      e += u * u;
    }
    return std::exp(-0.5 * e);
  }
  for (size_t a = 0; a < x.size(); ++a) {
    const double width = kind == DclsInterpolation::kBilinear ? 1.0 : sigma[a];
    v *= std::max(0.0, width - std::fabs(x[a] - q[a]));
  }
  return v;
}

// The floors of the spec (gauss 0.27, triangle 1), restated here so that the
// oracle does not read them from the library.
double SigmaFloor(const DclsArgs& args) {
  if (args.sigma_floor) return *args.sigma_floor;
  switch (args.interpolation) {
    case DclsInterpolation::kGauss:
      return 0.27;
    case DclsInterpolation::kTriangle:
      return 1.0;
    default:
      return 0.0;
  }
}

}  // namespace

std::vector<DclsVariant> AllDclsVariants() {
  return {
      {"1d", {}, {7}},    {"2d", {}, {5, 4}},    {"3d", {}, {3, 4, 5}},
      {"2_1d", {3}, {7}}, {"3_1d", {2, 3}, {5}}, {"3_2d", {2}, {5, 3}},
  };
}

DclsArgs MakeDclsArgs(const DclsVariant& variant,
                      DclsInterpolation interpolation, DclsAxisOrder order) {
  DclsArgs args;
  args.dense_kernel_size = variant.dense;
  args.dilated_kernel_size = variant.dilated;
  args.interpolation = interpolation;
  args.axis_order = order;
  return args;
}

std::string InterpolationName(DclsInterpolation interpolation) {
  switch (interpolation) {
    case DclsInterpolation::kBilinear:
      return "bilinear";
    case DclsInterpolation::kGauss:
      return "gauss";
    case DclsInterpolation::kTriangle:
      return "triangle";
  }
  return "?";
}

Dims DclsWeightShape(const DclsArgs& args, int64_t c_out,
                     int64_t c_in_per_group, int64_t kernel_count) {
  Dims shape{c_out, c_in_per_group};
  shape.insert(shape.end(), args.dense_kernel_size.begin(),
               args.dense_kernel_size.end());
  shape.push_back(kernel_count);
  return shape;
}

Dims DclsPositionShape(const DclsArgs& args, const Dims& weight_shape) {
  Dims shape{static_cast<int64_t>(args.dilated_kernel_size.size())};
  shape.insert(shape.end(), weight_shape.begin(), weight_shape.end());
  return shape;
}

std::optional<TensorRef> DclsParams::sigma_ref() const {
  if (!sigma) return std::nullopt;
  return sigma->ref();
}

std::optional<std::vector<double>> DclsParams::sigma_values() const {
  if (!sigma) return std::nullopt;
  return sigma->ToDoubles();
}

DclsParams RandomDclsParams(const DclsArgs& args, DType dtype, int64_t c_out,
                            int64_t c_in_per_group, int64_t kernel_count,
                            std::mt19937_64& rng, bool avoid_kinks) {
  const Dims w_shape =
      DclsWeightShape(args, c_out, c_in_per_group, kernel_count);
  const Dims p_shape = DclsPositionShape(args, w_shape);
  DclsParams p;
  p.weight = Uniform(dtype, w_shape, rng, -1.0, 1.0);
  p.positions = HostTensor(dtype, p_shape);
  const bool has_sigma = args.interpolation != DclsInterpolation::kBilinear;
  if (has_sigma) p.sigma = HostTensor(dtype, p_shape);
  const int m = static_cast<int>(args.dilated_kernel_size.size());
  const int64_t elements = p.weight.numel();
  const double floor_sigma = SigmaFloor(args);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (int d = 0; d < m; ++d) {
    const int a = args.axis_order == DclsAxisOrder::kReversed ? m - 1 - d : d;
    const int64_t size = args.dilated_kernel_size[a];
    const int64_t centre = size / 2;
    // q ranges over the box plus a margin, so some elements leave it.
    const double margin =
        args.interpolation == DclsInterpolation::kBilinear ? 1.0 : 0.5;
    for (int64_t e = 0; e < elements; ++e) {
      for (int attempt = 0;; ++attempt) {
        const double q = -margin + unit(rng) * (size - 1 + 2 * margin);
        double sig = 0.0;
        if (has_sigma) {
          sig = (0.1 + 0.7 * unit(rng)) * (unit(rng) < 0.5 ? -1.0 : 1.0);
        }
        // Round as the tensor will, then test the stored values.
        HostTensor probe(dtype, {2});
        probe.Set(0, q - centre);
        probe.Set(1, sig);
        const double stored_q = probe.Get(0) + centre;
        const double sigma = std::fabs(probe.Get(1)) + floor_sigma;
        bool ok = true;
        if (avoid_kinks && args.interpolation != DclsInterpolation::kGauss) {
          ok = !NearInteger(stored_q, 0.05);
          if (args.interpolation == DclsInterpolation::kTriangle) {
            ok = ok && !NearInteger(stored_q - sigma, 0.05) &&
                 !NearInteger(stored_q + sigma, 0.05) &&
                 std::fabs(probe.Get(1)) >= 0.05;
          }
        }
        if (ok || attempt > 1000) {
          p.positions.Set(d * elements + e, probe.Get(0));
          if (has_sigma) p.sigma->Set(d * elements + e, probe.Get(1));
          break;
        }
      }
    }
  }
  return p;
}

HostTensor Converted(const HostTensor& t, DType dtype) {
  HostTensor out(dtype, t.shape());
  out.SetFromDoubles(t.ToDoubles());
  return out;
}

DclsParams Converted(const DclsParams& p, DType dtype) {
  DclsParams out;
  out.weight = Converted(p.weight, dtype);
  out.positions = Converted(p.positions, dtype);
  if (p.sigma) out.sigma = Converted(*p.sigma, dtype);
  return out;
}

double NaiveElementMass(const DclsArgs& args, const std::vector<double>& q,
                        const std::vector<double>& sigma) {
  const std::vector<int64_t> sizes(args.dilated_kernel_size.begin(),
                                   args.dilated_kernel_size.end());
  int64_t volume = 1;
  for (int64_t s : sizes) volume *= s;
  double mass = 0.0;
  for (int64_t flat = 0; flat < volume; ++flat) {
    mass += Phi(args.interpolation, Unravel(flat, sizes), q, sigma);
  }
  return mass;
}

std::vector<double> NaiveDclsKernel(
    const DclsArgs& args, const Dims& weight_shape,
    const std::vector<double>& weight, const std::vector<double>& positions,
    const std::optional<std::vector<double>>& sigma) {
  const int m = static_cast<int>(args.dilated_kernel_size.size());
  const std::vector<int64_t> sizes(args.dilated_kernel_size.begin(),
                                   args.dilated_kernel_size.end());
  int64_t volume = 1;
  for (int64_t s : sizes) volume *= s;
  const int64_t k_count = weight_shape.back();
  const int64_t blocks = Product(weight_shape, 0, weight_shape.size() - 1);
  const int64_t elements = blocks * k_count;
  const double floor_sigma = SigmaFloor(args);
  std::vector<double> kernel(blocks * volume, 0.0);
  for (int64_t e = 0; e < elements; ++e) {
    std::vector<double> q(m), sig(m, 0.0);
    for (int d = 0; d < m; ++d) {
      const int a = args.axis_order == DclsAxisOrder::kReversed ? m - 1 - d : d;
      q[a] = positions[d * elements + e] + static_cast<double>(sizes[a] / 2);
      if (sigma) sig[a] = std::fabs((*sigma)[d * elements + e]) + floor_sigma;
    }
    double norm = 1.0;
    if (args.interpolation != DclsInterpolation::kBilinear) {
      norm = NaiveElementMass(args, q, sig) + args.normalization_epsilon;
    }
    if (norm == 0.0) continue;
    const int64_t block = e / k_count;
    for (int64_t flat = 0; flat < volume; ++flat) {
      kernel[block * volume + flat] +=
          weight[e] * Phi(args.interpolation, Unravel(flat, sizes), q, sig) /
          norm;
    }
  }
  return kernel;
}

int64_t AxisValue(const SpatialDims& values, int axis) {
  return values.size() == 1 ? values[0] : values[axis];
}

Dims NaiveConvOutputShape(const ConvNdArgs& args, const Dims& x_shape,
                          const Dims& w_shape) {
  Dims out{x_shape[0], w_shape[0]};
  for (size_t a = 0; a + 2 < x_shape.size(); ++a) {
    const int ax = static_cast<int>(a);
    const int64_t extent =
        AxisValue(args.dilation, ax) * (w_shape[a + 2] - 1) + 1;
    out.push_back((x_shape[a + 2] + 2 * AxisValue(args.padding, ax) - extent) /
                      AxisValue(args.stride, ax) +
                  1);
  }
  return out;
}

std::vector<double> NaiveConvNd(const ConvNdArgs& args, const Dims& x_shape,
                                const std::vector<double>& x,
                                const Dims& w_shape,
                                const std::vector<double>& w,
                                const std::vector<double>& bias) {
  const Dims y_shape = NaiveConvOutputShape(args, x_shape, w_shape);
  const int r = static_cast<int>(x_shape.size()) - 2;
  const std::vector<int64_t> out_sizes(y_shape.begin() + 2, y_shape.end());
  const std::vector<int64_t> k_sizes(w_shape.begin() + 2, w_shape.end());
  const int64_t out_volume = Product(y_shape, 2, y_shape.size());
  const int64_t in_volume = Product(x_shape, 2, x_shape.size());
  const int64_t k_volume = Product(w_shape, 2, w_shape.size());
  const int64_t c_in = x_shape[1], c_out = w_shape[0];
  const int64_t in_per_group = w_shape[1];
  const int64_t out_per_group = c_out / args.groups;
  std::vector<double> y(x_shape[0] * c_out * out_volume, 0.0);
  for (int64_t n = 0; n < x_shape[0]; ++n) {
    for (int64_t oc = 0; oc < c_out; ++oc) {
      const int64_t g = oc / out_per_group;
      for (int64_t o = 0; o < out_volume; ++o) {
        const std::vector<int64_t> out_index = Unravel(o, out_sizes);
        double acc = bias.empty() ? 0.0 : bias[oc];
        for (int64_t ic = 0; ic < in_per_group; ++ic) {
          const int64_t c = g * in_per_group + ic;
          for (int64_t kf = 0; kf < k_volume; ++kf) {
            const std::vector<int64_t> k_index = Unravel(kf, k_sizes);
            int64_t in_flat = 0;
            bool inside = true;
            for (int a = 0; a < r; ++a) {
              const int64_t i = out_index[a] * AxisValue(args.stride, a) -
                                AxisValue(args.padding, a) +
                                k_index[a] * AxisValue(args.dilation, a);
              if (i < 0 || i >= x_shape[a + 2]) inside = false;
              in_flat = in_flat * x_shape[a + 2] + i;
            }
            if (!inside) continue;
            acc += x[(n * c_in + c) * in_volume + in_flat] *
                   w[(oc * in_per_group + ic) * k_volume + kf];
          }
        }
        y[(n * c_out + oc) * out_volume + o] = acc;
      }
    }
  }
  return y;
}

double Scale(const std::vector<double>& v) {
  double s = 1.0;
  for (double e : v) s = std::max(s, std::fabs(e));
  return s;
}

}  // namespace tapconv::testing
