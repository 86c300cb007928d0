// The cpu backend's oriented conv against the reference backend, under the
// instruction set named by TAPCONV_CPU_ISA (BUILD runs this file once per
// ISA): values within the dtype's tolerance, bit-identical results whatever
// the thread count, the adjoint and weight-gradient identities, and the
// unsupported and invalid inputs the backend itself must catch.

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/isa.h"
#include "gtest/gtest.h"
#include "ops/oriented_conv.h"
#include "tests/conformance/op_cases.h"
#include "tests/cpu/oriented_cpu_cases.h"
#include "tests/test_util.h"
#include "tests/tolerance.h"

namespace tapconv::testing {
namespace {

using conformance::MaxScaledError;
using conformance::OpCase;
using conformance::OrientedCases;
using conformance::OrientedConfig;
using conformance::Outputs;

ExecContext Cpu(int threads = 0) {
  ExecContext ctx;
  ctx.backend = "cpu";
  ctx.num_threads = threads;
  return ctx;
}

const std::vector<OpCase>& MatrixCases() {
  static const auto* cases = [] {
    auto* all = new std::vector<OpCase>;
    for (const OrientedConfig& c : CpuOrientedConfigs()) {
      for (OpCase& op : OrientedCases(c)) all->push_back(std::move(op));
    }
    return all;
  }();
  return *cases;
}

TEST(OrientedCpuIsa, RunsTheRequestedInstructionSet) {
  const char* wanted = std::getenv("TAPCONV_CPU_ISA");
  if (wanted == nullptr) GTEST_SKIP() << "TAPCONV_CPU_ISA is not set";
  cpu::Isa isa = cpu::Isa::kScalar;
  if (std::string(wanted) == "avx2") isa = cpu::Isa::kAvx2;
  if (std::string(wanted) == "avx512") isa = cpu::Isa::kAvx512;
  if (static_cast<int>(cpu::DetectedIsa()) < static_cast<int>(isa)) {
    GTEST_SKIP() << "this processor has no " << wanted << "; the cases run "
                 << cpu::IsaName(cpu::ActiveIsa());
  }
  EXPECT_EQ(cpu::IsaName(cpu::ActiveIsa()), wanted);
}

class OrientedCpuMatrixTest : public ::testing::TestWithParam<size_t> {};

TEST_P(OrientedCpuMatrixTest, MatchesReference) {
  const OpCase& c = MatrixCases()[GetParam()];
  SCOPED_TRACE(absl::StrCat(c.op, " [", c.config, "] on ",
                            cpu::IsaName(cpu::ActiveIsa())));
  const absl::StatusOr<Outputs> expected = c.run(ExecContext{"reference"});
  ASSERT_TRUE(expected.ok()) << expected.status();
  const absl::StatusOr<Outputs> actual = c.run(Cpu());
  ASSERT_TRUE(actual.ok()) << actual.status();
  EXPECT_LE(MaxScaledError(*actual, *expected),
            Tolerance(c.dtype, c.reduction_length))
      << "max |cpu - reference| / (1 + |reference|)";
}

INSTANTIATE_TEST_SUITE_P(Cases, OrientedCpuMatrixTest,
                         ::testing::Range<size_t>(0, MatrixCases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           std::string op = MatrixCases()[info.param].op;
                           for (char& ch : op) {
                             if (ch == '.') ch = '_';
                           }
                           return absl::StrCat(op, "_", info.param);
                         });

// Bit-for-bit comparison of two runs' outputs (doubles widened from the
// outputs' dtype, so equal bits here mean equal bits there).
bool BitwiseEqual(const Outputs& a, const Outputs& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const std::vector<double>& x = a[i].second;
    const std::vector<double>& y = b[i].second;
    if (x.size() != y.size()) return false;
    if (!x.empty() &&
        std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) != 0) {
      return false;
    }
  }
  return true;
}

std::vector<OrientedConfig> DeterminismConfigs() {
  std::vector<OrientedConfig> configs;
  for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    for (int64_t stride : {1, 2}) {
      OrientedConfig c;
      c.batch = 3;
      c.channels = 20;
      c.height = 45;
      c.width = 38;
      c.taps = 31;
      c.args.layout = layout;
      c.args.stride = stride;
      c.angles = {0.0,       0.3926991, 0.7853982, 1.1780972,
                  1.5707964, 1.9634954, 2.3561945, 2.7488936};
      c.dtype = stride == 1 ? DType::kF32 : DType::kBF16;
      configs.push_back(c);
      // Two channels, five images: the weight gradient's batch split.
      c.channels = 2;
      c.batch = 5;
      c.dtype = DType::kF32;
      configs.push_back(c);
      // Channel runs of one angle: the blocked kernels.
      c.channels = 40;
      c.batch = 2;
      c.angle_blocks = true;
      configs.push_back(c);
    }
  }
  return configs;
}

