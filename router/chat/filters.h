// Jinja2's built-in filters that chat templates use (trim, length, join, map, selectattr,
// default, indent, unique, ...) and transformers' tojson (see tojson.h).
// Filters are pure functions of their input and arguments; errors are
// absl::FailedPreconditionError. No template syntax and no scopes here.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "router/chat/value.h"

namespace tgi::router::chat {

// `input | name(args)`; an unknown filter is an error.
absl::StatusOr<Value> ApplyFilter(std::string_view name, const Value& input, const CallArgs& args);

// True when `name` is a filter ApplyFilter knows (the parser-independent filter table).
bool IsKnownFilter(std::string_view name);

}  // namespace tgi::router::chat
