#include "benchmark/shard_mode.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/report/plot.h"
#include "benchmark/report/progress.h"
#include "benchmark/shard_bench/json_report.h"
#include "benchmark/shard_bench/tables.h"
#include "benchmark/stats/statistics.h"
#include "spdlog/spdlog.h"

namespace tgi::benchmark {

namespace {

namespace fs = std::filesystem;

// Shows the run's progress: a bar over every cycle of every batch size, or a line per cycle.
class ProgressObserver : public RunObserver {
 public:
  ProgressObserver(const ShardBenchOptions& options, Progress& progress)
      : options_(options), progress_(progress) {
    total_ = static_cast<double>(options.batch_sizes.size()) * (options.warmups + options.runs);
  }

  void OnWarmupDone(size_t batch_index, uint32_t cycle) override {
    Step(batch_index, absl::StrFormat("batch size %u: warmup %u/%u",
                                      options_.batch_sizes[batch_index], cycle + 1,
                                      options_.warmups));
  }
  void OnRunDone(size_t batch_index, uint32_t cycle, const BatchSamples& so_far) override {
    Step(batch_index,
         absl::StrFormat("batch size %u: run %u/%u (prefill %.2f ms, decode %.2f ms)",
                         options_.batch_sizes[batch_index], cycle + 1, options_.runs,
                         so_far.prefill_latency_ms.back(), so_far.decode_latency_ms.back()));
  }
  void OnBatchDone(size_t batch_index, const BatchSamples& samples) override {
    progress_.Line(absl::StrFormat(
        "batch size %u done: prefill %.2f ms, decode %.2f ms/token, %.2f tokens/s",
        samples.batch_size, Average(samples.prefill_latency_ms),
        Average(samples.decode_token_latency_ms), Average(samples.decode_throughput)));
  }

 private:
  void Step(size_t batch_index, const std::string& text) {
    ++done_;
    if (progress_.interactive()) {
      progress_.Update(done_ / total_, absl::StrFormat("[%zu/%zu] %s", batch_index + 1,
                                                       options_.batch_sizes.size(), text));
    } else {
      progress_.Line(text);
    }
  }