TEST(OrientedCpuDeterminismTest, BitIdenticalForAnyThreadCount) {
  for (const OrientedConfig& config : DeterminismConfigs()) {
    for (const OpCase& c : OrientedCases(config)) {
      SCOPED_TRACE(absl::StrCat(c.op, " [", c.config, "]"));
      const absl::StatusOr<Outputs> first = c.run(Cpu(1));
      ASSERT_TRUE(first.ok()) << first.status();
      for (int threads : {2, 0, 2, 1}) {
        const absl::StatusOr<Outputs> again = c.run(Cpu(threads));
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_TRUE(BitwiseEqual(*first, *again))
            << "num_threads " << threads << " differs from num_threads 1";
      }
    }
  }
}

// The blocked kernels keep each thread's scratch between calls and only
// rewrite the parts a call changes. Here a call with row and column tiles
// (two scratch regions) alternates with calls of one kind of tile on larger
// planes, whose one region overlaps the other region of the first call; every
// call is checked against the reference, on one thread (so that one scratch
// sees the whole sequence), then on two.
TEST(OrientedCpuScratchReuseTest, EveryCallMatchesReference) {
  const std::vector<double> row_tiles = {0.3926991},  // 22.5 degrees
      column_tiles = {1.5707964},                     // 90 degrees
      both = {0.3926991, 1.5707964};
  for (Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    std::vector<OrientedConfig> sequence;
    for (const std::vector<double>* angles :
         {&both, &row_tiles, &both, &column_tiles, &both}) {
      OrientedConfig c;
      c.batch = 2;
      c.channels = 32;
      c.height = angles == &both ? 45 : 160;  // 160 rows: several bands
      c.width = 38;
      c.taps = 31;
      c.args.layout = layout;
      c.angles = *angles;
      c.angle_blocks = true;
      sequence.push_back(c);
    }
    for (int threads : {1, 2}) {
      for (const OrientedConfig& config : sequence) {
        for (const OpCase& c : OrientedCases(config)) {
          SCOPED_TRACE(
              absl::StrCat(c.op, " [", c.config, "] num_threads ", threads));
          const absl::StatusOr<Outputs> expected =
              c.run(ExecContext{"reference"});
          ASSERT_TRUE(expected.ok()) << expected.status();
          const absl::StatusOr<Outputs> actual = c.run(Cpu(threads));
          ASSERT_TRUE(actual.ok()) << actual.status();
          EXPECT_LE(MaxScaledError(*actual, *expected),
                    Tolerance(c.dtype, c.reduction_length));
        }
      }
    }
  }
}

// Independent of the reference: for the float64 op A (no bias),
// <A x, dy> = <x, A^T dy> and sum_ck dweight[c,k] v[c,k] = <A_v x, dy>, where
// A_v is the forward with weights v (the weight gradient is linear in w's
// direction), and dbias = sum of dy per channel.
class OrientedCpuIdentityTest
    : public ::testing::TestWithParam<std::tuple<Layout, int64_t, bool>> {};

TEST_P(OrientedCpuIdentityTest, AdjointAndWeightGradient) {
  // one_angle: every channel at one angle, which the blocked kernels take.
  const auto [layout, stride, one_angle] = GetParam();
  const int64_t n = 2, c = 9, h = 37, w = 41, k = 31;
  std::mt19937_64 rng(7);
  OrientedConvArgs args;
  args.layout = layout;
  args.stride = stride;
  const int64_t p = OrientedOutputSize(h, stride),
                q = OrientedOutputSize(w, stride);
  auto activation = [&](int64_t hh, int64_t ww) {
    return layout == Layout::kNCHW ? Dims{n, c, hh, ww} : Dims{n, hh, ww, c};
  };
  HostTensor x = Uniform(DType::kF64, activation(h, w), rng);
  HostTensor dy = Uniform(DType::kF64, activation(p, q), rng);
  HostTensor weight = Uniform(DType::kF64, {c, 1, 1, k}, rng);
  HostTensor v = Uniform(DType::kF64, {c, 1, 1, k}, rng);
  HostTensor theta(DType::kF32, {c});
  for (int64_t i = 0; i < c; ++i)
    theta.Set(i, one_angle ? 0.4 : 0.37 * i - 0.5);

  HostTensor y(DType::kF64, activation(p, q));
  ASSERT_TRUE(ops::OrientedConv2dForward(
                  args,
                  {x.ref(), weight.ref(), theta.ref(), std::nullopt, y.ref()},
                  Cpu())
                  .ok());
  HostTensor dx(DType::kF64, activation(h, w));
  ASSERT_TRUE(ops::OrientedConv2dBackwardInput(
                  args, {dy.ref(), weight.ref(), theta.ref(), dx.ref()}, Cpu())
                  .ok());
  const double lhs = Dot(y.ToDoubles(), dy.ToDoubles());
  const double rhs = Dot(x.ToDoubles(), dx.ToDoubles());
  EXPECT_NEAR(lhs, rhs, 1e-12 * (1.0 + std::fabs(lhs)));

  HostTensor yv(DType::kF64, activation(p, q));
  ASSERT_TRUE(
      ops::OrientedConv2dForward(
          args, {x.ref(), v.ref(), theta.ref(), std::nullopt, yv.ref()}, Cpu())
          .ok());
  HostTensor dweight(DType::kF64, {c, 1, 1, k});
  HostTensor dbias(DType::kF64, {c});
  ASSERT_TRUE(ops::OrientedConv2dBackwardParams(
                  args,
                  {dy.ref(), x.ref(), theta.ref(), dweight.ref(), dbias.ref()},
                  Cpu())
                  .ok());
  const double directional = Dot(dweight.ToDoubles(), v.ToDoubles());
  const double expected = Dot(yv.ToDoubles(), dy.ToDoubles());
  EXPECT_NEAR(directional, expected, 1e-12 * (1.0 + std::fabs(expected)));

  const std::vector<double> g = dy.ToDoubles();
  std::vector<double> sums(c, 0.0);
  for (int64_t i = 0; i < static_cast<int64_t>(g.size()); ++i) {
    const int64_t channel = layout == Layout::kNCHW ? (i / (p * q)) % c : i % c;
    sums[channel] += g[i];
  }
  ExpectAllClose(dbias.ToDoubles(), sums, 1e-12, 1e-12, "dbias");
}

