#include "shard/model/model_config.h"

#include <boost/json.hpp>
#include <fstream>
#include <sstream>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "shard/model/status_macros.h"

namespace tgi::shard {
namespace {

namespace json = boost::json;

absl::StatusOr<std::string> ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path.string()));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path.string()));
  return std::move(buffer).str();
}

absl::StatusOr<json::object> ParseObject(std::string_view text, absl::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(json::string_view(text.data(), text.size()), ec);
  if (ec) return absl::InvalidArgumentError(absl::StrCat(what, ": invalid JSON: ", ec.message()));
  if (!value.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": top-level value is not an object"));
  }
  return std::move(value.as_object());
}

// A key that is absent or null reads as std::nullopt.
const json::value* Find(const json::object& object, absl::string_view key) {
  const json::value* value = object.if_contains(json::string_view(key.data(), key.size()));
  return value == nullptr || value->is_null() ? nullptr : value;
}

absl::StatusOr<std::optional<int64_t>> GetInt(const json::object& object, absl::string_view key) {
  const json::value* value = Find(object, key);
  if (value == nullptr) return std::optional<int64_t>();
  if (value->is_int64()) return std::optional<int64_t>(value->as_int64());
  if (value->is_uint64() && value->as_uint64() <= INT64_MAX) {
    return std::optional<int64_t>(static_cast<int64_t>(value->as_uint64()));
  }
  return absl::InvalidArgumentError(absl::StrCat("config.json: '", key, "' must be an integer"));
}

absl::StatusOr<std::optional<double>> GetDouble(const json::object& object, absl::string_view key) {
  const json::value* value = Find(object, key);
  if (value == nullptr) return std::optional<double>();
  boost::system::error_code ec;
  double number = value->to_number<double>(ec);
  if (ec)
    return absl::InvalidArgumentError(absl::StrCat("config.json: '", key, "' must be a number"));
  return std::optional<double>(number);
}

absl::StatusOr<std::optional<bool>> GetBool(const json::object& object, absl::string_view key) {
  const json::value* value = Find(object, key);
  if (value == nullptr) return std::optional<bool>();
  if (!value->is_bool()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: '", key, "' must be a boolean"));
  }
  return std::optional<bool>(value->as_bool());
}

absl::StatusOr<std::optional<std::string>> GetString(const json::object& object,
                                                     absl::string_view key) {
  const json::value* value = Find(object, key);
  if (value == nullptr) return std::optional<std::string>();
  if (!value->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: '", key, "' must be a string"));
  }
  return std::optional<std::string>(std::string(value->as_string()));
}

// eos_token_id is an integer or a list of integers.
absl::StatusOr<std::vector<int64_t>> GetIdList(const json::object& object, absl::string_view key,
                                               absl::string_view file) {
  const json::value* value = Find(object, key);
  std::vector<int64_t> ids;
  if (value == nullptr) return ids;
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat(file, ": '", key, "' must be an integer or a list of integers"));
  };
  if (value->is_int64()) {
    ids.push_back(value->as_int64());
  } else if (value->is_array()) {
    for (const json::value& id : value->as_array()) {
      if (!id.is_int64()) return bad();
      ids.push_back(id.as_int64());
    }
  } else {
    return bad();
  }
  return ids;
}

// Required positive integer.
absl::Status ReadPositive(const json::object& object, absl::string_view key, int64_t& out) {
  absl::StatusOr<std::optional<int64_t>> value = GetInt(object, key);
  if (!value.ok()) return value.status();
  if (!value->has_value()) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: missing '", key, "'"));
  }
  if (**value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("config.json: '", key, "' must be positive"));
  }
  out = **value;
  return absl::OkStatus();
}

