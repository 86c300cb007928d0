// Float64 finite-difference checks of every DCLS gradient: construct
// (weight, positions, sigma) for every layout, interpolation and axis order;
// the DCLS conv composites end to end; the fused depthwise ops. Plus the
// points where the gradient is defined by convention: bilinear's forward
// difference at integer q and d|SIG|/dSIG = +1 at SIG = 0.

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "ops/conv_nd.h"
#include "ops/dcls.h"
#include "tests/dcls/dcls_test_util.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

constexpr DclsInterpolation kAllInterpolations[] = {
    DclsInterpolation::kBilinear, DclsInterpolation::kGauss,
    DclsInterpolation::kTriangle};

std::vector<double> Construct(const DclsArgs& args, const DclsParams& p) {
  HostTensor kernel(p.weight.dtype(), DclsKernelShape(args, p.weight.shape()));
  const absl::Status status = ops::DclsConstructKernel(
      args, {p.weight.ref(), p.positions.ref(), p.sigma_ref(), kernel.ref()});
  EXPECT_TRUE(status.ok()) << status;
  return kernel.ToDoubles();
}

struct ParamGrads {
  std::vector<double> weight, positions, sigma;
};

ParamGrads ConstructBackward(const DclsArgs& args, const DclsParams& p,
                             const HostTensor& dkernel) {
  HostTensor dw(DType::kF64, p.weight.shape());
  HostTensor dp(DType::kF64, p.positions.shape());
  HostTensor ds(DType::kF64, p.positions.shape());
  std::optional<TensorRef> ds_ref;
  if (p.sigma) ds_ref = ds.ref();
  const absl::Status status = ops::DclsConstructKernelBackward(
      args, {dkernel.ref(), p.weight.ref(), p.positions.ref(), p.sigma_ref(),
             dw.ref(), dp.ref(), ds_ref});
  EXPECT_TRUE(status.ok()) << status;
  return {dw.ToDoubles(), dp.ToDoubles(), ds.ToDoubles()};
}

TEST(DclsConstructGradientTest, MatchesFiniteDifferencesEverywhere) {
  std::mt19937_64 rng(21);
  for (const DclsVariant& v : AllDclsVariants()) {
    for (DclsInterpolation interpolation : kAllInterpolations) {
      for (DclsAxisOrder order :
           {DclsAxisOrder::kNatural, DclsAxisOrder::kReversed}) {
        const std::string what =
            v.name + " " + InterpolationName(interpolation) +
            (order == DclsAxisOrder::kReversed ? " reversed" : "");
        SCOPED_TRACE(what);
        const DclsArgs args = MakeDclsArgs(v, interpolation, order);
        DclsParams p = RandomDclsParams(args, DType::kF64, 2, 2, 3, rng, true);
        const HostTensor cot =
            Uniform(DType::kF64, DclsKernelShape(args, p.weight.shape()), rng);
        const std::vector<double> cot_values = cot.ToDoubles();
        const auto loss = [&] { return Dot(Construct(args, p), cot_values); };
        const ParamGrads g = ConstructBackward(args, p, cot);
        ExpectGradientMatchesFiniteDifferences(loss, p.weight, g.weight,
                                               what + " dweight", rng, 24);
        ExpectGradientMatchesFiniteDifferences(loss, p.positions, g.positions,
                                               what + " dpositions", rng, 24);
        if (p.sigma) {
          ExpectGradientMatchesFiniteDifferences(loss, *p.sigma, g.sigma,
                                                 what + " dsigma", rng, 24);
        }
      }
    }
  }
}

