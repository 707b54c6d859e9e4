// Python's json.dumps for template values, as transformers' tojson filter calls it
// (ensure_ascii=False by default, separators chosen by indent, keys in insertion order unless
// sort_keys). Only serialization: no template syntax, no parsing.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"
#include "router/chat/value.h"

namespace tgi::router::chat {

struct JsonFormat {
  std::optional<std::string> indent;  // none: one line; else a newline and indent per level
  std::optional<std::pair<std::string, std::string>>
      separators;  // item, key; none: Python's
                   // default, (", ", ": ") one-line and (",", ": ") indented
  bool sort_keys = false;
  bool ensure_ascii = false;  // true: non-ASCII as \uXXXX (surrogate pairs above U+FFFF)
};

// Errors (absl::FailedPreconditionError): Undefined, namespaces and callables are not JSON
// serializable. NaN and infinities print as Python does (NaN, Infinity).
absl::StatusOr<std::string> ToJson(const Value& value, const JsonFormat& format = {});

}  // namespace tgi::router::chat
