#include "launcher/plan.h"

#include <boost/json.hpp>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace tgi::launcher {

namespace {

// An environment under construction: the launcher's, then overrides, keeping the order stable.
class Environment {
 public:
  explicit Environment(const std::vector<std::string>& base) {
    for (const std::string& entry : base) {
      const size_t equals = entry.find('=');
      if (equals == std::string::npos) continue;
      Set(entry.substr(0, equals), entry.substr(equals + 1));
    }
  }
  void Set(const std::string& name, const std::string& value) {
    if (values_.find(name) == values_.end()) order_.push_back(name);
    values_[name] = value;
  }
  void Remove(const std::string& name) {
    values_.erase(name);
    std::erase(order_, name);
  }
  std::optional<std::string> Get(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<std::string> Entries() const {
    std::vector<std::string> entries;
    for (const std::string& name : order_) entries.push_back(name + "=" + values_.at(name));
    return entries;
  }

 private:
  std::vector<std::string> order_;
  std::map<std::string, std::string> values_;
};

// The child's --logger-level: LOG_LEVEL when it is a plain level, else info.
std::string ChildLogLevel(const Environment& env) {
  const std::string level = env.Get("LOG_LEVEL").value_or("info");
  for (const char* plain : {"trace", "debug", "info", "warn", "error"}) {
    if (level == plain) return level;
  }
  return "info";
}

std::string CudaGraphs(const LauncherOptions& options) {
  std::vector<int64_t> graphs = {1, 2, 4, 8, 16, 32};
  if (options.cuda_graphs) {
    graphs = *options.cuda_graphs;
  } else if (options.quantize && options.quantize->rfind("bitsandbytes", 0) == 0) {
    graphs.clear();
  }
  return absl::StrJoin(graphs, ",");
}

ChildSpec BuildShard(const LauncherOptions& options, const PlanInputs& in,
                     const std::vector<int>& cpus, int rank, const std::string& launcher_level) {
  ChildSpec shard;
  shard.name = "shard";
  shard.rank = rank;
  shard.binary = in.shard_binary;
  // The launcher's CPUs are split only between several shards; one shard inherits them all.
  if (in.limits.num_shard > 1) shard.cpus = cpus;
  shard.args = {in.model_dir,     "--uds-path",   options.shard_uds_path,
                "--logger-level", launcher_level, "--json-output"};
  if (options.trust_remote_code) shard.args.push_back("--trust-remote-code");
  if (in.limits.num_shard > 1) shard.args.push_back("--sharded");
  if (in.dtype) {
    shard.args.push_back("--dtype");
    shard.args.push_back(*in.dtype);
  }
  if (options.kv_cache_dtype && options.kv_cache_dtype->rfind("fp8", 0) != 0) {
    shard.args.push_back("--kv-cache-dtype");
    shard.args.push_back(*options.kv_cache_dtype);
  }
  shard.args.push_back("--max-total-tokens");
  shard.args.push_back(absl::StrCat(in.limits.max_total_tokens));
  shard.args.push_back("--num-threads");
  shard.args.push_back(absl::StrCat(std::max<size_t>(1, cpus.size())));
  if (options.otlp_endpoint) {
    shard.args.push_back("--otlp-endpoint");
    shard.args.push_back(*options.otlp_endpoint);
  }

  Environment env(in.environment);
  env.Remove("LOG_LEVEL");
  env.Set("MAX_TOTAL_TOKENS", absl::StrCat(in.limits.max_total_tokens));
  env.Set("RANK", absl::StrCat(rank));
  env.Set("WORLD_SIZE", absl::StrCat(in.limits.num_shard));
  env.Set("MASTER_ADDR", options.master_addr);
  env.Set("MASTER_PORT", absl::StrCat(options.master_port));
  env.Set("TORCH_NCCL_AVOID_RECORD_STREAMS", "1");
  env.Set("CUDA_MEMORY_FRACTION", absl::StrCat(options.cuda_memory_fraction));
  env.Set("SAFETENSORS_FAST_GPU", "1");
  env.Set("HF_HUB_DISABLE_PROGRESS_BARS", "1");
  env.Set("HF_HUB_ENABLE_HF_TRANSFER", env.Get("HF_HUB_ENABLE_HF_TRANSFER").value_or("1"));
  if (auto token = env.Get("HF_API_TOKEN")) env.Set("HUGGING_FACE_HUB_TOKEN", *token);
  if (options.rope_scaling || options.rope_factor) {
    env.Set("ROPE_SCALING", options.rope_scaling.value_or("linear"));
    env.Set("ROPE_FACTOR", absl::StrCat(options.rope_factor.value_or(1.0)));
  }
  if (options.max_batch_size) env.Set("MAX_BATCH_SIZE", absl::StrCat(*options.max_batch_size));
  if (options.huggingface_hub_cache)
    env.Set("HUGGINGFACE_HUB_CACHE", *options.huggingface_hub_cache);
  if (options.weights_cache_override) {
    env.Set("WEIGHTS_CACHE_OVERRIDE", *options.weights_cache_override);
  }
  const std::string graphs = CudaGraphs(options);
  if (!graphs.empty()) env.Set("CUDA_GRAPHS", graphs);
  if (options.disable_custom_kernels) env.Set("DISABLE_CUSTOM_KERNELS", "True");
  if (options.watermark_gamma) env.Set("WATERMARK_GAMMA", absl::StrCat(*options.watermark_gamma));
  if (options.watermark_delta) env.Set("WATERMARK_DELTA", absl::StrCat(*options.watermark_delta));
  if (options.lora_adapters) env.Set("LORA_ADAPTERS", *options.lora_adapters);
  shard.env = env.Entries();
  return shard;
}

ChildSpec BuildRouter(const LauncherOptions& options, const PlanInputs& in) {
  ChildSpec router;
  router.name = "router";
  router.binary = in.router_binary;
  const Limits& limits = in.limits;
  router.args = {
      "--max-client-batch-size",
      absl::StrCat(options.max_client_batch_size),
      "--max-concurrent-requests",
      absl::StrCat(options.max_concurrent_requests),
      "--max-best-of",
      absl::StrCat(options.max_best_of),
      "--max-stop-sequences",
      absl::StrCat(options.max_stop_sequences),
      "--max-top-n-tokens",
      absl::StrCat(options.max_top_n_tokens),
      "--max-input-tokens",
      absl::StrCat(limits.max_input_tokens),
      "--max-total-tokens",
      absl::StrCat(limits.max_total_tokens),
      "--max-batch-prefill-tokens",
      absl::StrCat(limits.max_batch_prefill_tokens),
      "--waiting-served-ratio",
      absl::StrCat(options.waiting_served_ratio),
      "--max-waiting-tokens",
      absl::StrCat(options.max_waiting_tokens),
      "--max-prefill-chunk-tokens",
      absl::StrCat(options.max_prefill_chunk_tokens),
      "--validation-workers",
      absl::StrCat(options.validation_workers),
      "--hostname",
      options.hostname,
      "--port",
      absl::StrCat(options.port),
      "--master-shard-uds-path",
      options.shard_uds_path + "-0",
      "--tokenizer-name",
      in.model_dir,
      "--payload-limit",
      absl::StrCat(options.payload_limit),
      // The router drains for a little less than the launcher waits before SIGKILL, so that
      // what is left still gets a clean error.
      "--drain-timeout",
      absl::StrCat(std::max<int64_t>(0, options.graceful_termination_timeout - 5)),
      "--json-output",
  };
  auto add = [&](const std::string& flag, const std::optional<std::string>& value) {
    if (!value) return;
    router.args.push_back(flag);
    router.args.push_back(*value);
  };
  if (options.disable_grammar_support) router.args.push_back("--disable-grammar-support");
  add("--tokenizer-config-path", options.tokenizer_config_path);
  if (options.max_batch_total_tokens) {
    add("--max-batch-total-tokens", absl::StrCat(*options.max_batch_total_tokens));
  }
  if (options.max_batch_size) add("--max-batch-size", absl::StrCat(*options.max_batch_size));
  add("--revision", options.revision);
  add("--otlp-endpoint", options.otlp_endpoint);
  for (const std::string& origin : options.cors_allow_origin) add("--cors-allow-origin", origin);
  if (options.ngrok) {
    router.args.push_back("--ngrok");
    add("--ngrok-authtoken", options.ngrok_authtoken);
    add("--ngrok-edge", options.ngrok_edge);
  }
  add("--api-key", options.api_key);

  Environment env(in.environment);
  if (auto token = env.Get("HF_API_TOKEN")) env.Set("HUGGING_FACE_HUB_TOKEN", *token);
  router.env = env.Entries();
  return router;
}

}  // namespace

std::optional<std::string> FindEnv(const std::vector<std::string>& environment,
                                   const std::string& name) {
  for (const std::string& entry : environment) {
    if (entry.size() > name.size() && entry.compare(0, name.size(), name) == 0 &&
        entry[name.size()] == '=') {
      return entry.substr(name.size() + 1);
    }
  }
  return std::nullopt;
}

std::vector<std::vector<int>> SplitCpus(const std::vector<int>& cpus, int64_t parts) {
  std::vector<std::vector<int>> slices(static_cast<size_t>(std::max<int64_t>(parts, 1)));
  if (cpus.empty()) return slices;
  const size_t per_part = std::max<size_t>(1, cpus.size() / slices.size());
  for (size_t part = 0; part < slices.size(); ++part) {
    for (size_t i = 0; i < per_part; ++i) {
      slices[part].push_back(cpus[(part * per_part + i) % cpus.size()]);
    }
  }
  return slices;
}

LaunchPlan BuildPlan(const LauncherOptions& options, PlanInputs inputs) {
  LaunchPlan plan;
  plan.inputs = std::move(inputs);
  const PlanInputs& in = plan.inputs;
  const std::string level = ChildLogLevel(Environment(in.environment));
  const std::vector<std::vector<int>> slices = SplitCpus(in.cpus, in.limits.num_shard);
  for (int rank = 0; rank < in.limits.num_shard; ++rank) {
    plan.shards.push_back(BuildShard(options, in, slices[rank], rank, level));
    plan.socket_paths.push_back(absl::StrCat(options.shard_uds_path, "-", rank));
  }
  plan.router = BuildRouter(options, in);
  return plan;
}

std::string PlanToJson(const LauncherOptions& options, const LmiResult& lmi,
                       const LaunchPlan& plan) {
  namespace json = boost::json;
  const PlanInputs& in = plan.inputs;
  auto optional_int = [](const std::optional<int64_t>& value) -> json::value {
    return value ? json::value(*value) : json::value(nullptr);
  };
  auto child = [](const ChildSpec& spec, const std::vector<std::string>& keys) {
    json::object env;
    for (const std::string& key : keys) {
      if (auto value = FindEnv(spec.env, key)) env[key] = *value;
    }
    json::array args;
    for (size_t i = 0; i < spec.args.size(); ++i) {
      // The API key is never printed.
      const bool secret = i > 0 && spec.args[i - 1] == "--api-key";
      args.emplace_back(secret ? "<hidden>" : spec.args[i]);
    }
    json::array cpus;
    for (int cpu : spec.cpus) cpus.emplace_back(cpu);
    return json::object{{"label", spec.Label()},
                        {"binary", spec.binary},
                        {"args", args},
                        {"env", env},
                        {"cpus", cpus}};
  };
  json::array shards;
  for (const ChildSpec& shard : plan.shards) {
    shards.push_back(
        child(shard, {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "MAX_TOTAL_TOKENS",
                      "MAX_BATCH_SIZE", "CUDA_GRAPHS", "WATERMARK_GAMMA", "WATERMARK_DELTA",
                      "ROPE_SCALING", "ROPE_FACTOR", "HUGGINGFACE_HUB_CACHE"}));
  }
  json::array applied, ignored;
  for (const std::string& line : lmi.applied) applied.emplace_back(line);
  for (const std::string& line : lmi.ignored) ignored.emplace_back(line);
  json::object config{
      {"model_id", in.model_id},
      {"model_dir", in.model_dir},
      {"revision", options.revision ? json::value(*options.revision) : json::value(nullptr)},
      {"device", DeviceName(in.device)},
      {"dtype", in.dtype ? json::value(*in.dtype) : json::value(nullptr)},
      {"num_shard", in.limits.num_shard},
      {"max_input_tokens", in.limits.max_input_tokens},
      {"max_total_tokens", in.limits.max_total_tokens},
      {"max_batch_prefill_tokens", in.limits.max_batch_prefill_tokens},
      {"max_batch_total_tokens", optional_int(options.max_batch_total_tokens)},
      {"max_batch_size", optional_int(options.max_batch_size)},
      {"port", options.port},
      {"serving_properties", lmi.properties_file},
      {"lmi_applied", applied},
      {"lmi_ignored", ignored},
      {"shards", shards},
      {"router", child(plan.router, {"HUGGING_FACE_HUB_TOKEN"})},
  };
  return json::serialize(config);
}

std::string DescribeConfiguration(const LauncherOptions& options, const LaunchPlan& plan) {
  const PlanInputs& in = plan.inputs;
  auto or_none = [](const std::optional<int64_t>& value) {
    return value ? absl::StrCat(*value) : std::string("None");
  };
  return absl::StrCat(
      "model_id: ", in.model_id, ", model_dir: ", in.model_dir,
      ", revision: ", options.revision.value_or("None"), ", device: ", DeviceName(in.device),
      ", dtype: ", in.dtype.value_or("None"), ", num_shard: ", in.limits.num_shard,
      ", max_input_tokens: ", in.limits.max_input_tokens,
      ", max_total_tokens: ", in.limits.max_total_tokens,
      ", max_batch_prefill_tokens: ", in.limits.max_batch_prefill_tokens,
      ", max_batch_total_tokens: ", or_none(options.max_batch_total_tokens),
      ", max_batch_size: ", or_none(options.max_batch_size),
      ", max_concurrent_requests: ", options.max_concurrent_requests,
      ", max_best_of: ", options.max_best_of, ", max_stop_sequences: ", options.max_stop_sequences,
      ", max_top_n_tokens: ", options.max_top_n_tokens,
      ", waiting_served_ratio: ", options.waiting_served_ratio,
      ", max_waiting_tokens: ", options.max_waiting_tokens,
      ", validation_workers: ", options.validation_workers, ", hostname: ", options.hostname,
      ", port: ", options.port, ", shard_uds_path: ", options.shard_uds_path,
      ", api_key: ", options.api_key ? "<set>" : "None",
      ", json_output: ", options.json_output ? "true" : "false");
}

}  // namespace tgi::launcher
