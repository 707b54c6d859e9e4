// What the scheduler queues and what it sends back: a validated generation request (validation's
// output) and the events of its response channel. Plain data shared by validation, scheduler and
// the HTTP layer; no proto, JSON or HTTP types.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tgi::router {

// The shard-side sampling parameters (generate.v2 NextTokenChooserParameters), neutral values
// filled in by validation.
struct SamplingParameters {
  float temperature = 1.0f;
  uint32_t top_k = 0;
  float top_p = 1.0f;
  float typical_p = 1.0f;
  bool do_sample = false;
  uint64_t seed = 0;
  float repetition_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  bool watermark = false;
};

struct StoppingParameters {
  uint32_t max_new_tokens = 100;
  std::vector<std::string> stop_sequences;
  bool ignore_eos_token = false;
};

// A request that passed validation, ready to queue.
struct ValidRequest {
  std::string inputs;         // sent to the shard as is (it tokenizes and truncates)
  uint32_t input_length = 0;  // prompt tokens after truncation (what x-prompt-tokens reports)
  uint32_t truncate = 0;      // user truncate, or max_input_tokens
  SamplingParameters parameters;
  StoppingParameters stopping;
  bool decoder_input_details = false;  // -> prefill_logprobs
  uint32_t top_n_tokens = 0;
};

// One token as clients see it.
struct Token {
  uint32_t id = 0;
  std::string text;
  float logprob = 0.0f;  // NaN for the first prefill token (serialised as null)
  bool special = false;
};

enum class FinishReason { kLength, kEosToken, kStopSequence };

struct GeneratedText {
  std::string text;
  uint32_t generated_tokens = 0;
  FinishReason finish_reason = FinishReason::kLength;
  std::optional<uint64_t> seed;
};

// Events on a request's response channel, in order: Prefill (only with decoder_input_details),
// Intermediate..., then End; or an Error at any point, after which nothing follows.
struct PrefillEvent {
  std::vector<Token> tokens;
};
struct IntermediateEvent {
  Token token;
  std::vector<Token> top_tokens;
};
struct EndEvent {
  Token token;
  std::vector<Token> top_tokens;
  GeneratedText generated_text;
  std::chrono::steady_clock::time_point queued;  // when the request entered the queue
  std::chrono::steady_clock::time_point start;   // when its batch was first sent to the shards
};
struct ErrorEvent {
  std::string message;  // e.g. "Request failed during generation: Server error: ..."
};

}  // namespace tgi::router
