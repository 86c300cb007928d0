// The cpu backend's path ops against the reference backend, under the
// instruction set named by TAPCONV_CPU_ISA (BUILD runs this file once per
// ISA): values within the dtype's tolerance over the configuration matrix,
// bit-identical results whatever the thread count, and Unimplemented (never a
// crash) for float16.

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "backends/cpu/isa.h"
#include "gtest/gtest.h"
#include "tests/conformance/op_cases.h"
#include "tests/cpu_path/path_cpu_cases.h"
#include "tests/tolerance.h"

namespace tapconv::testing {
namespace {

using conformance::MaxScaledError;
using conformance::OpCase;
using conformance::Outputs;
using conformance::PathCases;
using conformance::PathConfig;

ExecContext Cpu(int threads = 0) {
  ExecContext ctx;
  ctx.backend = "cpu";
  ctx.num_threads = threads;
  return ctx;
}

const std::vector<OpCase>& MatrixCases() {
  static const auto* cases = [] {
    auto* all = new std::vector<OpCase>;
    for (const PathConfig& c : CpuPathConfigs()) {
      for (OpCase& op : PathCases(c)) all->push_back(std::move(op));
    }
    return all;
  }();
  return *cases;
}

TEST(PathCpuIsa, RunsTheRequestedInstructionSet) {
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

TEST(PathCpuMatrix, CoversTheConfigurationSpace) {
  // Guards against the matrix silently shrinking: 5 ops per configuration.
  EXPECT_GE(MatrixCases().size(), 5u * 150u);
}

class PathCpuMatrixTest : public ::testing::TestWithParam<size_t> {};

TEST_P(PathCpuMatrixTest, MatchesReference) {
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

INSTANTIATE_TEST_SUITE_P(Cases, PathCpuMatrixTest,
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

TEST(PathCpuDeterminismTest, BitIdenticalForAnyThreadCount) {
  for (const PathConfig& config : PathDeterminismConfigs()) {
    for (const OpCase& c : PathCases(config)) {
      SCOPED_TRACE(absl::StrCat(c.op, " [", c.config, "]"));
      const absl::StatusOr<Outputs> first = c.run(Cpu(1));
      ASSERT_TRUE(first.ok()) << first.status();
      // Within tolerance too, so that the comparison is not vacuous.
      const absl::StatusOr<Outputs> expected = c.run(ExecContext{"reference"});
      ASSERT_TRUE(expected.ok()) << expected.status();
      EXPECT_LE(MaxScaledError(*first, *expected),
                Tolerance(c.dtype, c.reduction_length));
      for (int threads : {2, 0, 2, 1, 3}) {
        const absl::StatusOr<Outputs> again = c.run(Cpu(threads));
        ASSERT_TRUE(again.ok()) << again.status();
        EXPECT_TRUE(BitwiseEqual(*first, *again))
            << "num_threads " << threads << " differs from num_threads 1";
      }
    }
  }
}

TEST(PathCpuDtypeTest, Float16IsUnimplemented) {
  PathConfig config;
  config.dtype = DType::kF16;
  for (const OpCase& c : PathCases(config)) {
    SCOPED_TRACE(c.op);
    const absl::StatusOr<Outputs> result = c.run(Cpu());
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.status().code(), absl::StatusCode::kUnimplemented)
        << result.status();
    EXPECT_NE(result.status().message().find("float16"), std::string::npos)
        << result.status();
  }
}

}  // namespace
}  // namespace tapconv::testing
