#ifndef TAPCONV_OPS_GEOMETRY_DCLS_INTERPOLATION_H_
#define TAPCONV_OPS_GEOMETRY_DCLS_INTERPOLATION_H_

// How one DCLS kernel element (a weight at a real position q in an S_1 x ... x S_M box) spreads
// over the box's grid points, with the derivatives the backward passes need.
// docs/ops.md#dcls-interpolation has the formulas.
//
// Every interpolant here is separable: phi(x) = prod_d phi_d(x_d). The element's coefficient at
// grid point x is coeff(x) = phi(x) / norm with
//   bilinear:         norm = 1 (corners outside the box are dropped, overlaps add)
//   gauss, triangle:  norm = prod_d Z_d + epsilon, Z_d = sum over the axis of phi_d
// (the box is a product of axes, so the sum of phi over the box is the product of axis sums).

#include <cmath>
#include <cstdint>

#include "ops/geometry/host_device.h"

namespace tapconv {

enum class DclsInterpolation : uint8_t {
  kBilinear,  // upstream v0: floor/fraction, the ConvNeXt-dcls checkpoints
  kGauss,     // phi_d = exp(-((x - q) / sigma)^2 / 2), renormalised
  kTriangle,  // phi_d = max(0, sigma - |x - q|), renormalised (upstream "max")
};

// sigma = |SIG| + floor. Upstream: gauss 0.27, triangle ("max") 1.
inline double DefaultSigmaFloor(DclsInterpolation interpolation) {
  switch (interpolation) {
    case DclsInterpolation::kGauss:
      return 0.27;
    case DclsInterpolation::kTriangle:
      return 1.0;
    default:
      return 0.0;
  }
}

inline constexpr int kMaxDclsAxes = 3;

// d|SIG|/dSIG with the sub-gradient +1 at SIG = 0: upstream's torch.abs gives 0 there, so a
// sigma initialised at SIG = 0 never learns. With +1 it can grow; it still cannot go below
// the floor (a step to SIG < 0 raises |SIG| and the next step brings it back).
template <typename T>
TAPCONV_HOST_DEVICE inline T SigmaDerivativeSign(T sig) {
  return sig < T(0) ? T(-1) : T(1);
}

// floor/ceil results as grid indices, clamped to [lo, hi]: positions far outside the box (or
// NaN) land on an index outside it instead of overflowing the integer conversion.
template <typename T>
TAPCONV_HOST_DEVICE inline int64_t ClampedIndex(T v, int64_t lo, int64_t hi) {
  if (!(v >= static_cast<T>(lo))) return lo;
  if (v > static_cast<T>(hi)) return hi;
  return static_cast<int64_t>(v);
}

// One element along one learnable axis of `size` grid points.
template <typename T>
struct DclsAxis {
  DclsInterpolation kind;
  int64_t size;
  T q;      // continuous position in grid units, 0 = first grid point
  T sigma;  // unused by bilinear
  int64_t floor_q;

  TAPCONV_HOST_DEVICE void Init(DclsInterpolation k, int64_t s, T position, T width) {
    kind = k;
    size = s;
    q = position;
    sigma = width;
    floor_q = ClampedIndex(floor(q), -2, s + 1);
  }

  // Grid points [first, last] that may get a non-zero coefficient (clipped to the box; empty
  // when first > last).
  TAPCONV_HOST_DEVICE int64_t first() const {
    int64_t f = 0;
    if (kind == DclsInterpolation::kBilinear) f = floor_q;
    if (kind == DclsInterpolation::kTriangle) f = ClampedIndex(ceil(q - sigma), -1, size);
    return f < 0 ? 0 : f;
  }
  TAPCONV_HOST_DEVICE int64_t last() const {
    int64_t l = size - 1;
    if (kind == DclsInterpolation::kBilinear) l = floor_q + 1;
    if (kind == DclsInterpolation::kTriangle) l = ClampedIndex(floor(q + sigma), -1, size);
    return l > size - 1 ? size - 1 : l;
  }

  TAPCONV_HOST_DEVICE T phi(int64_t x) const {
    const T u = static_cast<T>(x) - q;
    switch (kind) {
      case DclsInterpolation::kBilinear: {
        const T r = q - static_cast<T>(floor_q);
        return x == floor_q ? T(1) - r : (x == floor_q + 1 ? r : T(0));
      }
      case DclsInterpolation::kGauss: {
        const T z = u / sigma;
        return exp(T(-0.5) * z * z);
      }
      case DclsInterpolation::kTriangle: {
        const T v = sigma - fabs(u);
        return v > T(0) ? v : T(0);
      }
    }
    return T(0);
  }

