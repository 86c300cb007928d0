#include "backends/cpu/dcls_construct.h"

#include <algorithm>
#include <vector>

#include "backends/cpu/conv_nd_arrays.h"
#include "backends/cpu/parallel.h"
#include "ops/geometry/dcls_interpolation.h"

namespace tapconv::cpu {
namespace {

// The box as 3-D: learnable axis a is box axis a + 3 - M; missing leading axes
// have size 1 and a support of one point with phi = 1.
struct Box {
  int64_t size[3];
  int lead;  // 3 - M
};

Box BoxOf(const DclsShape& s) {
  Box b;
  b.lead = 3 - s.learnable_rank;
  for (int a = 0; a < 3; ++a)
    b.size[a] = a < b.lead ? 1 : s.dilated_size[a - b.lead];
  return b;
}

int64_t Volume(const Box& b) { return b.size[0] * b.size[1] * b.size[2]; }

// One element's interpolant tabulated over its support along every box axis.
struct AxisTables {
  int64_t first[3], count[3];
  std::vector<double> phi[3], dq[3], ds[3];

  explicit AxisTables(const Box& box) {
    for (int a = 0; a < 3; ++a) {
      phi[a].resize(box.size[a]);
      dq[a].resize(box.size[a]);
      ds[a].resize(box.size[a]);
    }
  }

