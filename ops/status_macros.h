#ifndef TAPCONV_OPS_STATUS_MACROS_H_
#define TAPCONV_OPS_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Early-return helpers for absl::Status, in the style of the ones Abseil keeps
// internal.
#define TAPCONV_RETURN_IF_ERROR(expr)         \
  do {                                        \
    const ::absl::Status _tc_status = (expr); \
    if (!_tc_status.ok()) return _tc_status;  \
  } while (0)

#define TAPCONV_CONCAT_INNER(a, b) a##b
#define TAPCONV_CONCAT(a, b) TAPCONV_CONCAT_INNER(a, b)

#define TAPCONV_ASSIGN_OR_RETURN(lhs, expr)                                   \
  TAPCONV_ASSIGN_OR_RETURN_IMPL(TAPCONV_CONCAT(_tc_statusor_, __LINE__), lhs, \
                                expr)

#define TAPCONV_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr) \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return statusor.status();            \
  lhs = std::move(statusor).value()

#endif  // TAPCONV_OPS_STATUS_MACROS_H_
