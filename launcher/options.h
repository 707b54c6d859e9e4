// The launcher's command line: every flag of TGI 2.x's text-generation-launcher, each also read
// from its upper-snake-case environment variable (a flag wins over its variable), plus tgi-cpp's
// own flags. Parsing only: derived defaults and argument checks live in limits.h, LMI settings in
// lmi.h. Nothing here touches files, the network or processes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::launcher {

struct LauncherOptions {
  // Unset: the bundled stories260K model (TGI's default is bigscience/bloom-560m).
  std::optional<std::string> model_id;
  std::optional<std::string> revision;
  int64_t validation_workers = 2;
  std::optional<bool> sharded;
  std::optional<int64_t> num_shard;
  std::optional<std::string> quantize;
  std::optional<int64_t> speculate;
  std::optional<std::string> dtype;
  std::optional<std::string> kv_cache_dtype;
  bool trust_remote_code = false;
  int64_t max_concurrent_requests = 128;
  int64_t max_best_of = 2;
  int64_t max_stop_sequences = 4;
  int64_t max_top_n_tokens = 5;
  std::optional<int64_t> max_input_tokens;
  std::optional<int64_t> max_input_length;
  std::optional<int64_t> max_total_tokens;
  double waiting_served_ratio = 0.3;
  std::optional<int64_t> max_batch_prefill_tokens;
  std::optional<int64_t> max_batch_total_tokens;
  int64_t max_waiting_tokens = 20;
  // tgi-cpp's own: chunked prefill's budget of prompt tokens per forward (0: whole prompts).
  int64_t max_prefill_chunk_tokens = 128;
  std::optional<int64_t> max_batch_size;
  std::optional<std::vector<int64_t>> cuda_graphs;
  std::string hostname = "0.0.0.0";
  int64_t port = 3000;
  std::string shard_uds_path = "/tmp/text-generation-server";
  std::string master_addr = "localhost";
  int64_t master_port = 29500;
  std::optional<std::string> huggingface_hub_cache;
  std::optional<std::string> weights_cache_override;
  bool disable_custom_kernels = false;
  double cuda_memory_fraction = 1.0;
  std::optional<std::string> rope_scaling;
  std::optional<double> rope_factor;
  bool json_output = false;
  std::optional<std::string> otlp_endpoint;
  std::string otlp_service_name = "text-generation-inference.router";
  std::vector<std::string> cors_allow_origin;
  std::optional<std::string> api_key;
  std::optional<double> watermark_gamma;
  std::optional<double> watermark_delta;
  bool ngrok = false;
  std::optional<std::string> ngrok_authtoken;
  std::optional<std::string> ngrok_edge;
  std::optional<std::string> tokenizer_config_path;
  bool disable_grammar_support = false;
  bool env = false;
  int64_t max_client_batch_size = 4;
  std::optional<std::string> lora_adapters;
  std::string usage_stats = "on";
  int64_t payload_limit = 2'000'000;
  bool enable_prefill_logprobs = false;

  // tgi-cpp additions.
  std::optional<std::string> serving_properties;
  int64_t shard_startup_timeout = 600;
  int64_t graceful_termination_timeout = 90;
  bool print_config = false;
};

// What the command line asked for: run, or print something and exit with `exit_code`.
struct ParsedCommandLine {
  LauncherOptions options;
  bool exit_now = false;
  int exit_code = 0;
  // Printed to stdout (help, version) or stderr (errors) when exit_now is set.
  std::string out;
  std::string err;
};

// Parses argv and the environment. Usage errors come back as exit_now with exit code 2 and a
// clap-style message in `err`; --help and --version as exit_now with code 0.
ParsedCommandLine ParseCommandLine(int argc, const char* const* argv);

// The environment variable of every flag that has one (MODEL_ID, PORT, HOSTNAME, …).
std::vector<std::string> FlagEnvironmentNames();

}  // namespace tgi::launcher
