// What the scheduler queues and what it sends back: a validated generation request (validation's
// output, in the shard client's own request type) and the events of its response channel. Plain
// data shared by validation, scheduler and the HTTP layer; no proto, JSON or HTTP types.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "router/shard_client/shard_client.h"

namespace tgi::router {

// A request that passed validation, ready to queue. `shard` is exactly what the shards will
// receive (validation fills every field but the id, which the queue assigns); there is no second
// copy of the parameters between validation and the shard client.
struct ValidRequest {
  ShardRequest shard;
  uint32_t input_length = 0;  // prompt tokens after truncation (what x-prompt-tokens reports)
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
  std::optional<uint64_t> seed = {};
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