TEST(DclsConstructGradientTest, LargeEpsilonKeepsTheQuotientRuleExact) {
  // With epsilon comparable to the mass, the normalisation's derivative
  // terms are large; they must still match.
  std::mt19937_64 rng(22);
  for (DclsInterpolation interpolation :
       {DclsInterpolation::kGauss, DclsInterpolation::kTriangle}) {
    DclsArgs args = MakeDclsArgs({"2d", {}, {5, 4}}, interpolation);
    args.normalization_epsilon = 0.3;
    args.sigma_floor = 0.6;
    DclsParams p = RandomDclsParams(args, DType::kF64, 1, 2, 4, rng, true);
    const HostTensor cot =
        Uniform(DType::kF64, DclsKernelShape(args, p.weight.shape()), rng);
    const auto loss = [&] { return Dot(Construct(args, p), cot.ToDoubles()); };
    const ParamGrads g = ConstructBackward(args, p, cot);
    const std::string what = InterpolationName(interpolation);
    ExpectGradientMatchesFiniteDifferences(loss, p.weight, g.weight,
                                           what + " dweight", rng);
    ExpectGradientMatchesFiniteDifferences(loss, p.positions, g.positions,
                                           what + " dpositions", rng);
    ExpectGradientMatchesFiniteDifferences(loss, *p.sigma, g.sigma,
                                           what + " dsigma", rng);
  }
}

// weight (1, 1, 1), positions and sigma (M, 1, 1, 1) from values.
DclsParams Single(const DclsArgs& args, double w, std::vector<double> p,
                  std::vector<double> sig = {}) {
  DclsParams out;
  out.weight = HostTensor(DType::kF64, {1, 1, 1});
  out.weight.Set(0, w);
  const int64_t m = static_cast<int64_t>(p.size());
  out.positions = HostTensor(DType::kF64, {m, 1, 1, 1});
  out.positions.SetFromDoubles(p);
  if (!sig.empty()) {
    out.sigma = HostTensor(DType::kF64, {m, 1, 1, 1});
    out.sigma->SetFromDoubles(sig);
  }
  return out;
}

TEST(DclsConstructGradientTest, BilinearAtIntegerQIsTheForwardDifference) {
  DclsArgs args;
  args.dilated_kernel_size = {5};
  HostTensor g(DType::kF64, {1, 1, 5});
  g.SetFromDoubles({0.5, -1.0, 2.0, 3.5, -0.25});
  // q = 2: dL/dq = w (G[3] - G[2]), dL/dw = G[2].
  ParamGrads centre = ConstructBackward(args, Single(args, 2.0, {0.0}), g);
  EXPECT_DOUBLE_EQ(centre.positions[0], 2.0 * (3.5 - 2.0));
  EXPECT_DOUBLE_EQ(centre.weight[0], 2.0);
  // q = 4, the last grid point: G[5] is outside and counts as 0, so an
  // element clamped to the edge can move back in.
  ParamGrads edge = ConstructBackward(args, Single(args, 2.0, {2.0}), g);
  EXPECT_DOUBLE_EQ(edge.positions[0], 2.0 * (0.0 - (-0.25)));
  // q = -0.5: only index 0 (weight 0.5) is inside; dL/dq = w (G[0] - 0).
  ParamGrads low = ConstructBackward(args, Single(args, 2.0, {-2.5}), g);
  EXPECT_DOUBLE_EQ(low.positions[0], 2.0 * 0.5);
  EXPECT_DOUBLE_EQ(low.weight[0], 0.5 * 0.5);
  // 2-D at integer q = (1, 1) in 3 x 3: dL/dq0 = w (G[2,1] - G[1,1]).
  DclsArgs args2;
  args2.dilated_kernel_size = {3, 3};
  HostTensor g2(DType::kF64, {1, 1, 3, 3});
  g2.SetFromDoubles({1, 2, 3, 4, 5, 6, 7, 8, 10});
  ParamGrads c2 = ConstructBackward(args2, Single(args2, 1.0, {0.0, 0.0}), g2);
  EXPECT_DOUBLE_EQ(c2.positions[0], 8.0 - 5.0);
  EXPECT_DOUBLE_EQ(c2.positions[1], 6.0 - 5.0);
}

