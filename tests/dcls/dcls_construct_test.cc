// Values of the DCLS kernel construction: hand-computed cases, the sparse
// and dilated-grid identities of bilinear, the normalisation of gauss and
// triangle, the axis order, even sizes, and every layout against the naive
// whole-box construction of dcls_test_util.

#include <cmath>
#include <limits>
#include <random>
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

// Runs the construction; the kernel is pre-filled with garbage so that a
// backend that accumulates instead of overwriting is caught.
std::vector<double> Construct(const DclsArgs& args, const DclsParams& p) {
  HostTensor kernel(p.weight.dtype(), DclsKernelShape(args, p.weight.shape()));
  kernel.Fill(7.0);
  const absl::Status status = ops::DclsConstructKernel(
      args, {p.weight.ref(), p.positions.ref(), p.sigma_ref(), kernel.ref()});
  EXPECT_TRUE(status.ok()) << status;
  return kernel.ToDoubles();
}

// Parameters from explicit values: weight (1, 1, K), positions (M, 1, 1, K).
DclsParams Explicit(const DclsArgs& args, const std::vector<double>& w,
                    const std::vector<double>& p,
                    const std::vector<double>& sig = {}) {
  const Dims w_shape =
      DclsWeightShape(args, 1, 1, static_cast<int64_t>(w.size()));
  DclsParams out;
  out.weight = HostTensor(DType::kF64, w_shape);
  out.weight.SetFromDoubles(w);
  out.positions = HostTensor(DType::kF64, DclsPositionShape(args, w_shape));
  out.positions.SetFromDoubles(p);
  if (args.interpolation != DclsInterpolation::kBilinear) {
    out.sigma = HostTensor(DType::kF64, out.positions.shape());
    out.sigma->SetFromDoubles(sig);
  }
  return out;
}

DclsArgs Args(SpatialDims dilated,
              DclsInterpolation interpolation = DclsInterpolation::kBilinear,
              SpatialDims dense = {}) {
  DclsArgs args;
  args.dense_kernel_size = dense;
  args.dilated_kernel_size = dilated;
  args.interpolation = interpolation;
  return args;
}

void ExpectKernel(const std::vector<double>& actual,
                  const std::vector<double>& expected, absl::string_view what) {
  ExpectAllClose(actual, expected, 1e-12, 0.0, what);
}

TEST(DclsKernelShapeTest, ReplacesKByTheBox) {
  DclsArgs args = Args({5, 3}, DclsInterpolation::kBilinear, {2});
  EXPECT_EQ(DclsKernelShape(args, Dims{4, 3, 2, 9}), (Dims{4, 3, 2, 5, 3}));
  EXPECT_EQ(DclsKernelShape(Args({7}), Dims{2, 1, 5}), (Dims{2, 1, 7}));
}

TEST(DclsBilinearTest, FractionalPositionSplitsLinearlyAndOverlapsAdd) {
  // S = 5, centre 2. Both elements at q = 2.25: 0.75 of each weight on 2,
  // 0.25 on 3, and the two add.
  const DclsArgs args = Args({5});
  ExpectKernel(Construct(args, Explicit(args, {2.0, 1.0}, {0.25, 0.25})),
               {0, 0, 2.25, 0.75, 0}, "1d");
}

TEST(DclsBilinearTest, TwoDimensionalSplitIsTheProductOfAxisWeights) {
  // S = 3 x 3, P = (-0.5, 0.25): q = (0.5, 1.25), so rows 0/1 get 0.5 each,
  // columns 1/2 get 0.75/0.25.
  const DclsArgs args = Args({3, 3});
  ExpectKernel(Construct(args, Explicit(args, {1.0}, {-0.5, 0.25})),
               {0, 0.375, 0.125,  //
                0, 0.375, 0.125,  //
                0, 0, 0},
               "2d");
  // A 3-D element at q = (1.5, 0, 1.25) in a 2 x 2 x 3 box.
  // Centres are (1, 1, 1); x0 = 2 is outside the size-2 axis and dropped.
  const DclsArgs args3 = Args({2, 2, 3});
  std::vector<double> exp2(12, 0.0);
  exp2[1 * 6 + 0 * 3 + 1] = 0.5 * 0.75;
  exp2[1 * 6 + 0 * 3 + 2] = 0.5 * 0.25;
  ExpectKernel(Construct(args3, Explicit(args3, {1.0}, {0.5, -1.0, 0.25})),
               exp2, "3d");
}

