#ifndef TAPCONV_OPS_GEOMETRY_DCLS_INTERPOLATION_H_
#define TAPCONV_OPS_GEOMETRY_DCLS_INTERPOLATION_H_

// How one DCLS kernel element (a weight at a real position q in an S_1 x ... x
// S_M box) spreads over the box's grid points, with the derivatives the
// backward passes need. docs/ops.md#dcls has the formulas.
//
// Every interpolant here is separable: phi(x) = prod_a phi_a(x_a). The
// element's coefficient at grid point x is coeff(x) = phi(x) / norm with
//   bilinear:         norm = 1 (corners outside the box are dropped, overlaps
//   add) gauss, triangle:  norm = prod_a Z_a + epsilon, Z_a = sum over axis a
//   of phi_a
// (the box is a product of axes, so the sum of phi over the box is the product
// of axis sums). When norm is 0 (epsilon = 0 and no mass inside the box) the
// element contributes nothing.
//
// Names: `a` indexes the kernel's learnable axes (in kernel order), `d` the
// positions' first axis (P[d]); the axis order maps one to the other.

#include <cmath>
#include <cstdint>

#include "ops/geometry/host_device.h"

namespace tapconv {

enum class DclsInterpolation : uint8_t {
  kBilinear,  // upstream v0: floor/fraction, the ConvNeXt-dcls checkpoints
  kGauss,     // phi_a = exp(-((x - q) / sigma)^2 / 2), renormalised
  kTriangle,  // phi_a = max(0, sigma - |x - q|), renormalised (upstream "max")
};

// Which learnable kernel axis P[d] moves along.
enum class DclsAxisOrder : uint8_t {
  kNatural,   // P[d] <-> learnable axis d (1D: L; 2D: H, W; 3D: D, H, W)
  kReversed,  // P[d] <-> learnable axis M-1-d: upstream's v1/gauss checkpoints
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

// The learnable kernel axis (0 .. m-1) that P[d] moves along.
TAPCONV_HOST_DEVICE inline int DclsPositionAxis(DclsAxisOrder order, int d,
                                                int m) {
  return order == DclsAxisOrder::kReversed ? m - 1 - d : d;
}

// P = 0 sits on grid index floor(S/2): the centre tap for odd S, half a cell
// past the box's centre for even S.
TAPCONV_HOST_DEVICE inline int64_t DclsCentre(int64_t size) { return size / 2; }

// d|SIG|/dSIG with the sub-gradient +1 at SIG = 0: upstream's torch.abs gives 0
// there, so a sigma initialised at SIG = 0 never learns. With +1 it can grow;
// it still cannot go below the floor (a step to SIG < 0 raises |SIG| and the
// next step brings it back).
template <typename T>
TAPCONV_HOST_DEVICE inline T SigmaDerivativeSign(T sig) {
  return sig < T(0) ? T(-1) : T(1);
}

// floor/ceil results as grid indices, clamped to [lo, hi]: positions far
// outside the box (or NaN) land on an index outside it instead of overflowing
// the integer conversion.
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

  TAPCONV_HOST_DEVICE void Init(DclsInterpolation k, int64_t s, T position,
                                T width) {
    kind = k;
    size = s;
    q = position;
    sigma = width;
    // [-2, s + 1] keeps both corners floor_q and floor_q + 1 outside the box
    // whenever the true floor is.
    floor_q = ClampedIndex(floor(q), -2, s + 1);
  }

