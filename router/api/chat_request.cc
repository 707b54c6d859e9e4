#include "router/api/chat_request.h"

#include <boost/json/object.hpp>
#include <vector>

#include "router/api/errors.h"
#include "router/api/serde_json_reader.h"
#include "router/api/serde_typed.h"

namespace tgi::router {
namespace {

using serde::DeError;
using serde::FieldSpec;
using serde::Reader;

// content: a string, null, or a list of {type:"text",text} / {type:"image_url",image_url:{url}}.
std::string ContentText(const boost::json::value& content) {
  if (content.is_null()) return "";
  if (content.is_string()) return std::string(content.get_string());
  if (!content.is_array()) throw DeError::Data("expected a string or a list of parts");
  std::string text;
  for (const boost::json::value& part : content.get_array()) {
    const boost::json::object* chunk = part.if_object();
    const boost::json::value* type = chunk ? chunk->if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string()) throw DeError::Data("missing field `type`");
    if (type->get_string() == "text") {
      const boost::json::value* value = chunk->if_contains("text");
      if (value == nullptr || !value->is_string()) throw DeError::Data("missing field `text`");
      text += value->get_string();
    } else if (type->get_string() == "image_url") {
      const boost::json::value* image = chunk->if_contains("image_url");
      const boost::json::value* url =
          image && image->is_object() ? image->get_object().if_contains("url") : nullptr;
      if (url == nullptr || !url->is_string()) throw DeError::Data("missing field `url`");
      text += "![](" + std::string(url->get_string()) + ")";
    } else {
      throw DeError::Data("unknown variant `" + std::string(type->get_string()) +
                          "`, expected `text` or `image_url`");
    }
  }
  return text;
}

boost::json::array ReadMessages(Reader& reader) {
  boost::json::value value = reader.ParseAny();
  if (!value.is_array()) throw DeError::Data("expected a sequence");
  boost::json::array messages;
  for (boost::json::value& entry : value.get_array()) {
    boost::json::object* message = entry.if_object();
    if (message == nullptr) throw DeError::Data("expected struct Message");
    const boost::json::value* role = message->if_contains("role");
    if (role == nullptr || !role->is_string()) throw DeError::Data("missing field `role`");
    const boost::json::value* content = message->if_contains("content");
    (*message)["content"] = content ? ContentText(*content) : std::string();
    messages.push_back(std::move(entry));
  }
  return messages;
}

// stop: a string or a list of strings.
std::vector<std::string> ReadStop(Reader& reader) {
  const boost::json::value value = reader.ParseAny();
  if (value.is_null()) return {};
  if (value.is_string()) return {std::string(value.get_string())};
  std::vector<std::string> stop;
  if (value.is_array()) {
    for (const boost::json::value& entry : value.get_array()) {
      if (!entry.is_string()) throw DeError::Data("expected a string");
      stop.emplace_back(entry.get_string());
    }
    return stop;
  }
  throw DeError::Data("expected a string or a sequence of strings");
}

bool ReadIncludeUsage(Reader& reader) {
  const boost::json::value value = reader.ParseAny();
  if (value.is_null()) return false;
  const boost::json::value* include =
      value.is_object() ? value.get_object().if_contains("include_usage") : nullptr;
  if (include == nullptr) throw DeError::Data("missing field `include_usage`");
  if (!include->is_bool()) throw DeError::Data("expected a boolean");
  return include->get_bool();
}

// response_format [2.1+]: a GrammarType ({"type": "json" | "json_object" | "regex", "value"}),
// which validation then judges like /generate's `grammar`.
std::optional<GrammarType> ReadResponseFormat(Reader& reader) {
  const boost::json::value value = reader.ParseAny();
  if (value.is_null()) return std::nullopt;
  const boost::json::object* object = value.if_object();
  const boost::json::value* type = object ? object->if_contains("type") : nullptr;
  if (type == nullptr || !type->is_string()) throw DeError::Data("missing field `type`");
  const boost::json::value* content = object->if_contains("value");
  if (content == nullptr) throw DeError::Data("missing field `value`");
  GrammarType grammar{.value = *content};
  if (type->get_string() == "regex") {
    grammar.kind = GrammarType::Kind::kRegex;
  } else if (type->get_string() != "json" && type->get_string() != "json_object") {
    throw DeError::Data("unknown variant `" + std::string(type->get_string()) +
                        "`, expected one of `json`, `json_object`, `regex`");
  }
  return grammar;
}

// The raw chat fields that are mapped after the whole body is read.
struct RawSampling {
  std::optional<float> temperature;
  std::optional<float> presence_penalty;
  std::optional<uint32_t> max_tokens;
};

std::vector<FieldSpec> ChatFields(ChatRequest& c, RawSampling& raw) {
  using serde::ReadOption;
  GenerateParameters& p = c.parameters;
  const auto f32 = [](std::optional<float>& out) {
    return [&out](Reader& r) { out = ReadOption(r, [&] { return serde::ReadF32(r); }); };
  };
  return {
      {"model", [&c](Reader& r) { c.model = ReadOption(r, [&] { return serde::ReadString(r); }); }},
      {"messages", [&c](Reader& r) { c.messages = ReadMessages(r); }, true},
      {"frequency_penalty", f32(p.frequency_penalty)},
      {"logit_bias", [](Reader& r) { r.IgnoreValue(); }},
      {"logprobs",
       [&c](Reader& r) {
         c.logprobs = ReadOption(r, [&] { return serde::ReadBool(r); }).value_or(false);
       }},
      {"top_logprobs",
       [&p](Reader& r) { p.top_n_tokens = ReadOption(r, [&] { return serde::ReadU32(r); }); }},
      {"max_tokens",
       [&raw](Reader& r) { raw.max_tokens = ReadOption(r, [&] { return serde::ReadU32(r); }); }},
      {"n", [&c](Reader& r) { c.n = ReadOption(r, [&] { return serde::ReadU32(r); }); }},
      {"presence_penalty", f32(raw.presence_penalty)},
      {"stream", [&c](Reader& r) { c.stream = serde::ReadBool(r); }},
      {"seed", [&p](Reader& r) { p.seed = ReadOption(r, [&] { return serde::ReadU64(r); }); }},
      {"temperature", f32(raw.temperature)},
      {"top_p", f32(p.top_p)},
      {"stop", [&p](Reader& r) { p.stop = ReadStop(r); }},
      {"tools", [&c](Reader& r) { c.has_tools = !r.ParseAny().is_null(); }},
      {"tool_choice", [](Reader& r) { r.IgnoreValue(); }},
      {"tool_prompt", [](Reader& r) { r.IgnoreValue(); }},
      {"stream_options", [&c](Reader& r) { c.include_usage = ReadIncludeUsage(r); }},
      {"response_format", [&p](Reader& r) { p.grammar = ReadResponseFormat(r); }},
  };
}

// TGI's ChatRequest -> GenerateParameters.
void MapSampling(ChatRequest& c, const RawSampling& raw) {
  GenerateParameters& p = c.parameters;
  p.max_new_tokens = raw.max_tokens.value_or(100);
  if (raw.temperature && *raw.temperature == 0.0f) {
    p.do_sample = false;
    p.temperature.reset();
  } else {
    p.do_sample = true;
    p.temperature = raw.temperature;
  }
  if (raw.presence_penalty) p.repetition_penalty = *raw.presence_penalty + 2.0f;
  p.details = true;
  p.decoder_input_details = !c.stream;
  p.return_full_text = false;
}

}  // namespace

absl::StatusOr<ChatRequest> ParseChatRequest(std::string_view body) {
  Reader reader(body);
  ChatRequest request;
  request.parameters = GenerateParameters{};
  RawSampling raw;
  try {
    const std::vector<FieldSpec> fields = ChatFields(request, raw);
    serde::ReadStruct(reader, "struct ChatRequest", fields);
  } catch (const DeError& error) {
    return BodyRejection(error);
  }
  MapSampling(request, raw);
  return request;
}

absl::Status CheckChatRequest(const ChatRequest& request) {
  if (request.n && *request.n != 1) {
    return ValidationError("`n` must be 1. Given: " + std::to_string(*request.n));
  }
  if (request.has_tools) {
    return MakeError(ErrorKind::kTool, "Tool error: tools are not supported by this server");
  }
  return absl::OkStatus();
}

}  // namespace tgi::router
