// The JSON of the OpenAI-style routes as TGI 2.3+ writes them: /v1/chat/completions (the
// chat.completion object and its stream's chat.completion.chunk frames) and GET /v1/models.
// Pure builders over plain data, compact and in TGI's field order; they never decide what to send.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/api/responses.h"
#include "router/scheduler/request.h"

namespace tgi::router {

// What every chat object carries besides its choice.
struct ChatContext {
  std::string model;               // the served model's id
  std::string system_fingerprint;  // "{version}-{docker_label or 'native'}"
  int64_t created = 0;             // unix seconds
  bool logprobs = false;           // the request's `logprobs`
};

struct Usage {
  uint32_t prompt_tokens = 0;
  uint32_t completion_tokens = 0;
};

// TGI 2.3+'s chat finish_reason: "stop" for EOS, otherwise "length" / "stop_sequence".
std::string_view ChatFinishReason(FinishReason reason);

// "{version}-{docker_label or 'native'}".
std::string SystemFingerprint(const Info& info);

// {"id":"","object":"chat.completion","created","model","system_fingerprint","choices":[{"index":0,
// "message":{"role":"assistant","content"},"logprobs":null|{"content":[...]},"finish_reason"}],
// "usage":{"prompt_tokens","completion_tokens","total_tokens"}}
std::string ChatCompletionJson(const ChatContext& context, const GenerationOutput& output,
                               uint32_t prompt_tokens);

// One stream frame for a generated token: delta {"role":"assistant","content":text} ("" for a
// special token), finish_reason null until `finish`, "usage" null unless given.
std::string ChatCompletionChunkJson(const ChatContext& context, const Token& token,
                                    const std::vector<Token>& top_tokens,
                                    std::optional<FinishReason> finish,
                                    const std::optional<Usage>& usage);

// GET /v1/models: {"object":"list","data":[{"id","object":"model","created":0,"owned_by"}]}.
std::string ModelsJson(std::string_view model_id);

}  // namespace tgi::router
