// The router's command line (TGI's standalone router flags, each also read from its upper-snake-
// case environment variable) and the argument checks TGI makes before starting. Parsing only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::router {

struct RouterOptions {
  int64_t max_concurrent_requests = 128;
  int64_t max_best_of = 2;
  int64_t max_stop_sequences = 4;
  int64_t max_top_n_tokens = 5;
  int64_t max_input_tokens = 1024;
  int64_t max_total_tokens = 2048;
  double waiting_served_ratio = 1.2;
  int64_t max_batch_prefill_tokens = 4096;
  std::optional<int64_t> max_batch_total_tokens;
  int64_t max_waiting_tokens = 20;
  // Not a TGI flag: chunked prefill's budget of prompt tokens per forward (0: whole prompts).
  int64_t max_prefill_chunk_tokens = 128;
  std::optional<int64_t> max_batch_size;
  std::string hostname = "0.0.0.0";
  int64_t port = 3000;
  std::string master_shard_uds_path = "/tmp/text-generation-server-0";
  std::string tokenizer_name = "bigscience/bloom";
  std::string tokenizer_config_path;
  std::string revision;
  int64_t validation_workers = 2;
  std::string api_key;
  bool json_output = false;
  std::string otlp_endpoint;
  std::vector<std::string> cors_allow_origin;
  bool messages_api_enabled = false;
  bool disable_grammar_support = false;
  int64_t max_client_batch_size = 4;
  int64_t payload_limit = 2'000'000;
  // Not a TGI flag: how long a stop signal waits for the requests in flight (the launcher passes
  // a little less than its --graceful-termination-timeout) before failing them.
  int64_t drain_timeout = 85;
  // Not TGI flags: a client has this long to send a whole request once its first byte is in (a
  // slowloris client sending a byte a second is closed), and a kept-alive connection with no
  // request is closed after the idle timeout; a write the client does not take within the write
  // timeout drops the connection (and cancels its request).
  int64_t http_request_timeout = 10;
  int64_t http_idle_timeout = 75;
  int64_t http_write_timeout = 30;
  // Not a TGI flag: seconds a shard may take to answer any call but Warmup (a stopped or hung
  // shard fails the batch instead of hanging the router); 0: no deadline.
  int64_t shard_rpc_timeout = 120;
};

// Parses argv and the environment (a flag wins over its variable), then runs TGI's checks.
// --help / --version print and return a kCancelled status. Errors carry TGI's text, e.g.
// "Argument validation error: `max_input_tokens` must be < `max_total_tokens`".
absl::StatusOr<RouterOptions> ParseRouterOptions(int argc, char** argv);

// TGI's argument checks alone (used by ParseRouterOptions and by the launcher's tests).
absl::Status ValidateRouterOptions(const RouterOptions& options);

}  // namespace tgi::router
