// The driver modes: the benchmark starts the server it measures, on a model it may first have
// to write, so that one command reproduces a figure on a fresh clone. Resolves `--model` (a
// directory, or a named random Llama made in the cache folder), starts text-generation-shard or
// text-generation-launcher on it in a private temporary folder, waits until it answers, and
// stops it (and removes the folder) when the server object goes away.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/http_load/stream_client.h"
#include "benchmark/models/random_llama.h"
#include "benchmark/report/common_report.h"
#include "benchmark/server/child_process.h"

namespace tgi::benchmark {

struct ModelSource {
  std::string model;             // a model directory, or a shape name (bench-110m, ...)
  std::string dtype = "float32";  // for a named shape: the dtype it is written in
  uint64_t seed = 0;
  std::string cache_dir;          // empty: DefaultModelCacheDir()
  std::string tokenizer_source;   // empty: DefaultTokenizerSource()
};

// $TGI_BENCHMARK_CACHE, else $XDG_CACHE_HOME/tgi-cpp/benchmark-models, else
// ~/.cache/tgi-cpp/benchmark-models.
std::string DefaultModelCacheDir();
// The Llama-2 tokenizer files: <binary>/../share/tgi-cpp/llama2-tokenizer when installed, else
// the source tree's testdata/llama2-tokenizer.
std::string DefaultTokenizerSource();

// The random Llama `source.model` names as a shape, with source's dtype, seed and tokenizer files.
absl::StatusOr<RandomLlamaOptions> RandomLlamaFor(const ModelSource& source);
// source.cache_dir, else DefaultModelCacheDir().
std::filesystem::path ModelCacheDir(const ModelSource& source);

// The model directory `source` names, written first when it is a shape not yet in the cache.
absl::StatusOr<std::filesystem::path> ResolveModel(const ModelSource& source);

// A private folder under /tmp, removed with everything in it on destruction.
class TempDir {
 public:
  static absl::StatusOr<std::unique_ptr<TempDir>> Create(const std::string& prefix);
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
};

struct LocalServer {
  std::unique_ptr<TempDir> dir;             // destroyed last: holds the log and the socket
  std::unique_ptr<ChildProcess> process;
  std::string socket;                       // the shard: its master socket path
  Endpoint endpoint;                        // the launcher: where its router listens
  double ready_seconds = 0;                 // spawn to answering (socket / GET /health 200)

  ~LocalServer();
  // The shard process's memory: the process itself, or the launcher's first text-generation-shard
  // (rank 0).
  absl::StatusOr<MemoryUse> ShardMemory() const;
  // How many shard processes serve the model (the launcher's --num-shard).
  int ShardCount() const;
};

// What the report says about `server`: `binary`, the model, its start time and the shard's memory
// now.
ServerFacts FactsOf(const LocalServer& server, const std::string& binary,
                    const std::filesystem::path& model_dir);

struct StartOptions {
  std::filesystem::path model_dir;
  std::string dtype;                  // passed as --dtype when not empty and not float32
  std::vector<std::string> extra_args;
  std::vector<std::string> env;       // "NAME=value"
  std::chrono::seconds timeout{600};
};

// text-generation-shard <model_dir> --uds-path <tmp>/shard, ready once a ShardClient connects.
absl::StatusOr<std::unique_ptr<LocalServer>> StartShard(const StartOptions& options);
// text-generation-launcher --model-id <model_dir> on a free port of 127.0.0.1, ready once
// GET /health answers 200.
absl::StatusOr<std::unique_ptr<LocalServer>> StartLauncher(const StartOptions& options);

}  // namespace tgi::benchmark
