// text-generation-benchmark's command line (CLI11). Without a subcommand it is TGI's tool: its
// flags and their environment variables (tgi.md §6) plus the report and driver options; `http`
// is the HTTP load mode, `make-model` writes a random-weight Llama, `roofline` prints the
// machine's bandwidth and matmul peak with a model's roofline. Parsing only; main.cc runs it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmark/http_load/load_test.h"
#include "benchmark/roofline/machine_probe.h"
#include "benchmark/server/local_server.h"
#include "benchmark/shard_bench/options.h"

namespace tgi::benchmark {

enum class Mode { kShard, kHttp, kMakeModel, kRoofline };

// What is printed and written beside TGI's tables.
struct ReportOptions {
  std::string json_path;  // --json FILE: the raw numbers
  std::string plot_path;  // --plot FILE.png: latency against throughput (gnuplot)
  bool roofline = true;   // --no-roofline skips the machine probe
  roofline::BandwidthOptions bandwidth;
  roofline::SgemmOptions sgemm;
};

// --model: the benchmark starts the server itself (empty `source.model`: it does not).
struct DriverOptions {
  ModelSource source;
  std::vector<std::string> server_args;  // --server-arg, passed to the shard or launcher
  uint32_t ready_timeout_s = 600;
};

struct MakeModelOptions {
  std::string shape;
  std::string output;  // empty: <cache>/<shape>-<dtype>-seed<seed>
};

struct CommandLine {
  Mode mode = Mode::kShard;
  ShardBenchOptions shard;
  HttpLoadOptions http;
  std::string http_tokenizer;  // http mode: the tokenizer that sizes the prompt
  DriverOptions driver;
  ReportOptions report;
  MakeModelOptions make_model;
  // roofline mode: batch sizes, prompt and decode lengths come from `shard`.
};

// --help and --version print and return a status with code kCancelled; bad flags print CLI11's
// message and return kInvalidArgument.
absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv);

}  // namespace tgi::benchmark