INSTANTIATE_TEST_SUITE_P(
    LayoutsAndStrides, OrientedCpuIdentityTest,
    ::testing::Combine(::testing::Values(Layout::kNCHW, Layout::kNHWC),
                       ::testing::Values<int64_t>(1, 2, 3), ::testing::Bool()));

// Which kernels run: the blocked ones (vectors over channels) for runs of
// channels of one angle where the instruction set has them and they pay,
// the plane ones otherwise; TAPCONV_CPU_ORIENTED_BLOCKED=1 (the *_blocked
// test targets) takes the blocked ones wherever they apply, =0 (*_plane)
// never.
TEST(OrientedCpuKernelChoiceTest, BlockedForRunsOfOneAngle) {
  using cpu::OrientedPass;
  const char* forced = std::getenv("TAPCONV_CPU_ORIENTED_BLOCKED");
  const bool everywhere = forced != nullptr && std::string(forced) == "1";
  const bool never = forced != nullptr && std::string(forced) == "0";
  const bool vectors = cpu::ActiveIsa() != cpu::Isa::kScalar;
  const std::string blocked = vectors && !never ? "blocked" : "plane";
  const int64_t c = 64;
  std::vector<double> runs(c), interleaved(c);
  for (int64_t i = 0; i < c; ++i) {
    runs[i] = M_PI * static_cast<double>((8 * (i + 1) - 1) / c) / 8.0;
    interleaved[i] = M_PI * static_cast<double>(i % 8) / 8.0;
  }
  auto name = [&](OrientedPass pass, Layout layout, int64_t taps,
                  int64_t stride, DType dtype, const std::vector<double>& theta,
                  int64_t size = 28) {
    OrientedConvArgs args;
    args.layout = layout;
    args.stride = stride;
    const int64_t out = OrientedOutputSize(size, stride);
    return cpu::OrientedKernelName(pass, args, theta,
                                   {2, c, size, size, out, out, taps}, dtype);
  };
  const Layout nchw = Layout::kNCHW, nhwc = Layout::kNHWC;
  const DType f32 = DType::kF32, bf16 = DType::kBF16;
  EXPECT_EQ(name(OrientedPass::kForward, nchw, 31, 1, f32, runs), blocked);
  EXPECT_EQ(name(OrientedPass::kBackwardInput, nchw, 31, 1, f32, runs),
            blocked);
  EXPECT_EQ(name(OrientedPass::kForward, nchw, 31, 2, f32, runs), blocked);
  EXPECT_EQ(name(OrientedPass::kForward, nhwc, 7, 1, bf16, runs), blocked);
  EXPECT_EQ(name(OrientedPass::kForward, nhwc, 31, 2, DType::kF64, runs),
            blocked);
  // Few taps or bfloat16 on channels-first: the transposes would not pay,
  // except on tiny planes.
  EXPECT_EQ(name(OrientedPass::kForward, nchw, 7, 1, f32, runs),
            everywhere ? blocked : "plane");
  EXPECT_EQ(name(OrientedPass::kForward, nchw, 7, 1, f32, runs, 7), blocked);
  EXPECT_EQ(name(OrientedPass::kForward, nchw, 31, 1, bf16, runs),
            everywhere ? blocked : "plane");
  // The weight gradient (no output to transpose back) whatever the taps,
  // except in bfloat16 on channels-first.
  EXPECT_EQ(name(OrientedPass::kBackwardParams, nchw, 31, 2, f32, runs),
            blocked);
  EXPECT_EQ(name(OrientedPass::kBackwardParams, nchw, 7, 1, f32, runs),
            blocked);
  EXPECT_EQ(name(OrientedPass::kBackwardParams, nchw, 7, 1, bf16, runs),
            everywhere ? blocked : "plane");
  EXPECT_EQ(name(OrientedPass::kBackwardParams, nhwc, 7, 1, f32, runs),
            blocked);
  // Never blocked: a strided input gradient, one angle per channel, float16
  // (no kernels at all).
  EXPECT_EQ(name(OrientedPass::kBackwardInput, nchw, 31, 2, f32, runs),
            "plane");
  EXPECT_EQ(name(OrientedPass::kForward, nhwc, 31, 1, f32, interleaved),
            "plane");
  EXPECT_EQ(name(OrientedPass::kForward, nchw, 31, 1, DType::kF16, runs),
            "unimplemented");
}

