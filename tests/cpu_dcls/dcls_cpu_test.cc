// The cpu backend's DCLS ops against the reference backend, under the
// instruction set named by TAPCONV_CPU_ISA (BUILD runs this file once per ISA):
// construction and its gradients for every variant, interpolation and axis
// order; the fused depthwise path (forward, input gradient, parameter
// gradients) for 1-D/2-D/3-D and the N-MD variants; special positions
// (integer, duplicated, outside the box, non-finite); bit-identical results
// whatever the thread count; and the unsupported dtype.

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/cpu/isa.h"
#include "gtest/gtest.h"
#include "ops/dcls.h"
#include "tests/conformance/op_cases.h"
#include "tests/cpu_dcls/cpu_dcls_cases.h"
#include "tests/test_util.h"
#include "tests/tolerance.h"

namespace tapconv::testing {
namespace {

using conformance::DclsConfig;
using conformance::DclsConstructCases;
using conformance::DclsDepthwiseCases;
using conformance::DclsDepthwiseConfig;
using conformance::MaxScaledError;
using conformance::OpCase;
using conformance::Outputs;

const std::vector<OpCase>& MatrixCases() {
  static const auto* cases = [] {
    auto* all = new std::vector<OpCase>;
    for (const DclsConfig& c : CpuDclsConstructConfigs()) {
      for (OpCase& op : DclsConstructCases(c)) all->push_back(std::move(op));
    }
    for (const DclsDepthwiseConfig& c : CpuDclsDepthwiseConfigs()) {
      for (OpCase& op : DclsDepthwiseCases(c)) all->push_back(std::move(op));
    }
    return all;
  }();
  return *cases;
}

class DclsCpuMatrixTest : public ::testing::TestWithParam<size_t> {};

TEST_P(DclsCpuMatrixTest, MatchesReference) {
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

INSTANTIATE_TEST_SUITE_P(Cases, DclsCpuMatrixTest,
                         ::testing::Range<size_t>(0, MatrixCases().size()),
                         [](const ::testing::TestParamInfo<size_t>& info) {
                           return TestName(MatrixCases()[info.param],
                                           info.param);
                         });

// Big enough for several work items per thread: ConvNeXt-like depthwise
// planes, a few-channel batch (split over the batch in the weight gradient), a
// strided 3-D case, and construction of many blocks.
TEST(DclsCpuDeterminismTest, BitIdenticalForAnyThreadCount) {
  std::vector<OpCase> cases;
  DclsDepthwiseConfig d;
  d.x_shape = {3, 12, 28, 28};
  d.args.dcls.dilated_kernel_size = {17, 17};
  d.args.conv.padding = {8};
  d.args.conv.groups = 12;
  d.kernel_count = 34;
  d.position_spread = 8.0;
  for (DType dtype : {DType::kF32, DType::kBF16}) {
    d.dtype = dtype;
    for (OpCase& c : DclsDepthwiseCases(d)) cases.push_back(std::move(c));
  }
  d.x_shape = {7, 2, 300};
  d.args.dcls.dilated_kernel_size = {31};
  d.args.conv.padding = {15};
  d.args.conv.groups = 2;
  d.kernel_count = 5;
  d.dtype = DType::kF32;
  for (OpCase& c : DclsDepthwiseCases(d)) cases.push_back(std::move(c));
  d.x_shape = {2, 3, 9, 10, 11};
  d.args.dcls.dilated_kernel_size = {5, 3, 5};
  d.args.conv.stride = {2};
  d.args.conv.padding = {2};
  d.args.conv.groups = 3;
  d.dtype = DType::kF64;
  for (OpCase& c : DclsDepthwiseCases(d)) cases.push_back(std::move(c));
  DclsConfig k;
  k.args.dilated_kernel_size = {23, 23};
  k.args.interpolation = DclsInterpolation::kGauss;
  k.out_channels = 24;
  k.in_per_group = 3;
  k.kernel_count = 26;
  k.position_spread = 11.0;
  for (OpCase& c : DclsConstructCases(k)) cases.push_back(std::move(c));
  for (const OpCase& c : cases) {
    SCOPED_TRACE(absl::StrCat(c.op, " [", c.config, "]"));
    const absl::StatusOr<Outputs> first = c.run(CpuContext(1));
    ASSERT_TRUE(first.ok()) << first.status();
    for (int threads : {2, 4, 0, 2}) {
      const absl::StatusOr<Outputs> again = c.run(CpuContext(threads));
      ASSERT_TRUE(again.ok()) << again.status();
      EXPECT_TRUE(BitwiseEqual(*first, *again))
          << "num_threads " << threads << " differs from num_threads 1";
    }
  }
}

struct DepthwiseData {
  HostTensor x, weight, positions, bias, dy;
};

// Positions the random cases rarely hit, in one 2-D layer (S = 7 x 5):
// integer positions (corners with coefficient 0, forward-difference position
// gradients), exact duplicates, elements half or fully outside the box, on its
// last row, and non-finite or huge positions (no support at all).
DepthwiseData SpecialPositions(DType dtype, int64_t channels, int64_t k) {
  std::mt19937_64 rng(23);
  DepthwiseData d;
  d.x = Uniform(dtype, {2, channels, 11, 9}, rng);
  d.weight = Uniform(dtype, {channels, 1, k}, rng);
  d.bias = Uniform(dtype, {channels}, rng);
  d.dy = Uniform(dtype, {2, channels, 11, 9}, rng);
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double rows[] = {0, 1, -3, 3, 1, 2.5, -3.5, 4.25, -9, nan, 1e30, -2};
  const double cols[] = {0, -1, 2, 2, -1, 0.5, 1, -2.75, 0, 0, inf, 1.5};
  d.positions = HostTensor(dtype, {2, channels, 1, k});
  for (int64_t c = 0; c < channels; ++c) {
    for (int64_t i = 0; i < k; ++i) {
      const int64_t j = (i + c) % 12;
      d.positions.Set(c * k + i, rows[j]);
      d.positions.Set(channels * k + c * k + i, cols[j]);
    }
  }
  return d;
}

TEST(DclsCpuSpecialPositionsTest, AllDepthwiseOpsMatchReference) {
  for (DType dtype : {DType::kF64, DType::kF32}) {
    const int64_t channels = 3, k = 12;
    const DepthwiseData d = SpecialPositions(dtype, channels, k);
    DclsDepthwiseArgs args;
    args.dcls.dilated_kernel_size = {7, 5};
    args.conv.padding = {3, 2};
    args.conv.groups = channels;
    const Dims shape = d.x.shape();
    const Dims p_shape = d.positions.shape();
    const double tolerance = Tolerance(dtype, 2 * 11 * 9 * 8);
    auto run = [&](const ExecContext& ctx) {
      HostTensor y(dtype, shape), dx(dtype, shape);
      HostTensor dw(dtype, d.weight.shape()), dp(dtype, p_shape);
      HostTensor db(dtype, {channels});
      EXPECT_TRUE(
          ops::DclsDepthwiseForward(args,
                                    {d.x.ref(), d.weight.ref(),
                                     d.positions.ref(), d.bias.ref(), y.ref()},
                                    ctx)
              .ok());
      EXPECT_TRUE(ops::DclsDepthwiseBackwardInput(
                      args,
                      {d.dy.ref(), d.weight.ref(), d.positions.ref(), dx.ref()},
                      ctx)
                      .ok());
      EXPECT_TRUE(ops::DclsDepthwiseBackwardParams(
                      args,
                      {d.dy.ref(), d.x.ref(), d.weight.ref(), d.positions.ref(),
                       dw.ref(), dp.ref(), db.ref()},
                      ctx)
                      .ok());
      return Outputs{{"y", y.ToDoubles()},
                     {"dx", dx.ToDoubles()},
                     {"dweight", dw.ToDoubles()},
                     {"dpositions", dp.ToDoubles()},
                     {"dbias", db.ToDoubles()}};
    };
    const Outputs expected = run(ExecContext{"reference"});
    const Outputs actual = run(CpuContext());
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE(absl::StrCat(expected[i].first, " ", DTypeName(dtype)));
      ExpectAllClose(actual[i].second, expected[i].second, tolerance, tolerance,
                     expected[i].first);
    }
  }
}

// Each requested subset of the parameter gradients is filled alone.
TEST(DclsCpuSubsetTest, ParameterGradientSubsets) {
  const DepthwiseData d = SpecialPositions(DType::kF64, 2, 6);
  DclsDepthwiseArgs args;
  args.dcls.dilated_kernel_size = {7, 5};
  args.conv.padding = {3, 2};
  args.conv.groups = 2;
  HostTensor dw_all(DType::kF64, d.weight.shape());
  HostTensor dp_all(DType::kF64, d.positions.shape());
  HostTensor db_all(DType::kF64, {2});
  ASSERT_TRUE(ops::DclsDepthwiseBackwardParams(
                  args,
                  {d.dy.ref(), d.x.ref(), d.weight.ref(), d.positions.ref(),
                   dw_all.ref(), dp_all.ref(), db_all.ref()},
                  CpuContext())
                  .ok());
  HostTensor dw(DType::kF64, d.weight.shape());
  HostTensor dp(DType::kF64, d.positions.shape());
  HostTensor db(DType::kF64, {2});
  ASSERT_TRUE(ops::DclsDepthwiseBackwardParams(
                  args,
                  {d.dy.ref(), d.x.ref(), d.weight.ref(), d.positions.ref(),
                   dw.ref(), std::nullopt, std::nullopt},
                  CpuContext())
                  .ok());
  ASSERT_TRUE(ops::DclsDepthwiseBackwardParams(
                  args,
                  {d.dy.ref(), d.x.ref(), d.weight.ref(), d.positions.ref(),
                   std::nullopt, dp.ref(), std::nullopt},
                  CpuContext())
                  .ok());
  ASSERT_TRUE(ops::DclsDepthwiseBackwardParams(
                  args,
                  {d.dy.ref(), d.x.ref(), d.weight.ref(), d.positions.ref(),
                   std::nullopt, std::nullopt, db.ref()},
                  CpuContext())
                  .ok());
  EXPECT_EQ(dw.ToDoubles(), dw_all.ToDoubles());
  EXPECT_EQ(dp.ToDoubles(), dp_all.ToDoubles());
  EXPECT_EQ(db.ToDoubles(), db_all.ToDoubles());
}

// The cpu backend keeps the tap table of the last weight and positions it saw
// (per thread) for the next call with the same bits. A sequence of calls that
// changes one weight, one position (both in place, same buffers), the axis
// order and the box, one at a time, must match the reference at every step.
TEST(DclsCpuTapReuseTest, ChangedInputsBetweenCallsMatchReference) {
  std::mt19937_64 rng(31);
  const DType dtype = DType::kF64;
  const int64_t channels = 3, k = 5;
  HostTensor x = Uniform(dtype, {2, channels, 9, 8}, rng);
  HostTensor dy = Uniform(dtype, {2, channels, 9, 8}, rng);
  HostTensor weight = Uniform(dtype, {channels, 1, k}, rng);
  HostTensor positions = Uniform(dtype, {2, channels, 1, k}, rng);
  for (int64_t i = 0; i < positions.numel(); ++i)
    positions.Set(i, 2.5 * positions.Get(i));
  DclsDepthwiseArgs args;
  args.dcls.dilated_kernel_size = {7, 7};
  args.conv.padding = {3, 3};
  args.conv.groups = channels;
  const double tolerance = Tolerance(dtype, 2 * 9 * 8 * 4);
  auto run = [&](const ExecContext& ctx) {
    HostTensor y(dtype, x.shape()), dx(dtype, x.shape());
    HostTensor dw(dtype, weight.shape()), dp(dtype, positions.shape());
    EXPECT_TRUE(
        ops::DclsDepthwiseForward(
            args,
            {x.ref(), weight.ref(), positions.ref(), std::nullopt, y.ref()},
            ctx)
            .ok());
    EXPECT_TRUE(
        ops::DclsDepthwiseBackwardInput(
            args, {dy.ref(), weight.ref(), positions.ref(), dx.ref()}, ctx)
            .ok());
    EXPECT_TRUE(ops::DclsDepthwiseBackwardParams(
                    args,
                    {dy.ref(), x.ref(), weight.ref(), positions.ref(), dw.ref(),
                     dp.ref(), std::nullopt},
                    ctx)
                    .ok());
    return Outputs{{"y", y.ToDoubles()},
                   {"dx", dx.ToDoubles()},
                   {"dweight", dw.ToDoubles()},
                   {"dpositions", dp.ToDoubles()}};
  };
  auto check = [&](const std::string& step) {
    const Outputs expected = run(ExecContext{"reference"});
    const Outputs actual = run(CpuContext());
    for (size_t i = 0; i < expected.size(); ++i) {
      SCOPED_TRACE(absl::StrCat(step, ": ", expected[i].first));
      ExpectAllClose(actual[i].second, expected[i].second, tolerance, tolerance,
                     expected[i].first);
    }
  };
  check("first call");
  check("same inputs again");
  weight.Set(4, weight.Get(4) + 0.75);
  check("one weight changed in place");
  positions.Set(channels * k + 7, positions.Get(channels * k + 7) - 1.5);
  check("one position changed in place");
  args.dcls.axis_order = DclsAxisOrder::kReversed;
  check("axis order reversed");
  args.dcls.dilated_kernel_size = {5, 7};
  args.conv.padding = {2, 3};
  check("another box");
}

TEST(DclsCpuUnsupportedTest, Float16DepthwiseIsUnimplemented) {
  DclsDepthwiseConfig config;
  config.args.dcls.dilated_kernel_size = {5, 5};
  config.args.conv.padding = {2};
  config.args.conv.groups = 4;
  config.dtype = DType::kF16;
  for (const OpCase& c : DclsDepthwiseCases(config)) {
    const absl::StatusOr<Outputs> result = c.run(CpuContext());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnimplemented)
        << c.op << ": " << result.status();
  }
}

}  // namespace
}  // namespace tapconv::testing
