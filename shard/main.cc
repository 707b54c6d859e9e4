// text-generation-shard: serves one rank of a model over TGI's generate.v2 gRPC protocol on the
// unix socket {uds-path}-{rank}. Loads on the model thread, serves until SIGTERM or SIGINT, then
// stops the server and removes its socket. A stop signal while loading exits at once (no socket
// exists yet); while serving, Warmup stops between its steps and a step in flight gets a few
// seconds to finish before the process exits regardless.
#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <iostream>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/stop_signal.h"
#include "common/tokenizer/tokenizer.h"
#include "shard/batch/engine.h"
#include "shard/dist/communicator.h"
#include "shard/model/llama.h"
#include "shard/model/threads.h"
#include "shard/service/model_thread.h"
#include "shard/service/options.h"
#include "shard/service/service.h"

namespace tgi::shard {
namespace {

std::string DtypeName(at::ScalarType dtype) {
  switch (dtype) {
    case at::kBFloat16: return "torch.bfloat16";
    case at::kHalf: return "torch.float16";
    default: return "torch.float32";
  }
}

// Loads the tokenizer and the model and builds the engine, on the model thread.
// How long a step in flight may delay the exit after a stop signal (the launcher waits longer).
constexpr std::chrono::seconds kStopGrace{6};
// How long a rank waits for the others to join, and in any collective, before failing its RPC.
constexpr std::chrono::seconds kCollectiveTimeout{120};

absl::StatusOr<std::unique_ptr<Engine>> LoadEngine(const ShardOptions& options,
                                                   common::StopSignal& stop) {
  const int threads = ConfigureTorchThreads(options.num_threads);
  spdlog::info("loading {} with {} threads (rank {} of {})", options.model_dir, threads,
               options.rank, options.world_size);
  const auto started = std::chrono::steady_clock::now();

  std::unique_ptr<common::Tokenizer> tokenizer;
  absl::StatusOr<std::unique_ptr<common::Tokenizer>> loaded_tokenizer =
      common::Tokenizer::FromDirectory(options.model_dir);
  if (loaded_tokenizer.ok()) {
    tokenizer = std::move(*loaded_tokenizer);
  } else if (!options.skip_tokenizer) {
    return loaded_tokenizer.status();
  } else {
    spdlog::warn("no tokenizer ({}); SKIP_TOKENIZER_IN_TGI is set, continuing without one",
                 std::string(loaded_tokenizer.status().message()));
  }

  LoadOptions load;
  if (!options.dtype.empty()) {
    absl::StatusOr<at::ScalarType> dtype = ParseDtype(options.dtype);
    if (!dtype.ok()) return dtype.status();
    load.dtype = *dtype;
  }
  absl::StatusOr<std::optional<at::ScalarType>> kv_dtype =
      ParseKvCacheDtype(options.kv_cache_dtype);
  if (!kv_dtype.ok()) return kv_dtype.status();
  load.kv_cache_dtype = *kv_dtype;
  load.rank = options.rank;
  load.world_size = options.world_size;
  if (options.world_size > 1) {
    // Every rank joins before loading, so that a missing rank fails fast and the load's
    // collectives (the KV pool's size) find the others.
    absl::StatusOr<std::unique_ptr<dist::Communicator>> communicator =
        dist::Communicator::Connect({.rank = options.rank,
                                     .world_size = options.world_size,
                                     .master_addr = options.master_addr,
                                     .master_port = options.master_port,
                                     .timeout = kCollectiveTimeout});
    if (!communicator.ok()) return communicator.status();
    load.communicator = std::move(*communicator);
  }
  absl::StatusOr<std::unique_ptr<LlamaModel>> model = LlamaModel::Load(options.model_dir, load);
  if (!model.ok()) return model.status();
  spdlog::info("loaded {} parameters ({}) in {:.2f} s", (*model)->num_parameters(),
               DtypeName((*model)->dtype()),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());

  EngineOptions engine_options;
  engine_options.buckets = BucketConfig{
      .batch_bucket_size = options.batch_bucket_size,
      .prefill_batch_bucket_size = options.prefill_batch_bucket_size,
      .pad_sequence_to_multiple_of = options.pad_sequence_to_multiple_of,
      .max_total_tokens = options.max_total_tokens};
  engine_options.watermark = WatermarkConfig{options.watermark_gamma, options.watermark_delta};
  engine_options.skip_tokenizer = options.skip_tokenizer;
  engine_options.force_ignore_eos = options.ignore_eos;
  engine_options.stopped = [&stop] { return stop.stopped(); };
  return std::make_unique<Engine>(std::move(*model), std::move(tokenizer), engine_options);
}

int Serve(const ShardOptions& options, common::StopSignal& stop) {
  ModelThread model_thread;
  absl::StatusOr<std::unique_ptr<Engine>> engine;
  {
    common::StopSignal::Scope exit_while_loading = stop.OnStop([] {
      spdlog::info("stop signal received while loading; exiting");
      spdlog::default_logger()->flush();
      std::_Exit(0);
    });
    engine = model_thread.Run([&] { return LoadEngine(options, stop); });
  }
  if (!engine.ok()) {
    spdlog::error("could not load {}: {}", options.model_dir, std::string(engine.status().message()));
    return 1;
  }

  ServiceInfo info;
  info.dtype = DtypeName((*engine)->model().dtype());
  info.device_type = (*engine)->model().device().is_cuda() ? "cuda" : "cpu";
  for (int rank = 0; rank < options.world_size; ++rank) {
    info.urls.push_back("unix://" + options.SocketPath(rank));
  }
  TextGenerationService service(**engine, model_thread, info);

  const std::string socket = options.SocketPath();
  std::error_code ignored;
  std::filesystem::remove(socket, ignored);  // a stale socket of an earlier run
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + socket, grpc::InsecureServerCredentials());
  builder.SetMaxReceiveMessageSize(-1);
  builder.SetMaxSendMessageSize(-1);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    spdlog::error("could not listen on unix://{}", socket);
    return 1;
  }
  spdlog::info("serving on unix://{}", socket);

