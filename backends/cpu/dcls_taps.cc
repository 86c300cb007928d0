#include "backends/cpu/dcls_taps.h"

#include <algorithm>

#include "ops/geometry/dcls_interpolation.h"

namespace tapconv::cpu {
namespace {

int64_t Product(const SpatialDims& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

void InitElement(const DclsArgs& args, const DclsShape& s,
                 const std::vector<double>& positions, int64_t elements,
                 int64_t e, DclsElement<double>* element) {
  double pos[kMaxDclsAxes], sig[kMaxDclsAxes] = {0, 0, 0};
  for (int d = 0; d < s.learnable_rank; ++d)
    pos[d] = positions[d * elements + e];
  element->InitFromParameters(DclsInterpolation::kBilinear, args.axis_order,
                              s.learnable_rank, s.dilated_size.data(), pos, sig,
                              0.0, 0.0);
}

// Calls visit(offset, x) for every grid point x of the element's support in
// row-major order; offset is x's row-major index inside the S_1 x ... x S_M
// box.
template <typename Visit>
void ForEachSupportPoint(const DclsShape& s, const DclsElement<double>& element,
                         Visit visit) {
  const int m = s.learnable_rank;
  int64_t first[kMaxDclsAxes], last[kMaxDclsAxes], x[kMaxDclsAxes];
  for (int a = 0; a < m; ++a) {
    first[a] = element.axis[a].first();
    last[a] = element.axis[a].last();
    if (first[a] > last[a]) return;
    x[a] = first[a];
  }
  while (true) {
    int64_t offset = 0;
    for (int a = 0; a < m; ++a) offset = offset * s.dilated_size[a] + x[a];
    visit(offset, x);
    int a = m - 1;
    while (a >= 0 && x[a] == last[a]) {
      x[a] = first[a];
      --a;
    }
    if (a < 0) return;
    ++x[a];
  }
}

}  // namespace

DclsTapTable BuildDclsTaps(const DclsArgs& args, const DclsShape& s,
                           const std::vector<double>& weight,
                           const std::vector<double>& positions) {
  const int64_t dense = Product(s.dense_size);
  const int64_t box = Product(s.dilated_size);
  const int64_t k_count = s.kernel_count;
  const int64_t elements = static_cast<int64_t>(weight.size());
  DclsTapTable table;
  table.channels = s.out_channels;
  table.kernel_volume = dense * box;
  table.begin.assign(1, 0);
  table.element_begin.assign(elements + 1, 0);
  struct Corner {
    int64_t cell;
    double value;
    int64_t index;  // position in element order
  };
  std::vector<Corner> corners;
  std::vector<int64_t> corner_tap;
  int64_t next_index = 0;
  DclsElement<double> element;
  for (int64_t c = 0; c < s.out_channels; ++c) {
    corners.clear();
    const int64_t channel_first_index = next_index;
    for (int64_t t = 0; t < dense; ++t) {
      for (int64_t k = 0; k < k_count; ++k) {
        const int64_t e = (c * dense + t) * k_count + k;
        table.element_begin[e] = next_index;
        InitElement(args, s, positions, elements, e, &element);
        const double w = weight[e];
        ForEachSupportPoint(s, element, [&](int64_t offset, const int64_t* x) {
          corners.push_back(
              {t * box + offset, w * element.Coefficient(x), next_index++});
        });
      }
    }
    // Equal cells keep element order, so each cell's sum is in element order.
    std::stable_sort(
        corners.begin(), corners.end(),
        [](const Corner& a, const Corner& b) { return a.cell < b.cell; });
    corner_tap.resize(next_index - channel_first_index);
    for (size_t i = 0; i < corners.size(); ++i) {
      if (i == 0 || corners[i].cell != corners[i - 1].cell) {
        table.cell.push_back(corners[i].cell);
        table.coefficient.push_back(0.0);
      }
      table.coefficient.back() += corners[i].value;
      corner_tap[corners[i].index - channel_first_index] =
          static_cast<int64_t>(table.cell.size()) - 1;
    }
    table.element_tap.insert(table.element_tap.end(), corner_tap.begin(),
                             corner_tap.end());
    table.begin.push_back(static_cast<int64_t>(table.cell.size()));
  }
  table.element_begin[elements] = next_index;
  return table;
}

void DclsTapParameterGradient(const DclsArgs& args, const DclsShape& s,
                              const std::vector<double>& weight,
                              const std::vector<double>& positions,
                              const DclsTapTable& table,
                              const std::vector<double>& tap_gradient,
                              std::vector<double>* dweight,
                              std::vector<double>* dpositions) {
  const int m = s.learnable_rank;
  const int64_t elements = static_cast<int64_t>(weight.size());
  if (dweight) dweight->assign(elements, 0.0);
  if (dpositions) dpositions->assign(m * elements, 0.0);
  DclsElement<double> element;
  for (int64_t e = 0; e < elements; ++e) {
    InitElement(args, s, positions, elements, e, &element);
    int64_t corner = table.element_begin[e];
    double dw = 0.0, dq[kMaxDclsAxes] = {0, 0, 0};
    ForEachSupportPoint(s, element, [&](int64_t, const int64_t* x) {
      const double g = tap_gradient[table.element_tap[corner++]];
      dw += g * element.Coefficient(x);
      double cq[kMaxDclsAxes], cs[kMaxDclsAxes];
      element.CoefficientGradient(x, cq, cs);
      for (int a = 0; a < m; ++a) dq[a] += g * cq[a];
    });
    for (int a = 0; a < m; ++a) dq[a] *= weight[e];
    const double no_sigma[kMaxDclsAxes] = {0, 0, 0};
    double dp[kMaxDclsAxes], dsig[kMaxDclsAxes];
    element.ParameterGradient(dq, no_sigma, dp, dsig);
    if (dweight) (*dweight)[e] = dw;
    if (dpositions) {
      for (int d = 0; d < m; ++d) (*dpositions)[d * elements + e] = dp[d];
    }
  }
}

}  // namespace tapconv::cpu