  const ShardBenchOptions& options_;
  Progress& progress_;
  double total_ = 1;
  double done_ = 0;
};

std::vector<PlotPanel> LatencyThroughputPanels(std::span<const BatchSamples> results) {
  PlotPanel prefill{"Prefill throughput over latency", "ms", "tokens/secs", {}};
  PlotPanel decode{"Decode throughput over latency", "ms", "tokens/secs", {}};
  for (const BatchSamples& b : results) {
    const std::string label = absl::StrCat("b=", b.batch_size);
    prefill.points.push_back(
        {Average(b.prefill_latency_ms), Average(b.prefill_throughput), label});
    decode.points.push_back({Average(b.decode_latency_ms), Average(b.decode_throughput), label});
  }
  return {prefill, decode};
}

// The model's shape for the roofline: the started model, else config.json beside the tokenizer.
std::optional<roofline::LlamaDims> FindDims(const std::optional<fs::path>& model_dir,
                                            const std::string& tokenizer_dir) {
  absl::StatusOr<roofline::LlamaDims> dims =
      roofline::LoadLlamaDims(model_dir ? *model_dir : fs::path(tokenizer_dir));
  if (!dims.ok()) {
    spdlog::warn("no roofline: {}", std::string(dims.status().message()));
    return std::nullopt;
  }
  return *dims;
}

struct Started {
  std::unique_ptr<LocalServer> server;
  std::optional<fs::path> model_dir;
};

absl::StatusOr<Started> StartIfAsked(const DriverOptions& driver, ShardBenchOptions& options) {
  Started started;
  if (driver.source.model.empty()) return started;
  absl::StatusOr<fs::path> dir = ResolveModel(driver.source);
  if (!dir.ok()) return dir.status();
  started.model_dir = *dir;
  if (options.tokenizer_name.empty()) options.tokenizer_name = dir->string();
  absl::StatusOr<std::unique_ptr<LocalServer>> server =
      StartShard({.model_dir = *dir,
                  .dtype = driver.source.dtype,
                  .extra_args = driver.server_args,
                  .env = {},
                  .timeout = std::chrono::seconds(driver.ready_timeout_s)});
  if (!server.ok()) return server.status();
  spdlog::info("shard ready in {:.2f} s on {}", (*server)->ready_seconds, (*server)->socket);
  options.master_shard_uds_path = (*server)->socket;
  started.server = std::move(*server);
  return started;
}

}  // namespace

absl::StatusOr<std::unique_ptr<common::Tokenizer>> LoadBenchmarkTokenizer(const std::string& dir) {
  const fs::path path = fs::path(dir) / "tokenizer.json";
  std::ifstream file(path);
  if (!file) {
    return absl::NotFoundError(absl::StrCat(
        "no tokenizer.json in `", dir,
        "`: --tokenizer-name must be a local directory (this tool does not download)"));
  }
  std::stringstream text;
  text << file.rdbuf();
  return common::Tokenizer::FromJson(text.str());
}

std::optional<roofline::MachineProfile> ProbeIfAsked(const ReportOptions& report) {
  if (!report.roofline) return std::nullopt;
  spdlog::info("probing the machine: read bandwidth over {}, then sgemm n={}",
               FormatBytes(report.bandwidth.bytes), report.sgemm.n);
  absl::StatusOr<roofline::MachineProfile> machine =
      roofline::ProbeMachine(report.bandwidth, report.sgemm);
  if (!machine.ok()) {
    spdlog::warn("no roofline: {}", std::string(machine.status().message()));
    return std::nullopt;
  }
  spdlog::info("{}", roofline::DescribeMachine(*machine));
  return *machine;
}

namespace {

// The connected shard and what the run needs from it.
struct Session {
  std::unique_ptr<ShardClient> client;
  generate::v2::InfoResponse info;
  std::string sequence;
};

// TGI's start: the tokenizer, a connection to the master shard, ClearCache, then the input.
absl::StatusOr<Session> Connect(const ShardBenchOptions& options) {
  if (options.tokenizer_name.empty()) {
    return absl::InvalidArgumentError("--tokenizer-name is required (or --model)");
  }
  absl::StatusOr<std::unique_ptr<common::Tokenizer>> tokenizer =
      LoadBenchmarkTokenizer(options.tokenizer_name);
  if (!tokenizer.ok()) return tokenizer.status();
  absl::StatusOr<std::unique_ptr<ShardClient>> client =
      ShardClient::Connect(options.master_shard_uds_path, std::chrono::seconds(10));
  if (!client.ok()) return client.status();
  if (absl::Status s = (*client)->ClearCache(std::nullopt); !s.ok()) return s;
  absl::StatusOr<generate::v2::InfoResponse> info = (*client)->Info();
  if (!info.ok()) return info.status();
  spdlog::info("connected to {} shard(s): dtype {}, device {}", (*client)->paths().size(),
               info->dtype(), info->device_type());
  absl::StatusOr<std::string> sequence = CreateSequence(**tokenizer, options.sequence_length);
  if (!sequence.ok()) return sequence.status();
  return Session{std::move(*client), std::move(*info), std::move(*sequence)};
}

// Prints every table on stdout, then writes --json and --plot.
absl::Status Report(const ReportOptions& options, ShardReport& report,
                    const std::optional<roofline::LlamaDims>& dims) {
  std::string out = RenderTgiTables(report.options, report.results);
  if (report.machine) {
    report.roofline = RooflineRows(report.options, report.results,
                                   {.dims = *dims,
                                    .dtype_bytes = roofline::DtypeBytes(report.shard_dtype),
                                    .machine = *report.machine});
    absl::StrAppend(&out, "\n", MachineTable(*report.machine).Render(), "\n",
                    RooflineTable(report.roofline).Render(), "\n");
  }
  if (report.server) absl::StrAppend(&out, "\n", ServerTable(*report.server).Render(), "\n");
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  if (!options.json_path.empty()) {
    if (absl::Status s = WriteTextFile(options.json_path, ShardReportJson(report)); !s.ok()) {
      return s;
    }
  }
  if (options.plot_path.empty()) return absl::OkStatus();
  return PlotPng(options.plot_path, LatencyThroughputPanels(report.results));
}

}  // namespace

absl::Status RunShardMode(const CommandLine& command_line) {
  ShardBenchOptions options = command_line.shard;
  absl::StatusOr<Started> started = StartIfAsked(command_line.driver, options);
  if (!started.ok()) return started.status();
  absl::StatusOr<Session> session = Connect(options);
  if (!session.ok()) return session.status();

  // The probe runs before the benchmark, while the shard is idle.
  const std::optional<roofline::LlamaDims> dims =
      command_line.report.roofline ? FindDims(started->model_dir, options.tokenizer_name)
                                   : std::nullopt;
  const std::optional<roofline::MachineProfile> machine =
      dims ? ProbeIfAsked(command_line.report) : std::nullopt;

  Progress progress(stderr, StderrIsTerminal());
  ProgressObserver observer(options, progress);
  absl::StatusOr<std::vector<BatchSamples>> results =
      RunShardBenchmark(*session->client, options, session->sequence, observer);
  progress.Finish();
  if (!results.ok()) return results.status();

  ShardReport report{.options = options,
                     .results = *results,
                     .shard_dtype = session->info.dtype(),
                     .device_type = session->info.device_type(),
                     .machine = machine,
                     .roofline = {},
                     .server = std::nullopt};
  if (started->server) {
    report.server = FactsOf(*started->server, "text-generation-shard", *started->model_dir);
    if (dims) {
      report.server->weight_bytes =
          roofline::TotalParameters(*dims) * roofline::DtypeBytes(report.shard_dtype);
    }
    if (machine) report.server->read_bandwidth = machine->bandwidth.bytes_per_second;
  }
  return Report(command_line.report, report, dims);
}

}  // namespace tgi::benchmark