TEST(DclsBilinearTest, CornersOutsideTheBoxAreDroppedNotRenormalised) {
  // q = 4.5 keeps half on index 4; q = -0.75 keeps 0.25 of 2 on index 0;
  // q = 12 is gone.
  const DclsArgs args = Args({5});
  ExpectKernel(
      Construct(args, Explicit(args, {1.0, 2.0, 4.0}, {2.5, -2.75, 10.0})),
      {0.5, 0, 0, 0, 0.5}, "1d");
  // 2-D: only the (2, 2) corner of q = (2.5, 2.5) is inside.
  const DclsArgs args2 = Args({3, 3});
  ExpectKernel(Construct(args2, Explicit(args2, {1.0}, {1.5, 1.5})),
               {0, 0, 0, 0, 0, 0, 0, 0, 0.25}, "2d");
  // Far away and NaN positions contribute nothing (and do not crash).
  ExpectKernel(
      Construct(args2,
                Explicit(args2, {1.0, 1.0},
                         {-1e30, std::numeric_limits<double>::quiet_NaN(), 1e30,
                          0.0})),
      std::vector<double>(9, 0.0), "far");
}

TEST(DclsBilinearTest, IntegerPositionsGiveTheSparseKernel) {
  std::mt19937_64 rng(11);
  for (const DclsVariant& v : AllDclsVariants()) {
    const DclsArgs args = MakeDclsArgs(v, DclsInterpolation::kBilinear);
    const int64_t k = 6;
    DclsParams p = RandomDclsParams(args, DType::kF64, 2, 3, k, rng, false);
    const int m = static_cast<int>(v.dilated.size());
    const int64_t elements = p.weight.numel();
    // Integer positions anywhere on the grid (repeats overlap).
    for (int d = 0; d < m; ++d) {
      const int64_t size = v.dilated[d];
      std::uniform_int_distribution<int64_t> tap(0, size - 1);
      for (int64_t e = 0; e < elements; ++e) {
        p.positions.Set(d * elements + e,
                        static_cast<double>(tap(rng) - size / 2));
      }
    }
    int64_t box = 1;
    for (int64_t s : v.dilated) box *= s;
    std::vector<double> expected(elements / k * box, 0.0);
    for (int64_t e = 0; e < elements; ++e) {
      int64_t offset = 0;
      for (int d = 0; d < m; ++d) {
        offset = offset * v.dilated[d] +
                 static_cast<int64_t>(p.positions.Get(d * elements + e)) +
                 v.dilated[d] / 2;
      }
      expected[e / k * box + offset] += p.weight.Get(e);
    }
    ExpectKernel(Construct(args, p), expected, v.name);
  }
}

// A dense (C_out, C_in/g, *k) weight as DCLS elements on the regular grid of
// dilation `dil`: element index = the tap's row-major index, S = (k-1)*dil+1.
struct DilatedGrid {
  DclsArgs args;
  DclsParams params;
  HostTensor dense_weight;
};

