// The limits and switches request validation applies (router flags and tgi-gaudi environment),
// with TGI's standalone-router defaults. Plain data; the rules that read it are in rules.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace tgi::router {

struct ValidationConfig {
  size_t max_best_of = 2;
  size_t max_stop_sequences = 4;
  uint32_t max_top_n_tokens = 5;
  size_t max_input_tokens = 1024;
  size_t max_total_tokens = 2048;
  size_t validation_workers = 2;  // tokenizer threads; 0 is treated as 1
  // SKIP_TOKENIZER_IN_TGI (common::GaudiEnv): inputs are comma-separated token ids.
  bool skip_tokenizer = false;
  bool disable_grammar_support = false;
  // QUANT_CONFIG (common::GaudiEnv, tgi-gaudi FP8): non-empty rejects watermark (rule 5).
  std::string quant_config;
};

}  // namespace tgi::router