absl::StatusOr<RopeScaling> ParseRopeScaling(const json::object& config) {
  RopeScaling scaling;
  const json::value* value = Find(config, "rope_scaling");
  if (value == nullptr) return scaling;
  if (!value->is_object()) {
    return absl::InvalidArgumentError("config.json: 'rope_scaling' must be an object or null");
  }
  const json::object& object = value->as_object();
  // Newer configs name the type `rope_type`, older ones `type`.
  TGI_ASSIGN_OR_RETURN(std::optional<std::string> type, GetString(object, "rope_type"));
  if (!type.has_value()) {
    TGI_ASSIGN_OR_RETURN(type, GetString(object, "type"));
  }
  if (!type.has_value()) {
    return absl::InvalidArgumentError("config.json: 'rope_scaling' has no 'type' or 'rope_type'");
  }
  if (*type == "default") return scaling;
  if (*type != "linear" && *type != "llama3") {
    return absl::InvalidArgumentError(absl::StrCat("config.json: unsupported rope_scaling type '",
                                                   *type, "' (supported: linear, llama3)"));
  }
  TGI_ASSIGN_OR_RETURN(std::optional<double> factor, GetDouble(object, "factor"));
  if (!factor.has_value() || *factor <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: rope_scaling '", *type, "' needs a positive 'factor'"));
  }
  scaling.factor = *factor;
  if (*type == "linear") {
    scaling.type = RopeScaling::Type::kLinear;
    return scaling;
  }
  scaling.type = RopeScaling::Type::kLlama3;
  TGI_ASSIGN_OR_RETURN(std::optional<double> low, GetDouble(object, "low_freq_factor"));
  TGI_ASSIGN_OR_RETURN(std::optional<double> high, GetDouble(object, "high_freq_factor"));
  TGI_ASSIGN_OR_RETURN(std::optional<int64_t> original,
                       GetInt(object, "original_max_position_embeddings"));
  if (!low.has_value() || !high.has_value() || !original.has_value()) {
    return absl::InvalidArgumentError(
        "config.json: rope_scaling 'llama3' needs low_freq_factor, high_freq_factor and "
        "original_max_position_embeddings");
  }
  if (*high <= *low || *low <= 0 || *original <= 0) {
    return absl::InvalidArgumentError(
        "config.json: rope_scaling 'llama3' needs 0 < low_freq_factor < high_freq_factor and a "
        "positive original_max_position_embeddings");
  }
  scaling.low_freq_factor = *low;
  scaling.high_freq_factor = *high;
  scaling.original_max_position_embeddings = *original;
  return scaling;
}

}  // namespace

