#include "common/tokenizer/tokenizer_json.h"

#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {

absl::StatusOr<std::string> ReadTextFile(const std::filesystem::path& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) {
    return absl::NotFoundError(absl::StrCat("cannot read ", path.string(), ": no such file"));
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream content;
  content << file.rdbuf();
  if (file.bad()) return absl::DataLossError(absl::StrCat("error reading ", path.string()));
  return std::move(content).str();
}

absl::StatusOr<boost::json::value> ParseJson(std::string_view text, std::string_view what) {
  boost::json::error_code error;
  boost::json::parse_options options;
  options.allow_invalid_utf8 = false;
  try {
    boost::json::value value = boost::json::parse(text, error, {}, options);
    if (error) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed JSON in ", AbslView(what), ": ", error.message()));
    }
    return value;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot parse ", AbslView(what), ": ", e.what()));
  }
}

const boost::json::value* FindField(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = object.if_contains(key);
  if (value == nullptr || value->is_null()) return nullptr;
  return value;
}

absl::StatusOr<const boost::json::object*> AsObject(const boost::json::value& value,
                                                    std::string_view what) {
  const boost::json::object* object = value.if_object();
  if (object == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " is not an object"));
  return object;
}

absl::StatusOr<std::string> ComponentType(const boost::json::value& value, std::string_view what) {
  auto object = AsObject(value, what);
  if (!object.ok()) return object.status();
  const boost::json::value* type = FindField(**object, "type");
  if (type == nullptr || !type->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " has no \"type\" string"));
  }
  return std::string(type->get_string());
}

absl::StatusOr<bool> GetBool(const boost::json::object& object, std::string_view key,
                             bool default_value) {
  const boost::json::value* value = FindField(object, key);
  if (value == nullptr) return default_value;
  if (!value->is_bool()) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", AbslView(key), "\" is not a boolean"));
  }
  return value->get_bool();
}

absl::StatusOr<std::optional<std::string>> GetOptionalString(const boost::json::object& object,
                                                             std::string_view key) {
  const boost::json::value* value = FindField(object, key);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", AbslView(key), "\" is not a string"));
  }
  return std::optional<std::string>(std::string(value->get_string()));
}

absl::StatusOr<std::string> GetString(const boost::json::object& object, std::string_view key) {
  auto value = GetOptionalString(object, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("missing string field \"", AbslView(key), "\""));
  }
  return **value;
}

absl::StatusOr<int64_t> ToInt(const boost::json::value& value, std::string_view what) {
  if (value.is_int64()) return value.get_int64();
  if (value.is_uint64() && value.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(value.get_uint64());
  }
  return absl::InvalidArgumentError(absl::StrCat(AbslView(what), " is not an integer"));
}

absl::StatusOr<std::optional<int64_t>> GetOptionalInt(const boost::json::object& object,
                                                      std::string_view key) {
  const boost::json::value* value = FindField(object, key);
  if (value == nullptr) return std::optional<int64_t>();
  auto number = ToInt(*value, absl::StrCat("field \"", AbslView(key), "\""));
  if (!number.ok()) return number.status();
  return std::optional<int64_t>(*number);
}

absl::StatusOr<JsonPattern> GetPattern(const boost::json::object& object, std::string_view key) {
  const boost::json::value* value = FindField(object, key);
  const boost::json::object* pattern = value == nullptr ? nullptr : value->if_object();
  if (pattern == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("field \"", AbslView(key), "\" is not a pattern object"));
  }
  if (const boost::json::value* text = FindField(*pattern, "String"); text && text->is_string()) {
    return JsonPattern{std::string(text->get_string()), false};
  }
  if (const boost::json::value* text = FindField(*pattern, "Regex"); text && text->is_string()) {
    return JsonPattern{std::string(text->get_string()), true};
  }
  return absl::InvalidArgumentError(
      absl::StrCat("pattern \"", AbslView(key), "\" has neither a \"String\" nor a \"Regex\""));
}

}  // namespace tgi::common::tokenizer_impl
