// The configuration files around tokenizer.json in a Hugging Face model directory:
// tokenizer_config.json (bos/eos/pad tokens, add_bos_token/add_eos_token, tokenizer_class,
// clean_up_tokenization_spaces), special_tokens_map.json (fallback token names),
// generation_config.json and config.json (eos_token_id as an int or a list, bos_token_id).
// Reads and validates them only; resolving token names to ids is the Tokenizer's job.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::common::tokenizer_impl {

struct TokenizerConfig {
  // Token contents (a string or an {"content": ...} object in the files).
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  std::optional<std::string> pad_token;
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  std::optional<bool> clean_up_tokenization_spaces;
  std::string tokenizer_class;
  // generation_config.json's eos_token_id, else config.json's; in file order.
  std::vector<int32_t> eos_token_ids;
  // generation_config.json's bos_token_id, else config.json's.
  std::optional<int32_t> bos_token_id;
};

// Missing files are fine (empty fields); unreadable or malformed ones are an error. For the
// classes of RebuildsPostProcessor, bos/eos default as in their transformers constructors.
absl::StatusOr<TokenizerConfig> LoadTokenizerConfig(const std::filesystem::path& dir);

// Whether transformers rebuilds this class's post-processor from add_bos_token/add_eos_token
// (LlamaTokenizerFast, CodeLlamaTokenizerFast, GemmaTokenizerFast).
bool RebuildsPostProcessor(const std::string& tokenizer_class);

}  // namespace tgi::common::tokenizer_impl
