// The per-element interpolation math of ops/geometry/dcls_interpolation.h,
// checked against brute force over the box and finite differences.

#include <cmath>
#include <limits>
#include <random>

#include "gtest/gtest.h"
#include "ops/geometry/dcls_interpolation.h"

namespace tapconv {
namespace {

constexpr DclsInterpolation kAll[] = {DclsInterpolation::kBilinear,
                                      DclsInterpolation::kGauss,
                                      DclsInterpolation::kTriangle};

// The interpolant from its definition, on any integer x.
double Phi(DclsInterpolation kind, int64_t x, double q, double sigma) {
  const double u = x - q;
  switch (kind) {
    case DclsInterpolation::kBilinear:
      return std::max(0.0, 1.0 - std::fabs(u));
    case DclsInterpolation::kGauss:
      return std::exp(-0.5 * (u / sigma) * (u / sigma));
    case DclsInterpolation::kTriangle:
      return std::max(0.0, sigma - std::fabs(u));
  }
  return 0.0;
}

bool NearKink(DclsInterpolation kind, double q, double sigma) {
  const auto near_int = [](double v) {
    return std::fabs(v - std::round(v)) < 1e-3;
  };
  if (kind == DclsInterpolation::kGauss) return false;
  if (near_int(q)) return true;
  return kind == DclsInterpolation::kTriangle &&
         (near_int(q - sigma) || near_int(q + sigma));
}

TEST(DclsAxisTest, SupportValuesAndDerivativesMatchTheDefinition) {
  std::mt19937_64 rng(71);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (DclsInterpolation kind : kAll) {
    for (int trial = 0; trial < 300; ++trial) {
      const int64_t size = 1 + trial % 9;
      const double q = -3.0 + unit(rng) * (size + 6.0);
      const double sigma = 0.3 + 2.5 * unit(rng);
      DclsAxis<double> axis;
      axis.Init(kind, size, q, sigma);
      for (int64_t x = 0; x < size; ++x) {
        const double expected = Phi(kind, x, q, sigma);
        const bool in_support = x >= axis.first() && x <= axis.last();
        if (!in_support) {
          EXPECT_EQ(expected, 0.0) << "x=" << x << " q=" << q;
          continue;
        }
        EXPECT_NEAR(axis.phi(x), expected, 1e-14) << "x=" << x << " q=" << q;
        if (NearKink(kind, q, sigma)) continue;
        const double h = 1e-6;
        DclsAxis<double> plus, minus;
        plus.Init(kind, size, q + h, sigma);
        minus.Init(kind, size, q - h, sigma);
        EXPECT_NEAR(axis.dphi_dq(x), (plus.phi(x) - minus.phi(x)) / (2 * h),
                    1e-7);
        plus.Init(kind, size, q, sigma + h);
        minus.Init(kind, size, q, sigma - h);
        EXPECT_NEAR(axis.dphi_dsigma(x), (plus.phi(x) - minus.phi(x)) / (2 * h),
                    1e-7);
      }
    }
  }
}

TEST(DclsAxisTest, BilinearSupportIsTheTwoCornersInsideTheBox) {
  DclsAxis<double> a;
  a.Init(DclsInterpolation::kBilinear, 5, 2.25, 0.0);
  EXPECT_EQ(a.first(), 2);
  EXPECT_EQ(a.last(), 3);
  a.Init(DclsInterpolation::kBilinear, 5, 4.5, 0.0);
  EXPECT_EQ(a.first(), 4);
  EXPECT_EQ(a.last(), 4);
  a.Init(DclsInterpolation::kBilinear, 5, -0.5, 0.0);
  EXPECT_EQ(a.first(), 0);
  EXPECT_EQ(a.last(), 0);
  EXPECT_DOUBLE_EQ(a.phi(0), 0.5);
  for (double far :
       {-7.5, 9.25, 1e300, -1e300, std::numeric_limits<double>::quiet_NaN(),
        std::numeric_limits<double>::infinity()}) {
    a.Init(DclsInterpolation::kBilinear, 5, far, 0.0);
    EXPECT_GT(a.first(), a.last()) << far;
  }
}

TEST(DclsElementTest, NormalisationIsTheWholeBoxSum) {
  std::mt19937_64 rng(72);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  for (DclsInterpolation kind :
       {DclsInterpolation::kGauss, DclsInterpolation::kTriangle}) {
    for (int trial = 0; trial < 50; ++trial) {
      const int m = 1 + trial % 3;
      int64_t size[3] = {3, 4, 5};
      double q[3], sigma[3];
      for (int a = 0; a < m; ++a) {
        q[a] = -1.0 + unit(rng) * (size[a] + 1.0);
        sigma[a] = 0.4 + 1.5 * unit(rng);
      }
      const double eps = trial % 2 ? 1e-7 : 0.2;
      DclsElement<double> e;
      e.Init(kind, m, size, q, sigma, eps);
      // Sum over the box by brute force, and of the coefficients.
      double total = 0.0, coeff_total = 0.0;
      int64_t x[3] = {0, 0, 0};
      const int64_t volume = m == 1 ? 3 : (m == 2 ? 12 : 60);
      for (int64_t flat = 0; flat < volume; ++flat) {
        int64_t t = flat;
        double phi = 1.0;
        for (int a = m - 1; a >= 0; --a) {
          x[a] = t % size[a];
          t /= size[a];
        }
        for (int a = 0; a < m; ++a) phi *= Phi(kind, x[a], q[a], sigma[a]);
        total += phi;
        coeff_total += e.Coefficient(x);
      }
      EXPECT_NEAR(e.norm, total + eps, 1e-12);
      EXPECT_NEAR(coeff_total, total / (total + eps), 1e-12);
    }
  }
}

TEST(DclsElementTest, ParametersMapThroughTheAxisOrderAndCentre) {
  const int64_t size[2] = {5, 3};
  const double p[2] = {0.5, -0.25}, sig[2] = {-0.2, 0.3};
  DclsElement<double> natural, reversed;
  natural.InitFromParameters(DclsInterpolation::kGauss, DclsAxisOrder::kNatural,
                             2, size, p, sig, 0.27, 1e-7);
  reversed.InitFromParameters(DclsInterpolation::kGauss,
                              DclsAxisOrder::kReversed, 2, size, p, sig, 0.27,
                              1e-7);
  EXPECT_DOUBLE_EQ(natural.axis[0].q, 0.5 + 2);
  EXPECT_DOUBLE_EQ(natural.axis[1].q, -0.25 + 1);
  EXPECT_DOUBLE_EQ(natural.axis[0].sigma, 0.2 + 0.27);
  // Reversed: P[0] moves along axis 1 (centre 1), P[1] along axis 0 (2).
  EXPECT_DOUBLE_EQ(reversed.axis[1].q, 0.5 + 1);
  EXPECT_DOUBLE_EQ(reversed.axis[0].q, -0.25 + 2);
  EXPECT_DOUBLE_EQ(reversed.axis[1].sigma, 0.2 + 0.27);
  EXPECT_DOUBLE_EQ(reversed.axis[0].sigma, 0.3 + 0.27);
  // Gradients flow back the same way, with d|SIG|/dSIG = sign(SIG).
  const double dq[2] = {10.0, 20.0}, dsigma[2] = {1.0, 2.0};
  double dp[2], dsig[2];
  reversed.ParameterGradient(dq, dsigma, dp, dsig);
  EXPECT_EQ(dp[0], 20.0);
  EXPECT_EQ(dp[1], 10.0);
  EXPECT_EQ(dsig[0], -2.0);
  EXPECT_EQ(dsig[1], 1.0);
}

TEST(DclsGeometryTest, SmallHelpers) {
  EXPECT_EQ(DclsCentre(5), 2);
  EXPECT_EQ(DclsCentre(4), 2);
  EXPECT_EQ(DclsCentre(1), 0);
  EXPECT_EQ(DclsPositionAxis(DclsAxisOrder::kNatural, 0, 3), 0);
  EXPECT_EQ(DclsPositionAxis(DclsAxisOrder::kReversed, 0, 3), 2);
  EXPECT_EQ(DclsPositionAxis(DclsAxisOrder::kReversed, 0, 1), 0);
  EXPECT_EQ(SigmaDerivativeSign(0.0), 1.0);
  EXPECT_EQ(SigmaDerivativeSign(-0.5), -1.0);
  EXPECT_EQ(ClampedIndex(std::numeric_limits<double>::quiet_NaN(), -2, 7), -2);
  EXPECT_EQ(ClampedIndex(1e300, -2, 7), 7);
  EXPECT_EQ(ClampedIndex(-1e300, -2, 7), -2);
  EXPECT_EQ(ClampedIndex(3.0, -2, 7), 3);
  EXPECT_EQ(DefaultSigmaFloor(DclsInterpolation::kGauss), 0.27);
  EXPECT_EQ(DefaultSigmaFloor(DclsInterpolation::kTriangle), 1.0);
}

TEST(DclsGeometryTest, FloatInstantiationAgreesWithDouble) {
  const int64_t size[2] = {7, 6};
  const float pf[2] = {0.3f, -1.7f}, sf[2] = {0.2f, -0.4f};
  const double pd[2] = {0.3f, -1.7f}, sd[2] = {0.2f, -0.4f};
  for (DclsInterpolation kind : kAll) {
    DclsElement<float> f;
    DclsElement<double> d;
    f.InitFromParameters(kind, DclsAxisOrder::kNatural, 2, size, pf, sf, 0.5f,
                         1e-7f);
    d.InitFromParameters(kind, DclsAxisOrder::kNatural, 2, size, pd, sd, 0.5,
                         1e-7);
    for (int64_t i = 0; i < 7; ++i) {
      for (int64_t j = 0; j < 6; ++j) {
        const int64_t x[2] = {i, j};
        EXPECT_NEAR(f.Coefficient(x), d.Coefficient(x), 1e-6);
      }
    }
  }
}

}  // namespace
}  // namespace tapconv