absl::StatusOr<ModelConfig> ParseModelConfig(std::string_view json_text) {
  TGI_ASSIGN_OR_RETURN(json::object object, ParseObject(json_text, "config.json"));
  ModelConfig config;

  TGI_ASSIGN_OR_RETURN(std::optional<std::string> model_type, GetString(object, "model_type"));
  if (!model_type.has_value())
    return absl::InvalidArgumentError("config.json: missing 'model_type'");
  config.model_type = *model_type;
  if (config.model_type != "llama" && config.model_type != "mistral") {
    return absl::InvalidArgumentError(absl::StrCat("config.json: unsupported model_type '",
                                                   config.model_type,
                                                   "' (supported: llama, mistral)"));
  }
  if (const json::value* architectures = Find(object, "architectures")) {
    if (!architectures->is_array()) {
      return absl::InvalidArgumentError("config.json: 'architectures' must be a list of strings");
    }
    for (const json::value& name : architectures->as_array()) {
      if (!name.is_string()) {
        return absl::InvalidArgumentError("config.json: 'architectures' must be a list of strings");
      }
      std::string architecture(name.as_string());
      if (architecture != "LlamaForCausalLM" && architecture != "MistralForCausalLM") {
        return absl::InvalidArgumentError(
            absl::StrCat("config.json: unsupported architecture '", architecture,
                         "' (supported: LlamaForCausalLM, MistralForCausalLM)"));
      }
      config.architectures.push_back(std::move(architecture));
    }
  }
  // Mistral differs from Llama only by its sliding window; one that never slides is Llama.
  TGI_ASSIGN_OR_RETURN(std::optional<int64_t> sliding_window, GetInt(object, "sliding_window"));

  TGI_RETURN_IF_ERROR(ReadPositive(object, "hidden_size", config.hidden_size));
  TGI_RETURN_IF_ERROR(ReadPositive(object, "intermediate_size", config.intermediate_size));
  TGI_RETURN_IF_ERROR(ReadPositive(object, "num_hidden_layers", config.num_hidden_layers));
  TGI_RETURN_IF_ERROR(ReadPositive(object, "num_attention_heads", config.num_attention_heads));
  TGI_RETURN_IF_ERROR(ReadPositive(object, "vocab_size", config.vocab_size));

  TGI_ASSIGN_OR_RETURN(std::optional<int64_t> kv_heads, GetInt(object, "num_key_value_heads"));
  config.num_key_value_heads = kv_heads.value_or(config.num_attention_heads);
  if (config.num_key_value_heads <= 0 ||
      config.num_attention_heads % config.num_key_value_heads != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "config.json: num_attention_heads (", config.num_attention_heads,
        ") must be a multiple of num_key_value_heads (", config.num_key_value_heads, ")"));
  }
  TGI_ASSIGN_OR_RETURN(std::optional<int64_t> head_dim, GetInt(object, "head_dim"));
  if (!head_dim.has_value()) {
    if (config.hidden_size % config.num_attention_heads != 0) {
      return absl::InvalidArgumentError(
          "config.json: hidden_size is not a multiple of num_attention_heads and no head_dim");
    }
    head_dim = config.hidden_size / config.num_attention_heads;
  }
  config.head_dim = *head_dim;
  if (config.head_dim <= 0 || config.head_dim % 2 != 0) {
    return absl::InvalidArgumentError("config.json: head_dim must be positive and even");
  }

  TGI_ASSIGN_OR_RETURN(std::optional<int64_t> max_positions,
                       GetInt(object, "max_position_embeddings"));
  config.max_position_embeddings = max_positions.value_or(config.max_position_embeddings);
  if (config.max_position_embeddings <= 0) {
    return absl::InvalidArgumentError("config.json: 'max_position_embeddings' must be positive");
  }
  if (sliding_window.has_value() && *sliding_window < config.max_position_embeddings) {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: sliding_window ", *sliding_window,
                     " < max_position_embeddings is not supported (sliding window attention)"));
  }

  TGI_ASSIGN_OR_RETURN(std::optional<double> eps, GetDouble(object, "rms_norm_eps"));
  config.rms_norm_eps = eps.value_or(config.rms_norm_eps);
  TGI_ASSIGN_OR_RETURN(std::optional<double> theta, GetDouble(object, "rope_theta"));
  config.rope_theta = theta.value_or(config.rope_theta);
  if (config.rms_norm_eps < 0 || config.rope_theta <= 0) {
    return absl::InvalidArgumentError(
        "config.json: rms_norm_eps must be >= 0 and rope_theta positive");
  }
  TGI_ASSIGN_OR_RETURN(config.rope_scaling, ParseRopeScaling(object));

  TGI_ASSIGN_OR_RETURN(std::optional<std::string> act, GetString(object, "hidden_act"));
  if (act.has_value() && *act != "silu") {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: unsupported hidden_act '", *act, "' (supported: silu)"));
  }
  TGI_ASSIGN_OR_RETURN(std::optional<bool> tie, GetBool(object, "tie_word_embeddings"));
  config.tie_word_embeddings = tie.value_or(false);
  TGI_ASSIGN_OR_RETURN(std::optional<bool> attention_bias, GetBool(object, "attention_bias"));
  config.attention_bias = attention_bias.value_or(false);
  TGI_ASSIGN_OR_RETURN(std::optional<bool> mlp_bias, GetBool(object, "mlp_bias"));
  config.mlp_bias = mlp_bias.value_or(false);
  TGI_ASSIGN_OR_RETURN(std::optional<std::string> torch_dtype, GetString(object, "torch_dtype"));
  config.torch_dtype = torch_dtype.value_or("");
  TGI_ASSIGN_OR_RETURN(config.bos_token_id, GetInt(object, "bos_token_id"));
  TGI_ASSIGN_OR_RETURN(config.eos_token_ids, GetIdList(object, "eos_token_id", "config.json"));
  return config;
}

absl::StatusOr<ModelConfig> LoadModelConfig(const std::filesystem::path& dir) {
  TGI_ASSIGN_OR_RETURN(std::string text, ReadFile(dir / "config.json"));
  absl::StatusOr<ModelConfig> config = ParseModelConfig(text);
  if (!config.ok()) {
    return absl::Status(config.status().code(), absl::StrCat((dir / "config.json").string(), ": ",
                                                             config.status().message()));
  }
  std::filesystem::path generation_path = dir / "generation_config.json";
  if (!std::filesystem::exists(generation_path)) return config;
  TGI_ASSIGN_OR_RETURN(std::string generation_text, ReadFile(generation_path));
  TGI_ASSIGN_OR_RETURN(json::object generation,
                       ParseObject(generation_text, generation_path.string()));
  TGI_ASSIGN_OR_RETURN(std::vector<int64_t> eos,
                       GetIdList(generation, "eos_token_id", generation_path.string()));
  if (!eos.empty()) config->eos_token_ids = std::move(eos);
  return config;
}

}  // namespace tgi::shard