// Outputs over 16 MiB are written with non-temporal stores. A 1-tap conv is
// pointwise, y = (w + 1) x + b under the residual, dx = (w + 1) dy, so these
// sizes can be checked element by element cheaply; odd sizes make most planes
// start unaligned.
TEST(OrientedCpuStreamedOutputTest, MatchesPointwiseFormula) {
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    SCOPED_TRACE(DTypeName(dtype));
    const int64_t n = 1, c = dtype == DType::kF32 ? 65 : 130, h = 255, w = 257;
    ASSERT_GE(n * c * h * w * static_cast<int64_t>(SizeOf(dtype)),
              int64_t{16} << 20);
    OrientedConvArgs args;
    args.residual = true;
    HostTensor x(dtype, {n, c, h, w}), dy(dtype, {n, c, h, w});
    std::vector<double> values(x.numel());
    uint64_t state = 12345;
    for (double& v : values) {
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      v = static_cast<double>(state >> 40) / 16777216.0 - 0.5;
    }
    x.SetFromDoubles(values);
    for (double& v : values) v = -2.0 * v;
    dy.SetFromDoubles(values);
    std::mt19937_64 rng(5);
    HostTensor weight = Uniform(dtype, {c, 1, 1, 1}, rng);
    HostTensor bias = Uniform(dtype, {c}, rng);
    HostTensor theta(DType::kF32, {c});
    HostTensor y(dtype, {n, c, h, w}), dx(dtype, {n, c, h, w});
    ASSERT_TRUE(ops::OrientedConv2dForward(
                    args,
                    {x.ref(), weight.ref(), theta.ref(), bias.ref(), y.ref()},
                    Cpu())
                    .ok());
    ASSERT_TRUE(
        ops::OrientedConv2dBackwardInput(
            args, {dy.ref(), weight.ref(), theta.ref(), dx.ref()}, Cpu())
            .ok());
    const double tolerance = Tolerance(dtype, 2);
    const std::vector<double> xs = x.ToDoubles(), dys = dy.ToDoubles();
    const std::vector<double> ys = y.ToDoubles(), dxs = dx.ToDoubles();
    int64_t bad = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      const int64_t channel = (i / (h * w)) % c;
      const double scale = weight.Get(channel) + 1.0;
      const double want_y = scale * xs[i] + bias.Get(channel);
      const double want_dx = scale * dys[i];
      if (std::fabs(ys[i] - want_y) > tolerance * (1.0 + std::fabs(want_y)) ||
          std::fabs(dxs[i] - want_dx) >
              tolerance * (1.0 + std::fabs(want_dx))) {
        if (++bad <= 5) {
          ADD_FAILURE() << "element " << i << ": y " << ys[i] << " want "
                        << want_y << ", dx " << dxs[i] << " want " << want_dx;
        }
      }
    }
    EXPECT_EQ(bad, 0);
  }
}

