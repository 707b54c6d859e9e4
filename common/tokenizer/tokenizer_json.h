// Boost.JSON access helpers for the tokenizer's loaders: read a file, parse, and fetch typed
// fields with an absl::Status naming the field on a type mismatch. No exceptions escape; no
// knowledge of what the fields mean (each component parses its own object).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace tgi::common::tokenizer_impl {

absl::StatusOr<std::string> ReadTextFile(const std::filesystem::path& path);

// `what` names the document in error messages ("tokenizer.json").
absl::StatusOr<boost::json::value> ParseJson(std::string_view text, std::string_view what);

// The field, or nullptr when it is absent or JSON null.
const boost::json::value* FindField(const boost::json::object& object, std::string_view key);

absl::StatusOr<const boost::json::object*> AsObject(const boost::json::value& value,
                                                    std::string_view what);

// The "type" string of a component object (`what`: "normalizer", "decoder", ...).
absl::StatusOr<std::string> ComponentType(const boost::json::value& value, std::string_view what);

// Typed optional fields: the default when absent or null, an error when of another type.
absl::StatusOr<bool> GetBool(const boost::json::object& object, std::string_view key,
                             bool default_value);
absl::StatusOr<std::optional<std::string>> GetOptionalString(const boost::json::object& object,
                                                             std::string_view key);
absl::StatusOr<std::string> GetString(const boost::json::object& object, std::string_view key);
absl::StatusOr<std::optional<int64_t>> GetOptionalInt(const boost::json::object& object,
                                                      std::string_view key);
absl::StatusOr<int64_t> ToInt(const boost::json::value& value, std::string_view what);

// A {"String": "..."} or {"Regex": "..."} pattern object.
struct JsonPattern {
  std::string text;
  bool is_regex = false;
};
absl::StatusOr<JsonPattern> GetPattern(const boost::json::object& object, std::string_view key);

}  // namespace tgi::common::tokenizer_impl
