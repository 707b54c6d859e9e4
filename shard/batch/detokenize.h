// Token texts for Generations, as TGI's shard produces them: per-token texts, top-n and prefill
// token lists, and the final generated text. A null tokenizer (SKIP_TOKENIZER_IN_TGI) gives
// empty texts and no special tokens. Pure functions; no batch state.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <span>
#include <string>

#include "shard/sampling/logits_process.h"
#include "common/tokenizer/tokenizer.h"
#include "shard/batch/types.h"

namespace tgi::shard {

bool IsSpecial(const common::Tokenizer* tokenizer, int64_t id);

// The text of one token decoded on its own, special tokens kept (TGI's batch_decode of ids).
std::string TokenText(const common::Tokenizer* tokenizer, int64_t id);

// top-n alternatives of one step, each with its own text.
TokenList TopTokenList(const common::Tokenizer* tokenizer, const TopTokens& top);

// Prompt tokens with their logprobs (one per token; the first token has none: NaN, serialised
// as null by the router).
TokenList PrefillTokens(const common::Tokenizer* tokenizer, std::span<const int32_t> prompt,
                        std::span<const float> logprobs);

// The generated text of a finished request, as TGI 2.0.4 decodes it: the generated ids with the
// last prompt token as left context (so a leading space survives), special tokens skipped.
std::string GeneratedText(const common::Tokenizer* tokenizer, std::span<const int32_t> ids,
                          int64_t generated);

}  // namespace tgi::shard