// Non-temporal stores with 7 taps at two angles, against the reference.
// Channels-first: outputs over 16 MiB, and small planes (at most 4 KiB each,
// where the blocked kernels stream whatever the size); plane sizes are
// multiples of the vector width, so that whole aligned vectors are streamed
// while the next item's tiles run, and a width of 264 makes odd bands start
// mid-vector, which a head of masked stores must realign. Channels-last:
// outputs of 1 MiB and more, each pixel's block of channels one line, two
// blocks per work item: both whole (32 channels), a pair and a block alone
// (48), and, with angles in runs of 24 channels, a whole block paired with a
// partial one (48 as blocks of 16 + 8), whose lines are not streamed.
TEST(OrientedCpuStreamedOutputTest, SevenTapsMatchReference) {
  struct Shape {
    Layout layout;
    int64_t n, c, h, w;
    int64_t angle_run = 16;  // channels per angle
  };
  const Layout nchw = Layout::kNCHW, nhwc = Layout::kNHWC;
  for (const Shape& sh :
       {Shape{nchw, 2, 32, 256, 256}, Shape{nchw, 2, 32, 256, 264},
        Shape{nchw, 3, 32, 28, 28}, Shape{nchw, 2, 48, 16, 16},
        Shape{nhwc, 2, 32, 128, 96}, Shape{nhwc, 1, 48, 75, 77},
        Shape{nhwc, 2, 48, 128, 96, 24}}) {
    SCOPED_TRACE(absl::StrCat(sh.layout == nchw ? "NCHW " : "NHWC ", sh.n, "x",
                              sh.c, "x", sh.h, "x", sh.w, " angle runs ",
                              sh.angle_run));
    const int64_t k = 7;
    const Dims dims = sh.layout == nchw ? Dims{sh.n, sh.c, sh.h, sh.w}
                                        : Dims{sh.n, sh.h, sh.w, sh.c};
    std::mt19937_64 rng(11);
    HostTensor x = Uniform(DType::kF32, dims, rng);
    HostTensor weight = Uniform(DType::kF32, {sh.c, 1, 1, k}, rng);
    HostTensor bias = Uniform(DType::kF32, {sh.c}, rng);
    HostTensor theta(DType::kF32, {sh.c});
    // Runs of channels of one angle: oblique, then steep.
    for (int64_t i = 0; i < sh.c; ++i)
      theta.Set(i, (i / sh.angle_run) % 2 ? 1.9 : 0.4);
    OrientedConvArgs args;
    args.layout = sh.layout;
    HostTensor want(DType::kF32, dims);
    // y 64-byte aligned (HostTensor only guarantees 8), so that channels-last
    // rows, whose alignment no head of pixels can fix, do stream.
    const int64_t count = sh.n * sh.c * sh.h * sh.w;
    std::unique_ptr<float, decltype(&std::free)> y(
        static_cast<float*>(std::aligned_alloc(64, (count * 4 + 63) / 64 * 64)),
        &std::free);
    ASSERT_NE(y, nullptr);
    // NaN everywhere first: an output the kernels skip cannot pass.
    std::fill(y.get(), y.get() + count,
              std::numeric_limits<float>::quiet_NaN());
    const TensorRef got = MakeTensorRef(y.get(), DType::kF32, dims);
    ASSERT_TRUE(
        ops::OrientedConv2dForward(
            args, {x.ref(), weight.ref(), theta.ref(), bias.ref(), want.ref()},
            ExecContext{"reference"})
            .ok());
    ASSERT_TRUE(
        ops::OrientedConv2dForward(
            args, {x.ref(), weight.ref(), theta.ref(), bias.ref(), got}, Cpu())
            .ok());
    const std::vector<double> b = want.ToDoubles();
    const double tolerance = Tolerance(DType::kF32, k);
    int64_t bad = 0;
    for (int64_t i = 0; i < count; ++i) {
      const double error =
          std::fabs(y.get()[i] - b[i]) / (1.0 + std::fabs(b[i]));
      if (!(error <= tolerance) && ++bad <= 5) {
        ADD_FAILURE() << "element " << i << ": " << y.get()[i] << " want "
                      << b[i];
      }
    }
    EXPECT_EQ(bad, 0);
  }
}

// The cpu forward and input gradient of one float32 call against the
// reference: x and y are x_dims, dy and the forward's output y_dims (in the
// args' layout); outputs start as NaN, so that one the kernels skip fails.
// With keep_alive, the outputs are kept there afterwards: a sequence of calls
// then never hands the next call a buffer at an address an earlier call used,
// so that a stale pointer kept between calls cannot pass by luck.
void ExpectConvMatchesReference(const OrientedConvArgs& args,
                                const HostTensor& x, const HostTensor& dy,
                                const HostTensor& weight,
                                const HostTensor& theta,
                                const std::optional<TensorRef>& bias,
                                int64_t taps,
                                std::deque<HostTensor>* keep_alive = nullptr) {
  const ExecContext reference{"reference"};
  HostTensor want_y(DType::kF32, dy.shape()), got_y(DType::kF32, dy.shape());
  HostTensor want_dx(DType::kF32, x.shape()), got_dx(DType::kF32, x.shape());
  got_y.Fill(std::numeric_limits<double>::quiet_NaN());
  got_dx.Fill(std::numeric_limits<double>::quiet_NaN());
  ASSERT_TRUE(ops::OrientedConv2dForward(
                  args,
                  {x.ref(), weight.ref(), theta.ref(), bias, want_y.ref()},
                  reference)
                  .ok());
  ASSERT_TRUE(
      ops::OrientedConv2dForward(
          args, {x.ref(), weight.ref(), theta.ref(), bias, got_y.ref()}, Cpu())
          .ok());
  EXPECT_LE(
      MaxScaledError({{"y", got_y.ToDoubles()}}, {{"y", want_y.ToDoubles()}}),
      Tolerance(DType::kF32, taps + 2));
  ASSERT_TRUE(
      ops::OrientedConv2dBackwardInput(
          args, {dy.ref(), weight.ref(), theta.ref(), want_dx.ref()}, reference)
          .ok());
  ASSERT_TRUE(
      ops::OrientedConv2dBackwardInput(
          args, {dy.ref(), weight.ref(), theta.ref(), got_dx.ref()}, Cpu())
          .ok());
  EXPECT_LE(MaxScaledError({{"dx", got_dx.ToDoubles()}},
                           {{"dx", want_dx.ToDoubles()}}),
            Tolerance(DType::kF32, taps + 1));
  if (keep_alive != nullptr) {
    for (HostTensor* t : {&want_y, &got_y, &want_dx, &got_dx})
      keep_alive->push_back(std::move(*t));
  }
}