DilatedGrid MakeDilatedGrid(const Dims& dense_shape, int64_t dil,
                            std::mt19937_64& rng) {
  const int r = static_cast<int>(dense_shape.size()) - 2;
  DilatedGrid g;
  g.dense_weight = Uniform(DType::kF64, dense_shape, rng);
  int64_t taps = 1;
  for (int a = 0; a < r; ++a) {
    g.args.dilated_kernel_size.push_back((dense_shape[2 + a] - 1) * dil + 1);
    taps *= dense_shape[2 + a];
  }
  const Dims w_shape =
      DclsWeightShape(g.args, dense_shape[0], dense_shape[1], taps);
  g.params.weight = HostTensor(DType::kF64, w_shape);
  g.params.weight.SetFromDoubles(g.dense_weight.ToDoubles());
  g.params.positions =
      HostTensor(DType::kF64, DclsPositionShape(g.args, w_shape));
  const int64_t elements = g.params.weight.numel();
  for (int64_t e = 0; e < elements; ++e) {
    int64_t t = e % taps;
    for (int a = r - 1; a >= 0; --a) {
      const int64_t i = t % dense_shape[2 + a];
      t /= dense_shape[2 + a];
      const int64_t size = g.args.dilated_kernel_size[a];
      g.params.positions.Set(a * elements + e,
                             static_cast<double>(i * dil - size / 2));
    }
  }
  return g;
}

TEST(DclsBilinearTest, RegularGridEqualsDilatedKernelAndDilatedConv) {
  std::mt19937_64 rng(12);
  struct Case {
    Dims dense_shape;  // (C_out, C_in/g, *k)
    int64_t dil, groups, stride, padding;
    Dims x_shape;
  };
  for (const Case& c : {
           Case{{4, 3, 4}, 2, 1, 1, 3, {2, 3, 11}},
           Case{{4, 1, 3, 3}, 3, 2, 2, 3, {2, 2, 9, 8}},
           Case{{2, 2, 2, 2, 2}, 2, 1, 1, 1, {1, 2, 4, 5, 3}},
       }) {
    SCOPED_TRACE(ShapeString(c.dense_shape));
    DilatedGrid g = MakeDilatedGrid(c.dense_shape, c.dil, rng);
    const int r = static_cast<int>(c.dense_shape.size()) - 2;
    // The constructed kernel is the dense kernel spread onto every dil-th tap.
    const std::vector<double> kernel = Construct(g.args, g.params);
    const Dims k_shape = DclsKernelShape(g.args, g.params.weight.shape());
    std::vector<double> expected(kernel.size(), 0.0);
    const std::vector<double> dense = g.dense_weight.ToDoubles();
    int64_t taps = 1, box = 1;
    for (int a = 0; a < r; ++a) {
      taps *= c.dense_shape[2 + a];
      box *= k_shape[2 + a];
    }
    for (size_t e = 0; e < dense.size(); ++e) {
      int64_t t = e % taps, offset = 0, stride = 1;
      for (int a = r - 1; a >= 0; --a) {
        offset += (t % c.dense_shape[2 + a]) * c.dil * stride;
        t /= c.dense_shape[2 + a];
        stride *= k_shape[2 + a];
      }
      expected[e / taps * box + offset] += dense[e];
    }
    ExpectKernel(kernel, expected, "dilated kernel");

    // DCLS conv (dilation 1 over S) == dense conv with dilation dil.
    ConvNdArgs dcls_conv{{c.stride}, {c.padding}, {1}, c.groups};
    ConvNdArgs dilated_conv{{c.stride}, {c.padding}, {c.dil}, c.groups};
    HostTensor x = Uniform(DType::kF64, c.x_shape, rng);
    HostTensor bias = Uniform(DType::kF64, {c.dense_shape[0]}, rng);
    const Dims y_shape =
        NaiveConvOutputShape(dilated_conv, c.x_shape, c.dense_shape);
    HostTensor y_dcls(DType::kF64, y_shape), y_dense(DType::kF64, y_shape);
    HostTensor kernel_buffer(DType::kF64, k_shape);
    ASSERT_TRUE(
        ops::DclsConvForward(
            g.args, dcls_conv,
            {x.ref(), g.params.weight.ref(), g.params.positions.ref(),
             std::nullopt, bias.ref(), kernel_buffer.ref(), y_dcls.ref()})
            .ok());
    ASSERT_TRUE(ops::ConvNdForward(dilated_conv, {x.ref(), g.dense_weight.ref(),
                                                  bias.ref(), y_dense.ref()})
                    .ok());
    ExpectAllClose(y_dcls.ToDoubles(), y_dense.ToDoubles(), 1e-12, 1e-12,
                   "DCLS conv vs dilated conv");
  }
}

