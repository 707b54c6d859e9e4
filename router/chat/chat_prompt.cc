#include "router/chat/chat_prompt.h"

#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "boost/json/object.hpp"
#include "boost/json/parse.hpp"

namespace tgi::router::chat {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<std::optional<std::string>> ReadFileIfExists(const fs::path& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return std::nullopt;
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError("cannot read " + path.string());
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A special token as tokenizer_config.json writes it: a string or {"content": ...}.
std::optional<std::string> TokenContent(const boost::json::object& config, std::string_view key) {
  const boost::json::value* value = config.if_contains(key);
  if (value == nullptr) return std::nullopt;
  if (value->is_string()) return std::string(value->get_string());
  if (value->is_object()) {
    const boost::json::value* content = value->get_object().if_contains("content");
    if (content != nullptr && content->is_string()) return std::string(content->get_string());
  }
  return std::nullopt;
}

// `chat_template`: a string, or a list of {name, template} of which "default" is used.
absl::StatusOr<std::optional<std::string>> TemplateOf(const boost::json::object& config,
                                                      const std::string& origin) {
  const boost::json::value* value = config.if_contains("chat_template");
  if (value == nullptr || value->is_null()) return std::nullopt;
  if (value->is_string()) return std::string(value->get_string());
  if (value->is_array()) {
    for (const boost::json::value& entry : value->get_array()) {
      const boost::json::object* named = entry.if_object();
      if (named == nullptr) continue;
      const boost::json::value* name = named->if_contains("name");
      const boost::json::value* source = named->if_contains("template");
      if (name && name->is_string() && name->get_string() == "default" && source &&
          source->is_string()) {
        return std::string(source->get_string());
      }
    }
    return absl::InvalidArgumentError(origin + ": chat_template lists no \"default\" template");
  }
  return absl::InvalidArgumentError(origin + ": chat_template is neither a string nor a list");
}

absl::StatusOr<std::optional<std::string>> ReadJinjaBeside(const fs::path& dir,
                                                           std::string& origin) {
  const fs::path path = dir / "chat_template.jinja";
  absl::StatusOr<std::optional<std::string>> text = ReadFileIfExists(path);
  if (text.ok() && text->has_value()) origin = path.string();
  return text;
}

}  // namespace

absl::StatusOr<std::optional<ChatTemplateSource>> LoadChatTemplateSource(
    const fs::path& model_dir, const std::string& tokenizer_config_path) {
  const fs::path config_path = tokenizer_config_path.empty() ? model_dir / "tokenizer_config.json"
                                                             : fs::path(tokenizer_config_path);
  absl::StatusOr<std::optional<std::string>> text = ReadFileIfExists(config_path);
  if (!text.ok()) return text.status();
  if (!text->has_value() && !tokenizer_config_path.empty()) {
    return absl::NotFoundError("tokenizer config " + config_path.string() + " does not exist");
  }
  ChatTemplateSource source;
  source.origin = config_path.string();
  std::optional<std::string> found;
  if (text->has_value()) {
    boost::system::error_code error;
    boost::json::value config = boost::json::parse(**text, error);
    if (error || !config.is_object()) {
      return absl::InvalidArgumentError(config_path.string() + " is not a JSON object");
    }
    const boost::json::object& object = config.get_object();
    source.bos_token = TokenContent(object, "bos_token");
    source.eos_token = TokenContent(object, "eos_token");
    absl::StatusOr<std::optional<std::string>> from_config = TemplateOf(object, source.origin);
    if (!from_config.ok()) return from_config.status();
    found = std::move(*from_config);
  }
  for (const fs::path& dir : {config_path.parent_path(), model_dir}) {
    if (found) break;
    absl::StatusOr<std::optional<std::string>> jinja = ReadJinjaBeside(dir, source.origin);
    if (!jinja.ok()) return jinja.status();
    found = std::move(*jinja);
  }
  if (!found) return std::nullopt;
  source.source = std::move(*found);
  return source;
}

absl::StatusOr<ChatPrompt> ChatPrompt::Create(ChatTemplateSource source, SpecialTokens special) {
  absl::StatusOr<ChatTemplate> program = ChatTemplate::Parse(source.source);
  if (!program.ok()) return program.status();
  return ChatPrompt(std::move(*program), std::move(source), special);
}

absl::StatusOr<std::string> ChatPrompt::Render(const boost::json::array& messages) const {
  boost::json::object variables;
  variables["messages"] = messages;
  variables["add_generation_prompt"] = true;
  variables["tools"] = nullptr;
  if (source_.bos_token) variables["bos_token"] = *source_.bos_token;
  if (source_.eos_token) variables["eos_token"] = *source_.eos_token;
  absl::StatusOr<std::string> prompt = program_.Render(variables);
  if (!prompt.ok()) return prompt.status();
  const std::optional<std::string>& bos = source_.bos_token;
  if (special_.tokenizer_adds_bos && bos && !bos->empty() && prompt->starts_with(*bos)) {
    prompt->erase(0, bos->size());
  }
  const std::optional<std::string>& eos = source_.eos_token;
  if (special_.tokenizer_adds_eos && eos && !eos->empty() && prompt->ends_with(*eos)) {
    prompt->resize(prompt->size() - eos->size());
  }
  return prompt;
}

}  // namespace tgi::router::chat
