// The model's hyper-parameters, read from a Hugging Face `config.json` (and the stop tokens of
// `generation_config.json`). Owns parsing and validation only: it loads no weights and knows no
// tensors. Unsupported architectures or rope scalings are rejected here, with a clear message,
// so that nothing later has to guess.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::shard {

// `rope_scaling` of config.json. `dynamic` (NTK) is not supported: it depends on the sequence
// length at run time and is rejected at parse time.
struct RopeScaling {
  enum class Type { kNone, kLinear, kLlama3 };
  Type type = Type::kNone;
  double factor = 1.0;
  // llama3 only.
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_max_position_embeddings = 8192;
};

struct ModelConfig {
  std::string model_type;  // "llama" or "mistral" (the same graph here)
  std::vector<std::string> architectures;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // defaults to num_attention_heads
  int64_t head_dim = 0;             // defaults to hidden_size / num_attention_heads
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t max_position_embeddings = 2048;
  int64_t vocab_size = 0;
  bool tie_word_embeddings = false;
  bool attention_bias = false;  // q, k, v and o projections carry a bias
  bool mlp_bias = false;        // gate, up and down projections carry a bias
  std::string torch_dtype;      // as written in config.json ("" when absent)
  std::optional<int64_t> bos_token_id;
  // Stop tokens: generation_config.json's eos_token_id when that file has one (as TGI does),
  // config.json's otherwise. May be empty.
  std::vector<int64_t> eos_token_ids;

  int64_t num_query_groups() const { return num_attention_heads / num_key_value_heads; }
};

// Parses the text of a config.json. Errors name the offending key.
absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text);

// Reads `dir/config.json` and, if present, the eos ids of `dir/generation_config.json`.
absl::StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& dir);

}  // namespace tgi::shard
