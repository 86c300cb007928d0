// The GPU backends against the reference on the conformance matrix plus the
// GPU-specific cases (gpu_extra_cases.h). Which backends: the comma-separated
// names in TAPCONV_GPU_TEST_BACKENDS -- emulated profiles
// ("gpu_emulation_sm86", ...) in CI, "cuda"/"hip" on a GPU machine, where an
// unavailable backend's cases are skipped. Which cases: TAPCONV_GPU_TEST_CASES
// = "conformance", "extra" or "all" (default).

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "ops/backend.h"
#include "tests/conformance/case_matrix.h"
#include "tests/gpu_emulation/gpu_extra_cases.h"
#include "tests/tolerance.h"

namespace tapconv::conformance {
namespace {

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

const std::vector<OpCase>& Cases() {
  static const std::vector<OpCase>* cases = [] {
    auto* all = new std::vector<OpCase>();
    const std::string which = Env("TAPCONV_GPU_TEST_CASES", "all");
    if (which != "extra") *all = ConformanceCases();
    if (which != "conformance") {
      for (OpCase& c : GpuExtraCases()) all->push_back(std::move(c));
    }
    return all;
  }();
  return *cases;
}

struct Param {
  std::string backend;
  size_t index;
};

std::vector<Param> Params() {
  std::vector<Param> params;
  for (absl::string_view b : absl::StrSplit(
           Env("TAPCONV_GPU_TEST_BACKENDS", "gpu_emulation_sm86"), ',')) {
    for (size_t i = 0; i < Cases().size(); ++i) {
      params.push_back({std::string(b), i});
    }
  }
  return params;
}

class GpuCasesTest : public ::testing::TestWithParam<Param> {};

TEST_P(GpuCasesTest, MatchesReferenceAndRepeats) {
  const Param& p = GetParam();
  const OpCase& c = Cases()[p.index];
  SCOPED_TRACE(absl::StrCat(p.backend, " ", c.op, " [", c.config, "]"));
  const Backend* backend = BackendRegistry::Global().Find(p.backend);
  ASSERT_NE(backend, nullptr) << "backend '" << p.backend << "' is not linked";
  if (!backend->available()) {
    GTEST_SKIP() << p.backend
                 << " is not available here: " << backend->unavailable_reason();
  }
  const absl::StatusOr<Outputs> expected = c.run(ExecContext{"reference"});
  ASSERT_TRUE(expected.ok()) << "reference: " << expected.status();
  // The GPU backends implement every op and dtype: Unimplemented is a failure.
  const absl::StatusOr<Outputs> actual = c.run(ExecContext{p.backend});
  ASSERT_TRUE(actual.ok()) << actual.status();
  const double tolerance = testing::Tolerance(c.dtype, c.reduction_length);
  EXPECT_LE(MaxScaledError(*actual, *expected), tolerance)
      << "max |actual - reference| / (1 + |reference|)";
  // Deterministic: fixed-order reductions, no atomics.
  const absl::StatusOr<Outputs> again = c.run(ExecContext{p.backend});
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(MaxScaledError(*again, *actual), 0.0) << "two runs differ";
}

std::string Name(const ::testing::TestParamInfo<Param>& info) {
  std::string op = Cases()[info.param.index].op;
  for (char& ch : op) {
    if (ch == '.') ch = '_';
  }
  return absl::StrCat(info.param.backend, "_", op, "_", info.param.index);
}

INSTANTIATE_TEST_SUITE_P(Gpu, GpuCasesTest, ::testing::ValuesIn(Params()),
                         Name);

}  // namespace
}  // namespace tapconv::conformance
