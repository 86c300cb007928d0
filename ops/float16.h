#ifndef TAPCONV_OPS_FLOAT16_H_
#define TAPCONV_OPS_FLOAT16_H_

#include <cmath>
#include <cstdint>
#include <cstring>

namespace tapconv {

// Storage-only 16-bit floats for host code. Arithmetic always happens after
// conversion to float (or double); conversion to 16 bits rounds to nearest
// even, as the hardware does.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};

inline float FloatFromBits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline uint32_t BitsFromFloat(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  return u;
}

inline float ToFloat(BFloat16 h) {
  return FloatFromBits(uint32_t{h.bits} << 16);
}

inline BFloat16 ToBFloat16(float f) {
  uint32_t u = BitsFromFloat(f);
  if (std::isnan(f))
    return BFloat16{static_cast<uint16_t>((u >> 16) | 0x40)};  // quiet NaN
  u += 0x7fff + ((u >> 16) & 1);  // round to nearest even
  return BFloat16{static_cast<uint16_t>(u >> 16)};
}

inline float ToFloat(Half h) {
  const uint32_t sign = uint32_t{h.bits & 0x8000u} << 16;
  const uint32_t exponent = (h.bits >> 10) & 0x1f;
  const uint32_t mantissa = h.bits & 0x3ff;
  if (exponent == 0x1f)
    return FloatFromBits(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0)
    return FloatFromBits(sign | ((exponent + 112) << 23) | (mantissa << 13));
  // Subnormal half: exact in float.
  const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
  return sign ? -magnitude : magnitude;
}

inline Half ToHalf(float f) {
  const uint32_t u = BitsFromFloat(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // inf or NaN
    return Half{static_cast<uint16_t>(sign | 0x7c00u |
                                      (abs > 0x7f800000u ? 0x200u : 0u))};
  }
  if (abs >= 0x477ff000u)
    return Half{static_cast<uint16_t>(sign | 0x7c00u)};  // overflow
  if (abs < 0x38800000u) {
    // Result is subnormal or zero: scale so that the half ulp (2^-24) becomes 1
    // and let the float unit do the round-to-nearest-even.
    const float scaled = FloatFromBits(abs) * 16777216.0f;  // 2^24
    return Half{static_cast<uint16_t>(
        sign | static_cast<uint16_t>(std::nearbyint(scaled)))};
  }
  uint32_t rounded =
      abs + 0xfffu + ((abs >> 13) & 1u);  // round to nearest even at bit 13
  rounded -= 0x38000000u;                 // rebias 127 -> 15
  return Half{static_cast<uint16_t>(sign | (rounded >> 13))};
}

}  // namespace tapconv

#endif  // TAPCONV_OPS_FLOAT16_H_