TEST(DclsConstructTest, EveryLayoutInterpolationAndOrderMatchesNaive) {
  std::mt19937_64 rng(13);
  for (const DclsVariant& v : AllDclsVariants()) {
    for (DclsInterpolation interpolation : kAllInterpolations) {
      for (DclsAxisOrder order :
           {DclsAxisOrder::kNatural, DclsAxisOrder::kReversed}) {
        SCOPED_TRACE(v.name + " " + InterpolationName(interpolation) +
                     (order == DclsAxisOrder::kReversed ? " reversed" : ""));
        const DclsArgs args = MakeDclsArgs(v, interpolation, order);
        const DclsParams p =
            RandomDclsParams(args, DType::kF64, 2, 2, 5, rng, false);
        const std::vector<double> expected =
            NaiveDclsKernel(args, p.weight.shape(), p.weight.ToDoubles(),
                            p.positions.ToDoubles(), p.sigma_values());
        ExpectKernel(Construct(args, p), expected, "kernel");
      }
    }
  }
}

TEST(DclsConstructTest, EmptyTensorsGiveAnEmptyOrZeroKernel) {
  for (int64_t k : {0, 3}) {
    for (int64_t c_out : {0, 2}) {
      const DclsArgs args = Args({5, 3}, DclsInterpolation::kGauss);
      std::mt19937_64 rng(1);
      const DclsParams p =
          RandomDclsParams(args, DType::kF64, c_out, 1, k, rng, false);
      const std::vector<double> kernel = Construct(args, p);
      ASSERT_EQ(static_cast<int64_t>(kernel.size()), c_out * 15);
      if (k == 0)
        ExpectKernel(kernel, std::vector<double>(kernel.size(), 0.0), "K=0");
    }
  }
}

TEST(DclsNormalisedTest, HandComputedTriangleAndGauss) {
  // Triangle, sigma = |0.5| + 1 = 1.5 at q = 2.25: phi = (0, .25, 1.25, .75,
  // 0), Z = 2.25.
  const DclsArgs tri = Args({5}, DclsInterpolation::kTriangle);
  const double z = 2.25 + 1e-7;
  ExpectKernel(Construct(tri, Explicit(tri, {1.0}, {0.25}, {-0.5})),
               {0, 0.25 / z, 1.25 / z, 0.75 / z, 0}, "triangle");
  // Gauss, sigma = 0.23 + 0.27 = 0.5 at the centre of S = 3.
  const DclsArgs gauss = Args({3}, DclsInterpolation::kGauss);
  const double e2 = std::exp(-2.0), zg = 1.0 + 2.0 * e2 + 1e-7;
  ExpectKernel(Construct(gauss, Explicit(gauss, {3.0}, {0.0}, {0.23})),
               {3 * e2 / zg, 3 / zg, 3 * e2 / zg}, "gauss");
  // 2-D gauss is separable: the product of the 1-D profiles.
  const DclsArgs gauss2 = Args({3, 3}, DclsInterpolation::kGauss);
  const std::vector<double> g2 =
      Construct(gauss2, Explicit(gauss2, {1.0}, {0.0, 0.0}, {0.23, 0.23}));
  const double z2 = (1 + 2 * e2) * (1 + 2 * e2) + 1e-7;
  ExpectKernel(g2,
               {e2 * e2 / z2, e2 / z2, e2 * e2 / z2, e2 / z2, 1 / z2, e2 / z2,
                e2 * e2 / z2, e2 / z2, e2 * e2 / z2},
               "gauss 2d");
}

