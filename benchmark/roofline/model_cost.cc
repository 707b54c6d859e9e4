#include "benchmark/roofline/model_cost.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "boost/json.hpp"

namespace tgi::benchmark::roofline {

namespace {

absl::StatusOr<int64_t> IntField(const boost::json::object& config, const char* key) {
  const boost::json::value* value = config.if_contains(key);
  if (!value || !value->is_number()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: `", key, "` is not a number"));
  }
  return value->is_double() ? static_cast<int64_t>(value->as_double()) : value->to_number<int64_t>();
}

}  // namespace

absl::StatusOr<LlamaDims> ParseLlamaDims(std::string_view config_json) {
  boost::system::error_code error;
  boost::json::value parsed = boost::json::parse(config_json, error);
  if (error || !parsed.is_object()) {
    return absl::InvalidArgumentError("config.json is not a JSON object");
  }
  const boost::json::object& config = parsed.as_object();
  LlamaDims d;
  for (auto [key, field] : {std::pair{"hidden_size", &d.hidden},
                            std::pair{"num_hidden_layers", &d.layers},
                            std::pair{"num_attention_heads", &d.heads},
                            std::pair{"intermediate_size", &d.intermediate},
                            std::pair{"vocab_size", &d.vocab}}) {
    absl::StatusOr<int64_t> value = IntField(config, key);
    if (!value.ok()) return value.status();
    *field = *value;
  }
  d.kv_heads = d.heads;
  if (config.contains("num_key_value_heads")) {
    absl::StatusOr<int64_t> value = IntField(config, "num_key_value_heads");
    if (!value.ok()) return value.status();
    d.kv_heads = *value;
  }
  if (d.heads <= 0 || d.hidden <= 0) {
    return absl::InvalidArgumentError("config.json: hidden_size and num_attention_heads must be > 0");
  }
  d.head_dim = d.hidden / d.heads;
  if (const boost::json::value* head_dim = config.if_contains("head_dim");
      head_dim && head_dim->is_number()) {
    d.head_dim = head_dim->to_number<int64_t>();
  }
  if (const boost::json::value* tied = config.if_contains("tie_word_embeddings");
      tied && tied->is_bool()) {
    d.tied_embeddings = tied->as_bool();
  }
  return d;
}

absl::StatusOr<LlamaDims> LoadLlamaDims(const std::filesystem::path& model_dir) {
  std::ifstream file(model_dir / "config.json");
  if (!file) {
    return absl::NotFoundError(absl::StrCat("no config.json in ", model_dir.string()));
  }
  std::stringstream text;
  text << file.rdbuf();
  return ParseLlamaDims(text.str());
}

int DtypeBytes(std::string_view dtype) {
  if (dtype.starts_with("torch.")) dtype.remove_prefix(6);
  if (dtype == "bfloat16" || dtype == "float16" || dtype == "half" || dtype == "bf16" ||
      dtype == "fp16") {
    return 2;
  }
  return 4;
}

int64_t LayerMatmulParameters(const LlamaDims& d) {
  return d.hidden * (d.q_rows() + 2 * d.kv_rows()) + d.q_rows() * d.hidden +
         3 * d.hidden * d.intermediate;
}

int64_t TotalParameters(const LlamaDims& d) {
  const int64_t embeddings = d.vocab * d.hidden * (d.tied_embeddings ? 1 : 2);
  return d.layers * (LayerMatmulParameters(d) + 2 * d.hidden) + d.hidden + embeddings;
}

int64_t WeightBytesPerStep(const LlamaDims& d, int dtype_bytes) {
  const int64_t read = d.layers * (LayerMatmulParameters(d) + 2 * d.hidden) + d.hidden +
                       d.vocab * d.hidden;
  return read * dtype_bytes;
}

int64_t KvBytesPerRow(const LlamaDims& d, int64_t context, int dtype_bytes) {
  return 2 * d.layers * d.kv_rows() * context * dtype_bytes;
}

double DecodeFlopsPerToken(const LlamaDims& d, int64_t context) {
  const double matmul = 2.0 * static_cast<double>(d.layers * LayerMatmulParameters(d) +
                                                  d.vocab * d.hidden);
  return matmul + 4.0 * static_cast<double>(d.layers * d.q_rows() * context);
}

double PrefillFlops(const LlamaDims& d, int64_t length) {
  const double n = static_cast<double>(length);
  return 2.0 * n * static_cast<double>(d.layers * LayerMatmulParameters(d)) +
         2.0 * static_cast<double>(d.vocab * d.hidden) +
         2.0 * static_cast<double>(d.layers * d.q_rows()) * n * (n + 1);
}

}  // namespace tgi::benchmark::roofline
