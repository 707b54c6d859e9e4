#include "router/options.h"

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/ip/address.hpp"

namespace tgi::router {

namespace {

absl::Status ArgumentError(const std::string& message) {
  return absl::InvalidArgumentError("Argument validation error: " + message);
}

}  // namespace

absl::Status ValidateRouterOptions(const RouterOptions& o) {
  if (o.max_input_tokens >= o.max_total_tokens) {
    return ArgumentError("`max_input_tokens` must be < `max_total_tokens`");
  }
  if (o.max_input_tokens > o.max_batch_prefill_tokens) {
    return ArgumentError(absl::StrCat("`max_batch_prefill_tokens` must be >= `max_input_tokens`. ",
                                      "Given: ", o.max_batch_prefill_tokens, " and ",
                                      o.max_input_tokens));
  }
  if (o.validation_workers == 0) return ArgumentError("`validation_workers` must be > 0");
  if (o.max_batch_total_tokens) {
    if (o.max_batch_prefill_tokens > *o.max_batch_total_tokens) {
      return ArgumentError(absl::StrCat(
          "`max_batch_prefill_tokens` must be <= `max_batch_total_tokens`. Given: ",
          o.max_batch_prefill_tokens, " and ", *o.max_batch_total_tokens));
    }
    if (o.max_total_tokens > *o.max_batch_total_tokens) {
      return ArgumentError(absl::StrCat("`max_total_tokens` must be <= `max_batch_total_tokens`. ",
                                        "Given: ", o.max_total_tokens, " and ",
                                        *o.max_batch_total_tokens));
    }
  }
  if (o.max_batch_size && *o.max_batch_size == 0) {
    return ArgumentError("`max_batch_size` must be > 0");
  }
  return absl::OkStatus();
}

absl::StatusOr<RouterOptions> ParseRouterOptions(int argc, char** argv) {
  RouterOptions o;
  CLI::App app{"text-generation-router: the TGI HTTP API in front of text-generation-shard "
               "processes",
               "text-generation-router"};
  app.set_version_flag("--version,-V", "text-generation-router 2.0.4");
  auto add = [&app](const std::string& name, auto& field, const std::string& env,
                    const std::string& help) {
    return app.add_option(name, field, help)->envname(env)->capture_default_str();
  };
  add("--max-concurrent-requests", o.max_concurrent_requests, "MAX_CONCURRENT_REQUESTS",
      "Requests served at once; more get 429")->check(CLI::PositiveNumber);
  add("--max-best-of", o.max_best_of, "MAX_BEST_OF", "Largest best_of")->check(CLI::NonNegativeNumber);
  add("--max-stop-sequences", o.max_stop_sequences, "MAX_STOP_SEQUENCES", "Stop sequences per request")
      ->check(CLI::NonNegativeNumber);
  add("--max-top-n-tokens", o.max_top_n_tokens, "MAX_TOP_N_TOKENS", "Largest top_n_tokens")
      ->check(CLI::NonNegativeNumber);
  add("--max-input-tokens,--max-input-length", o.max_input_tokens, "MAX_INPUT_TOKENS",
      "Longest prompt in tokens")->check(CLI::PositiveNumber);
  add("--max-total-tokens", o.max_total_tokens, "MAX_TOTAL_TOKENS",
      "Longest prompt + generation in tokens")->check(CLI::PositiveNumber);
  add("--waiting-served-ratio", o.waiting_served_ratio, "WAITING_SERVED_RATIO",
      "Waiting requests per running request that justify pausing the batch to prefill them");
  add("--max-batch-prefill-tokens", o.max_batch_prefill_tokens, "MAX_BATCH_PREFILL_TOKENS",
      "Token budget of one prefill")->check(CLI::PositiveNumber);
  add("--max-batch-total-tokens", o.max_batch_total_tokens, "MAX_BATCH_TOTAL_TOKENS",
      "Token budget of the running batch (default: from warmup)");
  add("--max-waiting-tokens", o.max_waiting_tokens, "MAX_WAITING_TOKENS",
      "Decode steps after which waiting requests are prefilled regardless")
      ->check(CLI::NonNegativeNumber);
  add("--max-batch-size", o.max_batch_size, "MAX_BATCH_SIZE", "Most requests in a batch");
  add("--hostname", o.hostname, "HOSTNAME", "Address to listen on");
  add("--port,-p", o.port, "PORT", "Port to listen on")->check(CLI::Range(0, 65535));
  add("--master-shard-uds-path", o.master_shard_uds_path, "MASTER_SHARD_UDS_PATH",
      "Socket of shard 0");
  add("--tokenizer-name", o.tokenizer_name, "TOKENIZER_NAME",
      "Model directory holding tokenizer.json (and config files)");
  add("--tokenizer-config-path", o.tokenizer_config_path, "TOKENIZER_CONFIG_PATH",
      "tokenizer_config.json to use instead of the model's");
  add("--revision", o.revision, "REVISION", "Model revision (hub downloads are the launcher's)");
  add("--validation-workers", o.validation_workers, "VALIDATION_WORKERS",
      "Tokenizer threads for validation")->check(CLI::NonNegativeNumber);
  add("--api-key", o.api_key, "API_KEY", "Require `Authorization: Bearer <key>` on generation routes");
  app.add_flag("--json-output", o.json_output, "Log JSON lines")->envname("JSON_OUTPUT");
  add("--otlp-endpoint", o.otlp_endpoint, "OTLP_ENDPOINT", "Accepted; tracing export is not built");
  add("--cors-allow-origin", o.cors_allow_origin, "CORS_ALLOW_ORIGIN", "Allowed CORS origins");
  app.add_flag("--messages-api-enabled", o.messages_api_enabled, "Accepted for compatibility")
      ->envname("MESSAGES_API_ENABLED");
  app.add_flag("--disable-grammar-support", o.disable_grammar_support, "Refuse grammars")
      ->envname("DISABLE_GRAMMAR_SUPPORT");
  add("--max-client-batch-size", o.max_client_batch_size, "MAX_CLIENT_BATCH_SIZE",
      "Prompts per /v1/completions call")->check(CLI::PositiveNumber);
  add("--payload-limit", o.payload_limit, "PAYLOAD_LIMIT", "Largest request body in bytes")
      ->check(CLI::PositiveNumber);
  add("--max-prefill-chunk-tokens", o.max_prefill_chunk_tokens, "MAX_PREFILL_CHUNK_TOKENS",
      "Prompt tokens one forward computes at most (chunked prefill); 0: whole prompts")
      ->check(CLI::NonNegativeNumber);
  add("--drain-timeout", o.drain_timeout, "DRAIN_TIMEOUT",
      "Seconds a stop signal waits for the requests in flight before failing them")
      ->check(CLI::NonNegativeNumber);
  add("--http-request-timeout", o.http_request_timeout, "HTTP_REQUEST_TIMEOUT",
      "Seconds a client has to send a whole request once it has begun")
      ->check(CLI::PositiveNumber);
  add("--http-idle-timeout", o.http_idle_timeout, "HTTP_IDLE_TIMEOUT",
      "Seconds a kept-alive connection may wait for its next request")
      ->check(CLI::PositiveNumber);
  add("--http-write-timeout", o.http_write_timeout, "HTTP_WRITE_TIMEOUT",
      "Seconds a client may leave a response unread before it is dropped")
      ->check(CLI::PositiveNumber);
  add("--shard-rpc-timeout", o.shard_rpc_timeout, "SHARD_RPC_TIMEOUT",
      "Seconds a shard may take to answer a call (not warmup); 0: no deadline")
      ->check(CLI::NonNegativeNumber);
  bool ngrok = false;
  std::string ignored;
  app.add_flag("--ngrok", ngrok, "Accepted; ngrok is not built")->envname("NGROK");
  app.add_option("--ngrok-authtoken,--ngrok-edge,--otlp-service-name", ignored,
                 "Accepted for compatibility");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    std::cout << app.help();
    return absl::CancelledError("help");
  } catch (const CLI::CallForVersion&) {
    std::cout << app.version() << "\n";
    return absl::CancelledError("version");
  } catch (const CLI::ParseError& error) {
    return absl::InvalidArgumentError(error.what());
  }

  // HOSTNAME is usually the container id under Docker: TGI falls back to 0.0.0.0.
  boost::system::error_code ec;
  boost::asio::ip::make_address(o.hostname, ec);
  if (ec) {
    spdlog::warn("Invalid hostname, defaulting to 0.0.0.0");
    o.hostname = "0.0.0.0";
  }
  absl::Status status = ValidateRouterOptions(o);
  if (!status.ok()) return status;
  return o;
}

}  // namespace tgi::router
