#include "router/api/generate_request.h"

#include <cctype>
#include <string>
#include <vector>

#include "router/api/errors.h"
#include "router/api/rust_format.h"
#include "router/api/serde_json_reader.h"
#include "router/api/serde_typed.h"

namespace tgi::router {
namespace {

using serde::DeError;
using serde::FieldSpec;
using serde::Reader;

constexpr std::string_view kGrammarExpecting = "adjacently tagged enum GrammarType";

// serde's Unexpected for a value buffered as Content (adjacently tagged enums buffer the content
// when it comes before the tag).
std::string ContentUnexpected(const boost::json::value& value) {
  switch (value.kind()) {
    case boost::json::kind::null:
      return "null";
    case boost::json::kind::bool_:
      return value.get_bool() ? "boolean `true`" : "boolean `false`";
    case boost::json::kind::uint64:
      return "integer `" + std::to_string(value.get_uint64()) + "`";
    case boost::json::kind::int64:
      return "integer `" + std::to_string(value.get_int64()) + "`";
    case boost::json::kind::double_:
      return "floating point `" + rust_format::F64WithDecimalPoint(value.get_double()) + "`";
    case boost::json::kind::string:
      return "string " + rust_format::StrDebug(std::string(value.get_string()));
    case boost::json::kind::array:
      return "sequence";
    case boost::json::kind::object:
      return "map";
  }
  return "";
}

// GrammarType's variant identifier ("json" or "regex").
GrammarType::Kind ReadGrammarVariant(Reader& reader) {
  const std::optional<uint8_t> peek = reader.ParseWhitespace();
  if (!peek) reader.PeekError(serde::Code::kEofWhileParsingValue);
  if (*peek != '"') reader.PeekInvalidType("variant identifier");
  reader.EatChar();
  const std::string variant = reader.ParseStr();
  if (variant == "json") return GrammarType::Kind::kJson;
  if (variant == "regex") return GrammarType::Kind::kRegex;
  DeError error = DeError::Data("unknown variant `" + variant + "`, expected `json` or `regex`");
  reader.FixPosition(error);
  throw error;
}

// The variant's content: Json(serde_json::Value) or Regex(String).
boost::json::value ReadGrammarContent(Reader& reader, GrammarType::Kind kind) {
  if (kind == GrammarType::Kind::kJson) return reader.ParseAny();
  return boost::json::value(serde::ReadString(reader));
}

// serde's adjacently tagged enum visitor (tag "type", content "value") over an object.
GrammarType VisitGrammarMap(Reader& reader) {
  bool first = true;
  // The next "type" (0) or "value" (1) key; other keys are skipped.
  const auto next_relevant_key = [&]() -> std::optional<int> {
    while (std::optional<std::string> key = reader.NextKey(first)) {
      if (*key == "type") return 0;
      if (*key == "value") return 1;
      reader.ParseObjectColon();
      reader.InKey(*key, [&] { reader.IgnoreValue(); });
    }
    return std::nullopt;
  };
  const auto expect_end = [&] {
    if (const std::optional<int> extra = next_relevant_key()) {
      throw DeError::Data(*extra == 0 ? "duplicate field `type`" : "duplicate field `value`");
    }
  };
  GrammarType grammar;
  const std::optional<int> first_key = next_relevant_key();
  if (!first_key) throw DeError::Data("missing field `type`");
  if (*first_key == 0) {
    reader.ParseObjectColon();
    grammar.kind = reader.InKey("type", [&] { return ReadGrammarVariant(reader); });
    const std::optional<int> second_key = next_relevant_key();
    if (!second_key) throw DeError::Data("missing field `value`");
    if (*second_key == 0) throw DeError::Data("duplicate field `type`");
    reader.ParseObjectColon();
    grammar.value = reader.InKey("value", [&] { return ReadGrammarContent(reader, grammar.kind); });
    expect_end();
    return grammar;
  }
  reader.ParseObjectColon();
  boost::json::value content = reader.InKey("value", [&] { return reader.ParseAny(); });
  const std::optional<int> second_key = next_relevant_key();
  if (!second_key) throw DeError::Data("missing field `type`");
  if (*second_key == 1) throw DeError::Data("duplicate field `value`");
  reader.ParseObjectColon();
  grammar.kind = reader.InKey("type", [&] { return ReadGrammarVariant(reader); });
  if (grammar.kind == GrammarType::Kind::kRegex && !content.is_string()) {
    throw DeError::Data("invalid type: " + ContentUnexpected(content) + ", expected a string");
  }
  grammar.value = std::move(content);
  expect_end();
  return grammar;
}

// The same enum as a two-element array [tag, content].
GrammarType VisitGrammarSeq(Reader& reader) {
  bool first = true;
  const std::string invalid_length = ", expected " + std::string(kGrammarExpecting);
  if (!reader.NextElement(first)) throw DeError::Data("invalid length 0" + invalid_length);
  GrammarType grammar;
  grammar.kind = reader.InIndex(0, [&] { return ReadGrammarVariant(reader); });
  if (!reader.NextElement(first)) throw DeError::Data("invalid length 1" + invalid_length);
  grammar.value = reader.InIndex(1, [&] { return ReadGrammarContent(reader, grammar.kind); });
  return grammar;
}

GrammarType ReadGrammar(Reader& reader) {
  const std::optional<uint8_t> peek = reader.ParseWhitespace();
  if (!peek) reader.PeekError(serde::Code::kEofWhileParsingValue);
  if (*peek != '{' && *peek != '[') reader.PeekInvalidType(kGrammarExpecting);
  GrammarType grammar;
  serde::VisitContainer(reader, *peek, [&] {
    grammar = *peek == '{' ? VisitGrammarMap(reader) : VisitGrammarSeq(reader);
  });
  return grammar;
}

// adapter_id as TGI 2.0.4 sees it (an unknown key): skipped, and kept only when it is a string.
void ReadAdapterId(Reader& reader, std::optional<std::string>& adapter_id) {
  const std::string_view raw = reader.IgnoreValueRaw();
  adapter_id.reset();
  if (raw.empty() || raw.front() != '"') return;
  Reader string_reader(raw);
  string_reader.EatChar();
  try {
    adapter_id = string_reader.ParseStr();
  } catch (DeError&) {
    // Not a valid Rust string: a 2.0.4 router would not have looked at it either.
  }
}

// GenerateParameters' fields in TGI 2.0.4's declaration order (the order of the array form).
std::vector<FieldSpec> ParameterFields(GenerateParameters& p) {
  using serde::ReadOption;
  return {
      {"best_of", [&p](Reader& r) { p.best_of = ReadOption(r, [&] { return ReadUsize(r); }); }},
      {"temperature",
       [&p](Reader& r) { p.temperature = ReadOption(r, [&] { return ReadF32(r); }); }},
      {"repetition_penalty",
       [&p](Reader& r) { p.repetition_penalty = ReadOption(r, [&] { return ReadF32(r); }); }},
      {"frequency_penalty",
       [&p](Reader& r) { p.frequency_penalty = ReadOption(r, [&] { return ReadF32(r); }); }},
      {"top_k", [&p](Reader& r) { p.top_k = ReadOption(r, [&] { return ReadI32(r); }); }},
      {"top_p", [&p](Reader& r) { p.top_p = ReadOption(r, [&] { return ReadF32(r); }); }},
      {"typical_p", [&p](Reader& r) { p.typical_p = ReadOption(r, [&] { return ReadF32(r); }); }},
      {"do_sample", [&p](Reader& r) { p.do_sample = serde::ReadBool(r); }},
      {"max_new_tokens",
       [&p](Reader& r) { p.max_new_tokens = ReadOption(r, [&] { return ReadU32(r); }); }},
      {"return_full_text",
       [&p](Reader& r) { p.return_full_text = ReadOption(r, [&] { return ReadBool(r); }); }},
      {"stop", [&p](Reader& r) { p.stop = serde::ReadStringSeq(r); }},
      {"truncate", [&p](Reader& r) { p.truncate = ReadOption(r, [&] { return ReadUsize(r); }); }},
      {"watermark", [&p](Reader& r) { p.watermark = serde::ReadBool(r); }},
      {"details", [&p](Reader& r) { p.details = serde::ReadBool(r); }},
      {"decoder_input_details", [&p](Reader& r) { p.decoder_input_details = serde::ReadBool(r); }},
      {"seed", [&p](Reader& r) { p.seed = ReadOption(r, [&] { return ReadU64(r); }); }},
      {"top_n_tokens",
       [&p](Reader& r) { p.top_n_tokens = ReadOption(r, [&] { return ReadU32(r); }); }},
      {"grammar", [&p](Reader& r) { p.grammar = ReadOption(r, [&] { return ReadGrammar(r); }); }},
      {"adapter_id", [&p](Reader& r) { ReadAdapterId(r, p.adapter_id); }, false, true},
  };
}

void ReadParameters(Reader& reader, GenerateParameters& parameters) {
  parameters = GenerateParameters{};
  const std::vector<FieldSpec> fields = ParameterFields(parameters);
  serde::ReadStruct(reader, "struct GenerateParameters", fields);
}

void ReadRequest(Reader& reader, GenerateRequest& request, bool* stream) {
  std::vector<FieldSpec> fields = {
      {"inputs", [&](Reader& r) { request.inputs = serde::ReadString(r); }, true},
      {"parameters", [&](Reader& r) { ReadParameters(r, request.parameters); }},
  };
  if (stream != nullptr) {
    fields.push_back({"stream", [stream](Reader& r) { *stream = serde::ReadBool(r); }});
  }
  serde::ReadStruct(reader, stream ? "struct CompatGenerateRequest" : "struct GenerateRequest",
                    fields);
}

bool IsTokenChar(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u >= 0x7F) return false;
  return std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

absl::Status BodyRejection(const DeError& error) {
  if (error.category == serde::ErrorCategory::kData) {
    return MakeError(
        ErrorKind::kBodyData,
        "Failed to deserialize the JSON body into the target type: " + error.Display());
  }
  return MakeError(ErrorKind::kBodySyntax,
                   "Failed to parse the request body as JSON: " + error.Display());
}

GenerateParameters GenerateParameters::WhenAbsent() {
  GenerateParameters parameters;
  parameters.do_sample = true;
  return parameters;
}

absl::StatusOr<GenerateRequest> ParseGenerateRequest(std::string_view body) {
  Reader reader(body);
  GenerateRequest request;
  try {
    ReadRequest(reader, request, nullptr);
  } catch (const DeError& error) {
    return BodyRejection(error);
  }
  return request;
}

absl::StatusOr<CompatGenerateRequest> ParseCompatGenerateRequest(std::string_view body) {
  Reader reader(body);
  CompatGenerateRequest compat;
  try {
    ReadRequest(reader, compat.request, &compat.stream);
  } catch (const DeError& error) {
    return BodyRejection(error);
  }
  return compat;
}

bool IsJsonContentType(std::optional<std::string_view> content_type) {
  if (!content_type) return false;
  const std::string_view rest = Trim(*content_type);
  const size_t semicolon = rest.find(';');
  const std::string_view essence = Trim(rest.substr(0, semicolon));
  const size_t slash = essence.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view type = essence.substr(0, slash);
  const std::string_view subtype = essence.substr(slash + 1);
  for (std::string_view part : {type, subtype}) {
    if (part.empty()) return false;
    for (char c : part) {
      if (!IsTokenChar(c)) return false;
    }
  }
  // Parameters must be name=value pairs for the header to parse as a media type.
  if (semicolon != std::string_view::npos) {
    std::string_view parameters = rest.substr(semicolon + 1);
    while (true) {
      const size_t end = parameters.find(';');
      const std::string_view parameter = Trim(parameters.substr(0, end));
      if (!parameter.empty() && parameter.find('=') == std::string_view::npos) return false;
      if (end == std::string_view::npos) break;
      parameters.remove_prefix(end + 1);
    }
  }
  if (Lower(type) != "application") return false;
  const std::string sub = Lower(subtype);
  if (sub == "json") return true;
  const size_t plus = sub.find('+');
  return plus != std::string::npos && sub.substr(plus + 1) == "json";
}

}  // namespace tgi::router
