// The cpu backend's dense ConvNd against the reference backend, under the
// instruction set named by TAPCONV_CPU_ISA (BUILD runs this file once per ISA,
// with oneDNN allowed and, with TAPCONV_CPU_ONEDNN=0, with the direct kernels
// only): values within the dtype's tolerance, bit-identical results whatever
// the thread count (oneDNN's kernels included), the adjoint and weight-gradient
// identities of the direct kernels, and the unsupported dtype.

#include <cmath>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/cpu/conv_nd_policy.h"
#include "backends/cpu/isa.h"
#include "gtest/gtest.h"
#include "ops/conv_nd.h"
#include "tests/conformance/op_cases.h"
#include "tests/cpu_dcls/cpu_dcls_cases.h"
#include "tests/test_util.h"
#include "tests/tolerance.h"

namespace tapconv::testing {
namespace {

using conformance::ConvNdCases;
using conformance::ConvNdConfig;
using conformance::MaxScaledError;
using conformance::OpCase;
using conformance::Outputs;

bool OnednnDisabled() {
  const char* value = std::getenv("TAPCONV_CPU_ONEDNN");
  return value != nullptr && std::string(value) == "0";
}

const std::vector<OpCase>& MatrixCases() {
  static const auto* cases = [] {
    auto* all = new std::vector<OpCase>;
    for (const ConvNdConfig& c : CpuConvNdConfigs()) {
      for (OpCase& op : ConvNdCases(c)) all->push_back(std::move(op));
    }
    return all;
  }();
  return *cases;
}

TEST(ConvNdCpuIsa, RunsTheRequestedInstructionSet) {
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

class ConvNdCpuMatrixTest : public ::testing::TestWithParam<size_t> {};

TEST_P(ConvNdCpuMatrixTest, MatchesReference) {
  const OpCase& c = MatrixCases()[GetParam()];
  SCOPED_TRACE(absl::StrCat(c.op, " [", c.config, "] on ",
                            cpu::IsaName(cpu::ActiveIsa())));
  const absl::StatusOr<Outputs> expected = c.run(ExecContext{"reference"});
  ASSERT_TRUE(expected.ok()) << expected.status();
  const absl::StatusOr<Outputs> actual = c.run(CpuContext());
  ASSERT_TRUE(actual.ok()) << actual.status();
  EXPECT_LE(MaxScaledError(*actual, *expected),
            Tolerance(c.dtype, c.reduction_length))
      << "max |cpu - reference| / (1 + |reference|)";
}

INSTANTIATE_TEST_SUITE_P(Cases, ConvNdCpuMatrixTest,
                         ::testing::Range<size_t>(0, MatrixCases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return TestName(MatrixCases()[info.param],
                                           info.param);
                         });

ConvNdShape ShapeOf(const ConvNdConfig& c) {
  ConvNdShape s;
  s.spatial_rank = static_cast<int>(c.kernel.size());
  s.batch = c.x_shape[0];
  s.in_channels = c.x_shape[1];
  s.out_channels = c.out_channels;
  s.groups = c.args.groups;
  s.in.assign(c.x_shape.begin() + 2, c.x_shape.end());
  s.kernel = c.kernel;
  for (int i = 0; i < s.spatial_rank; ++i) {
    auto arg = [i](const SpatialDims& v) {
      return v.size() == 1 ? v[0] : v[i];
    };
    s.stride.push_back(arg(c.args.stride));
    s.padding.push_back(arg(c.args.padding));
    s.dilation.push_back(arg(c.args.dilation));
    s.out.push_back(
        (s.in[i] + 2 * s.padding[i] - s.dilation[i] * (s.kernel[i] - 1) - 1) /
            s.stride[i] +
        1);
  }
  return s;
}

// Shapes that take every path: oneDNN's jit kernels (dense, f32 and bf16, the
// weight gradient over several batch parts), oneDNN's depthwise data gradient
// with the direct depthwise forward and weight gradient, and direct grouped
// 1-D and float64 3-D.
std::vector<ConvNdConfig> DeterminismConfigs() {
  std::vector<ConvNdConfig> configs;
  ConvNdConfig c;
  c.x_shape = {5, 32, 20, 18};
  c.out_channels = 48;
  c.kernel = {3, 3};
  c.args.padding = {1};
  configs.push_back(c);
  c.dtype = DType::kBF16;
  configs.push_back(c);
  c = ConvNdConfig{};
  c.x_shape = {3, 16, 28, 28};
  c.out_channels = 16;
  c.kernel = {17, 17};
  c.args.padding = {8};
  c.args.groups = 16;
  configs.push_back(c);
  c = ConvNdConfig{};
  c.x_shape = {3, 8, 300};
  c.out_channels = 12;
  c.kernel = {5};
  c.args.dilation = {2};
  c.args.padding = {4};
  c.args.groups = 2;
  configs.push_back(c);
  c = ConvNdConfig{};
  c.x_shape = {2, 6, 9, 10, 11};
  c.out_channels = 4;
  c.kernel = {3, 3, 3};
  c.args.stride = {2};
  c.args.padding = {1};
  c.dtype = DType::kF64;
  configs.push_back(c);
  return configs;
}

TEST(ConvNdCpuDeterminismTest, BitIdenticalForAnyThreadCount) {
  for (const ConvNdConfig& config : DeterminismConfigs()) {
    const ConvNdShape shape = ShapeOf(config);
    const cpu::OnednnConvOp ops[] = {cpu::OnednnConvOp::kForward,
                                     cpu::OnednnConvOp::kBackwardData,
                                     cpu::OnednnConvOp::kBackwardWeights};
    const std::vector<OpCase> cases = ConvNdCases(config);
    for (size_t i = 0; i < cases.size(); ++i) {
      const OpCase& c = cases[i];
      SCOPED_TRACE(
          absl::StrCat(c.op, " [", c.config, "] via ",
                       cpu::ConvImplName(ops[i], shape, config.dtype, 0)));
      const absl::StatusOr<Outputs> first = c.run(CpuContext(1));
      ASSERT_TRUE(first.ok()) << first.status();
      for (int threads : {2, 4, 0, 2, 1}) {
        const absl::StatusOr<Outputs> again = c.run(CpuContext(threads));
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_TRUE(BitwiseEqual(*first, *again))
            << "num_threads " << threads << " differs from num_threads 1";
      }
    }
  }
}

// Which kernels run: oneDNN for a plain f32 conv (unless disabled), the
// direct kernels for float64 and for a depthwise forward.
TEST(ConvNdCpuImplementationTest, ChoosesOnednnWhereItIsFast) {
  ConvNdConfig dense;
  dense.x_shape = {2, 32, 14, 14};
  dense.out_channels = 32;
  dense.kernel = {3, 3};
  dense.args.padding = {1};
  const std::string name = cpu::ConvImplName(cpu::OnednnConvOp::kForward,
                                             ShapeOf(dense), DType::kF32, 0);
  if (OnednnDisabled()) {
    EXPECT_EQ(name, "direct");
  } else {
    EXPECT_EQ(name.rfind("onednn:", 0), 0u) << name;
  }
  EXPECT_EQ(cpu::ConvImplName(cpu::OnednnConvOp::kForward, ShapeOf(dense),
                              DType::kF64, 0),
            "direct");
  ConvNdConfig depthwise = dense;
  depthwise.kernel = {17, 17};
  depthwise.args.padding = {8};
  depthwise.args.groups = 32;
  EXPECT_EQ(cpu::ConvImplName(cpu::OnednnConvOp::kForward, ShapeOf(depthwise),
                              DType::kF32, 0),
            "direct");
}

// Independent of the reference, in float64 (direct kernels):
// <A x, dy> = <x, A^T dy>, and sum dweight * v = <A_v x, dy> with A_v the
// conv with weights v; also for a strided, dilated, grouped 2-D conv whose
// input gradient has positions no output reads.
TEST(ConvNdCpuIdentityTest, AdjointAndWeightGradient) {
  struct Case {
    Dims x;
    int64_t out_channels;
    SpatialDims kernel;
    ConvNdArgs args;
  };
  const Case cases[] = {
      {{2, 4, 17, 19}, 6, {5, 3}, ConvNdArgs{{3, 2}, {1, 2}, {2, 1}, 2}},
      {{1, 3, 40}, 3, {9}, ConvNdArgs{{4}, {0}, {3}, 3}},
      {{1, 2, 7, 8, 9}, 4, {3, 3, 2}, ConvNdArgs{{2, 1, 3}, {1}, {1}, 2}},
  };
  for (const Case& k : cases) {
    ConvNdConfig config;
    config.x_shape = k.x;
    config.out_channels = k.out_channels;
    config.kernel = k.kernel;
    config.args = k.args;
    const ConvNdShape s = ShapeOf(config);
    Dims y_shape{s.batch, s.out_channels};
    y_shape.insert(y_shape.end(), s.out.begin(), s.out.end());
    Dims w_shape{s.out_channels, s.in_channels / s.groups};
    w_shape.insert(w_shape.end(), s.kernel.begin(), s.kernel.end());
    std::mt19937_64 rng(11);
    HostTensor x = Uniform(DType::kF64, k.x, rng);
    HostTensor dy = Uniform(DType::kF64, y_shape, rng);
    HostTensor w = Uniform(DType::kF64, w_shape, rng);
    HostTensor v = Uniform(DType::kF64, w_shape, rng);
    HostTensor y(DType::kF64, y_shape), yv(DType::kF64, y_shape);
    HostTensor dx(DType::kF64, k.x), dw(DType::kF64, w_shape);
    ASSERT_TRUE(ops::ConvNdForward(k.args,
                                   {x.ref(), w.ref(), std::nullopt, y.ref()},
                                   CpuContext())
                    .ok());
    ASSERT_TRUE(ops::ConvNdForward(k.args,
                                   {x.ref(), v.ref(), std::nullopt, yv.ref()},
                                   CpuContext())
                    .ok());
    ASSERT_TRUE(ops::ConvNdBackwardInput(k.args, {dy.ref(), w.ref(), dx.ref()},
                                         CpuContext())
                    .ok());
    ASSERT_TRUE(
        ops::ConvNdBackwardParams(
            k.args, {dy.ref(), x.ref(), dw.ref(), std::nullopt}, CpuContext())
            .ok());
    const double lhs = Dot(y.ToDoubles(), dy.ToDoubles());
    const double rhs = Dot(x.ToDoubles(), dx.ToDoubles());
    EXPECT_NEAR(lhs, rhs, 1e-11 * (1.0 + std::fabs(lhs)));
    const double directional = Dot(dw.ToDoubles(), v.ToDoubles());
    const double expected = Dot(yv.ToDoubles(), dy.ToDoubles());
    EXPECT_NEAR(directional, expected, 1e-11 * (1.0 + std::fabs(expected)));
  }
}

TEST(ConvNdCpuUnsupportedTest, Float16IsUnimplemented) {
  ConvNdConfig config;
  config.dtype = DType::kF16;
  for (const OpCase& c : ConvNdCases(config)) {
    const absl::StatusOr<Outputs> result = c.run(CpuContext());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnimplemented)
        << c.op << ": " << result.status();
  }
}

// Empty batches and channel counts run (and write what there is to write).
TEST(ConvNdCpuEdgeTest, EmptyBatchAndNoInputChannels) {
  ConvNdConfig empty_batch;
  empty_batch.x_shape = {0, 4, 9, 8};
  ConvNdConfig no_inputs;
  no_inputs.x_shape = {2, 0, 9, 8};
  no_inputs.args.groups = 1;
  for (const ConvNdConfig& config : {empty_batch, no_inputs}) {
    for (const OpCase& c : ConvNdCases(config)) {
      SCOPED_TRACE(absl::StrCat(c.op, " [", c.config, "]"));
      const absl::StatusOr<Outputs> expected = c.run(ExecContext{"reference"});
      ASSERT_TRUE(expected.ok()) << expected.status();
      const absl::StatusOr<Outputs> actual = c.run(CpuContext());
      ASSERT_TRUE(actual.ok()) << actual.status();
      EXPECT_LE(MaxScaledError(*actual, *expected), 1e-6);
    }
  }
}

}  // namespace
}  // namespace tapconv::testing