// One call of a plan-reuse sequence: args for the layout and stride, and a
// fresh x (n x c x h x w in that layout) and dy (the output's size) appended
// to `inputs`, which keeps every call's tensors alive (see
// ExpectConvMatchesReference).
struct SequenceCall {
  OrientedConvArgs args;
  const HostTensor* x;
  const HostTensor* dy;
};
SequenceCall NextSequenceCall(Layout layout, int64_t stride, int64_t n,
                              int64_t c, int64_t h, int64_t w,
                              std::mt19937_64& rng,
                              std::deque<HostTensor>* inputs) {
  SequenceCall call;
  call.args.layout = layout;
  call.args.stride = stride;
  auto dims = [&](int64_t rows, int64_t cols) {
    return layout == Layout::kNCHW ? Dims{n, c, rows, cols}
                                   : Dims{n, rows, cols, c};
  };
  inputs->push_back(Uniform(DType::kF32, dims(h, w), rng));
  call.x = &inputs->back();
  inputs->push_back(Uniform(
      DType::kF32,
      dims(OrientedOutputSize(h, stride), OrientedOutputSize(w, stride)), rng));
  call.dy = &inputs->back();
  return call;
}

// A call with the angles, shapes and options of the previous one reuses its
// blocked plan with this call's weights, bias and tensors. Calls that change
// the weights, bias, residual, one channel's angle, the bias's presence or
// the stride, in turn, must each match the reference (forward and input
// gradient).
TEST(OrientedCpuPlanReuseTest, EachCallOfASequenceMatchesReference) {
  struct Step {
    bool bias, residual;
    int64_t stride;
    double odd_angle;  // channel 37's angle
  };
  const std::vector<Step> steps = {
      {true, false, 1, 0.4},  {true, false, 1, 0.4},  {true, true, 1, 0.4},
      {true, false, 1, 1.25}, {true, false, 1, 0.4},  {false, false, 1, 0.4},
      {false, false, 1, 0.4}, {false, false, 2, 0.4}, {false, false, 2, 0.4}};
  for (const Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    const int64_t n = 2, c = 40, h = 23, w = 19;
    const int64_t k = layout == Layout::kNCHW ? 31 : 7;
    std::mt19937_64 rng(5);
    // Every call's tensors stay alive (see ExpectConvMatchesReference).
    std::deque<HostTensor> inputs;
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& step = steps[i];
      SCOPED_TRACE(
          absl::StrCat(layout == Layout::kNCHW ? "NCHW" : "NHWC", " step ", i));
      SequenceCall call =
          NextSequenceCall(layout, step.stride, n, c, h, w, rng, &inputs);
      call.args.residual = step.residual;
      HostTensor weight = Uniform(DType::kF32, {c, 1, 1, k}, rng);
      HostTensor bias = Uniform(DType::kF32, {c}, rng);
      HostTensor theta(DType::kF32, {c});
      // Blocks of 16 channels of one angle, as the models have them.
      for (int64_t ch = 0; ch < c; ++ch)
        theta.Set(ch, (ch / 16) % 2 ? 1.9 : 0.4);
      theta.Set(37, step.odd_angle);
      std::optional<TensorRef> bias_ref;
      if (step.bias) bias_ref = bias.ref();
      ExpectConvMatchesReference(call.args, *call.x, *call.dy, weight, theta,
                                 bias_ref, k, &inputs);
    }
  }
}

