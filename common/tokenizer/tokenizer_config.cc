#include "common/tokenizer/tokenizer_config.h"

#include <boost/json.hpp>
#include <string_view>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "common/tokenizer/tokenizer_json.h"
#include "common/tokenizer/unicode_text.h"

namespace tgi::common::tokenizer_impl {
namespace {

// The parsed object of `dir/name`, or nullopt when the file does not exist.
absl::StatusOr<std::optional<boost::json::object>> LoadOptionalObject(
    const std::filesystem::path& dir, std::string_view name) {
  const std::filesystem::path path = dir / name;
  std::error_code error;
  if (!std::filesystem::exists(path, error)) return std::optional<boost::json::object>();
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  auto json = ParseJson(*text, path.string());
  if (!json.ok()) return json.status();
  if (!json->is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(path.string(), " is not a JSON object"));
  }
  return std::optional<boost::json::object>(std::move(json->get_object()));
}

// A special token given as "text" or as an AddedToken object {"content": "text", ...}.
absl::StatusOr<std::optional<std::string>> TokenContent(const boost::json::object& object,
                                                        std::string_view key) {
  const boost::json::value* value = FindField(object, key);
  if (value == nullptr) return std::optional<std::string>();
  if (value->is_string()) return std::optional<std::string>(std::string(value->get_string()));
  if (value->is_object()) {
    auto content = GetString(value->get_object(), "content");
    if (!content.ok()) return content.status();
    return std::optional<std::string>(*content);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", AbslView(key), "\" is neither a string nor a token"));
}

// eos_token_id / bos_token_id: an int, a list of ints, or null.
absl::StatusOr<std::vector<int32_t>> TokenIds(const boost::json::object& object,
                                              std::string_view key) {
  std::vector<int32_t> ids;
  const boost::json::value* value = FindField(object, key);
  if (value == nullptr) return ids;
  if (const boost::json::array* list = value->if_array()) {
    for (const boost::json::value& item : *list) {
      auto id = ToInt(item, key);
      if (!id.ok()) return id.status();
      ids.push_back(static_cast<int32_t>(*id));
    }
    return ids;
  }
  auto id = ToInt(*value, key);
  if (!id.ok()) return id.status();
  ids.push_back(static_cast<int32_t>(*id));
  return ids;
}

absl::Status ReadTokenizerConfig(const boost::json::object& object, TokenizerConfig& config) {
  for (auto [key, field] :
       {std::pair<std::string_view, std::optional<std::string>*>{"bos_token", &config.bos_token},
        {"eos_token", &config.eos_token},
        {"pad_token", &config.pad_token}}) {
    auto content = TokenContent(object, key);
    if (!content.ok()) return content.status();
    if (content->has_value()) *field = *content;
  }
  for (auto [key, field] :
       {std::pair<std::string_view, std::optional<bool>*>{"add_bos_token", &config.add_bos_token},
        {"add_eos_token", &config.add_eos_token},
        {"clean_up_tokenization_spaces", &config.clean_up_tokenization_spaces}}) {
    if (FindField(object, key) == nullptr) continue;
    auto value = GetBool(object, key, false);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  auto tokenizer_class = GetOptionalString(object, "tokenizer_class");
  if (!tokenizer_class.ok()) return tokenizer_class.status();
  config.tokenizer_class = tokenizer_class->value_or("");
  return absl::OkStatus();
}

}  // namespace

bool RebuildsPostProcessor(const std::string& tokenizer_class) {
  for (std::string_view name : {"LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer",
                                "CodeLlamaTokenizerFast", "GemmaTokenizer", "GemmaTokenizerFast"}) {
    if (tokenizer_class == name) return true;
  }
  return false;
}

absl::StatusOr<TokenizerConfig> LoadTokenizerConfig(const std::filesystem::path& dir) {
  TokenizerConfig config;
  auto special_map = LoadOptionalObject(dir, "special_tokens_map.json");
  if (!special_map.ok()) return special_map.status();
  if (special_map->has_value()) {
    if (absl::Status status = ReadTokenizerConfig(**special_map, config); !status.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("special_tokens_map.json: ", status.message()));
    }
  }
  auto tokenizer_config = LoadOptionalObject(dir, "tokenizer_config.json");
  if (!tokenizer_config.ok()) return tokenizer_config.status();
  if (tokenizer_config->has_value()) {
    if (absl::Status status = ReadTokenizerConfig(**tokenizer_config, config); !status.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("tokenizer_config.json: ", status.message()));
    }
  }

  // The defaults of transformers' LlamaTokenizerFast / GemmaTokenizerFast constructors.
  if (RebuildsPostProcessor(config.tokenizer_class)) {
    const bool gemma = config.tokenizer_class.rfind("Gemma", 0) == 0;
    if (!config.bos_token) config.bos_token = gemma ? "<bos>" : "<s>";
    if (!config.eos_token) config.eos_token = gemma ? "<eos>" : "</s>";
  }

  for (std::string_view name : {"generation_config.json", "config.json"}) {
    auto object = LoadOptionalObject(dir, name);
    if (!object.ok()) return object.status();
    if (!object->has_value()) continue;
    if (config.eos_token_ids.empty()) {
      auto ids = TokenIds(**object, "eos_token_id");
      if (!ids.ok())
        return absl::InvalidArgumentError(
            absl::StrCat(AbslView(name), ": ", ids.status().message()));
      config.eos_token_ids = *ids;
    }
    if (!config.bos_token_id.has_value()) {
      auto ids = TokenIds(**object, "bos_token_id");
      if (!ids.ok())
        return absl::InvalidArgumentError(
            absl::StrCat(AbslView(name), ": ", ids.status().message()));
      if (!ids->empty()) config.bos_token_id = ids->front();
    }
  }
  return config;
}

}  // namespace tgi::common::tokenizer_impl