  stop.Wait();
  spdlog::info("received signal {}, shutting down", stop.signal_number());
  std::future<void> stopped = std::async(std::launch::async, [&server] {
    server->Shutdown(std::chrono::system_clock::now() + kStopGrace / 2);
    server->Wait();
  });
  if (stopped.wait_for(kStopGrace) != std::future_status::ready) {
    std::filesystem::remove(socket, ignored);
    spdlog::warn("a step was still running {} s after the stop signal; exiting anyway; removed {}",
                 kStopGrace.count(), socket);
    spdlog::default_logger()->flush();
    std::_Exit(0);
  }
  std::filesystem::remove(socket, ignored);
  spdlog::info("stopped; removed {}", socket);
  return 0;
}

}  // namespace
}  // namespace tgi::shard

int main(int argc, char** argv) {
  // Keep large tensors' memory in the process instead of returning it to the kernel after each
  // free: a fresh multi-megabyte buffer otherwise costs page faults on every step.
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
  // Blocks the stop signals in every thread; one thread of its own waits for them.
  tgi::common::StopSignal& stop = tgi::common::StopSignal::Install();

  absl::StatusOr<tgi::shard::ShardOptions> options = tgi::shard::ParseShardOptions(argc, argv);
  if (!options.ok()) {
    if (absl::IsCancelled(options.status())) return 0;  // --help
    std::cerr << "text-generation-shard: " << options.status().message() << "\n";
    return 2;
  }
  tgi::common::SetUpLogging({.json = options->json_output,
                             .level = options->log_level,
                             .component = absl::StrCat("shard-", options->rank)});
  return tgi::shard::Serve(*options, stop);
}