TEST(DclsConstructGradientTest, SigmaLearnsFromZero) {
  // At SIG = 0 the gradient is the right-sided derivative (d|SIG|/dSIG := +1),
  // not 0 as in upstream.
  for (DclsInterpolation interpolation :
       {DclsInterpolation::kGauss, DclsInterpolation::kTriangle}) {
    DclsArgs args;
    args.dilated_kernel_size = {5, 5};
    args.interpolation = interpolation;
    DclsParams p = Single(args, 1.5, {0.3, -0.6}, {0.0, 0.0});
    std::mt19937_64 rng(23);
    const HostTensor cot =
        Uniform(DType::kF64, DclsKernelShape(args, p.weight.shape()), rng);
    const auto loss = [&] { return Dot(Construct(args, p), cot.ToDoubles()); };
    const ParamGrads g = ConstructBackward(args, p, cot);
    for (int d = 0; d < 2; ++d) {
      const double h = 1e-7;
      const double base = loss();
      p.sigma->Set(d, h);
      const double right = (loss() - base) / h;
      p.sigma->Set(d, 0.0);
      EXPECT_NE(g.sigma[d], 0.0) << InterpolationName(interpolation);
      EXPECT_NEAR(g.sigma[d], right, 1e-5 * (1 + std::fabs(right)))
          << InterpolationName(interpolation) << " axis " << d;
    }
  }
}

TEST(DclsConstructGradientTest, ElementsWithNoMassHaveZeroFiniteGradients) {
  for (double eps : {1e-7, 0.0}) {
    for (DclsInterpolation interpolation : kAllInterpolations) {
      DclsArgs args;
      args.dilated_kernel_size = {5, 5};
      args.interpolation = interpolation;
      args.normalization_epsilon = eps;
      const bool has_sigma = interpolation != DclsInterpolation::kBilinear;
      const DclsParams p = Single(
          args, 1.0, {100.0, 0.0},
          has_sigma ? std::vector<double>{0.1, 0.1} : std::vector<double>{});
      HostTensor cot(DType::kF64, {1, 1, 5, 5});
      cot.Fill(1.0);
      const ParamGrads g = ConstructBackward(args, p, cot);
      EXPECT_EQ(g.weight[0], 0.0);
      for (double v : g.positions) EXPECT_EQ(v, 0.0);
      if (has_sigma) {
        for (double v : g.sigma) EXPECT_EQ(v, 0.0);
      }
    }
  }
}

// The composites end to end, for layouts and conv arguments that exercise
// stride, padding, dilation and groups.
struct CompositeCase {
  DclsVariant variant;
  int64_t c_in, c_out, groups, k;
  ConvNdArgs conv;
  Dims spatial;
};

