#include "backends/cpu/dcls_taps.h"

#include <algorithm>

#include "backends/cpu/parallel.h"
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

// One channel's taps (cells in increasing order, their summed coefficients)
// and, for each of its element corners in element order, the index of the
// tap it lands on, counted from the channel's first tap.
struct ChannelTaps {
  std::vector<int64_t> cell;
  std::vector<double> coefficient;
  std::vector<int64_t> corner_tap;
  std::vector<int64_t> element_corners;  // corners of each of its elements
};

void BuildChannelTaps(const DclsArgs& args, const DclsShape& s,
                      const std::vector<double>& weight,
                      const std::vector<double>& positions, int64_t c,
                      ChannelTaps* out) {
  const int64_t dense = Product(s.dense_size);
  const int64_t box = Product(s.dilated_size);
  const int64_t k_count = s.kernel_count;
  const int64_t elements = static_cast<int64_t>(weight.size());
  struct Corner {
    int64_t cell;
    double value;
    int64_t index;  // position in the channel's element order
  };
  std::vector<Corner> corners;
  DclsElement<double> element;
  for (int64_t t = 0; t < dense; ++t) {
    for (int64_t k = 0; k < k_count; ++k) {
      const int64_t e = (c * dense + t) * k_count + k;
      InitElement(args, s, positions, elements, e, &element);
      const double w = weight[e];
      const size_t before = corners.size();
      ForEachSupportPoint(s, element, [&](int64_t offset, const int64_t* x) {
        const int64_t index = static_cast<int64_t>(corners.size());
        corners.push_back(
            {t * box + offset, w * element.Coefficient(x), index});
      });
      out->element_corners.push_back(
          static_cast<int64_t>(corners.size() - before));
    }
  }
  // Equal cells keep element order, so each cell's sum is in element order.
  std::stable_sort(
      corners.begin(), corners.end(),
      [](const Corner& a, const Corner& b) { return a.cell < b.cell; });
  out->corner_tap.resize(corners.size());
  for (size_t i = 0; i < corners.size(); ++i) {
    if (i == 0 || corners[i].cell != corners[i - 1].cell) {
      out->cell.push_back(corners[i].cell);
      out->coefficient.push_back(0.0);
    }
    out->coefficient.back() += corners[i].value;
    out->corner_tap[corners[i].index] =
        static_cast<int64_t>(out->cell.size()) - 1;
  }
}

}  // namespace

DclsTapTable BuildDclsTaps(const DclsArgs& args, const DclsShape& s,
                           const std::vector<double>& weight,
                           const std::vector<double>& positions,
                           int num_threads) {
  const int64_t channels = s.out_channels;
  const int64_t elements = static_cast<int64_t>(weight.size());
  // Channels are independent: built in parallel, joined in channel order
  // (the table is the same for any thread count).
  std::vector<ChannelTaps> per_channel(channels);
  ParallelFor(channels, 16, num_threads, [&](int64_t begin, int64_t end) {
    for (int64_t c = begin; c < end; ++c) {
      BuildChannelTaps(args, s, weight, positions, c, &per_channel[c]);
    }
  });
  DclsTapTable table;
  table.channels = channels;
  table.kernel_volume = Product(s.dense_size) * Product(s.dilated_size);
  table.begin.assign(1, 0);
  table.element_begin.assign(elements + 1, 0);
  int64_t e = 0, corner_base = 0;
  for (const ChannelTaps& ch : per_channel) {
    const int64_t tap_base = static_cast<int64_t>(table.cell.size());
    table.cell.insert(table.cell.end(), ch.cell.begin(), ch.cell.end());
    table.coefficient.insert(table.coefficient.end(), ch.coefficient.begin(),
                             ch.coefficient.end());
    for (int64_t tap : ch.corner_tap)
      table.element_tap.push_back(tap_base + tap);
    for (int64_t count : ch.element_corners) {
      table.element_begin[e++] = corner_base;
      corner_base += count;
    }
    table.begin.push_back(static_cast<int64_t>(table.cell.size()));
  }
  table.element_begin[elements] = corner_base;
  return table;
}

void DclsTapParameterGradient(
    const DclsArgs& args, const DclsShape& s, const std::vector<double>& weight,
    const std::vector<double>& positions, const DclsTapTable& table,
    const std::vector<double>& tap_gradient, std::vector<double>* dweight,
    std::vector<double>* dpositions, int num_threads) {
  const int m = s.learnable_rank;
  const int64_t elements = static_cast<int64_t>(weight.size());
  if (dweight) dweight->assign(elements, 0.0);
  if (dpositions) dpositions->assign(m * elements, 0.0);
  // Each element's gradients are its own: elements in parallel.
  ParallelFor(elements, 256, num_threads, [&](int64_t begin, int64_t end) {
    DclsElement<double> element;
    for (int64_t e = begin; e < end; ++e) {
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
  });
}

}  // namespace tapconv::cpu