// A reusing call whose weights and bias hold the bytes of the previous call's
// keeps the merged values; one that changes any of them in place (same
// buffers, same plan key), or the fused residual, must merge them again. Each
// call against the reference (forward and input gradient).
TEST(OrientedCpuPlanReuseTest, WeightsChangedInPlaceAreMergedAgain) {
  for (const Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    SCOPED_TRACE(layout == Layout::kNCHW ? "NCHW" : "NHWC");
    const int64_t n = 2, c = 24, h = 17, w = 15, k = 13;
    std::mt19937_64 rng(23);
    HostTensor weight = Uniform(DType::kF32, {c, 1, 1, k}, rng);
    HostTensor bias = Uniform(DType::kF32, {c}, rng);
    HostTensor theta(DType::kF32, {c});
    for (int64_t ch = 0; ch < c; ++ch) theta.Set(ch, ch < 16 ? 0.4 : 1.9);
    std::deque<HostTensor> inputs;  // see ExpectConvMatchesReference
    for (int step = 0; step < 7; ++step) {
      SCOPED_TRACE(absl::StrCat("step ", step));
      // 0: first call; 1: new tensors only; 2: one tap of the last channel;
      // 3: one channel's bias; 4: nothing changed again; 5: the residual
      // fused; 6: not fused again.
      if (step == 2) weight.Set(c * k - 1, -3.5);
      if (step == 3) bias.Set(5, 2.25);
      SequenceCall call = NextSequenceCall(layout, 1, n, c, h, w, rng, &inputs);
      call.args.residual = step == 5;
      ExpectConvMatchesReference(call.args, *call.x, *call.dy, weight, theta,
                                 bias.ref(), k, &inputs);
    }
  }
}

// The weight gradient reuses its blocked plan the same way: calls that change
// the tensors only, the gradients wanted, one channel's angle or the stride,
// in turn, each against the reference. The unwanted gradient's buffer starts
// as NaN and must stay untouched.
TEST(OrientedCpuPlanReuseTest, WeightGradientSequenceMatchesReference) {
  struct Step {
    bool dweight, dbias;
    int64_t stride;
    double odd_angle;  // channel 21's angle
  };
  const std::vector<Step> steps = {
      {true, true, 1, 0.4},  {true, true, 1, 0.4}, {true, false, 1, 0.4},
      {false, true, 1, 0.4}, {true, true, 1, 0.4}, {true, true, 1, 1.25},
      {true, true, 1, 0.4},  {true, true, 2, 0.4}, {true, true, 2, 0.4}};
  const ExecContext reference{"reference"};
  for (const Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    const int64_t n = 2, c = 24, h = 19, w = 17, k = 15;
    std::mt19937_64 rng(29);
    HostTensor theta(DType::kF32, {c});
    std::deque<HostTensor> inputs;
    for (size_t i = 0; i < steps.size(); ++i) {
      const Step& step = steps[i];
      SCOPED_TRACE(
          absl::StrCat(layout == Layout::kNCHW ? "NCHW" : "NHWC", " step ", i));
      for (int64_t ch = 0; ch < c; ++ch) theta.Set(ch, ch < 16 ? 1.9 : 0.4);
      theta.Set(21, step.odd_angle);
      const SequenceCall call =
          NextSequenceCall(layout, step.stride, n, c, h, w, rng, &inputs);
      const OrientedConvArgs& args = call.args;
      const int64_t oh = OrientedOutputSize(h, step.stride);
      const int64_t ow = OrientedOutputSize(w, step.stride);
      HostTensor want_dw(DType::kF32, {c, 1, 1, k}),
          got_dw(DType::kF32, {c, 1, 1, k});
      HostTensor want_db(DType::kF32, {c}), got_db(DType::kF32, {c});
      got_dw.Fill(std::numeric_limits<double>::quiet_NaN());
      got_db.Fill(std::numeric_limits<double>::quiet_NaN());
      auto io = [&](HostTensor& dw, HostTensor& db) {
        return OrientedConvBackwardParamsIO{
            call.dy->ref(), call.x->ref(), theta.ref(),
            step.dweight ? std::optional<TensorRef>(dw.ref()) : std::nullopt,
            step.dbias ? std::optional<TensorRef>(db.ref()) : std::nullopt};
      };
      ASSERT_TRUE(ops::OrientedConv2dBackwardParams(args, io(want_dw, want_db),
                                                    reference)
                      .ok());
      ASSERT_TRUE(
          ops::OrientedConv2dBackwardParams(args, io(got_dw, got_db), Cpu())
              .ok());
      const double tolerance = Tolerance(DType::kF32, n * oh * ow);
      if (step.dweight) {
        EXPECT_LE(MaxScaledError({{"dweight", got_dw.ToDoubles()}},
                                 {{"dweight", want_dw.ToDoubles()}}),
                  tolerance);
      } else {
        const std::vector<double> untouched = got_dw.ToDoubles();
        EXPECT_TRUE(std::all_of(untouched.begin(), untouched.end(),
                                [](double v) { return std::isnan(v); }));
      }
      if (step.dbias) {
        EXPECT_LE(MaxScaledError({{"dbias", got_db.ToDoubles()}},
                                 {{"dbias", want_db.ToDoubles()}}),
                  tolerance);
      } else {
        const std::vector<double> untouched = got_db.ToDoubles();
        EXPECT_TRUE(std::all_of(untouched.begin(), untouched.end(),
                                [](double v) { return std::isnan(v); }));
      }
    }
  }
}