  // d phi / d q. Bilinear uses the floor/fraction form, so at an integer q this is the forward
  // difference (non-zero): an element sitting exactly on a grid point can still move.
  TAPCONV_HOST_DEVICE T dphi_dq(int64_t x) const {
    const T u = static_cast<T>(x) - q;
    switch (kind) {
      case DclsInterpolation::kBilinear:
        return x == floor_q ? T(-1) : (x == floor_q + 1 ? T(1) : T(0));
      case DclsInterpolation::kGauss:
        return phi(x) * u / (sigma * sigma);
      case DclsInterpolation::kTriangle:
        return sigma - fabs(u) > T(0) ? (u > T(0) ? T(1) : (u < T(0) ? T(-1) : T(0))) : T(0);
    }
    return T(0);
  }

  TAPCONV_HOST_DEVICE T dphi_dsigma(int64_t x) const {
    const T u = static_cast<T>(x) - q;
    switch (kind) {
      case DclsInterpolation::kBilinear:
        return T(0);
      case DclsInterpolation::kGauss:
        return phi(x) * u * u / (sigma * sigma * sigma);
      case DclsInterpolation::kTriangle:
        return sigma - fabs(u) > T(0) ? T(1) : T(0);
    }
    return T(0);
  }
};

// One element over all M learnable axes: the normalisation and its derivatives.
template <typename T>
struct DclsElement {
  int rank;
  DclsAxis<T> axis[kMaxDclsAxes];
  bool normalized;
  T z[kMaxDclsAxes], dz_dq[kMaxDclsAxes], dz_dsigma[kMaxDclsAxes];
  T norm;  // prod z + epsilon, or 1 for bilinear

  // q[d], sigma[d]: position (grid units) and width along learnable axis d of size size[d].
  TAPCONV_HOST_DEVICE void Init(DclsInterpolation kind, int m, const int64_t* size, const T* q,
                                const T* sigma, T epsilon) {
    rank = m;
    normalized = kind != DclsInterpolation::kBilinear;
    norm = T(1);
    for (int d = 0; d < m; ++d) {
      axis[d].Init(kind, size[d], q[d], normalized ? sigma[d] : T(0));
      z[d] = T(1);
      dz_dq[d] = T(0);
      dz_dsigma[d] = T(0);
      if (!normalized) continue;
      T s = T(0), sq = T(0), ss = T(0);
      for (int64_t x = axis[d].first(); x <= axis[d].last(); ++x) {
        s += axis[d].phi(x);
        sq += axis[d].dphi_dq(x);
        ss += axis[d].dphi_dsigma(x);
      }
      z[d] = s;
      dz_dq[d] = sq;
      dz_dsigma[d] = ss;
    }
    if (normalized) {
      T prod = T(1);
      for (int d = 0; d < m; ++d) prod *= z[d];
      norm = prod + epsilon;
    }
  }

  // Coefficient of grid point x (x[d] inside the box).
  TAPCONV_HOST_DEVICE T Coefficient(const int64_t* x) const {
    T c = T(1);
    for (int d = 0; d < rank; ++d) c *= axis[d].phi(x[d]);
    return c / norm;
  }

  // d coeff(x) / d q[d] and d coeff(x) / d sigma[d] for every axis d.
  TAPCONV_HOST_DEVICE void CoefficientGradient(const int64_t* x, T* dq, T* dsigma) const {
    T phi[kMaxDclsAxes];
    for (int d = 0; d < rank; ++d) phi[d] = axis[d].phi(x[d]);
    for (int d = 0; d < rank; ++d) {
      T others_phi = T(1), others_z = T(1);
      for (int e = 0; e < rank; ++e) {
        if (e == d) continue;
        others_phi *= phi[e];
        others_z *= z[e];
      }
      const T coeff = others_phi * phi[d] / norm;
      dq[d] = others_phi * axis[d].dphi_dq(x[d]) / norm;
      dsigma[d] = others_phi * axis[d].dphi_dsigma(x[d]) / norm;
      if (normalized) {
        dq[d] -= coeff * dz_dq[d] * others_z / norm;
        dsigma[d] -= coeff * dz_dsigma[d] * others_z / norm;
      }
    }
  }
};

}  // namespace tapconv

#endif  // TAPCONV_OPS_GEOMETRY_DCLS_INTERPOLATION_H_
