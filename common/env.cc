#include "env.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace tgi::common {

std::optional<std::string> GetEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

namespace {

absl::Status BadValue(const char* name, const std::string& value, const char* expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("environment variable ", name, "=\"", value, "\" is not ", expected));
}

}  // namespace

absl::StatusOr<int64_t> GetEnvInt(const char* name, int64_t fallback) {
  std::optional<std::string> value = GetEnv(name);
  if (!value || value->empty()) return fallback;
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(*value, &parsed)) return BadValue(name, *value, "an integer");
  return parsed;
}

absl::StatusOr<double> GetEnvDouble(const char* name, double fallback) {
  std::optional<std::string> value = GetEnv(name);
  if (!value || value->empty()) return fallback;
  double parsed = 0;
  if (!absl::SimpleAtod(*value, &parsed)) return BadValue(name, *value, "a number");
  return parsed;
}

std::optional<bool> ParseBool(const std::string& text) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "true" || lower == "1" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "0" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

absl::StatusOr<bool> GetEnvBool(const char* name, bool fallback) {
  std::optional<std::string> value = GetEnv(name);
  if (!value || value->empty()) return fallback;
  std::optional<bool> parsed = ParseBool(*value);
  if (!parsed) return BadValue(name, *value, "a boolean (true/false)");
  return *parsed;
}

std::string GetEnvString(const char* name, const std::string& fallback) {
  std::optional<std::string> value = GetEnv(name);
  return value && !value->empty() ? *value : fallback;
}

}  // namespace tgi::common
