#include "benchmark/server/local_server.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "benchmark/models/random_llama.h"
#include "benchmark/shard_bench/shard_client.h"
#include "common/env.h"
#include "common/executables.h"
#include "spdlog/spdlog.h"

#ifndef TGI_BENCHMARK_SOURCE_TOKENIZER_DIR
#define TGI_BENCHMARK_SOURCE_TOKENIZER_DIR ""
#endif

namespace tgi::benchmark {

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

double SecondsSince(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

absl::StatusOr<int> FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) close(fd);
    return absl::UnavailableError("no free TCP port on 127.0.0.1");
  }
  close(fd);
  return ntohs(address.sin_port);
}

std::vector<std::string> DtypeArgs(const std::string& dtype) {
  if (dtype.empty() || dtype == "float32") return {};
  return {"--dtype", dtype};
}

absl::Status Died(const std::string& what, ChildProcess& process) {
  return absl::UnavailableError(absl::StrCat(what, " exited before it was ready (exit code ",
                                             process.Stop(), "); the end of its log, ",
                                             process.log_path().string(), ":\n",
                                             process.LogTail()));
}

// Polls `ready` every 25 ms until it answers true, the process dies or `timeout` passes.
template <typename Ready>
absl::Status WaitReady(const std::string& what, ChildProcess& process,
                       std::chrono::seconds timeout, Ready ready) {
  const SteadyClock::time_point deadline = SteadyClock::now() + timeout;
  while (SteadyClock::now() < deadline) {
    if (!process.Running()) return Died(what, process);
    if (ready()) return absl::OkStatus();
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return absl::DeadlineExceededError(absl::StrCat(what, " not ready after ", timeout.count(),
                                                  " s; the end of its log:\n",
                                                  process.LogTail()));
}

}  // namespace

std::string DefaultModelCacheDir() {
  if (auto dir = common::GetEnv("TGI_BENCHMARK_CACHE"); dir && !dir->empty()) return *dir;
  if (auto xdg = common::GetEnv("XDG_CACHE_HOME"); xdg && !xdg->empty()) {
    return (fs::path(*xdg) / "tgi-cpp" / "benchmark-models").string();
  }
  return (fs::path(common::GetEnvString("HOME", "/tmp")) / ".cache" / "tgi-cpp" /
          "benchmark-models")
      .string();
}

std::string DefaultTokenizerSource() {
  std::error_code error;
  const fs::path exe = fs::read_symlink("/proc/self/exe", error);
  const fs::path installed = exe.parent_path().parent_path() / "share" / "tgi-cpp" /
                             "llama2-tokenizer";
  if (!error && fs::exists(installed / "tokenizer.json", error)) return installed.string();
  return TGI_BENCHMARK_SOURCE_TOKENIZER_DIR;
}

absl::StatusOr<fs::path> ResolveModel(const ModelSource& source) {
  std::error_code error;
  if (fs::is_directory(source.model, error)) {
    if (!fs::exists(fs::path(source.model) / "config.json", error)) {
      return absl::NotFoundError(absl::StrCat(source.model, " has no config.json"));
    }
    return fs::absolute(source.model);
  }
  absl::StatusOr<RandomLlamaOptions> options = RandomLlamaFor(source);
  if (!options.ok()) {
    return absl::NotFoundError(absl::StrCat("--model `", source.model,
                                            "` is neither a directory nor a shape: ",
                                            options.status().message()));
  }
  return EnsureRandomLlama(*options, ModelCacheDir(source));
}

absl::StatusOr<RandomLlamaOptions> RandomLlamaFor(const ModelSource& source) {
  absl::StatusOr<LlamaShape> shape = FindShape(source.model);
  if (!shape.ok()) return shape.status();
  absl::StatusOr<Dtype> dtype = ParseDtype(source.dtype);
  if (!dtype.ok()) return dtype.status();
  RandomLlamaOptions options;
  options.shape = *shape;
  options.dtype = *dtype;
  options.seed = source.seed;
  options.tokenizer_dir =
      source.tokenizer_source.empty() ? DefaultTokenizerSource() : source.tokenizer_source;
  return options;
}

fs::path ModelCacheDir(const ModelSource& source) {
  return source.cache_dir.empty() ? DefaultModelCacheDir() : source.cache_dir;
}

absl::StatusOr<std::unique_ptr<TempDir>> TempDir::Create(const std::string& prefix) {
  std::string pattern = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (!mkdtemp(pattern.data())) return absl::InternalError("mkdtemp failed");
  return std::unique_ptr<TempDir>(new TempDir(pattern));
}

TempDir::~TempDir() {
  std::error_code error;
  fs::remove_all(path_, error);
}

LocalServer::~LocalServer() {
  if (process) process->Stop();
}