TEST(DclsNormalisedTest, BlockSumsAreWeightTimesMassOverMassPlusEpsilon) {
  std::mt19937_64 rng(14);
  for (const DclsVariant& v : AllDclsVariants()) {
    for (DclsInterpolation interpolation :
         {DclsInterpolation::kGauss, DclsInterpolation::kTriangle}) {
      for (double eps : {1e-7, 0.25}) {
        SCOPED_TRACE(v.name + " " + InterpolationName(interpolation));
        DclsArgs args = MakeDclsArgs(v, interpolation);
        args.normalization_epsilon = eps;
        DclsParams p = RandomDclsParams(args, DType::kF64, 2, 1, 4, rng, false);
        const int m = static_cast<int>(v.dilated.size());
        const int64_t elements = p.weight.numel();
        // Keep every element inside the box.
        std::uniform_real_distribution<double> inside(0.0, 1.0);
        for (int d = 0; d < m; ++d) {
          const int64_t size = v.dilated[d];
          for (int64_t e = 0; e < elements; ++e) {
            p.positions.Set(d * elements + e,
                            inside(rng) * (size - 1) - size / 2);
          }
        }
        const std::vector<double> kernel = Construct(args, p);
        int64_t box = 1;
        for (int64_t s : v.dilated) box *= s;
        const int64_t blocks = elements / 4;
        for (int64_t b = 0; b < blocks; ++b) {
          double sum = 0.0, expected = 0.0;
          for (int64_t i = 0; i < box; ++i) sum += kernel[b * box + i];
          for (int64_t k = 0; k < 4; ++k) {
            const int64_t e = b * 4 + k;
            std::vector<double> q(m), sigma(m);
            for (int d = 0; d < m; ++d) {
              q[d] = p.positions.Get(d * elements + e) + v.dilated[d] / 2;
              sigma[d] =
                  std::fabs(p.sigma->Get(d * elements + e)) +
                  (interpolation == DclsInterpolation::kGauss ? 0.27 : 1.0);
            }
            const double mass = NaiveElementMass(args, q, sigma);
            expected += p.weight.Get(e) * mass / (mass + eps);
          }
          EXPECT_NEAR(sum, expected, 1e-12) << "block " << b;
        }
      }
    }
  }
}

TEST(DclsNormalisedTest, ElementsWithNoMassInTheBoxContributeNothing) {
  for (double eps : {1e-7, 0.0}) {
    for (DclsInterpolation interpolation :
         {DclsInterpolation::kGauss, DclsInterpolation::kTriangle}) {
      DclsArgs args = Args({5, 5}, interpolation);
      args.normalization_epsilon = eps;
      const std::vector<double> kernel =
          Construct(args, Explicit(args, {1.0}, {100.0, 0.0}, {0.0, 0.0}));
      ExpectKernel(kernel, std::vector<double>(25, 0.0),
                   InterpolationName(interpolation));
    }
  }
}

TEST(DclsNormalisedTest, SigmaFloorIsConfigurable) {
  // Triangle with floor 0.5 at the centre: only the centre tap is inside.
  DclsArgs args = Args({3}, DclsInterpolation::kTriangle);
  args.sigma_floor = 0.5;
  ExpectKernel(Construct(args, Explicit(args, {2.0}, {0.0}, {0.0})),
               {0, 2 * 0.5 / (0.5 + 1e-7), 0}, "floor 0.5");
}

TEST(DclsAxisOrderTest, ReversedIsTheTransposeForSquareAndCubicBoxes) {
  std::mt19937_64 rng(15);
  for (DclsInterpolation interpolation : kAllInterpolations) {
    for (int m : {2, 3}) {
      SCOPED_TRACE(InterpolationName(interpolation) +
                   " M=" + std::to_string(m));
      const int64_t s = 5;
      DclsArgs natural = Args(m == 2 ? SpatialDims{s, s} : SpatialDims{s, s, s},
                              interpolation);
      DclsArgs reversed = natural;
      reversed.axis_order = DclsAxisOrder::kReversed;
      const DclsParams p =
          RandomDclsParams(natural, DType::kF64, 2, 1, 3, rng, false);
      const std::vector<double> a = Construct(natural, p);
      const std::vector<double> b = Construct(reversed, p);
      const int64_t box = m == 2 ? s * s : s * s * s;
      std::vector<double> transposed(a.size());
      for (size_t blk = 0; blk < a.size() / box; ++blk) {
        for (int64_t i = 0; i < box; ++i) {
          // Reverse the axis order of the flat index.
          int64_t t = i, j = 0;
          for (int ax = 0; ax < m; ++ax) {
            j = j * s + t % s;
            t /= s;
          }
          transposed[blk * box + j] = a[blk * box + i];
        }
      }
      ExpectKernel(b, transposed, "reversed vs transposed natural");
    }
  }
}