TEST(DclsConvCompositeGradientTest, MatchesFiniteDifferences) {
  std::mt19937_64 rng(24);
  const std::vector<CompositeCase> cases = {
      {{"1d", {}, {5}}, 4, 2, 2, 3, {{2}, {2}, {1}, 2}, {9}},
      {{"2d", {}, {5, 4}}, 2, 3, 1, 3, {{1, 2}, {1, 0}, {2, 1}, 1}, {9, 6}},
      {{"3d", {}, {3, 2, 3}}, 2, 2, 2, 2, {{1}, {1}, {1}, 2}, {3, 4, 3}},
      {{"2_1d", {3}, {5}}, 2, 2, 1, 2, {{1}, {1}, {1}, 1}, {4, 7}},
      {{"3_1d", {2, 2}, {5}}, 1, 2, 1, 2, {{1}, {0}, {1}, 1}, {3, 3, 6}},
      {{"3_2d", {2}, {3, 4}}, 2, 2, 2, 2, {{2}, {1}, {1}, 2}, {3, 6, 5}},
  };
  for (CompositeCase c : cases) {
    for (DclsInterpolation interpolation : kAllInterpolations) {
      const std::string what =
          c.variant.name + " " + InterpolationName(interpolation);
      SCOPED_TRACE(what);
      const DclsArgs args = MakeDclsArgs(c.variant, interpolation);
      DclsParams p = RandomDclsParams(args, DType::kF64, c.c_out,
                                      c.c_in / c.groups, c.k, rng, true);
      c.conv.groups = c.groups;
      Dims x_shape{2, c.c_in};
      x_shape.insert(x_shape.end(), c.spatial.begin(), c.spatial.end());
      HostTensor x = Uniform(DType::kF64, x_shape, rng);
      HostTensor bias = Uniform(DType::kF64, {c.c_out}, rng);
      const Dims k_shape = DclsKernelShape(args, p.weight.shape());
      const Dims y_shape = NaiveConvOutputShape(c.conv, x_shape, k_shape);
      HostTensor kernel(DType::kF64, k_shape), y(DType::kF64, y_shape);
      const HostTensor cot = Uniform(DType::kF64, y_shape, rng);
      const auto forward = [&] {
        const absl::Status s = ops::DclsConvForward(
            args, c.conv,
            {x.ref(), p.weight.ref(), p.positions.ref(), p.sigma_ref(),
             bias.ref(), kernel.ref(), y.ref()});
        EXPECT_TRUE(s.ok()) << s;
      };
      const auto loss = [&] {
        forward();
        return Dot(y.ToDoubles(), cot.ToDoubles());
      };
      // Values: the composite equals the naive conv of the naive kernel.
      forward();
      const std::vector<double> naive_kernel =
          NaiveDclsKernel(args, p.weight.shape(), p.weight.ToDoubles(),
                          p.positions.ToDoubles(), p.sigma_values());
      ExpectAllClose(y.ToDoubles(),
                     NaiveConvNd(c.conv, x_shape, x.ToDoubles(), k_shape,
                                 naive_kernel, bias.ToDoubles()),
                     1e-12, 1e-12, what + " y");

      HostTensor dkernel(DType::kF64, k_shape), dx(DType::kF64, x_shape);
      HostTensor dw(DType::kF64, p.weight.shape());
      HostTensor dp(DType::kF64, p.positions.shape());
      HostTensor ds(DType::kF64, p.positions.shape());
      HostTensor db(DType::kF64, {c.c_out});
      std::optional<TensorRef> ds_ref;
      if (p.sigma) ds_ref = ds.ref();
      const absl::Status s = ops::DclsConvBackward(
          args, c.conv,
          {cot.ref(), x.ref(), p.weight.ref(), p.positions.ref(), p.sigma_ref(),
           kernel.ref(), dkernel.ref(), dx.ref(), dw.ref(), dp.ref(), ds_ref,
           db.ref()});
      ASSERT_TRUE(s.ok()) << s;
      ExpectGradientMatchesFiniteDifferences(loss, x, dx.ToDoubles(),
                                             what + " dx", rng, 24);
      ExpectGradientMatchesFiniteDifferences(loss, p.weight, dw.ToDoubles(),
                                             what + " dweight", rng, 24);
      ExpectGradientMatchesFiniteDifferences(loss, p.positions, dp.ToDoubles(),
                                             what + " dpositions", rng, 24);
      if (p.sigma) {
        ExpectGradientMatchesFiniteDifferences(loss, *p.sigma, ds.ToDoubles(),
                                               what + " dsigma", rng, 24);
      }
      ExpectGradientMatchesFiniteDifferences(loss, bias, db.ToDoubles(),
                                             what + " dbias", rng, 24);

      // Requesting a subset gives the same values.
      HostTensor dp_only(DType::kF64, p.positions.shape());
      ASSERT_TRUE(ops::DclsConvBackward(
                      args, c.conv,
                      {cot.ref(), x.ref(), p.weight.ref(), p.positions.ref(),
                       p.sigma_ref(), kernel.ref(), dkernel.ref(), std::nullopt,
                       std::nullopt, dp_only.ref(), std::nullopt, std::nullopt})
                      .ok());
      ExpectAllClose(dp_only.ToDoubles(), dp.ToDoubles(), 0, 0,
                     what + " dpositions alone");
    }
  }
}

struct DepthwiseCase {
  DclsVariant variant;
  int64_t channels, k;
  ConvNdArgs conv;
  Dims spatial;
};

