// Typed reads of environment variables with defaults, and the clear error a bad value deserves.
// Owns nothing; every call reads the process environment at that moment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace tgi::common {

// The variable's value, or nullopt when it is unset. An empty value counts as set.
std::optional<std::string> GetEnv(const char* name);

// `fallback` when unset or empty; otherwise the value parsed, or an error naming the variable.
absl::StatusOr<int64_t> GetEnvInt(const char* name, int64_t fallback);
absl::StatusOr<double> GetEnvDouble(const char* name, double fallback);
// Accepts true/false, 1/0, yes/no, on/off (any case).
absl::StatusOr<bool> GetEnvBool(const char* name, bool fallback);
std::string GetEnvString(const char* name, const std::string& fallback);

// Parses a boolean as GetEnvBool does; nullopt when the text is not one.
std::optional<bool> ParseBool(const std::string& text);

}  // namespace tgi::common