absl::StatusOr<MemoryUse> LocalServer::ShardMemory() const {
  if (!socket.empty()) return ProcessMemory(process->pid());
  const std::vector<pid_t> shards = DescendantsNamed(process->pid(), "text-generation-shard");
  if (shards.empty()) return absl::NotFoundError("the launcher runs no text-generation-shard");
  return ProcessMemory(shards.front());
}

int LocalServer::ShardCount() const {
  if (!socket.empty()) return 1;
  return std::max<int>(
      1, static_cast<int>(DescendantsNamed(process->pid(), "text-generation-shard").size()));
}

ServerFacts FactsOf(const LocalServer& server, const std::string& binary,
                    const fs::path& model_dir) {
  ServerFacts facts;
  facts.binary = binary;
  facts.model_dir = model_dir.string();
  facts.ready_seconds = server.ready_seconds;
  if (absl::StatusOr<MemoryUse> memory = server.ShardMemory(); memory.ok()) {
    facts.shard_rss_bytes = memory->rss_bytes;
    facts.shard_peak_rss_bytes = memory->peak_rss_bytes;
    facts.shard_anon_rss_bytes = memory->anon_rss_bytes;
    facts.shard_file_rss_bytes = memory->file_rss_bytes;
  }
  facts.shards = server.ShardCount();
  return facts;
}

absl::StatusOr<std::unique_ptr<LocalServer>> StartShard(const StartOptions& options) {
  absl::StatusOr<std::string> binary =
      common::FindChildBinary("text-generation-shard", "TGI_SHARD_BIN", "shard");
  if (!binary.ok()) return binary.status();
  auto server = std::make_unique<LocalServer>();
  absl::StatusOr<std::unique_ptr<TempDir>> dir = TempDir::Create("tgi-benchmark-");
  if (!dir.ok()) return dir.status();
  server->dir = std::move(*dir);
  const std::string uds = (server->dir->path() / "shard").string();
  std::vector<std::string> args = {options.model_dir.string(), "--uds-path", uds};
  for (std::string& arg : DtypeArgs(options.dtype)) args.push_back(std::move(arg));
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  spdlog::info("starting {} on {}", *binary, options.model_dir.string());
  const SteadyClock::time_point start = SteadyClock::now();
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Spawn(*binary, args, options.env, server->dir->path() / "shard.log");
  if (!process.ok()) return process.status();
  server->process = std::move(*process);
  server->socket = uds + "-0";
  absl::Status ready = WaitReady("text-generation-shard", *server->process, options.timeout, [&] {
    std::error_code error;
    return fs::exists(server->socket, error) &&
           ShardClient::Connect(server->socket, std::chrono::milliseconds(500)).ok();
  });
  if (!ready.ok()) return ready;
  server->ready_seconds = SecondsSince(start);
  return server;
}

absl::StatusOr<std::unique_ptr<LocalServer>> StartLauncher(const StartOptions& options) {
  absl::StatusOr<std::string> binary =
      common::FindChildBinary("text-generation-launcher", "TGI_LAUNCHER_BIN", "launcher");
  if (!binary.ok()) return binary.status();
  absl::StatusOr<int> port = FreePort();
  if (!port.ok()) return port.status();
  auto server = std::make_unique<LocalServer>();
  absl::StatusOr<std::unique_ptr<TempDir>> dir = TempDir::Create("tgi-benchmark-");
  if (!dir.ok()) return dir.status();
  server->dir = std::move(*dir);
  server->endpoint = Endpoint{"127.0.0.1", absl::StrCat(*port)};
  std::vector<std::string> args = {"--model-id", options.model_dir.string(), "--hostname",
                                   "127.0.0.1", "--port", server->endpoint.port,
                                   "--shard-uds-path", (server->dir->path() / "shard").string()};
  for (std::string& arg : DtypeArgs(options.dtype)) args.push_back(std::move(arg));
  args.insert(args.end(), options.extra_args.begin(), options.extra_args.end());
  spdlog::info("starting {} on {}", *binary, options.model_dir.string());
  const SteadyClock::time_point start = SteadyClock::now();
  absl::StatusOr<std::unique_ptr<ChildProcess>> process =
      ChildProcess::Spawn(*binary, args, options.env, server->dir->path() / "launcher.log");
  if (!process.ok()) return process.status();
  server->process = std::move(*process);
  absl::Status ready = WaitReady("text-generation-launcher", *server->process, options.timeout, [&] {
    absl::StatusOr<int> status =
        HttpGetStatus(server->endpoint, "/health", std::chrono::milliseconds(2000));
    return status.ok() && *status == 200;
  });
  if (!ready.ok()) return ready;
  server->ready_seconds = SecondsSince(start);
  return server;
}

}  // namespace tgi::benchmark
