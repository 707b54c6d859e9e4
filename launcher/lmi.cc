#include "launcher/lmi.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/env.h"
#include "launcher/limits.h"

namespace tgi::launcher {

namespace {

namespace fs = std::filesystem;

// The LMI keys this launcher maps; anything else is reported as ignored.
constexpr char kModelId[] = "option.model_id";
constexpr char kRevision[] = "option.revision";
constexpr char kTensorParallel[] = "option.tensor_parallel_degree";
constexpr char kMaxRollingBatch[] = "option.max_rolling_batch_size";
constexpr char kMaxInputLen[] = "option.max_input_len";
constexpr char kMaxOutputLen[] = "option.max_output_len";
constexpr char kMaxModelLen[] = "option.max_model_len";
constexpr char kDtype[] = "option.dtype";
constexpr char kRollingBatch[] = "option.rolling_batch";
constexpr char kTrustRemoteCode[] = "option.trust_remote_code";

absl::StatusOr<int64_t> ParsePositive(const std::string& key, const std::string& value) {
  int64_t parsed = 0;
  if (!absl::SimpleAtoi(value, &parsed) || parsed < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("LMI setting ", key, "=", value, " is not a positive integer"));
  }
  return parsed;
}

absl::StatusOr<std::optional<std::string>> ParseDtype(const std::string& value) {
  const std::string lower = absl::AsciiStrToLower(value);
  if (lower == "fp16" || lower == "float16" || lower == "half") return std::string("float16");
  if (lower == "bf16" || lower == "bfloat16") return std::string("bfloat16");
  if (lower == "fp32" || lower == "float32" || lower == "float") return std::string("float32");
  if (lower == "auto") return std::optional<std::string>();
  return absl::InvalidArgumentError(
      absl::StrCat("LMI setting option.dtype=", value,
                   " is not one of fp16, bf16, fp32 (or float16, bfloat16, float32, auto)"));
}

std::string Trim(std::string_view text) {
  const absl::string_view stripped =
      absl::StripAsciiWhitespace(absl::string_view(text.data(), text.size()));
  return std::string(stripped.data(), stripped.size());
}

}  // namespace

LmiProperties ParseServingProperties(std::string_view text) {
  LmiProperties properties;
  std::istringstream in{std::string(text)};
  std::string line, logical;
  while (std::getline(in, line)) {
    std::string trimmed = Trim(line);
    if (logical.empty() && (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == '!')) continue;
    if (!trimmed.empty() && trimmed.back() == '\\') {
      trimmed.pop_back();
      logical += trimmed;
      continue;
    }
    logical += trimmed;
    const size_t separator = logical.find_first_of("=: \t");
    std::string key = Trim(logical.substr(0, separator));
    std::string value;
    if (separator != std::string::npos) {
      std::string rest = Trim(logical.substr(separator + 1));
      if (!rest.empty() && (rest[0] == '=' || rest[0] == ':')) rest = Trim(rest.substr(1));
      value = rest;
    }
    if (!key.empty()) properties[absl::AsciiStrToLower(key)] = value;
    logical.clear();
  }
  return properties;
}

LmiProperties LmiEnvironment(const char* const* environ) {
  LmiProperties properties;
  LmiProperties aliases;  // HF_MODEL_ID, TENSOR_PARALLEL_DEGREE: OPTION_* forms win over them
  for (const char* const* entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string_view text(*entry);
    const size_t equals = text.find('=');
    if (equals == std::string_view::npos) continue;
    const std::string name(text.substr(0, equals));
    const std::string value = Trim(text.substr(equals + 1));
    if (value.empty()) continue;
    if (name == "HF_MODEL_ID") {
      aliases[kModelId] = value;
    } else if (name == "TENSOR_PARALLEL_DEGREE") {
      aliases[kTensorParallel] = value;
    } else if (absl::StartsWith(name, "OPTION_") && name.size() > 7) {
      properties["option." + absl::AsciiStrToLower(name.substr(7))] = value;
    }
  }
  for (const auto& [key, value] : aliases) properties.emplace(key, value);
  return properties;
}

absl::StatusOr<std::string> FindServingProperties(const LauncherOptions& options,
                                                  const LmiProperties& environment,
                                                  const std::string& lmi_root) {
  std::error_code ec;
  if (options.serving_properties) {
    if (!fs::is_regular_file(*options.serving_properties, ec)) {
      return absl::NotFoundError(
          absl::StrCat("--serving-properties ", *options.serving_properties, " is not a file"));
    }
    return *options.serving_properties;
  }
  std::optional<std::string> model_id = options.model_id;
  if (!model_id) {
    auto it = environment.find(kModelId);
    if (it != environment.end()) model_id = it->second;
  }
  if (model_id) {
    const fs::path candidate = fs::path(*model_id) / "serving.properties";
    if (fs::is_directory(*model_id, ec) && fs::is_regular_file(candidate, ec)) {
      return candidate.string();
    }
    return std::string();
  }
  const fs::path candidate = fs::path(lmi_root) / "serving.properties";
  return fs::is_regular_file(candidate, ec) ? candidate.string() : std::string();
}

