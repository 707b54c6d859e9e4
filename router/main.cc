// text-generation-router: the TGI HTTP API. Loads the tokenizer, connects to the shards, warms
// them up (tgi-gaudi's bucket enumeration), then serves HTTP. A stop signal (SIGTERM, SIGINT) is
// honoured in every phase: while connecting or warming up it cancels the RPC in flight and exits;
// while serving it stops accepting, drains the requests in flight for up to --drain-timeout, fails
// whatever is left with a clean error, and exits.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>

#include "common/env.h"
#include "common/gaudi_env.h"
#include "common/logging.h"
#include "common/stop_signal.h"
#include "common/tokenizer/tokenizer.h"
#include "router/chat/chat_prompt.h"
#include "router/http/routes.h"
#include "router/http/server.h"
#include "router/infer/infer.h"
#include "router/metrics/metrics.h"
#include "router/options.h"
#include "router/scheduler/batch_limits.h"
#include "router/scheduler/scheduler.h"
#include "router/scheduler/warmup.h"
#include "router/shard_client/grpc_shard_client.h"
#include "router/validation/validation.h"
#include "router/validation/validation_tokenizer.h"

namespace tgi::router {
namespace {

// After the drain: how long the I/O threads get to deliver the errors of what was left.
constexpr std::chrono::seconds kFlushTimeout{2};

int Stopped(const char* phase) {
  spdlog::info("stop signal received while {}; exiting", phase);
  return 0;
}

std::shared_ptr<const common::Tokenizer> LoadTokenizer(const RouterOptions& options) {
  absl::StatusOr<std::unique_ptr<common::Tokenizer>> tokenizer =
      common::Tokenizer::FromDirectory(options.tokenizer_name);
  if (!tokenizer.ok()) {
    spdlog::warn("Could not find a fast tokenizer implementation for {} ({}); validation and "
                 "truncation are done by the shards",
                 options.tokenizer_name, std::string(tokenizer.status().message()));
    return nullptr;
  }
  return std::shared_ptr<const common::Tokenizer>(std::move(*tokenizer));
}

// The chat template, found and parsed at start-up: a template that does not parse stops the
// router here rather than failing each request. nullptr (and ok) when the model has none.
absl::StatusOr<std::shared_ptr<const chat::ChatPrompt>> LoadChatPrompt(
    const RouterOptions& options, const common::Tokenizer* tokenizer) {
  absl::StatusOr<std::optional<chat::ChatTemplateSource>> source =
      chat::LoadChatTemplateSource(options.tokenizer_name, options.tokenizer_config_path);
  if (!source.ok()) {
    return absl::InvalidArgumentError("Could not load the chat template: " +
                                      std::string(source.status().message()));
  }
  if (!source->has_value()) {
    spdlog::warn("No chat template for {}: /v1/chat/completions will answer 422",
                 options.tokenizer_name);
    return nullptr;
  }
  const std::string origin = (*source)->origin;
  chat::ChatPrompt::SpecialTokens special;
  if (tokenizer != nullptr) {
    special.tokenizer_adds_bos = tokenizer->add_bos_token();
    special.tokenizer_adds_eos = tokenizer->add_eos_token();
  }
  absl::StatusOr<chat::ChatPrompt> prompt = chat::ChatPrompt::Create(std::move(**source), special);
  if (!prompt.ok()) {
    return absl::InvalidArgumentError("Invalid chat template in " + origin + ": " +
                                      std::string(prompt.status().message()));
  }
  spdlog::info("Chat template loaded from {}", origin);
  return std::make_shared<const chat::ChatPrompt>(std::move(*prompt));
}

int Run(const RouterOptions& options, common::StopSignal& stop) {
  absl::StatusOr<common::GaudiEnv> gaudi = common::ReadGaudiEnv();
  if (!gaudi.ok()) {
    spdlog::error("{}", std::string(gaudi.status().message()));
    return 1;
  }
  // tgi-gaudi loads no tokenizer with SKIP_TOKENIZER_IN_TGI: inputs are token ids.
  std::shared_ptr<const common::Tokenizer> tokenizer =
      gaudi->skip_tokenizer ? nullptr : LoadTokenizer(options);
  absl::StatusOr<std::shared_ptr<const chat::ChatPrompt>> chat_prompt =
      LoadChatPrompt(options, tokenizer.get());
  if (!chat_prompt.ok()) {
    spdlog::error("{}", std::string(chat_prompt.status().message()));
    return 1;
  }

  spdlog::info("Connecting to shard {}", options.master_shard_uds_path);
  absl::StatusOr<std::unique_ptr<GrpcShardClient>> connected = GrpcShardClient::Connect(
      options.master_shard_uds_path, std::chrono::seconds(60), [&stop] { return stop.stopped(); });
  if (stop.stopped()) return Stopped("connecting to the shards");
  if (!connected.ok()) {
    spdlog::error("Could not connect to the shards: {}", std::string(connected.status().message()));
    return 1;
  }
  std::shared_ptr<GrpcShardClient> client = std::move(*connected);
  client->set_rpc_timeout(std::chrono::seconds(options.shard_rpc_timeout));
  // Until serving starts, a stop signal cancels the RPC in flight (a warmup call can be long).
  std::optional<common::StopSignal::Scope> cancel_on_stop =
      stop.OnStop([client] { client->CancelAll(); });
  if (absl::Status status = client->ClearCache(std::nullopt); !status.ok()) {
    if (stop.stopped()) return Stopped("starting");
    spdlog::error("ClearCache failed: {}", std::string(status.message()));
    return 1;
  }
  absl::StatusOr<ShardInfo> shard_info = client->Info();
  if (!shard_info.ok()) {
    if (stop.stopped()) return Stopped("starting");
    spdlog::error("Info failed: {}", std::string(shard_info.status().message()));
    return 1;
  }
  spdlog::info("Connected to {} shard(s): dtype {}, device {}", client->shard_paths().size(),
               shard_info->dtype, shard_info->device_type);

  const auto u32 = [](std::optional<int64_t> v) -> std::optional<uint32_t> {
    if (!v) return std::nullopt;
    return static_cast<uint32_t>(*v);
  };
  const BatchLimits limits =
      CoupleBatchLimits(u32(options.max_batch_size), u32(options.max_batch_total_tokens),
                        static_cast<uint32_t>(options.max_total_tokens));

  std::optional<uint32_t> supported;
  if (gaudi->warmup_enabled) {
    WarmupOptions warmup;
    warmup.batch_bucket_size = gaudi->batch_bucket_size;
    warmup.prefill_batch_bucket_size = gaudi->prefill_batch_bucket_size;
    warmup.pad_sequence_to_multiple_of = gaudi->pad_sequence_to_multiple_of;
    warmup.max_input_tokens = static_cast<uint32_t>(options.max_input_tokens);
    warmup.max_batch_prefill_tokens = static_cast<uint32_t>(options.max_batch_prefill_tokens);
    warmup.max_total_tokens = static_cast<uint32_t>(options.max_total_tokens);
    warmup.max_batch_size = limits.max_batch_size;
    warmup.skip_tokenizer = gaudi->skip_tokenizer;
    warmup.every_shape = shard_info->device_type != "cpu";
    warmup.max_prefill_chunk_tokens = static_cast<uint32_t>(options.max_prefill_chunk_tokens);
    absl::StatusOr<WarmupPlan> plan = PlanWarmup(warmup);
    if (!plan.ok()) {
      spdlog::error("Warmup plan: {}", std::string(plan.status().message()));
      return 1;
    }
    absl::StatusOr<std::optional<uint32_t>> result =
        RunWarmup(*client, *plan, warmup, [&stop] { return stop.stopped(); });
    if (stop.stopped()) return Stopped("warming up");
    if (!result.ok()) {
      spdlog::error("Warmup failed: {}", std::string(result.status().message()));
      return 1;
    }
    supported = *result;
  } else {
    spdlog::info("Warmup skipped (WARMUP_ENABLED=false)");
  }
  absl::StatusOr<uint32_t> max_batch_total_tokens = ResolveMaxBatchTotalTokens(
      limits.max_batch_total_tokens, supported, static_cast<uint32_t>(options.max_total_tokens),
      static_cast<uint32_t>(options.max_batch_prefill_tokens));
  if (!max_batch_total_tokens.ok()) {
    spdlog::error("{}", std::string(max_batch_total_tokens.status().message()));
    return 1;
  }
  spdlog::info("Setting max batch total tokens to {}", *max_batch_total_tokens);
  cancel_on_stop.reset();

  auto metrics = std::make_shared<Metrics>(
      MetricsConfig{.max_input_tokens = static_cast<uint32_t>(options.max_input_tokens),
                    .max_total_tokens = static_cast<uint32_t>(options.max_total_tokens),
                    .speculate = shard_info->speculate});
  SchedulerOptions scheduler_options;
  scheduler_options.observer = metrics;
  scheduler_options.max_batch_prefill_tokens =
      static_cast<uint32_t>(options.max_batch_prefill_tokens);
  scheduler_options.max_batch_total_tokens = *max_batch_total_tokens;
  scheduler_options.max_batch_size = limits.max_batch_size;
  scheduler_options.waiting_served_ratio = static_cast<float>(options.waiting_served_ratio);
  scheduler_options.max_waiting_tokens = static_cast<uint32_t>(options.max_waiting_tokens);
  scheduler_options.max_prefill_chunk_tokens =
      static_cast<uint32_t>(options.max_prefill_chunk_tokens);
  scheduler_options.queue.pad_sequence_to_multiple_of = gaudi->pad_sequence_to_multiple_of;
  scheduler_options.queue.threshold = gaudi->queue_threshold;
  scheduler_options.queue.speculate = shard_info->speculate;
  Scheduler scheduler(client, scheduler_options);
  scheduler.Start();

  ValidationConfig validation_config;
  validation_config.skip_tokenizer = gaudi->skip_tokenizer;
  validation_config.quant_config = gaudi->quant_config;
  validation_config.max_best_of = static_cast<size_t>(options.max_best_of);
  validation_config.max_stop_sequences = static_cast<size_t>(options.max_stop_sequences);
  validation_config.max_top_n_tokens = static_cast<uint32_t>(options.max_top_n_tokens);
  validation_config.max_input_tokens = static_cast<size_t>(options.max_input_tokens);
  validation_config.max_total_tokens = static_cast<size_t>(options.max_total_tokens);
  validation_config.validation_workers = static_cast<size_t>(options.validation_workers);
  validation_config.disable_grammar_support = options.disable_grammar_support;
  Validation validation(validation_config, tokenizer ? WrapTokenizer(tokenizer) : nullptr);
  Infer infer(static_cast<size_t>(options.max_concurrent_requests), validation, scheduler,
              metrics);
  metrics->WatchAdmission(&infer.admission());
  metrics->WatchKvUsage([client] { return client->kv_usage(); });

  http::RoutesConfig routes_config;
  routes_config.cors_allow_origin = options.cors_allow_origin;
  routes_config.api_key = options.api_key;
  routes_config.chat_prompt = std::move(*chat_prompt);
  routes_config.compute_type = common::GetEnvString("COMPUTE_TYPE", "gpu+optimized");
  Info& info = routes_config.info;
  info.model_id = options.tokenizer_name;
  info.model_dtype = shard_info->dtype;
  info.model_device_type = shard_info->device_type;
  info.max_concurrent_requests = static_cast<uint64_t>(options.max_concurrent_requests);
  info.max_best_of = static_cast<uint64_t>(options.max_best_of);
  info.max_stop_sequences = static_cast<uint64_t>(options.max_stop_sequences);
  info.max_input_length = static_cast<uint64_t>(options.max_input_tokens);
  info.max_total_tokens = static_cast<uint64_t>(options.max_total_tokens);
  info.waiting_served_ratio = static_cast<float>(options.waiting_served_ratio);
  info.max_batch_total_tokens = *max_batch_total_tokens;
  info.max_waiting_tokens = static_cast<uint64_t>(options.max_waiting_tokens);
  if (limits.max_batch_size) info.max_batch_size = *limits.max_batch_size;
  info.validation_workers = static_cast<uint64_t>(options.validation_workers);
  info.max_client_batch_size = static_cast<uint64_t>(options.max_client_batch_size);
  if (std::optional<std::string> label = common::GetEnv("DOCKER_LABEL")) info.docker_label = label;
  http::Routes routes(std::move(routes_config), infer, validation, scheduler, *metrics);

  http::ServerOptions server_options;
  server_options.hostname = options.hostname;
  server_options.port = static_cast<uint16_t>(options.port);
  server_options.payload_limit = static_cast<uint64_t>(options.payload_limit);
  server_options.request_timeout = std::chrono::seconds(options.http_request_timeout);
  server_options.idle_timeout = std::chrono::seconds(options.http_idle_timeout);
  server_options.write_timeout = std::chrono::seconds(options.http_write_timeout);
  http::Server server(server_options, [&routes](http::Request request,
                                                std::shared_ptr<http::Responder> responder) {
    routes.Handle(std::move(request), std::move(responder));
  });
  try {
    server.Start();
  } catch (const std::exception& error) {
    spdlog::error("{}", error.what());
    return 1;
  }
  spdlog::info("Connected");
  spdlog::info("Serving on http://{}:{}", options.hostname, server.port());

  stop.Wait();
  spdlog::info("signal {} received, starting graceful shutdown", stop.signal_number());
  // Everything that can still produce an event is stopped while its consumers (the routes, the
  // connections) are alive; only then are the objects destroyed, in reverse order.
  server.StopAccepting();
  if (!server.WaitIdle(std::chrono::seconds(options.drain_timeout))) {
    spdlog::warn("requests still in flight after {} s; failing them", options.drain_timeout);
  }
  validation.Shutdown();
  scheduler.Stop();
  server.WaitIdle(kFlushTimeout);
  server.Stop(std::chrono::milliseconds(0));
  spdlog::info("router stopped");
  return 0;
}

}  // namespace
}  // namespace tgi::router

int main(int argc, char** argv) {
  tgi::common::StopSignal& stop = tgi::common::StopSignal::Install();
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<tgi::router::RouterOptions> options = tgi::router::ParseRouterOptions(argc, argv);
  if (!options.ok()) {
    if (absl::IsCancelled(options.status())) return 0;
    std::cerr << "Error: " << options.status().message() << "\n";
    return 1;
  }
  tgi::common::SetUpLogging({.json = options->json_output, .component = "router"});
  return tgi::router::Run(*options, stop);
}
