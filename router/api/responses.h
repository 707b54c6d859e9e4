// The JSON bodies of TGI 2.0.4's successful responses, byte for byte as serde_json writes TGI's
// structs (compact, fields in declaration order, NaN logprobs as null, empty top_tokens and
// absent best_of_sequences omitted): /generate, compat POST /, SSE token events, /info and
// /tokenize. Pure builders over plain data; they never decide what to send.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/scheduler/request.h"

namespace tgi::router {

// "length", "eos_token", "stop_sequence".
std::string_view FinishReasonText(FinishReason reason);

// One finished sequence, as the HTTP layer gathers it from a request's event channel (TGI's
// InferResponse): the prefill tokens (PrefillEvent), each generated token and its top tokens
// (IntermediateEvents then the EndEvent), and the EndEvent's GeneratedText.
struct GenerationOutput {
  std::vector<Token> prefill;
  std::vector<Token> tokens;
  std::vector<std::vector<Token>> top_tokens;  // one list per generated token, or empty
  GeneratedText generated_text;
};

struct GenerateResponseOptions {
  // parameters.details || parameters.decoder_input_details: include `details`.
  bool details = false;
  // return_full_text: the prompt, prepended to generated_text (and to every best_of sequence).
  std::optional<std::string> prompt = {};
};

// /generate: {"generated_text":...,"details":{finish_reason,generated_tokens,seed,prefill,tokens,
// best_of_sequences?,top_tokens?}?}. `best_of_sequences` non-null (best_of > 1) lists the losing
// sequences; it is written only when details are.
std::string GenerateResponseJson(const GenerationOutput& output,
                                 const GenerateResponseOptions& options,
                                 const std::vector<GenerationOutput>* best_of_sequences = nullptr);

// Compat POST / without stream: the same object inside a one-element array.
std::string CompatGenerateResponseJson(
    const GenerationOutput& output, const GenerateResponseOptions& options,
    const std::vector<GenerationOutput>* best_of_sequences = nullptr);

// An SSE event's JSON (the HTTP layer adds the "data:" framing). `index` is 1-based and counts
// the events of the stream.
// {"index":n,"token":{...},"top_tokens":[...]?,"generated_text":null,"details":null}
std::string StreamTokenEventJson(uint32_t index, const Token& token,
                                 const std::vector<Token>& top_tokens);
// The last event: generated_text (prompt prepended when given) and, when parameters.details,
// details {finish_reason, generated_tokens, seed}; otherwise "details":null.
std::string StreamEndEventJson(uint32_t index, const EndEvent& end, bool details,
                               const std::optional<std::string>& prompt = std::nullopt);

// GET /info, TGI 2.0.4 / tgi-gaudi field set and order.
struct Info {
  std::string model_id;
  std::optional<std::string> model_sha;
  std::string model_dtype;        // e.g. "torch.float32"
  std::string model_device_type;  // e.g. "cpu", "cuda", "hpu"
  std::optional<std::string> model_pipeline_tag;
  uint64_t max_concurrent_requests = 128;
  uint64_t max_best_of = 2;
  uint64_t max_stop_sequences = 4;
  uint64_t max_input_length = 1024;
  uint64_t max_total_tokens = 2048;
  float waiting_served_ratio = 1.2f;
  uint32_t max_batch_total_tokens = 0;
  uint64_t max_waiting_tokens = 20;
  std::optional<uint64_t> max_batch_size;
  uint64_t validation_workers = 2;
  uint64_t max_client_batch_size = 4;
  std::string router = "text-generation-router";
  std::string version = "2.0.4";
  std::optional<std::string> sha;
  std::optional<std::string> docker_label;
};
std::string InfoJson(const Info& info);

// A token of /tokenize: its id and the byte range [start, stop) of the input it came from.
struct TokenOffsets {
  uint32_t id = 0;
  size_t start = 0;
  size_t stop = 0;
};

// POST /tokenize: [{"id":..,"text":..,"start":..,"stop":..}], text = the input's bytes
// [start, stop) made valid as String::from_utf8_lossy does (a character split across tokens
// gives U+FFFD on each side). Offsets past the input's end are clamped.
std::string TokenizeResponseJson(std::string_view input, const std::vector<TokenOffsets>& tokens);

}  // namespace tgi::router
