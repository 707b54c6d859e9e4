// The body of POST /generate, /generate_stream, /tokenize and the compat POST / (TGI 2.0.4's
// GenerateRequest, GenerateParameters and CompatGenerateRequest), read from JSON with TGI's
// defaults and quirks, and rejected as axum rejects it (plain-text 400 / 415 / 422 bodies).
// Owns parsing only: the parameter rules and their messages belong to router/validation.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::router {
namespace serde {
struct DeError;
}  // namespace serde

// `{"type": "json" | "regex", "value": ...}`. Parsed and kept; generation with a grammar is not
// supported (validation answers "grammar is not supported", rule 16).
struct GrammarType {
  enum class Kind { kJson, kRegex };
  Kind kind = Kind::kJson;
  // kJson: the schema (any JSON value as sent); kRegex: the regex string.
  boost::json::value value;
};

struct GenerateParameters {
  std::optional<uint64_t> best_of;
  std::optional<float> temperature;
  std::optional<float> repetition_penalty;
  std::optional<float> frequency_penalty;
  std::optional<int32_t> top_k;
  std::optional<float> top_p;
  std::optional<float> typical_p;
  // false when a `parameters` object is sent without it; true when `parameters` is absent.
  bool do_sample = false;
  // 100 when the key is absent; nullopt when it is an explicit null ("fill to max_total_tokens").
  std::optional<uint32_t> max_new_tokens = 100;
  std::optional<bool> return_full_text;
  std::vector<std::string> stop;
  std::optional<uint64_t> truncate;
  bool watermark = false;
  bool details = false;
  bool decoder_input_details = false;
  std::optional<uint64_t> seed;
  std::optional<uint32_t> top_n_tokens;
  std::optional<GrammarType> grammar;
  // [2.1+] LoRA adapter. TGI 2.0.4 ignores the key, so a value that is not a string is ignored
  // too (never a rejection).
  std::optional<std::string> adapter_id;

  // TGI's default_parameters(): what a body without `parameters` gets (do_sample true).
  static GenerateParameters WhenAbsent();
};

struct GenerateRequest {
  std::string inputs;
  GenerateParameters parameters = GenerateParameters::WhenAbsent();
};

// POST / : a GenerateRequest plus `stream`.
struct CompatGenerateRequest {
  GenerateRequest request;
  bool stream = false;
};

// Body readers. Failures are ErrorKind::kBodySyntax (400) or kBodyData (422) statuses whose
// message is the exact plain-text body axum sends, e.g.
//   Failed to parse the request body as JSON: EOF while parsing an object at line 1 column 12
//   Failed to deserialize the JSON body into the target type: inputs: invalid type: integer
//   `1`, expected a string at line 1 column 11
// Like axum 0.6, anything after the first complete JSON value is ignored.
absl::StatusOr<GenerateRequest> ParseGenerateRequest(std::string_view body);
absl::StatusOr<CompatGenerateRequest> ParseCompatGenerateRequest(std::string_view body);

// axum's Json extractor rejection for a body error: kBodySyntax or kBodyData with axum's text.
absl::Status BodyRejection(const serde::DeError& error);

// axum's Json content-type check: `application/json` or `application/<anything>+json`, any
// parameters, case-insensitive. nullopt = no Content-Type header. When false the route answers
// UnsupportedMediaTypeError() (415) before reading the body.
bool IsJsonContentType(std::optional<std::string_view> content_type);

}  // namespace tgi::router
