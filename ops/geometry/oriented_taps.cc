#include "ops/geometry/oriented_taps.h"

#include <algorithm>
#include <utility>

namespace tapconv {

OrientedTapTable BuildOrientedTapTable(absl::Span<const double> theta, int taps,
                                       TapRule rule, int64_t dilation) {
  OrientedTapTable table;
  table.channels = static_cast<int64_t>(theta.size());
  table.taps = taps;
  table.dh.resize(theta.size() * taps);
  table.dw.resize(theta.size() * taps);
  const int half = taps / 2;
  for (size_t c = 0; c < theta.size(); ++c) {
    for (int k = 0; k < taps; ++k) {
      const TapOffset o = OrientedTapOffset(theta[c], k - half, rule);
      table.dh[c * taps + k] = static_cast<int32_t>(o.dh * dilation);
      table.dw[c * taps + k] = static_cast<int32_t>(o.dw * dilation);
    }
  }
  return table;
}

int CountDistinctTaps(const OrientedTapTable& table, int64_t channel) {
  std::vector<std::pair<int32_t, int32_t>> pixels;
  for (int k = 0; k < table.taps; ++k) {
    const TapOffset o = table.at(channel, k);
    pixels.emplace_back(o.dh, o.dw);
  }
  std::sort(pixels.begin(), pixels.end());
  return static_cast<int>(std::unique(pixels.begin(), pixels.end()) -
                          pixels.begin());
}

}  // namespace tapconv
