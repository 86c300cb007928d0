#ifndef TAPCONV_BACKENDS_CPU_DCLS_TAPS_H_
#define TAPCONV_BACKENDS_CPU_DCLS_TAPS_H_

// The sparse kernel of a bilinear depthwise DCLS layer: per channel, the
// kernel cells its <= 2^M * K elements (times the dense taps) touch, each cell
// once, with the summed weight * coefficient of every element corner landing
// on it. The fused depthwise ops convolve with these taps directly (no dense
// S^M kernel); the parameter gradients need dL/dkernel only at these cells.
//
// The geometry (centring, axis order, floor/fraction corners, dropped
// out-of-box corners) is DclsElement's (ops/geometry/dcls_interpolation.h).

#include <cstdint>
#include <vector>

#include "ops/dcls.h"

namespace tapconv::cpu {

struct DclsTapTable {
  int64_t channels;
  // The kernel volume (*dense, *S) of one channel; cell indices are row-major
  // in it.
  int64_t kernel_volume;
  // Taps of channel c: [begin[c], begin[c + 1]), in increasing cell order.
  // `coefficient` sums, in element order, weight * coefficient of every
  // element corner on the cell; it may be exactly 0 (a corner with r = 0),
  // which still matters for the position gradient.
  std::vector<int64_t> begin, cell;
  std::vector<double> coefficient;
  // For element e = (c * dense + t) * K + k and its support points in
  // DclsElement order: the tap each lands on, at [element_begin[e],
  // element_begin[e + 1]).
  std::vector<int64_t> element_begin, element_tap;
};

// weight (C, 1, *dense, K) and positions (M, C, 1, *dense, K) as float64;
// the channels on num_threads threads (the same table for any count).
DclsTapTable BuildDclsTaps(const DclsArgs& args, const DclsShape& shape,
                           const std::vector<double>& weight,
                           const std::vector<double>& positions,
                           int num_threads);

// From dL/dkernel at every tap (tap_gradient[i] for table.cell[i]): dL/dweight
// and dL/dpositions as float64 (either may be null).
void DclsTapParameterGradient(const DclsArgs& args, const DclsShape& shape,
                              const std::vector<double>& weight,
                              const std::vector<double>& positions,
                              const DclsTapTable& table,
                              const std::vector<double>& tap_gradient,
                              std::vector<double>* dweight,
                              std::vector<double>* dpositions, int num_threads);

}  // namespace tapconv::cpu

#endif  // TAPCONV_BACKENDS_CPU_DCLS_TAPS_H_