absl::StatusOr<LmiResult> ApplyLmi(const std::string& properties_file,
                                   const LmiProperties& environment, LauncherOptions& options) {
  LmiResult result;
  LmiProperties properties;
  if (!properties_file.empty()) {
    std::ifstream in(properties_file);
    if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", properties_file));
    std::stringstream text;
    text << in.rdbuf();
    properties = ParseServingProperties(text.str());
    result.properties_file = properties_file;
  }
  for (const auto& [key, value] : environment) properties[key] = value;

  auto applied = [&](const std::string& key, const std::string& value, const std::string& flag) {
    result.applied.push_back(absl::StrCat(key, "=", value, " -> ", flag));
  };
  auto overridden = [&](const std::string& key, const std::string& value) {
    result.ignored.push_back(
        absl::StrCat(key, "=", value, " (overridden by a flag or TGI environment variable)"));
  };

  for (const auto& [key, value] : properties) {
    if (key == kModelId) {
      if (options.model_id) {
        overridden(key, value);
      } else {
        options.model_id = value;
        applied(key, value, "--model-id " + value);
      }
    } else if (key == kRevision) {
      if (options.revision) {
        overridden(key, value);
      } else {
        options.revision = value;
        applied(key, value, "--revision " + value);
      }
    } else if (key == kTensorParallel) {
      int64_t degree = 0;
      if (absl::AsciiStrToLower(value) == "max") {
        degree = NumCudaDevices().value_or(1);
      } else {
        absl::StatusOr<int64_t> parsed = ParsePositive(key, value);
        if (!parsed.ok()) return parsed.status();
        degree = *parsed;
      }
      if (options.num_shard || options.sharded) {
        overridden(key, value);
      } else {
        options.num_shard = degree;
        applied(key, value, absl::StrCat("--num-shard ", degree));
      }
    } else if (key == kMaxRollingBatch) {
      absl::StatusOr<int64_t> parsed = ParsePositive(key, value);
      if (!parsed.ok()) return parsed.status();
      if (options.max_batch_size) {
        overridden(key, value);
      } else {
        options.max_batch_size = *parsed;
        applied(key, value, absl::StrCat("--max-batch-size ", *parsed));
      }
    } else if (key == kMaxInputLen) {
      absl::StatusOr<int64_t> parsed = ParsePositive(key, value);
      if (!parsed.ok()) return parsed.status();
      if (options.max_input_tokens || options.max_input_length) {
        overridden(key, value);
      } else {
        options.max_input_tokens = *parsed;
        applied(key, value, absl::StrCat("--max-input-tokens ", *parsed));
      }
    } else if (key == kMaxOutputLen) {
      absl::StatusOr<int64_t> parsed = ParsePositive(key, value);
      if (!parsed.ok()) return parsed.status();
      if (options.max_total_tokens) {
        overridden(key, value);
      } else {
        result.max_output_len = *parsed;
        applied(key, value, "--max-total-tokens = max_input_tokens + " + value);
      }
    } else if (key == kMaxModelLen) {
      absl::StatusOr<int64_t> parsed = ParsePositive(key, value);
      if (!parsed.ok()) return parsed.status();
      if (options.max_total_tokens || properties.count(kMaxOutputLen) > 0) {
        overridden(key, value);
      } else {
        options.max_total_tokens = *parsed;
        applied(key, value, absl::StrCat("--max-total-tokens ", *parsed));
      }
    } else if (key == kDtype) {
      absl::StatusOr<std::optional<std::string>> dtype = ParseDtype(value);
      if (!dtype.ok()) return dtype.status();
      if (options.dtype) {
        overridden(key, value);
      } else if (*dtype) {
        options.dtype = **dtype;
        applied(key, value, "--dtype " + **dtype);
      } else {
        result.ignored.push_back(key + "=" + value + " (the device's default dtype is used)");
      }
    } else if (key == kRollingBatch) {
      const std::string lower = absl::AsciiStrToLower(value);
      result.ignored.push_back(
          lower == "disable"
              ? key + "=" + value + " (continuous batching cannot be disabled)"
              : key + "=" + value + " (requests are always batched continuously, as TGI does)");
    } else if (key == kTrustRemoteCode) {
      std::optional<bool> trust = common::ParseBool(value);
      if (!trust) {
        return absl::InvalidArgumentError(
            absl::StrCat("LMI setting ", key, "=", value, " is not true or false"));
      }
      if (*trust && !options.trust_remote_code) {
        options.trust_remote_code = true;
        applied(key, value, "--trust-remote-code");
      }
    } else {
      result.ignored.push_back(key + "=" + value + " (not used by this server)");
    }
  }

  // serving.properties beside the weights without option.model_id: that directory is the model.
  if (!options.model_id && !result.properties_file.empty()) {
    const fs::path dir = fs::path(result.properties_file).parent_path();
    std::error_code ec;
    if (fs::is_regular_file(dir / "config.json", ec)) {
      options.model_id = dir.string();
      applied("serving.properties", result.properties_file, "--model-id " + dir.string());
    }
  }
  return result;
}

}  // namespace tgi::launcher