TEST(DclsAxisOrderTest, ReversedCentresEachPositionByTheAxisItMovesAlong) {
  // S = (5, 3), reversed: P[0] moves along columns (size 3, centre 1), P[1]
  // along rows (size 5, centre 2).
  DclsArgs args = Args({5, 3});
  args.axis_order = DclsAxisOrder::kReversed;
  std::vector<double> expected(15, 0.0);
  expected[2 * 3 + 1] = 1.0;  // P = 0 is the centre tap
  expected[0 * 3 + 2] = 2.0;  // P = (1, -2): column 2, row 0
  ExpectKernel(
      Construct(args, Explicit(args, {1.0, 2.0}, {0.0, 1.0, 0.0, -2.0})),
      expected, "bilinear");
  // In general reversed(P0, P1, SIG0, SIG1) == natural(P1, P0, SIG1, SIG0).
  std::mt19937_64 rng(16);
  for (DclsInterpolation interpolation : kAllInterpolations) {
    for (SpatialDims sizes : {SpatialDims{5, 4}, SpatialDims{3, 4, 6}}) {
      DclsArgs natural = Args(sizes, interpolation);
      DclsArgs reversed = natural;
      reversed.axis_order = DclsAxisOrder::kReversed;
      const DclsParams p =
          RandomDclsParams(reversed, DType::kF64, 1, 2, 3, rng, false);
      DclsParams swapped = Converted(p, DType::kF64);
      const int m = static_cast<int>(sizes.size());
      const int64_t elements = p.weight.numel();
      for (int d = 0; d < m; ++d) {
        for (int64_t e = 0; e < elements; ++e) {
          swapped.positions.Set((m - 1 - d) * elements + e,
                                p.positions.Get(d * elements + e));
          if (p.sigma) {
            swapped.sigma->Set((m - 1 - d) * elements + e,
                               p.sigma->Get(d * elements + e));
          }
        }
      }
      ExpectKernel(Construct(reversed, p), Construct(natural, swapped),
                   InterpolationName(interpolation));
    }
  }
}

TEST(DclsEvenSizeTest, CentreIsHalfACellPastTheMiddleAndTheFarEdgeIsOffGrid) {
  // S = 4: P = 0 sits on index 2 (the box centre is 1.5); P in [-2, 2] gives
  // q in [0, 4], and q = 4 is one past the last grid point.
  const DclsArgs args = Args({4});
  ExpectKernel(Construct(args, Explicit(args, {1.0}, {0.0})), {0, 0, 1, 0},
               "centre");
  ExpectKernel(Construct(args, Explicit(args, {1.0}, {-2.0})), {1, 0, 0, 0},
               "low edge");
  ExpectKernel(Construct(args, Explicit(args, {1.0}, {2.0})), {0, 0, 0, 0},
               "high edge is dropped");
  ExpectKernel(Construct(args, Explicit(args, {1.0}, {1.5})), {0, 0, 0, 0.5},
               "half dropped");
  // Gauss renormalises the off-grid element onto the edge.
  const DclsArgs gauss = Args({4}, DclsInterpolation::kGauss);
  const std::vector<double> g =
      Construct(gauss, Explicit(gauss, {1.0}, {2.0}, {0.23}));
  EXPECT_NEAR(g[0] + g[1] + g[2] + g[3], 1.0, 1e-6);
  EXPECT_GT(g[3], 0.9);
}

}  // namespace
}  // namespace tapconv::testing
