// The five path ops on the reference backend (float64) against computations
// written in the test: gather by direct indexing, scatter as scatter-add
// through perm and as gather's adjoint, the fused conv as gather followed by a
// textbook zero-padded grouped conv1d, its input gradient as conv_transpose1d
// scattered back through perm, its parameter gradients from the gathered
// sequence.

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "ops/path_conv.h"
#include "tests/paths/path_test_support.h"
#include "tests/test_util.h"

namespace tapconv::testing {
namespace {

constexpr double kExact = 1e-12;  // float64 sums of O(10) terms

const std::vector<PathSpec>& ThreePaths() {
  static const std::vector<PathSpec> specs = {{Curve::kHilbert},
                                              {Curve::kZOrder, 3, 1, 2, 180},
                                              {Curve::kSnake, 2, 1, 0, 0}};
  return specs;
}

struct Problem {
  ConvSizes s;
  std::vector<PathSpec> specs;
  PathConvArgs args;
  bool bias;
};

std::string Describe(const Problem& p) {
  return absl::StrCat("N", p.s.n, " C", p.s.c, " ", p.s.h, "x", p.s.w, " P",
                      p.s.paths, " m", p.s.m, " K", p.s.k, " stride",
                      p.args.stride, " pad", p.args.padding,
                      p.bias ? " bias" : "");
}

// A spread of configurations: stride 1/2/3, multiplier 1/2, padding 0, K/2, K-1
// and larger, several paths, odd and rectangular images, K up to the whole
// padded path.
std::vector<Problem> Problems() {
  std::vector<Problem> out;
  const std::vector<PathSpec> one = {{Curve::kHilbert}};
  const std::vector<PathSpec> two = {{Curve::kRaster},
                                     {Curve::kHilbert, 4, 2, 3, 0}};
  const int64_t ks[] = {1, 3, 4, 9};
  for (int64_t k : ks) {
    for (int64_t stride : {1, 2, 3}) {
      for (int64_t m : {1, 2}) {
        for (int64_t padding : {int64_t{0}, k / 2, k - 1, k + 2}) {
          const bool many = (k + stride + m) % 2 == 0;
          const std::vector<PathSpec>& specs =
              many ? ThreePaths() : (k % 2 ? two : one);
          out.push_back({{2, 2, 5, 7, static_cast<int64_t>(specs.size()), m, k},
                         specs,
                         {stride, padding},
                         (k + padding) % 2 == 0});
        }
      }
    }
  }
  // Upstream's downsample (K 9, stride 2, padding 4, multiplier 2) on an 8 x 8
  // Hilbert path.
  out.push_back({{1, 3, 8, 8, 1, 2, 9}, one, {2, 4}, true});
  // The whole padded path in one window (L_out = 1), and a stride longer than
  // the path.
  out.push_back({{1, 2, 3, 4, 2, 1, 16}, two, {1, 2}, true});
  out.push_back({{2, 1, 3, 3, 2, 2, 2}, two, {20, 1}, false});
  // 1 x 1 and 1 x N images.
  out.push_back({{2, 3, 1, 1, 1, 2, 1}, one, {1, 0}, true});
  out.push_back({{1, 2, 1, 9, 3, 1, 3}, ThreePaths(), {1, 1}, true});
  return out;
}

struct Data {
  PathTensors paths;
  HostTensor x, weight, bias, dy;
};

Data MakeData(const Problem& p, std::mt19937_64& rng,
              DType index_dtype = DType::kI64) {
  const ConvSizes& s = p.s;
  Data d;
  d.paths = MakePaths(s.h, s.w, p.specs, index_dtype);
  d.x = Uniform(DType::kF64, {s.n, s.c, s.h, s.w}, rng);
  d.weight = Uniform(DType::kF64, {s.out_channels(), 1, s.k}, rng);
  d.bias = Uniform(DType::kF64, {s.out_channels()}, rng);
  d.dy =
      Uniform(DType::kF64, {s.n, s.out_channels(), s.out_length(p.args)}, rng);
  return d;
}

TEST(PathGatherTest, MatchesDirectIndexing) {
  std::mt19937_64 rng(1);
  for (DType index_dtype : {DType::kI32, DType::kI64}) {
    for (auto [h, w] :
         {std::pair<int64_t, int64_t>{1, 1}, {1, 6}, {5, 7}, {8, 8}}) {
      const PathTensors paths = MakePaths(h, w, ThreePaths(), index_dtype);
      const HostTensor x = Uniform(DType::kF64, {2, 3, h, w}, rng);
      absl::StatusOr<HostTensor> y = RunGather(x, paths.perm);
      ASSERT_TRUE(y.ok()) << y.status();
      ASSERT_EQ(y->shape(), (Dims{2, 9, h * w}));
      // y[n, p*C + c, l] = x[n, c, r, c'] with perm[p, l] = r*W + c'.
      const std::vector<double> perm = paths.perm.ToDoubles();
      for (int64_t n = 0; n < 2; ++n) {
        for (int64_t p = 0; p < 3; ++p) {
          for (int64_t c = 0; c < 3; ++c) {
            for (int64_t l = 0; l < h * w; ++l) {
              const int64_t q = static_cast<int64_t>(perm[p * h * w + l]);
              const int64_t r = q / w, col = q % w;
              EXPECT_EQ(y->Get(((n * 3 + p) * 3 + c) * h * w + l),
                        x.Get(((n * 3 + c) * h + r) * w + col));
            }
          }
        }
      }
    }
  }
}

TEST(PathScatterTest, IsScatterAddThroughPermAndGathersAdjoint) {
  std::mt19937_64 rng(2);
  for (DType index_dtype : {DType::kI32, DType::kI64}) {
    for (auto [h, w] : {std::pair<int64_t, int64_t>{1, 1}, {7, 1}, {6, 5}}) {
      const PathTensors paths = MakePaths(h, w, ThreePaths(), index_dtype);
      const int64_t n = 2, c = 2, length = h * w;
      const HostTensor y = Uniform(DType::kF64, {n, 3 * c, length}, rng);
      const HostTensor x = Uniform(DType::kF64, {n, c, h, w}, rng);
      absl::StatusOr<HostTensor> sy = RunScatter(y, paths.inv, x.shape());
      absl::StatusOr<HostTensor> gx = RunGather(x, paths.perm);
      ASSERT_TRUE(sy.ok() && gx.ok());
      ExpectAllClose(sy->ToDoubles(),
                     NaiveScatterAdd(y.ToDoubles(), paths.perm.ToDoubles(), n,
                                     c, length, 3),
                     kExact, 0.0, "scatter vs scatter-add through perm");
      // <gather(x), y> = <x, scatter(y)>.
      const double lhs = Dot(gx->ToDoubles(), y.ToDoubles());
      const double rhs = Dot(x.ToDoubles(), sy->ToDoubles());
      EXPECT_NEAR(lhs, rhs, kExact * (1 + std::fabs(lhs)));
    }
  }
}

TEST(PathScatterTest, UndoesGather) {
  std::mt19937_64 rng(3);
  for (const PathSpec& spec : ThreePaths()) {
    const PathTensors one = MakePaths(6, 9, {spec});
    const HostTensor x = Uniform(DType::kF64, {2, 3, 6, 9}, rng);
    absl::StatusOr<HostTensor> y = RunGather(x, one.perm);
    ASSERT_TRUE(y.ok());
    absl::StatusOr<HostTensor> back = RunScatter(*y, one.inv, x.shape());
    ASSERT_TRUE(back.ok());
    ExpectAllClose(back->ToDoubles(), x.ToDoubles(), 0.0, 0.0,
                   "scatter(gather(x)) with 1 path");
  }
  // Every path visits every pixel once: with P paths scatter(gather(x)) = P x.
  const PathTensors three = MakePaths(6, 9, ThreePaths());
  const HostTensor x = Uniform(DType::kF64, {2, 3, 6, 9}, rng);
  absl::StatusOr<HostTensor> y = RunGather(x, three.perm);
  ASSERT_TRUE(y.ok());
  absl::StatusOr<HostTensor> back = RunScatter(*y, three.inv, x.shape());
  ASSERT_TRUE(back.ok());
  std::vector<double> tripled = x.ToDoubles();
  for (double& v : tripled) v *= 3;
  ExpectAllClose(back->ToDoubles(), tripled, kExact, 0.0,
                 "scatter(gather(x)) with 3 paths");
}

TEST(PathConvTest, ForwardIsGatherThenGroupedConv1d) {
  std::mt19937_64 rng(4);
  for (const Problem& p : Problems()) {
    const Data d = MakeData(p, rng);
    const ConvSizes& s = p.s;
    absl::StatusOr<HostTensor> y = RunConvForward(
        p.args, d.x, d.paths.perm, d.weight, p.bias ? &d.bias : nullptr);
    ASSERT_TRUE(y.ok()) << Describe(p) << ": " << y.status();
    const std::vector<double> seq =
        NaiveGather(d.x.ToDoubles(), d.paths.perm.ToDoubles(), s.n, s.c,
                    s.length(), s.paths);
    const std::vector<double> expected = NaiveGroupedConv1d(
        seq, s.n, s.sequences(), s.length(), d.weight.ToDoubles(), s.m, s.k,
        p.bias ? d.bias.ToDoubles() : std::vector<double>{}, p.args.stride,
        p.args.padding);
    ExpectAllClose(y->ToDoubles(), expected, kExact, 0.0, Describe(p) + " y");
  }
}

TEST(PathConvTest, BackwardInputIsTransposedConvScatteredThroughPerm) {
  std::mt19937_64 rng(5);
  for (const Problem& p : Problems()) {
    const Data d = MakeData(p, rng);
    const ConvSizes& s = p.s;
    absl::StatusOr<HostTensor> dx =
        RunConvBackwardInput(p.args, d.dy, d.paths.inv, d.weight, d.x.shape());
    ASSERT_TRUE(dx.ok()) << Describe(p) << ": " << dx.status();
    const std::vector<double> dseq = NaiveGroupedConv1dTranspose(
        d.dy.ToDoubles(), s.n, s.sequences(), s.length(), d.weight.ToDoubles(),
        s.m, s.k, p.args.stride, p.args.padding);
    ExpectAllClose(dx->ToDoubles(),
                   NaiveScatterAdd(dseq, d.paths.perm.ToDoubles(), s.n, s.c,
                                   s.length(), s.paths),
                   kExact, 0.0, Describe(p) + " dx");
    // Adjointness with the bias-free forward: <conv(x), dy> = <x, dx>.
    absl::StatusOr<HostTensor> y =
        RunConvForward(p.args, d.x, d.paths.perm, d.weight, nullptr);
    ASSERT_TRUE(y.ok());
    const double lhs = Dot(y->ToDoubles(), d.dy.ToDoubles());
    const double rhs = Dot(d.x.ToDoubles(), dx->ToDoubles());
    EXPECT_NEAR(lhs, rhs, kExact * (1 + std::fabs(lhs))) << Describe(p);
  }
}

TEST(PathConvTest, BackwardParamsFromTheGatheredSequence) {
  std::mt19937_64 rng(6);
  for (const Problem& p : Problems()) {
    const Data d = MakeData(p, rng);
    const ConvSizes& s = p.s;
    absl::StatusOr<ParamGrads> g = RunConvBackwardParams(
        p.args, d.dy, d.x, d.paths.perm, d.weight.shape());
    ASSERT_TRUE(g.ok()) << Describe(p) << ": " << g.status();
    const std::vector<double> seq =
        NaiveGather(d.x.ToDoubles(), d.paths.perm.ToDoubles(), s.n, s.c,
                    s.length(), s.paths);
    const std::vector<double> dy = d.dy.ToDoubles();
    const int64_t out_length = s.out_length(p.args);
    std::vector<double> dw(s.out_channels() * s.k, 0.0),
        db(s.out_channels(), 0.0);
    for (int64_t n = 0; n < s.n; ++n) {
      for (int64_t oc = 0; oc < s.out_channels(); ++oc) {
        const int64_t g_in = oc / s.m;
        for (int64_t j = 0; j < out_length; ++j) {
          const double v = dy[(n * s.out_channels() + oc) * out_length + j];
          db[oc] += v;
          for (int64_t t = 0; t < s.k; ++t) {
            const int64_t i = j * p.args.stride + t - p.args.padding;
            if (i >= 0 && i < s.length()) {
              dw[oc * s.k + t] +=
                  v * seq[(n * s.sequences() + g_in) * s.length() + i];
            }
          }
        }
      }
    }
    ExpectAllClose(g->dweight->ToDoubles(), dw, kExact, 0.0,
                   Describe(p) + " dweight");
    ExpectAllClose(g->dbias->ToDoubles(), db, kExact, 0.0,
                   Describe(p) + " dbias");
  }
}

TEST(PathConvTest, ParamGradientsOneAtATime) {
  std::mt19937_64 rng(7);
  const Problem p = Problems()[5];
  const Data d = MakeData(p, rng);
  absl::StatusOr<ParamGrads> both =
      RunConvBackwardParams(p.args, d.dy, d.x, d.paths.perm, d.weight.shape());
  absl::StatusOr<ParamGrads> w_only = RunConvBackwardParams(
      p.args, d.dy, d.x, d.paths.perm, d.weight.shape(), true, false);
  absl::StatusOr<ParamGrads> b_only = RunConvBackwardParams(
      p.args, d.dy, d.x, d.paths.perm, d.weight.shape(), false, true);
  ASSERT_TRUE(both.ok() && w_only.ok() && b_only.ok());
  EXPECT_FALSE(w_only->dbias.has_value());
  EXPECT_FALSE(b_only->dweight.has_value());
  ExpectAllClose(w_only->dweight->ToDoubles(), both->dweight->ToDoubles(), 0.0,
                 0.0, "dweight");
  ExpectAllClose(b_only->dbias->ToDoubles(), both->dbias->ToDoubles(), 0.0, 0.0,
                 "dbias");
}

TEST(PathConvTest, IndexDtypeDoesNotMatter) {
  std::mt19937_64 rng(8);
  const Problem p = Problems()[13];
  const Data d = MakeData(p, rng);
  const PathTensors i32 = MakePaths(p.s.h, p.s.w, p.specs, DType::kI32);
  absl::StatusOr<HostTensor> y64 =
      RunConvForward(p.args, d.x, d.paths.perm, d.weight, &d.bias);
  absl::StatusOr<HostTensor> y32 =
      RunConvForward(p.args, d.x, i32.perm, d.weight, &d.bias);
  absl::StatusOr<HostTensor> dx64 =
      RunConvBackwardInput(p.args, d.dy, d.paths.inv, d.weight, d.x.shape());
  absl::StatusOr<HostTensor> dx32 =
      RunConvBackwardInput(p.args, d.dy, i32.inv, d.weight, d.x.shape());
  ASSERT_TRUE(y64.ok() && y32.ok() && dx64.ok() && dx32.ok());
  ExpectAllClose(y32->ToDoubles(), y64->ToDoubles(), 0.0, 0.0, "y");
  ExpectAllClose(dx32->ToDoubles(), dx64->ToDoubles(), 0.0, 0.0, "dx");
}

TEST(PathConvTest, EmptyBatchAndChannels) {
  std::mt19937_64 rng(9);
  const PathTensors paths =
      MakePaths(3, 4, {{Curve::kHilbert}, {Curve::kRaster}});
  const HostTensor x0 = Uniform(DType::kF64, {0, 2, 3, 4}, rng);
  const HostTensor w = Uniform(DType::kF64, {4, 1, 3}, rng);
  absl::StatusOr<HostTensor> y =
      RunConvForward({1, 1}, x0, paths.perm, w, nullptr);
  ASSERT_TRUE(y.ok()) << y.status();
  EXPECT_EQ(y->shape(), (Dims{0, 4, 12}));
  absl::StatusOr<HostTensor> g = RunGather(x0, paths.perm);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(g->numel(), 0);
  // No batch: the parameter gradients are sums over nothing.
  const HostTensor dy0(DType::kF64, {0, 4, 12});
  absl::StatusOr<ParamGrads> pg =
      RunConvBackwardParams({1, 1}, dy0, x0, paths.perm, w.shape());
  ASSERT_TRUE(pg.ok()) << pg.status();
  ExpectAllClose(pg->dweight->ToDoubles(), std::vector<double>(12, 0.0), 0.0,
                 0.0, "dweight");
}

}  // namespace
}  // namespace tapconv::testing
