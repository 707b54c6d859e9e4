// Heterogeneous logits processors and warpers (TGI's HeterogeneousNextTokenChooser steps), top-n
// alternatives and prefill logprobs, as pure functions over float32 tensors. Every function takes
// one parameter per row and leaves rows with the neutral value bit-for-bit unchanged. Owns no
// state: token history and generators live in SamplingState.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <span>
#include <vector>

#include "shard/sampling/sampling_params.h"

namespace tgi::shard {

// Each processor takes scores [rows, vocab] (float32), may modify it in place, and returns the
// processed scores: use the returned tensor. Filtered tokens become -inf.

// Tokens seen (counts > 0) get score * penalty when score < 0, score / penalty otherwise.
// counts: [rows, vocab], how often each token occurs in the row's history.
at::Tensor RepetitionPenalty(at::Tensor scores, const at::Tensor& counts,
                             std::span<const float> penalty);

// scores -= penalty * counts / seen: the token's frequency in the row's history (prompt and
// generated tokens), as TGI's HeterogeneousFrequencyPenaltyLogitsProcessor. Rows with seen == 0
// are left alone.
at::Tensor FrequencyPenalty(at::Tensor scores, const at::Tensor& counts,
                            std::span<const int64_t> seen, std::span<const float> penalty);

// The greenlist for a step: the first floor(vocab * gamma) ids of a permutation of the vocabulary
// drawn from a CPU generator seeded with kWatermarkHashKey * previous_token. [n] int64, CPU.
at::Tensor WatermarkGreenlist(int64_t vocab_size, int64_t previous_token, double gamma);

// Adds delta to the greenlist logits of each listed row (rows[i] has previous_tokens[i]).
// A row with no previous token (< 0) is left alone.
at::Tensor Watermark(at::Tensor scores, std::span<const int64_t> rows,
                     std::span<const int64_t> previous_tokens, const WatermarkConfig& config);

// scores / temperature.
at::Tensor Temperature(at::Tensor scores, std::span<const float> temperature);

// Keeps the top_k highest scores and every score tied with the k-th (0 disables; k above the
// vocabulary keeps everything).
at::Tensor TopK(at::Tensor scores, std::span<const uint32_t> top_k);

// Nucleus: in ascending order, removes the tokens whose cumulative probability is <= 1 - top_p;
// the most probable token is always kept (top_p >= 1 disables).
at::Tensor TopP(at::Tensor scores, std::span<const float> top_p);

// Typical decoding: ranks tokens by |-log p - entropy| and keeps the smallest such prefix whose
// probability mass reaches typical_p, plus ties (typical_p >= 1 disables).
at::Tensor TypicalP(at::Tensor scores, std::span<const float> typical_p);

struct TopTokens {
  std::vector<int64_t> ids;  // by logprob, highest first
  std::vector<float> logprobs;
};

// TGI's batch_top_tokens: for each row the top_n[i] most likely tokens of logprobs
// [rows, vocab], plus every token tied with the n-th; -inf tokens are never returned. Rows with
// top_n == 0 get nothing.
std::vector<TopTokens> BatchTopTokens(const at::Tensor& logprobs, std::span<const uint32_t> top_n);

// Prefill logprobs from all-position logits [T, vocab] (unprocessed, as TGI reports them): entry
// i is log_softmax(logits[i - 1])[prompt_ids[i]]; entry 0 has no predecessor and is NaN.
// log_softmax(logits[j])[targets[j]] for each row j of logits [targets.size(), vocab]: the
// logprob each position gives the token after it (a prompt chunk's share of PrefillLogprobs).
std::vector<float> NextTokenLogprobs(const at::Tensor& logits, std::span<const int32_t> targets);

std::vector<float> PrefillLogprobs(const at::Tensor& logits, std::span<const int64_t> prompt_ids);

}  // namespace tgi::shard
