#include "launcher/limits.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/env.h"

namespace tgi::launcher {

namespace {

constexpr int64_t kMaxDefault = 4096;

absl::Status ArgumentValidation(const std::string& message) {
  return absl::InvalidArgumentError(LauncherErrorText("ArgumentValidation", message));
}

bool IsSetAndNotEmpty(const char* name) {
  std::optional<std::string> value = common::GetEnv(name);
  return value && !value->empty();
}

}  // namespace

std::string DeviceName(Device device) {
  switch (device) {
    case Device::kCuda:
      return "cuda";
    case Device::kHpu:
      return "hpu";
    default:
      return "cpu";
  }
}

Device DetectDevice() {
  if (IsSetAndNotEmpty("HABANA_VISIBLE_DEVICES")) return Device::kHpu;
  if (IsSetAndNotEmpty("CUDA_VISIBLE_DEVICES") || IsSetAndNotEmpty("NVIDIA_VISIBLE_DEVICES")) {
    return Device::kCuda;
  }
  return Device::kCpu;
}

std::optional<int64_t> NumCudaDevices() {
  std::optional<std::string> devices = common::GetEnv("CUDA_VISIBLE_DEVICES");
  if (!devices) devices = common::GetEnv("NVIDIA_VISIBLE_DEVICES");
  if (!devices) return std::nullopt;
  // Rust's split(',').count(): an empty string still counts as one entry.
  return static_cast<int64_t>(std::vector<std::string>(absl::StrSplit(*devices, ',')).size());
}

std::optional<std::string> DefaultDtype(Device device) {
  switch (device) {
    case Device::kCpu:
      return "float32";
    case Device::kHpu:
      return "bfloat16";
    default:
      return std::nullopt;
  }
}

absl::StatusOr<std::optional<int64_t>> ReadMaxPositionEmbeddings(
    const std::string& config_json_path) {
  std::ifstream in(config_json_path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", config_json_path));
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  boost::json::value config = boost::json::parse(text.str(), ec);
  if (ec || !config.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_json_path, " is not a JSON object: ", ec.message()));
  }
  for (const char* key : {"max_position_embeddings", "max_seq_len", "n_positions"}) {
    const boost::json::value* value = config.as_object().if_contains(key);
    if (value == nullptr) continue;
    if (value->is_int64()) return value->as_int64();
    if (value->is_uint64()) return static_cast<int64_t>(value->as_uint64());
  }
  return std::nullopt;
}

std::string LauncherErrorText(const std::string& variant, const std::string& message) {
  std::string text = variant + "(\"";
  for (char c : message) {
    switch (c) {
      case '"':
        text += "\\\"";
        break;
      case '\\':
        text += "\\\\";
        break;
      case '\n':
        text += "\\n";
        break;
      case '\t':
        text += "\\t";
        break;
      default:
        text += c;
    }
  }
  return text + "\")";
}

absl::StatusOr<int64_t> FindNumShards(std::optional<bool> sharded,
                                      std::optional<int64_t> num_shard) {
  int64_t result = 1;
  if (sharded.value_or(false) && !num_shard) {
    spdlog::info("Parsing num_shard from CUDA_VISIBLE_DEVICES/NVIDIA_VISIBLE_DEVICES");
    std::optional<int64_t> devices = NumCudaDevices();
    if (!devices) {
      // TGI panics here; an error with its panic text is kinder.
      return ArgumentValidation(
          "--num-shard and CUDA_VISIBLE_DEVICES/NVIDIA_VISIBLE_DEVICES are not set");
    }
    if (*devices <= 1) {
      return absl::InvalidArgumentError(LauncherErrorText(
          "NotEnoughCUDADevices",
          absl::StrCat("`sharded` is true but only found ", *devices, " CUDA devices")));
    }
    result = *devices;
  } else if (sharded.value_or(false)) {
    if (*num_shard <= 1) return ArgumentValidation("`sharded` is true but `num_shard` <= 1");
    result = *num_shard;
  } else if (sharded.has_value()) {
    result = num_shard.value_or(1);
  } else {
    result = num_shard ? *num_shard : NumCudaDevices().value_or(1);
  }
  if (result < 1) return ArgumentValidation("`num_shard` cannot be < 1");
  return result;
}

