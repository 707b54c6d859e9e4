#include "router/validation/rules.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "router/api/errors.h"

namespace tgi::router {
namespace {

uint64_t SaturatingSub(uint64_t a, uint64_t b) { return a > b ? a - b : 0; }

std::string_view TrimSpaces(std::string_view s) {
  const auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

absl::Status CheckParameters(const GenerateRequest& request, const ValidationConfig& config) {
  const GenerateParameters& p = request.parameters;
  const uint64_t best_of = p.best_of.value_or(1);
  // Rule 1 asks whether any sampling parameter was *given* (TGI tests presence, not value).
  const bool sampling = p.do_sample || p.temperature.has_value() || p.top_k.has_value() ||
                        p.top_p.has_value() || p.typical_p.has_value();
  if (best_of > 1 && !sampling) {
    return ValidationError("you must use sampling when `best_of` is > 1");
  }
  if (p.temperature.value_or(1.0f) <= 0.0f) {
    return ValidationError("`temperature` must be strictly positive");
  }
  if (p.repetition_penalty.value_or(1.0f) <= 0.0f) {
    return ValidationError("`repetition_penalty` must be strictly positive");
  }
  const float frequency_penalty = p.frequency_penalty.value_or(0.0f);
  if (!(frequency_penalty >= -2.0f && frequency_penalty <= 2.0f)) {
    return ValidationError("`frequency_penalty` must be >= -2.0 and <= 2.0");
  }
  if (p.watermark && !config.quant_config.empty()) {
    return ValidationError("`watermark` = true is not allowed with FP8 quantization.");
  }
  if (p.top_p && (*p.top_p <= 0.0f || *p.top_p >= 1.0f)) {
    return ValidationError("`top_p` must be > 0.0 and < 1.0");
  }
  if (p.typical_p && (*p.typical_p <= 0.0f || *p.typical_p >= 1.0f)) {
    return ValidationError("`typical_p` must be > 0.0 and < 1.0");
  }
  if (p.top_k && *p.top_k <= 0) return ValidationError("`top_k` must be strictly positive");
  if (p.max_new_tokens == 0u) {
    return ValidationError("`max_new_tokens` must be strictly positive");
  }
  if (p.stop.size() > config.max_stop_sequences) {
    return ValidationError(absl::StrCat("`stop` supports up to ", config.max_stop_sequences,
                                        " stop sequences. Given: ", p.stop.size()));
  }
  if (p.seed && best_of > 1) {
    return ValidationError("`seed` must not be set when `best_of` > 1");
  }
  if (p.top_n_tokens && *p.top_n_tokens > config.max_top_n_tokens) {
    return ValidationError(absl::StrCat("`top_n_tokens` must be >= 0 and <= ",
                                        config.max_top_n_tokens, ". Given: ", *p.top_n_tokens));
  }
  if (request.inputs.empty()) return ValidationError("`inputs` cannot be empty");
  if (p.truncate && (*p.truncate == 0 || *p.truncate > config.max_input_tokens)) {
    return ValidationError(absl::StrCat("`truncate` must be strictly positive and less than ",
                                        config.max_input_tokens, ". Given: ", *p.truncate));
  }
  return absl::OkStatus();
}

absl::StatusOr<InputLength> CheckInputLength(size_t token_count, std::optional<uint64_t> truncate,
                                             std::optional<uint32_t> max_new_tokens,
                                             const ValidationConfig& config) {
  const uint64_t length = truncate ? std::min<uint64_t>(token_count, *truncate) : token_count;
  const uint32_t max_new = max_new_tokens.value_or(
      static_cast<uint32_t>(SaturatingSub(config.max_total_tokens, length)));
  if (length + max_new > config.max_total_tokens) {
    return ValidationError(
        absl::StrCat("`inputs` tokens + `max_new_tokens` must be <= ", config.max_total_tokens,
                     ". Given: ", length, " `inputs` tokens and ", max_new, " `max_new_tokens`"));
  }
  if (length > config.max_input_tokens) {
    return ValidationError(absl::StrCat("`inputs` must have less than ", config.max_input_tokens,
                                        " tokens. Given: ", length));
  }
  return InputLength{static_cast<uint32_t>(length), max_new};
}

absl::StatusOr<InputLength> CheckInputLengthWithoutTokenizer(std::optional<uint64_t> truncate,
                                                             std::optional<uint32_t> max_new_tokens,
                                                             const ValidationConfig& config) {
  uint32_t max_new;
  if (max_new_tokens) {
    max_new = *max_new_tokens;
  } else if (truncate) {
    max_new = static_cast<uint32_t>(SaturatingSub(config.max_total_tokens, *truncate));
  } else {
    return ValidationError(
        "one of `max_new_tokens` or `truncate` must be set if a fast tokenizer is not in use");
  }
  const uint64_t length = truncate.value_or(config.max_input_tokens);
  if (length + max_new > config.max_total_tokens) {
    return ValidationError(absl::StrCat(
        "`max_new_tokens` must be <= ",
        SaturatingSub(config.max_total_tokens, config.max_input_tokens), ". Given: ", max_new));
  }
  return InputLength{static_cast<uint32_t>(length), max_new};
}

absl::StatusOr<size_t> CountTokenIds(std::string_view inputs) {
  size_t count = 0;
  size_t begin = 0;
  while (begin <= inputs.size()) {
    const size_t comma = std::min(inputs.find(',', begin), inputs.size());
    const std::string_view piece = inputs.substr(begin, comma - begin);
    begin = comma + 1;
    const std::string_view id = TrimSpaces(piece);
    uint32_t value = 0;
    const auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), value);
    if (id.empty() || ec != std::errc() || end != id.data() + id.size()) {
      return ValidationError(absl::StrCat(
          "`inputs` must be comma-separated token ids when SKIP_TOKENIZER_IN_TGI is true. "
          "Given: `",
          std::string(piece), "`"));
    }
    ++count;
  }
  return count;
}

absl::Status TokenizerError(std::string_view detail) {
  return ValidationError(absl::StrCat("tokenizer error ", std::string(detail)));
}

absl::Status CheckGrammar(const std::optional<GrammarType>& grammar,
                          const ValidationConfig& config) {
  if (grammar) return ValidationError("grammar is not supported");
  return absl::OkStatus();
}

absl::StatusOr<size_t> ValidateBestOf(uint64_t best_of, const ValidationConfig& config) {
  if (config.max_best_of == 1 && best_of != 1) {
    return ValidationError("`best_of` != 1 is not allowed for this endpoint");
  }
  if (best_of > config.max_best_of) {
    return ValidationError(
        absl::StrCat("`best_of` must be > 0 and <= ", config.max_best_of, ". Given: ", best_of));
  }
  return static_cast<size_t>(best_of);
}

absl::Status CheckStreamParameters(const GenerateParameters& parameters) {
  if (parameters.best_of.value_or(1) != 1) {
    return ValidationError("`best_of` != 1 is not supported when streaming tokens");
  }
  if (parameters.decoder_input_details) {
    return ValidationError(
        "`decoder_input_details` == true is not supported when streaming tokens");
  }
  return absl::OkStatus();
}

bool Samples(const GenerateParameters& p) {
  return p.do_sample || p.temperature.value_or(1.0f) != 1.0f || p.top_k.value_or(0) != 0 ||
         p.top_p.value_or(1.0f) < 1.0f || p.typical_p.value_or(1.0f) < 1.0f;
}

ValidRequest MakeValidRequest(const GenerateRequest& request, const InputLength& length,
                              const ValidationConfig& config, uint64_t random_seed) {
  const GenerateParameters& p = request.parameters;
  ValidRequest valid;
  valid.input_length = length.input_length;
  ShardRequest& shard = valid.shard;
  shard.inputs = request.inputs;
  shard.truncate = static_cast<uint32_t>(p.truncate.value_or(config.max_input_tokens));
  shard.parameters.temperature = p.temperature.value_or(1.0f);
  shard.parameters.top_k = static_cast<uint32_t>(p.top_k.value_or(0));
  shard.parameters.top_p = p.top_p.value_or(1.0f);
  shard.parameters.typical_p = p.typical_p.value_or(1.0f);
  shard.parameters.do_sample = p.do_sample;
  shard.parameters.seed = p.seed ? *p.seed : (Samples(p) ? random_seed : 0);
  shard.parameters.repetition_penalty = p.repetition_penalty.value_or(1.0f);
  shard.parameters.frequency_penalty = p.frequency_penalty.value_or(0.0f);
  shard.parameters.watermark = p.watermark;
  shard.stopping_parameters.max_new_tokens = length.max_new_tokens;
  shard.stopping_parameters.stop_sequences = p.stop;
  shard.stopping_parameters.ignore_eos_token = false;
  shard.prefill_logprobs = p.decoder_input_details;
  shard.top_n_tokens = p.top_n_tokens.value_or(0);
  return valid;
}

uint64_t RandomSeed() {
  thread_local absl::BitGen generator;
  return absl::Uniform<uint64_t>(generator);
}

std::vector<ValidRequest> FanOutBestOf(const ValidRequest& request, size_t n) {
  std::vector<ValidRequest> requests(n, request);
  for (ValidRequest& copy : requests) copy.shard.parameters.seed = RandomSeed();
  return requests;
}

}  // namespace tgi::router