TEST(DclsDepthwiseTest, ValuesAndFiniteDifferences) {
  std::mt19937_64 rng(25);
  const std::vector<DepthwiseCase> cases = {
      {{"1d", {}, {7}}, 3, 4, {{1}, {3}, {1}, 0}, {10}},
      {{"2d", {}, {5, 4}}, 2, 5, {{2, 1}, {2, 1}, {1, 2}, 0}, {7, 6}},
      {{"3d", {}, {3, 3, 2}}, 2, 3, {{1}, {1}, {1}, 0}, {3, 4, 4}},
      {{"2_1d", {3}, {5}}, 2, 3, {{1}, {1, 2}, {1}, 0}, {5, 6}},
      {{"3_1d", {2, 1}, {5}}, 2, 2, {{1}, {0, 0, 2}, {1}, 0}, {3, 2, 6}},
      {{"3_2d", {2}, {3, 5}}, 3, 3, {{1, 2, 2}, {0, 1, 2}, {1}, 0}, {2, 5, 7}},
  };
  for (DepthwiseCase c : cases) {
    const std::string what = c.variant.name;
    SCOPED_TRACE(what);
    DclsDepthwiseArgs args;
    args.dcls = MakeDclsArgs(c.variant, DclsInterpolation::kBilinear);
    args.conv = c.conv;
    args.conv.groups = c.channels;
    DclsParams p =
        RandomDclsParams(args.dcls, DType::kF64, c.channels, 1, c.k, rng, true);
    Dims x_shape{2, c.channels};
    x_shape.insert(x_shape.end(), c.spatial.begin(), c.spatial.end());
    HostTensor x = Uniform(DType::kF64, x_shape, rng);
    HostTensor bias = Uniform(DType::kF64, {c.channels}, rng);
    const Dims k_shape = DclsKernelShape(args.dcls, p.weight.shape());
    const Dims y_shape = NaiveConvOutputShape(args.conv, x_shape, k_shape);
    HostTensor y(DType::kF64, y_shape);
    const HostTensor cot = Uniform(DType::kF64, y_shape, rng);
    const auto forward = [&] {
      const absl::Status s = ops::DclsDepthwiseForward(
          args,
          {x.ref(), p.weight.ref(), p.positions.ref(), bias.ref(), y.ref()});
      EXPECT_TRUE(s.ok()) << s;
    };
    const auto loss = [&] {
      forward();
      return Dot(y.ToDoubles(), cot.ToDoubles());
    };
    forward();
    const std::vector<double> naive_kernel =
        NaiveDclsKernel(args.dcls, p.weight.shape(), p.weight.ToDoubles(),
                        p.positions.ToDoubles(), std::nullopt);
    ExpectAllClose(y.ToDoubles(),
                   NaiveConvNd(args.conv, x_shape, x.ToDoubles(), k_shape,
                               naive_kernel, bias.ToDoubles()),
                   1e-12, 1e-12, what + " y");

    HostTensor dx(DType::kF64, x_shape);
    ASSERT_TRUE(
        ops::DclsDepthwiseBackwardInput(
            args, {cot.ref(), p.weight.ref(), p.positions.ref(), dx.ref()})
            .ok());
    HostTensor dw(DType::kF64, p.weight.shape());
    HostTensor dp(DType::kF64, p.positions.shape());
    HostTensor db(DType::kF64, {c.channels});
    const absl::Status s = ops::DclsDepthwiseBackwardParams(
        args, {cot.ref(), x.ref(), p.weight.ref(), p.positions.ref(), dw.ref(),
               dp.ref(), db.ref()});
    ASSERT_TRUE(s.ok()) << s;
    ExpectGradientMatchesFiniteDifferences(loss, x, dx.ToDoubles(),
                                           what + " dx", rng, 32);
    ExpectGradientMatchesFiniteDifferences(loss, p.weight, dw.ToDoubles(),
                                           what + " dweight", rng, 32);
    ExpectGradientMatchesFiniteDifferences(loss, p.positions, dp.ToDoubles(),
                                           what + " dpositions", rng, 32);
    ExpectGradientMatchesFiniteDifferences(loss, bias, db.ToDoubles(),
                                           what + " dbias", rng, 32);
  }
}

}  // namespace
}  // namespace tapconv::testing