  // False when the support is empty. Derivatives only when `derivatives`.
  bool Fill(const Box& box, const DclsElement<double>& e, bool derivatives) {
    for (int a = 0; a < 3; ++a) {
      if (a < box.lead) {
        first[a] = 0;
        count[a] = 1;
        phi[a][0] = 1.0;
        dq[a][0] = 0.0;
        ds[a][0] = 0.0;
        continue;
      }
      const DclsAxis<double>& axis = e.axis[a - box.lead];
      first[a] = axis.first();
      count[a] = axis.last() - first[a] + 1;
      if (count[a] <= 0) return false;
      for (int64_t i = 0; i < count[a]; ++i) {
        const int64_t x = first[a] + i;
        phi[a][i] = axis.phi(x);
        if (derivatives) {
          dq[a][i] = axis.dphi_dq(x);
          ds[a][i] = axis.dphi_dsigma(x);
        }
      }
    }
    return true;
  }
};

struct Parameters {
  std::vector<double> weight, positions, sigma;
  int64_t elements;
};

Parameters LoadParameters(const TensorRef& weight, const TensorRef& positions,
                          const std::optional<TensorRef>& sigma) {
  Parameters p;
  p.weight = LoadAs<double>(weight);
  p.positions = LoadAs<double>(positions);
  if (sigma) p.sigma = LoadAs<double>(*sigma);
  p.elements = static_cast<int64_t>(p.weight.size());
  return p;
}

void InitElement(const DclsArgs& args, const DclsShape& s, const Parameters& p,
                 int64_t e, DclsElement<double>* element) {
  double pos[kMaxDclsAxes], sig[kMaxDclsAxes];
  const bool has_sigma = !p.sigma.empty();
  for (int d = 0; d < s.learnable_rank; ++d) {
    pos[d] = p.positions[d * p.elements + e];
    sig[d] = has_sigma ? p.sigma[d * p.elements + e] : 0.0;
  }
  element->InitFromParameters(args.interpolation, args.axis_order,
                              s.learnable_rank, s.dilated_size.data(), pos, sig,
                              DclsSigmaFloor(args), args.normalization_epsilon);
}

// Blocks per parallel chunk: enough box points that the chunk is worth a
// thread.
int64_t BlockGrain(const DclsShape& s, int64_t box) {
  const int64_t work = std::max<int64_t>(1, s.kernel_count * box);
  return std::max<int64_t>(1, 16384 / work);
}

}  // namespace

absl::Status DclsConstructKernel(const DclsArgs& args, const DclsShape& s,
                                 const DclsConstructIO& io, int num_threads) {
  const Parameters p = LoadParameters(io.weight, io.positions, io.sigma);
  const Box box = BoxOf(s);
  const int64_t volume = Volume(box);
  ParallelFor(
      s.groups_of_elements, BlockGrain(s, volume), num_threads,
      [&](int64_t begin, int64_t end) {
        std::vector<double> kernel(volume);
        AxisTables t(box);
        DclsElement<double> element;
        for (int64_t block = begin; block < end; ++block) {
          std::fill(kernel.begin(), kernel.end(), 0.0);
          for (int64_t k = 0; k < s.kernel_count; ++k) {
            const int64_t e = block * s.kernel_count + k;
            InitElement(args, s, p, e, &element);
            if (element.inv_norm == 0.0) continue;
            if (!t.Fill(box, element, false)) continue;
            const double c = p.weight[e] * element.inv_norm;
            for (int64_t i0 = 0; i0 < t.count[0]; ++i0) {
              const double c0 = c * t.phi[0][i0];
              for (int64_t i1 = 0; i1 < t.count[1]; ++i1) {
                const double c1 = c0 * t.phi[1][i1];
                double* row =
                    kernel.data() +
                    ((t.first[0] + i0) * box.size[1] + t.first[1] + i1) *
                        box.size[2] +
                    t.first[2];
                const double* phi2 = t.phi[2].data();
                for (int64_t i2 = 0; i2 < t.count[2]; ++i2)
                  row[i2] += c1 * phi2[i2];
              }
            }
          }
          StoreRounded(kernel.data(), volume, io.kernel, block * volume);
        }
      });
  return absl::OkStatus();
}

absl::Status DclsConstructKernelBackward(const DclsArgs& args,
                                         const DclsShape& s,
                                         const DclsConstructBackwardIO& io,
                                         int num_threads) {
  const Parameters p = LoadParameters(io.weight, io.positions, io.sigma);
  const Box box = BoxOf(s);
  const int64_t volume = Volume(box);
  const int m = s.learnable_rank;
  const int64_t elements = p.elements;
  std::vector<double> dweight(io.dweight ? elements : 0);
  std::vector<double> dpositions(io.dpositions ? m * elements : 0);
  std::vector<double> dsigma(io.dsigma ? m * elements : 0);
  const bool derivatives = io.dpositions.has_value() || io.dsigma.has_value();
  ParallelFor(s.groups_of_elements, BlockGrain(s, volume), num_threads,
              [&](int64_t begin, int64_t end) {
                std::vector<double> g(volume);
                AxisTables t(box);
                DclsElement<double> element;
                for (int64_t block = begin; block < end; ++block) {
                  LoadDoubles(io.dkernel, block * volume, volume, g.data());
                  for (int64_t k = 0; k < s.kernel_count; ++k) {
                    const int64_t e = block * s.kernel_count + k;
                    InitElement(args, s, p, e, &element);
                    // sum: G . prod phi; tq[a], ts[a]: G . (prod over the other
                    // axes of phi) * dphi/dq resp. dphi/dsigma along box axis
                    // a.
                    double sum = 0.0, tq[3] = {0, 0, 0}, ts[3] = {0, 0, 0};
                    if (t.Fill(box, element, derivatives)) {
                      for (int64_t i0 = 0; i0 < t.count[0]; ++i0) {
                        double m0 = 0, m1q = 0, m1s = 0, m2q = 0, m2s = 0;
                        for (int64_t i1 = 0; i1 < t.count[1]; ++i1) {
                          const double* row = g.data() +
                                              ((t.first[0] + i0) * box.size[1] +
                                               t.first[1] + i1) *
                                                  box.size[2] +
                                              t.first[2];
                          double h = 0, hq = 0, hs = 0;
                          for (int64_t i2 = 0; i2 < t.count[2]; ++i2) {
                            h += row[i2] * t.phi[2][i2];
                            hq += row[i2] * t.dq[2][i2];
                            hs += row[i2] * t.ds[2][i2];
                          }
                          m0 += t.phi[1][i1] * h;
                          m1q += t.dq[1][i1] * h;
                          m1s += t.ds[1][i1] * h;
                          m2q += t.phi[1][i1] * hq;
                          m2s += t.phi[1][i1] * hs;
                        }
                        sum += t.phi[0][i0] * m0;
                        tq[0] += t.dq[0][i0] * m0;
                        ts[0] += t.ds[0][i0] * m0;
                        tq[1] += t.phi[0][i0] * m1q;
                        ts[1] += t.phi[0][i0] * m1s;
                        tq[2] += t.phi[0][i0] * m2q;
                        ts[2] += t.phi[0][i0] * m2s;
                      }
                    }
                    // coeff = prod phi / norm, so by the quotient rule
                    //   G . dcoeff/dq_a = (tq_a - dz_a/dq_a * prod_{b != a} z_b
                    //   * dw)
                    //                     / norm,   dw = G . coeff = sum / norm
                    // (normalised interpolants; bilinear has no second term).
                    const double inv = element.inv_norm;
                    const double dw = inv * sum;
                    const double w = p.weight[e];
                    double dq[kMaxDclsAxes], dsg[kMaxDclsAxes];
                    for (int a = 0; a < m; ++a) {
                      const int b = a + box.lead;
                      double q = tq[b], sg = ts[b];
                      if (element.normalized) {
                        double others = 1.0;
                        for (int c = 0; c < m; ++c) {
                          if (c != a) others *= element.z[c];
                        }
                        q -= element.dz_dq[a] * others * dw;
                        sg -= element.dz_dsigma[a] * others * dw;
                      }
                      dq[a] = w * inv * q;
                      dsg[a] = w * inv * sg;
                    }
                    double dp[kMaxDclsAxes], dsig[kMaxDclsAxes];
                    element.ParameterGradient(dq, dsg, dp, dsig);
                    if (io.dweight) dweight[e] = dw;
                    for (int d = 0; d < m; ++d) {
                      if (io.dpositions) dpositions[d * elements + e] = dp[d];
                      if (io.dsigma) dsigma[d * elements + e] = dsig[d];
                    }
                  }
                }
              });
  if (io.dweight) StoreRounded(dweight, *io.dweight);
  if (io.dpositions) StoreRounded(dpositions, *io.dpositions);
  if (io.dsigma) StoreRounded(dsigma, *io.dsigma);
  return absl::OkStatus();
}

}  // namespace tapconv::cpu