absl::StatusOr<Limits> ResolveLimits(const LauncherOptions& options,
                                     std::optional<int64_t> max_position_embeddings,
                                     std::optional<int64_t> lmi_max_output_len) {
  int64_t max_position = kMaxDefault;
  if (max_position_embeddings && *max_position_embeddings > 1) {
    const int64_t max = *max_position_embeddings;
    if (max > kMaxDefault) {
      spdlog::info(
          "Model supports up to {} but tgi will now set its default to {} instead. This is to "
          "save VRAM by refusing large prompts in order to allow more users on the same "
          "hardware. You can increase that size using `--max-batch-prefill-tokens={} "
          "--max-total-tokens={} --max-input-tokens={}`.",
          max, kMaxDefault, max + 50, max, max - 1);
    } else {
      max_position = max;
    }
  }

  Limits limits;
  if (options.max_input_tokens && options.max_input_length) {
    return ArgumentValidation(absl::StrCat(
        "Both `max_input_tokens` (", *options.max_input_tokens, ") and `max_input_length` (",
        *options.max_input_length,
        ") are set. Please define only `max_input_tokens` as `max_input_length is deprecated for "
        "naming consistency."));
  }
  if (options.max_input_tokens || options.max_input_length) {
    limits.max_input_tokens =
        options.max_input_tokens ? *options.max_input_tokens : *options.max_input_length;
  } else {
    limits.max_input_tokens = max_position - 1;
    spdlog::info("Default `max_input_tokens` to {}", limits.max_input_tokens);
  }
  if (options.max_total_tokens) {
    limits.max_total_tokens = *options.max_total_tokens;
  } else if (lmi_max_output_len) {
    limits.max_total_tokens = limits.max_input_tokens + *lmi_max_output_len;
    spdlog::info("`max_total_tokens` = max_input_tokens + option.max_output_len = {}",
                 limits.max_total_tokens);
  } else {
    limits.max_total_tokens = max_position;
    spdlog::info("Default `max_total_tokens` to {}", limits.max_total_tokens);
  }
  if (options.max_batch_prefill_tokens) {
    limits.max_batch_prefill_tokens = *options.max_batch_prefill_tokens;
  } else {
    limits.max_batch_prefill_tokens = options.max_batch_size
                                          ? *options.max_batch_size * limits.max_input_tokens
                                          : limits.max_input_tokens + 50;
    spdlog::info("Default `max_batch_prefill_tokens` to {}", limits.max_batch_prefill_tokens);
  }

  if (limits.max_input_tokens >= limits.max_total_tokens) {
    return ArgumentValidation("`max_input_tokens must be < `max_total_tokens`");
  }
  if (limits.max_input_tokens > limits.max_batch_prefill_tokens) {
    return ArgumentValidation(
        absl::StrCat("`max_batch_prefill_tokens` must be >= `max_input_tokens`. Given: ",
                     limits.max_batch_prefill_tokens, " and ", limits.max_input_tokens));
  }
  if (options.validation_workers == 0) {
    return ArgumentValidation("`validation_workers` must be > 0");
  }
  if (options.trust_remote_code) {
    spdlog::warn(
        "`trust_remote_code` is set. Trusting that model `{}` do not contain malicious code.",
        options.model_id.value_or("stories260K"));
  }
  absl::StatusOr<int64_t> num_shard = FindNumShards(options.sharded, options.num_shard);
  if (!num_shard.ok()) return num_shard.status();
  limits.num_shard = *num_shard;
  if (limits.num_shard > 1) spdlog::info("Sharding model on {} processes", limits.num_shard);

  if (options.max_batch_total_tokens) {
    const int64_t total = *options.max_batch_total_tokens;
    if (limits.max_batch_prefill_tokens > total) {
      return ArgumentValidation(
          absl::StrCat("`max_batch_prefill_tokens` must be <= `max_batch_total_tokens`. Given: ",
                       limits.max_batch_prefill_tokens, " and ", total));
    }
    if (limits.max_total_tokens > total) {
      return ArgumentValidation(
          absl::StrCat("`max_total_tokens` must be <= `max_batch_total_tokens`. Given: ",
                       limits.max_total_tokens, " and ", total));
    }
  }
  if (options.ngrok) {
    if (!options.ngrok_authtoken) {
      return ArgumentValidation("`ngrok-authtoken` must be set when using ngrok tunneling");
    }
    if (!options.ngrok_edge) {
      return ArgumentValidation("`ngrok-edge` must be set when using ngrok tunneling");
    }
  }
  return limits;
}

}  // namespace tgi::launcher
