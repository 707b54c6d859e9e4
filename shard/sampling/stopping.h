// Per-request stopping criteria, as TGI's StoppingCriteria: max_new_tokens, EOS ids and stop
// sequences matched at the end of the generated text. Owns the request's token count and a
// bounded tail of its generated text. Pure C++: no torch, no tokenizer (the caller passes each
// token's incremental text), no environment reads (the caller passes the EOS override).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tgi::shard {

// Values match generate.v2 FinishReason.
enum class FinishReason : int { kLength = 0, kEosToken = 1, kStopSequence = 2 };

// TGI's names for the reasons: "length", "eos_token", "stop_sequence".
std::string_view FinishReasonName(FinishReason reason);

// Mirror of generate.v2 StoppingCriteriaParameters.
struct StoppingParams {
  uint32_t max_new_tokens = 20;
  std::vector<std::string> stop_sequences = {};
  bool ignore_eos_token = false;
};

class StoppingCriteria {
 public:
  // eos_token_ids: the model's EOS ids. force_ignore_eos: TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN,
  // read by the caller; it ignores EOS as the request's own ignore_eos_token does.
  StoppingCriteria(StoppingParams params, std::vector<int64_t> eos_token_ids,
                   bool force_ignore_eos = false);

  // Counts one generated token and says whether generation stops with it, checking in TGI's
  // order: length, then EOS, then stop sequences. A stop sequence counts when it ends anywhere in
  // this token's text, also mid-token. token_text is the token's incremental text (what
  // streaming would emit for it; may be empty while a character is incomplete).
  std::optional<FinishReason> Step(int64_t token_id, std::string_view token_text);

  uint32_t CurrentTokens() const { return current_tokens_; }
  const StoppingParams& Params() const { return params_; }

 private:
  StoppingParams params_;
  std::vector<int64_t> eos_token_ids_;
  bool ignore_eos_;
  uint32_t current_tokens_ = 0;
  // Tail of the generated text: once over 300 characters (code points) it is cut to the last
  // 200, as TGI does. Only kept when there are stop sequences.
  std::string output_;
  size_t output_chars_ = 0;
};

}  // namespace tgi::shard
