// Every registered, available backend against the reference, on the conformance
// matrix. The backends under test come from TAPCONV_CONFORMANCE_BACKENDS
// (comma-separated names); a backend that is not available here (no GPU) or an
// op it does not implement is reported as skipped.

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "ops/backend.h"
#include "tests/conformance/case_matrix.h"
#include "tests/tolerance.h"

namespace tapconv::conformance {
namespace {

const std::vector<OpCase>& Cases() {
  static const std::vector<OpCase>* cases =
      new std::vector<OpCase>(ConformanceCases());
  return *cases;
}

struct Param {
  std::string backend;
  size_t index;
};

std::vector<Param> Params() {
  const char* env = std::getenv("TAPCONV_CONFORMANCE_BACKENDS");
  const std::vector<std::string> backends =
      absl::StrSplit(env ? env : "cpu", ',');
  std::vector<Param> params;
  for (const std::string& b : backends) {
    for (size_t i = 0; i < Cases().size(); ++i) params.push_back({b, i});
  }
  return params;
}

class ConformanceTest : public ::testing::TestWithParam<Param> {};

TEST_P(ConformanceTest, MatchesReference) {
  const Param& p = GetParam();
  const OpCase& c = Cases()[p.index];
  SCOPED_TRACE(absl::StrCat(p.backend, " ", c.op, " [", c.config, "]"));
  const Backend* backend = BackendRegistry::Global().Find(p.backend);
  ASSERT_NE(backend, nullptr)
      << "backend '" << p.backend << "' is not linked into this test";
  if (!backend->available()) {
    GTEST_SKIP() << p.backend
                 << " is not available here: " << backend->unavailable_reason();
  }
  const absl::StatusOr<Outputs> expected = c.run(ExecContext{"reference"});
  ASSERT_TRUE(expected.ok()) << "reference: " << expected.status();
  const absl::StatusOr<Outputs> actual = c.run(ExecContext{p.backend});
  if (actual.status().code() == absl::StatusCode::kUnimplemented) {
    GTEST_SKIP() << actual.status();
  }
  ASSERT_TRUE(actual.ok()) << actual.status();
  const double tolerance = testing::Tolerance(c.dtype, c.reduction_length);
  const double error = MaxScaledError(*actual, *expected);
  EXPECT_LE(error, tolerance) << "max |actual - reference| / (1 + |reference|)";
  // Determinism: a second run gives bit-identical results.
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

INSTANTIATE_TEST_SUITE_P(Backends, ConformanceTest,
                         ::testing::ValuesIn(Params()), Name);

}  // namespace
}  // namespace tapconv::conformance
