#ifndef TAPCONV_OPS_GEOMETRY_ORIENTED_TAPS_H_
#define TAPCONV_OPS_GEOMETRY_ORIENTED_TAPS_H_

// Where the K taps of an oriented 1D kernel land, relative to the output's
// centre pixel. Tap k (0 <= k < K) has signed index j = k - K/2; rows grow
// downwards, so a positive angle turns the horizontal kernel counter-clockwise
// on screen. docs/ops.md ("Tap rules").

#include <cmath>
#include <cstdint>
#include <vector>

#include "absl/types/span.h"
#include "ops/geometry/host_device.h"

namespace tapconv {

enum class TapRule : uint8_t {
  // Upstream Oriented1D, bit-exact: dh = trunc_f32(-sin(t) * j), dw =
  // trunc_f32(cos(t) * j) with
  // float32 sin/cos (correctly rounded) and a float32 product. Oblique angles
  // map several taps to one pixel (their weights add).
  kTrunc,
  // K distinct pixels along the digital line, extent exactly +-K/2 along the
  // dominant axis:
  // if |cos| >= |sin|: dw = j*sgn(cos), dh = round(-j*sin/|cos|);
  // else dh = -j*sgn(sin), dw = round(j*cos/|sin|); float64, round half away
  // from zero.
  kLine,
};

struct TapOffset {
  int32_t dh;
  int32_t dw;
};

TAPCONV_HOST_DEVICE inline TapOffset TruncTapOffset(float sin_theta,
                                                    float cos_theta, int j) {
  const float fj = static_cast<float>(j);
  return TapOffset{static_cast<int32_t>(-sin_theta * fj),
                   static_cast<int32_t>(cos_theta * fj)};
}

TAPCONV_HOST_DEVICE inline TapOffset LineTapOffset(double sin_theta,
                                                   double cos_theta, int j) {
  const double dj = static_cast<double>(j);
  if (fabs(cos_theta) >= fabs(sin_theta)) {
    const int32_t dw = cos_theta > 0 ? j : -j;
    return TapOffset{
        static_cast<int32_t>(round(-dj * sin_theta / fabs(cos_theta))), dw};
  }
  const int32_t dh = sin_theta > 0 ? -j : j;
  return TapOffset{
      dh, static_cast<int32_t>(round(dj * cos_theta / fabs(sin_theta)))};
}

// Offset of tap j (in [-K/2, K/2]) for angle theta (radians), before dilation.
// theta must be finite and within float32 range (ValidateOrientedAngles in
// ops/oriented_conv.h): otherwise the float conversions below are undefined
// behaviour.
TAPCONV_HOST_DEVICE inline TapOffset OrientedTapOffset(double theta, int j,
                                                       TapRule rule) {
  if (rule == TapRule::kTrunc) {
    // sin/cos of the float32 angle, correctly rounded to float32 (as upstream's
    // CPU reference does), so every backend and compiler agrees on which side
    // of an integer a tap falls.
    const double t = static_cast<double>(static_cast<float>(theta));
    return TruncTapOffset(static_cast<float>(sin(t)),
                          static_cast<float>(cos(t)), j);
  }
  return LineTapOffset(sin(theta), cos(theta), j);
}

// Per-channel tap offsets, dilation applied: tap k of channel c is at
// (dh[c*K + k], dw[c*K + k]) from the output's centre pixel.
struct OrientedTapTable {
  int64_t channels = 0;
  int taps = 0;
  std::vector<int32_t> dh, dw;

  TapOffset at(int64_t c, int k) const {
    return TapOffset{dh[c * taps + k], dw[c * taps + k]};
  }
};

OrientedTapTable BuildOrientedTapTable(absl::Span<const double> theta, int taps,
                                       TapRule rule, int64_t dilation);

// Number of distinct pixels among the taps of one channel (trunc makes
// duplicates).
int CountDistinctTaps(const OrientedTapTable& table, int64_t channel);

}  // namespace tapconv

#endif  // TAPCONV_OPS_GEOMETRY_ORIENTED_TAPS_H_
