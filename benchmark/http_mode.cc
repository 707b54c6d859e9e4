#include "benchmark/http_mode.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/http_load/load_report.h"
#include "benchmark/shard_bench/runner.h"
#include "benchmark/shard_mode.h"
#include "benchmark/stats/statistics.h"
#include "spdlog/spdlog.h"

namespace tgi::benchmark {

namespace {

namespace fs = std::filesystem;

struct Target {
  std::unique_ptr<LocalServer> server;
  std::optional<fs::path> model_dir;
  Endpoint endpoint;
  std::string url;
};

absl::StatusOr<Target> ResolveTarget(const CommandLine& c) {
  Target target;
  if (!c.http.url.empty() && !c.driver.source.model.empty()) {
    return absl::InvalidArgumentError("give --url or --model, not both");
  }
  if (c.http.url.empty() && c.driver.source.model.empty()) {
    return absl::InvalidArgumentError("--url (a running server) or --model (start one) is needed");
  }
  if (!c.http.url.empty()) {
    absl::StatusOr<Endpoint> endpoint = ParseHttpUrl(c.http.url);
    if (!endpoint.ok()) return endpoint.status();
    target.endpoint = *endpoint;
    target.url = c.http.url;
    return target;
  }
  absl::StatusOr<fs::path> dir = ResolveModel(c.driver.source);
  if (!dir.ok()) return dir.status();
  target.model_dir = *dir;
  // Every request generates max_new_tokens, as the shard benchmark's ignore_eos requests do.
  absl::StatusOr<std::unique_ptr<LocalServer>> server =
      StartLauncher({.model_dir = *dir,
                     .dtype = c.driver.source.dtype,
                     .extra_args = c.driver.server_args,
                     .env = {"TEXT_GENERATION_SERVER_IGNORE_EOS_TOKEN=true"},
                     .timeout = std::chrono::seconds(c.driver.ready_timeout_s)});
  if (!server.ok()) return server.status();
  target.endpoint = (*server)->endpoint;
  target.url = absl::StrCat("http://", target.endpoint.host, ":", target.endpoint.port);
  spdlog::info("launcher ready in {:.2f} s at {}", (*server)->ready_seconds, target.url);
  target.server = std::move(*server);
  return target;
}

absl::Status Warmup(const Endpoint& endpoint, Api api, const HttpLoadOptions& options,
                    const std::string& prompt) {
  const std::string body = GenerationBody(api, options, prompt);
  for (uint32_t i = 0; i < options.warmup_requests; ++i) {
    const StreamOutcome outcome =
        StreamGeneration(endpoint, api, body, std::chrono::seconds(options.timeout_s));
    if (!outcome.ok()) {
      return absl::UnavailableError(absl::StrCat("the warmup request failed: ", outcome.error_kind,
                                                 " ", outcome.error_message));
    }
  }
  return absl::OkStatus();
}

std::vector<LevelResult> RunLevels(const Endpoint& endpoint, Api api,
                                   const HttpLoadOptions& options, const std::string& prompt) {
  Progress progress(stderr, StderrIsTerminal());
  std::vector<LevelResult> levels;
  for (uint32_t concurrency : options.concurrency) {
    const uint32_t requests = options.requests > 0 ? options.requests : 4 * concurrency;
    LevelResult level = RunLoadLevel(endpoint, api, options, prompt, concurrency, requests, progress);
    progress.Line(absl::StrFormat(
        "concurrency %u: %u/%u ok, %.2f requests/s, %.2f tokens/s, TPOT p50 %.2f ms",
        concurrency, level.succeeded(), requests, level.requests_per_second(),
        level.tokens_per_second(),
        Summarize(SuccessfulValues(level, &RequestRecord::tpot_ms)).p50));
    levels.push_back(std::move(level));
  }
  progress.Finish();
  return levels;
}

}  // namespace

absl::Status RunHttpMode(const CommandLine& c) {
  absl::StatusOr<Api> api = ParseApi(c.http.api);
  if (!api.ok()) return api.status();
  absl::StatusOr<Target> target = ResolveTarget(c);
  if (!target.ok()) return target.status();
  const std::string tokenizer_dir =
      !c.http_tokenizer.empty() ? c.http_tokenizer
                                : (target->model_dir ? target->model_dir->string() : "");
  if (tokenizer_dir.empty()) {
    return absl::InvalidArgumentError("--tokenizer-name is needed to size the prompt with --url");
  }
  absl::StatusOr<std::unique_ptr<common::Tokenizer>> tokenizer =
      LoadBenchmarkTokenizer(tokenizer_dir);
  if (!tokenizer.ok()) return tokenizer.status();
  absl::StatusOr<std::string> prompt = CreateSequence(**tokenizer, c.http.prompt_length);
  if (!prompt.ok()) return prompt.status();

  HttpReport report{c.http, target->url, {}, std::nullopt, {}, std::nullopt};
  absl::StatusOr<roofline::LlamaDims> dims = roofline::LoadLlamaDims(
      target->model_dir ? *target->model_dir : fs::path(tokenizer_dir));
  if (c.report.roofline && !dims.ok()) {
    spdlog::warn("no roofline: {}", std::string(dims.status().message()));
  }
  if (dims.ok()) report.machine = ProbeIfAsked(c.report);

  if (absl::Status s = Warmup(target->endpoint, *api, c.http, *prompt); !s.ok()) return s;
  const std::vector<LevelResult> levels = RunLevels(target->endpoint, *api, c.http, *prompt);
  report.levels = levels;
  if (report.machine) {
    report.roofline = HttpRooflineRows(c.http, levels, *dims,
                                       roofline::DtypeBytes(c.driver.source.dtype),
                                       *report.machine);
  }
  if (target->server) {
    report.server = FactsOf(*target->server, "text-generation-launcher", *target->model_dir);
    if (dims.ok()) {
      report.server->weight_bytes =
          roofline::TotalParameters(*dims) * roofline::DtypeBytes(c.driver.source.dtype);
    }
    if (report.machine) report.server->read_bandwidth = report.machine->bandwidth.bytes_per_second;
  }
  std::fputs(RenderHttpReport(report).c_str(), stdout);
  std::fflush(stdout);
  if (!c.report.json_path.empty()) {
    if (absl::Status s = WriteTextFile(c.report.json_path, HttpReportJson(report)); !s.ok()) {
      return s;
    }
  }
  if (!c.report.plot_path.empty()) return PlotPng(c.report.plot_path, HttpPlotPanels(levels));
  return absl::OkStatus();
}

}  // namespace tgi::benchmark