// Lines at 45° and 135° run on two-row tiles in the blocked kernels (one
// vector loaded per tap serves both rows): odd and even rows, widths that are
// and are not multiples of the half tile, a partial block of channels, bias
// and residual, forward and input gradient, against the reference.
TEST(OrientedCpuDiagonalTest, TwoRowTilesMatchReference) {
  struct Shape {
    int64_t n, c, h, w;
  };
  constexpr double kQuarterPi = 0.78539816339744831;
  int i = 0;
  for (const Layout layout : {Layout::kNCHW, Layout::kNHWC}) {
    for (const Shape& sh : {Shape{2, 16, 23, 19}, Shape{1, 20, 14, 28},
                            Shape{1, 16, 1, 9}, Shape{3, 16, 6, 7}}) {
      for (const int64_t k : {3, 31}) {
        for (const double angle : {kQuarterPi, 3 * kQuarterPi}) {
          SCOPED_TRACE(absl::StrCat(layout == Layout::kNCHW ? "NCHW " : "NHWC ",
                                    sh.n, "x", sh.c, "x", sh.h, "x", sh.w, " K",
                                    k, " angle ", angle));
          OrientedConvArgs args;
          args.layout = layout;
          args.residual = i % 2 == 1;
          args.tap_rule = i % 3 == 2 ? TapRule::kLine : TapRule::kTrunc;
          const Dims dims = layout == Layout::kNCHW
                                ? Dims{sh.n, sh.c, sh.h, sh.w}
                                : Dims{sh.n, sh.h, sh.w, sh.c};
          std::mt19937_64 rng(17 + i++);
          HostTensor x = Uniform(DType::kF32, dims, rng);
          HostTensor dy = Uniform(DType::kF32, dims, rng);
          HostTensor weight = Uniform(DType::kF32, {sh.c, 1, 1, k}, rng);
          HostTensor bias = Uniform(DType::kF32, {sh.c}, rng);
          HostTensor theta(DType::kF32, {sh.c});
          theta.Fill(angle);
          ExpectConvMatchesReference(args, x, dy, weight, theta, bias.ref(), k);
        }
      }
    }
  }
}

TEST(OrientedCpuUnsupportedTest, Float16IsUnimplemented) {
  OrientedConfig config;
  config.dtype = DType::kF16;
  for (const OpCase& c : OrientedCases(config)) {
    const absl::StatusOr<Outputs> result = c.run(Cpu());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnimplemented)
        << c.op << ": " << result.status();
  }
}

// Angle values are only readable once the data is on the host: the cpu
// backend itself must reject a non-finite theta, in every op.
TEST(OrientedCpuBadInputTest, NonFiniteThetaIsInvalidArgument) {
  std::mt19937_64 rng(3);
  const OrientedConvArgs args;
  HostTensor x = Uniform(DType::kF32, {1, 2, 5, 6}, rng);
  HostTensor dy = Uniform(DType::kF32, {1, 2, 5, 6}, rng);
  HostTensor weight = Uniform(DType::kF32, {2, 1, 1, 3}, rng);
  HostTensor y(DType::kF32, {1, 2, 5, 6});
  HostTensor dx(DType::kF32, {1, 2, 5, 6});
  HostTensor dweight(DType::kF32, {2, 1, 1, 3});
  for (double bad : {std::numeric_limits<double>::quiet_NaN(),
                     std::numeric_limits<double>::infinity(), 1e300}) {
    HostTensor theta(DType::kF64, {2});
    theta.Set(0, 0.5);
    theta.Set(1, bad);
    ExpectInvalidArgument(
        ops::OrientedConv2dForward(
            args, {x.ref(), weight.ref(), theta.ref(), std::nullopt, y.ref()},
            Cpu()),
        "theta", absl::StrCat("forward, theta[1] = ", bad));
    ExpectInvalidArgument(
        ops::OrientedConv2dBackwardInput(
            args, {dy.ref(), weight.ref(), theta.ref(), dx.ref()}, Cpu()),
        "theta", absl::StrCat("backward input, theta[1] = ", bad));
    ExpectInvalidArgument(
        ops::OrientedConv2dBackwardParams(
            args, {dy.ref(), x.ref(), theta.ref(), dweight.ref(), std::nullopt},
            Cpu()),
        "theta", absl::StrCat("backward params, theta[1] = ", bad));
  }
}

}  // namespace
}  // namespace tapconv::testing
