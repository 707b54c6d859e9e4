// TGI 2.0.4's request validation rules (reference §1.4) as pure functions, each returning the
// first broken rule's error with TGI's exact message ("Input validation error: ..."), plus the
// ValidRequest they produce. No threads and no tokenizer here: callers pass the token count.
// Rule numbers follow the reference's list.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "router/api/generate_request.h"
#include "router/scheduler/request.h"
#include "router/validation/validation_config.h"

namespace tgi::router {

// Rules 1-14, in order: best_of needs sampling, temperature, repetition_penalty,
// frequency_penalty, watermark with QUANT_CONFIG, top_p, typical_p, top_k, max_new_tokens,
// stop count, seed with best_of, top_n_tokens, empty inputs, truncate.
absl::Status CheckParameters(const GenerateRequest& request, const ValidationConfig& config);

// Rule 15's outcome: the prompt's length after truncation and max_new_tokens resolved.
struct InputLength {
  uint32_t input_length = 0;
  uint32_t max_new_tokens = 0;
};

// Rule 15 with a known token count (a tokenizer, or ids under SKIP_TOKENIZER_IN_TGI):
// L = min(count, truncate); max_new_tokens null -> max_total - L; then the total and the input
// length limits.
absl::StatusOr<InputLength> CheckInputLength(size_t token_count, std::optional<uint64_t> truncate,
                                             std::optional<uint32_t> max_new_tokens,
                                             const ValidationConfig& config);

// Rule 15 without a tokenizer, tgi-gaudi's branch: max_new_tokens or truncate must be set;
// L = truncate or max_input_tokens; L + max_new_tokens must fit in max_total_tokens.
absl::StatusOr<InputLength> CheckInputLengthWithoutTokenizer(std::optional<uint64_t> truncate,
                                                             std::optional<uint32_t> max_new_tokens,
                                                             const ValidationConfig& config);

// SKIP_TOKENIZER_IN_TGI: the number of comma-separated token ids in `inputs` (each a u32,
// surrounding spaces allowed), or a validation error naming the first piece that is not one.
absl::StatusOr<size_t> CountTokenIds(std::string_view inputs);

// "tokenizer error {detail}" (a tokenizer failure is reported as a validation error).
absl::Status TokenizerError(std::string_view detail);

// Rule 16: grammars are not supported by this server, so any grammar (and every grammar when
// --disable-grammar-support) gets "grammar is not supported".
absl::Status CheckGrammar(const std::optional<GrammarType>& grammar,
                          const ValidationConfig& config);

// Rule 17, checked before anything else when /generate (or compat /) gets best_of > 1.
absl::StatusOr<size_t> ValidateBestOf(uint64_t best_of, const ValidationConfig& config);

// Rule 18, checked first on the stream routes (inside the stream): best_of != 1, then
// decoder_input_details.
absl::Status CheckStreamParameters(const GenerateParameters& parameters);

// §1.3's sampling switch by value: do_sample, or any warper active (temperature != 1, top_k != 0,
// top_p < 1, typical_p < 1).
bool Samples(const GenerateParameters& parameters);

// The ValidRequest of a request that passed every rule: neutral values filled in, truncate =
// user truncate or max_input_tokens, seed = the user's, else `random_seed` when the request
// samples, else 0.
ValidRequest MakeValidRequest(const GenerateRequest& request, const InputLength& length,
                              const ValidationConfig& config, uint64_t random_seed);

// A random u64 seed (thread-safe).
uint64_t RandomSeed();

// best_of fan-out as TGI's generate_best_of does it: `n` copies of `request`, each with its own
// random seed (best_of > 1 forbids a user seed, so every copy samples differently).
std::vector<ValidRequest> FanOutBestOf(const ValidRequest& request, size_t n);

}  // namespace tgi::router
