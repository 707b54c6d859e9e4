// The body of POST /v1/chat/completions (TGI 2.3's ChatRequest), read with serde's rejections,
// and mapped onto the one GenerateParameters type as TGI maps it: max_tokens -> max_new_tokens
// (100 when absent), temperature 0 -> greedy (any other value, or none, samples),
// presence_penalty p -> repetition_penalty p + 2, top_logprobs -> top_n_tokens, details on,
// decoder_input_details unless streaming, response_format -> grammar. Owns parsing only;
// rendering is router/chat's.
#pragma once

#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "router/api/generate_request.h"

namespace tgi::router {

struct ChatRequest {
  // Each {role, content, name?} with content made a string: a list of parts becomes its text
  // parts concatenated (an image_url part as the markdown `![](url)` TGI writes).
  boost::json::array messages;
  std::optional<std::string> model;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage
  bool logprobs = false;
  std::optional<uint32_t> n;
  bool has_tools = false;  // `tools` sent and not null
  // The generation parameters, already mapped (see the header comment).
  GenerateParameters parameters;
};

// Failures are kBodySyntax (400) / kBodyData (422) plain-text rejections, as for /generate.
absl::StatusOr<ChatRequest> ParseChatRequest(std::string_view body);

// The checks the chat route makes before rendering: n other than 1 (a 422 validation error),
// tools (not supported: a 422 tool_error).
absl::Status CheckChatRequest(const ChatRequest& request);

}  // namespace tgi::router