  // Grid points [first, last] that may get a non-zero coefficient (clipped to
  // the box; empty when first > last).
  TAPCONV_HOST_DEVICE int64_t first() const {
    int64_t f = 0;
    if (kind == DclsInterpolation::kBilinear) f = floor_q;
    if (kind == DclsInterpolation::kTriangle)
      f = ClampedIndex(ceil(q - sigma), -1, size);
    return f < 0 ? 0 : f;
  }
  TAPCONV_HOST_DEVICE int64_t last() const {
    int64_t l = size - 1;
    if (kind == DclsInterpolation::kBilinear) l = floor_q + 1;
    if (kind == DclsInterpolation::kTriangle)
      l = ClampedIndex(floor(q + sigma), -1, size);
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

  // d phi / d q. Bilinear uses the floor/fraction form, so at an integer q this
  // is the forward difference (non-zero): an element sitting exactly on a grid
  // point can still move. The triangle's kink at x = q gets the sub-gradient 0.
  TAPCONV_HOST_DEVICE T dphi_dq(int64_t x) const {
    const T u = static_cast<T>(x) - q;
    switch (kind) {
      case DclsInterpolation::kBilinear:
        return x == floor_q ? T(-1) : (x == floor_q + 1 ? T(1) : T(0));
      case DclsInterpolation::kGauss:
        return phi(x) * u / (sigma * sigma);
      case DclsInterpolation::kTriangle:
        return sigma - fabs(u) > T(0)
                   ? (u > T(0) ? T(1) : (u < T(0) ? T(-1) : T(0)))
                   : T(0);
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
  DclsAxis<T> axis[kMaxDclsAxes];  // indexed by learnable kernel axis a
  bool normalized;
  T z[kMaxDclsAxes], dz_dq[kMaxDclsAxes], dz_dsigma[kMaxDclsAxes];
  T norm;                           // prod z + epsilon, or 1 for bilinear
  T inv_norm;                       // 1 / norm, or 0 when norm is 0
  int position_axis[kMaxDclsAxes];  // kernel axis that P[d] moves along
  T sig_sign[kMaxDclsAxes];         // d|SIG[d]| / dSIG[d]

  // q[a], sigma[a]: position (grid units) and width along learnable kernel axis
  // a of size size[a].
  TAPCONV_HOST_DEVICE void Init(DclsInterpolation kind, int m,
                                const int64_t* size, const T* q, const T* sigma,
                                T epsilon) {
    rank = m;
    normalized = kind != DclsInterpolation::kBilinear;
    norm = T(1);
    for (int a = 0; a < m; ++a) {
      position_axis[a] = a;
      sig_sign[a] = T(1);
      axis[a].Init(kind, size[a], q[a], normalized ? sigma[a] : T(0));
      z[a] = T(1);
      dz_dq[a] = T(0);
      dz_dsigma[a] = T(0);
      if (!normalized) continue;
      T s = T(0), sq = T(0), ss = T(0);
      for (int64_t x = axis[a].first(); x <= axis[a].last(); ++x) {
        s += axis[a].phi(x);
        sq += axis[a].dphi_dq(x);
        ss += axis[a].dphi_dsigma(x);
      }
      z[a] = s;
      dz_dq[a] = sq;
      dz_dsigma[a] = ss;
    }
    if (normalized) {
      T prod = T(1);
      for (int a = 0; a < m; ++a) prod *= z[a];
      norm = prod + epsilon;
    }
    inv_norm = norm > T(0) ? T(1) / norm : T(0);
  }

  // The element from its parameters as stored: p[d] = P[d], sig[d] = SIG[d]
  // (ignored by bilinear; may be null then). Applies the axis order, the
  // centring q = P + floor(S/2) by the size of the axis P[d] moves along, and
  // sigma = |SIG| + sigma_floor.
  TAPCONV_HOST_DEVICE void InitFromParameters(DclsInterpolation kind,
                                              DclsAxisOrder order, int m,
                                              const int64_t* size, const T* p,
                                              const T* sig, T sigma_floor,
                                              T epsilon) {
    // Zeroed: m <= kMaxDclsAxes axes are written, the compiler cannot see it.
    T q[kMaxDclsAxes] = {}, sigma[kMaxDclsAxes] = {}, sign[kMaxDclsAxes] = {};
    const bool has_sigma = kind != DclsInterpolation::kBilinear;
    for (int d = 0; d < m; ++d) {
      const int a = DclsPositionAxis(order, d, m);
      q[a] = p[d] + static_cast<T>(DclsCentre(size[a]));
      sigma[a] = has_sigma ? fabs(sig[d]) + sigma_floor : T(0);
      sign[a] = has_sigma ? SigmaDerivativeSign(sig[d]) : T(0);
    }
    Init(kind, m, size, q, sigma, epsilon);
    for (int d = 0; d < m; ++d) {
      const int a = DclsPositionAxis(order, d, m);
      position_axis[d] = a;
      sig_sign[d] = sign[a];
    }
  }

  // Coefficient of grid point x (x[a] inside the box).
  TAPCONV_HOST_DEVICE T Coefficient(const int64_t* x) const {
    T c = T(1);
    for (int a = 0; a < rank; ++a) c *= axis[a].phi(x[a]);
    return c * inv_norm;
  }

  // d coeff(x) / d q[a] and d coeff(x) / d sigma[a] for every kernel axis a.
  TAPCONV_HOST_DEVICE void CoefficientGradient(const int64_t* x, T* dq,
                                               T* dsigma) const {
    T phi[kMaxDclsAxes];
    for (int a = 0; a < rank; ++a) phi[a] = axis[a].phi(x[a]);
    for (int a = 0; a < rank; ++a) {
      T others_phi = T(1), others_z = T(1);
      for (int e = 0; e < rank; ++e) {
        if (e == a) continue;
        others_phi *= phi[e];
        others_z *= z[e];
      }
      dq[a] = others_phi * axis[a].dphi_dq(x[a]) * inv_norm;
      dsigma[a] = others_phi * axis[a].dphi_dsigma(x[a]) * inv_norm;
      if (normalized) {
        // coeff = phi / (prod z + eps): the quotient rule's second term.
        const T coeff = others_phi * phi[a] * inv_norm;
        dq[a] -= coeff * dz_dq[a] * others_z * inv_norm;
        dsigma[a] -= coeff * dz_dsigma[a] * others_z * inv_norm;
      }
    }
  }

  // Gradients of the parameters P[d], SIG[d] from those of q[a], sigma[a] (per
  // kernel axis).
  TAPCONV_HOST_DEVICE void ParameterGradient(const T* dq, const T* dsigma,
                                             T* dp, T* dsig) const {
    for (int d = 0; d < rank; ++d) {
      dp[d] = dq[position_axis[d]];
      dsig[d] = dsigma[position_axis[d]] * sig_sign[d];
    }
  }
};

}  // namespace tapconv

#endif  // TAPCONV_OPS_GEOMETRY_DCLS_INTERPOLATION_H_
