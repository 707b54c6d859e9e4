// Early-return helpers for absl::Status / absl::StatusOr inside shard/model. Internal to this
// library (a common/ version can replace it later); defines macros only, no state.
#pragma once

#include <utility>

#include "absl/status/status.h"

#define TGI_STATUS_CONCAT_INNER(a, b) a##b
#define TGI_STATUS_CONCAT(a, b) TGI_STATUS_CONCAT_INNER(a, b)
#define TGI_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)

// `TGI_ASSIGN_OR_RETURN(T x, F());` declares (or assigns) x from an ok StatusOr, or returns its
// error status.
#define TGI_ASSIGN_OR_RETURN(lhs, expr) \
  TGI_ASSIGN_OR_RETURN_IMPL(TGI_STATUS_CONCAT(tgi_status_or_, __LINE__), lhs, expr)

#define TGI_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::absl::Status tgi_status_ = (expr);       \
    if (!tgi_status_.ok()) return tgi_status_; \
  } while (false)
