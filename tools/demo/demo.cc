// //:demo: lists the backends of this build and runs one small case of every op
// on every available backend, comparing each with the reference backend.

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ops/backend.h"
#include "tests/conformance/op_cases.h"
#include "tests/tolerance.h"

namespace tapconv {
namespace {

int Run() {
  const std::vector<const Backend*> backends = BackendRegistry::Global().All();
  std::printf("tapconv backends in this build:\n");
  std::printf("  %-10s %-6s %-9s %s\n", "backend", "device", "priority",
              "status");
  for (const Backend* b : backends) {
    std::printf(
        "  %-10s %-6s %-9d %s\n", std::string(b->name()).c_str(),
        std::string(DeviceKindName(b->device_kind())).c_str(), b->priority(),
        b->available() ? "available"
                       : ("unavailable: " + b->unavailable_reason()).c_str());
  }

  std::printf(
      "\nEvery op on every available backend, against the reference (max "
      "|diff| / (1 + |ref|)):\n");
  std::printf("%-32s %-10s %-14s %-10s %s\n", "op", "backend", "result",
              "error", "case");
  int mismatches = 0;
  for (const conformance::OpCase& c : conformance::DemoCases()) {
    const absl::StatusOr<conformance::Outputs> expected =
        c.run(ExecContext{"reference"});
    for (const Backend* b : backends) {
      if (!b->available()) continue;
      std::string result, error;
      if (!expected.ok()) {
        result = "no reference";
        error = std::string(absl::StatusCodeToString(expected.status().code()));
      } else {
        const absl::StatusOr<conformance::Outputs> actual =
            c.run(ExecContext{std::string(b->name())});
        if (!actual.ok()) {
          result = actual.status().code() == absl::StatusCode::kUnimplemented
                       ? "unimplemented"
                       : "error";
          if (result == "error") {
            ++mismatches;
            error = std::string(actual.status().message());
          }
        } else {
          const double err = conformance::MaxScaledError(*actual, *expected);
          const double tol = testing::Tolerance(c.dtype, c.reduction_length);
          result = b->name() == "reference" ? "oracle"
                                            : (err <= tol ? "ok" : "MISMATCH");
          if (err > tol) ++mismatches;
          error = absl::StrFormat("%.1e", err);
        }
      }
      std::printf("%-32s %-10s %-14s %-10s %s\n", c.op.c_str(),
                  std::string(b->name()).c_str(), result.c_str(), error.c_str(),
                  c.config.c_str());
    }
  }
  std::printf(
      "\n%s\n",
      mismatches == 0
          ? "All results agree with the reference."
          : absl::StrCat(mismatches, " results differ from the reference.")
                .c_str());
  return mismatches == 0 ? 0 : 1;
}

}  // namespace
}  // namespace tapconv

int main() { return tapconv::Run(); }
