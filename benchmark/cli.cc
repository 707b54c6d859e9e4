#include "benchmark/cli.h"

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/strings/str_cat.h"

namespace tgi::benchmark {

namespace {

constexpr char kVersion[] = "text-generation-benchmark 2.0.4 (tgi-cpp)";

// An option that sets an std::optional only when given (flag or environment).
template <typename T>
CLI::Option* AddOptional(CLI::App& app, const std::string& names, std::optional<T>& target,
                         const std::string& help) {
  return app.add_option_function<T>(names, [&target](const T& value) { target = value; }, help);
}

void AddSamplingFlags(CLI::App& app, SamplingOptions& s) {
  AddOptional(app, "--temperature", s.temperature, "Sampling temperature")->envname("TEMPERATURE");
  AddOptional(app, "--top-k", s.top_k, "Top-k sampling")->envname("TOP_K");
  AddOptional(app, "--top-p", s.top_p, "Top-p (nucleus) sampling")->envname("TOP_P");
  AddOptional(app, "--typical-p", s.typical_p, "Typical-p sampling")->envname("TYPICAL_P");
  AddOptional(app, "--repetition-penalty", s.repetition_penalty, "Repetition penalty")
      ->envname("REPETITION_PENALTY");
  AddOptional(app, "--frequency-penalty", s.frequency_penalty, "Frequency penalty")
      ->envname("FREQUENCY_PENALTY");
  app.add_flag("--watermark", s.watermark, "Watermarking")->envname("WATERMARK");
  app.add_flag("--do-sample", s.do_sample, "Sample instead of greedy decoding")
      ->envname("DO_SAMPLE");
  AddOptional(app, "--top-n-tokens", s.top_n_tokens, "Top tokens returned per step")
      ->envname("TOP_N_TOKENS");
}

void AddShardFlags(CLI::App& app, ShardBenchOptions& o) {
  app.add_option("-t,--tokenizer-name", o.tokenizer_name,
                 "A local directory with tokenizer.json (this tool never downloads from the "
                 "hub); required unless --model starts the shard")
      ->envname("TOKENIZER_NAME");
  app.add_option("--revision", o.revision, "Accepted for TGI compatibility (hub revision)")
      ->envname("REVISION");
  app.add_option("-b,--batch-size", o.batch_sizes,
                 "Batch sizes to benchmark, repeatable (default 1 2 4 8 16 32)");
  app.add_option("-s,--sequence-length", o.sequence_length, "Prompt length in tokens")
      ->envname("SEQUENCE_LENGTH");
  app.add_option("-d,--decode-length", o.decode_length, "Tokens generated per request")
      ->envname("DECODE_LENGTH");
  app.add_option("-r,--runs", o.runs, "Timed runs per batch size")->envname("RUNS");
  app.add_option("-w,--warmups", o.warmups, "Untimed warmup runs per batch size")
      ->envname("WARMUPS");
  app.add_option("-m,--master-shard-uds-path", o.master_shard_uds_path,
                 "The master shard's unix socket")
      ->envname("MASTER_SHARD_UDS_PATH");
  AddSamplingFlags(app, o.sampling);
}

void AddReportFlags(CLI::App& app, ReportOptions& r) {
  app.add_option("--json", r.json_path, "Write every raw number to this JSON file");
  app.add_option("--plot", r.plot_path, "Draw latency against throughput to this PNG (gnuplot)");
  app.add_flag("!--no-roofline", r.roofline, "Skip the machine probe and the roofline");
  app.add_option("--bandwidth-bytes", r.bandwidth.bytes,
                 "Buffer of the bandwidth probe (default 2 GiB, >> the last-level cache)");
  app.add_option("--bandwidth-passes", r.bandwidth.passes, "Passes of the bandwidth probe");
  app.add_option("--sgemm-size", r.sgemm.n, "n of the n×n sgemm probe");
}

void AddModelFlags(CLI::App& app, ModelSource& m) {
  app.add_option("--dtype", m.dtype,
                 "float32 or bfloat16: a named model is written in it, the server runs in it")
      ->capture_default_str();
  app.add_option("--seed", m.seed, "Seed of a named model's random weights")
      ->capture_default_str();
  app.add_option("--model-cache", m.cache_dir,
                 "Where named models are written (default $TGI_BENCHMARK_CACHE, else "
                 "~/.cache/tgi-cpp/benchmark-models)");
  app.add_option("--tokenizer-source", m.tokenizer_source,
                 "The Llama-2 tokenizer files copied into a named model");
}

void AddDriverFlags(CLI::App& app, DriverOptions& d, const std::string& what) {
  app.add_option("--model", d.source.model,
                 absl::StrCat("Start ", what, " on this model: a directory, or a named random "
                              "Llama (bench-110m, tinyllama-1b, tiny) made when missing"));
  AddModelFlags(app, d.source);
  app.add_option("--server-arg", d.server_args,
                 absl::StrCat("An argument for ", what, " (repeatable)"))
      ->allow_extra_args(false);
  app.add_option("--ready-timeout", d.ready_timeout_s, "Seconds to wait for the server");
}

void AddHttpFlags(CLI::App& app, CommandLine& c) {
  HttpLoadOptions& h = c.http;
  app.add_option("--url", h.url, "The server, http://host:port (or --model to start one)");
  app.add_option("--api", h.api, "tgi (/generate_stream) or openai (/v1/completions)")
      ->capture_default_str();
  app.add_option("--concurrency", h.concurrency, "Concurrent streams per level (1,8,32)")
      ->delimiter(',');
  app.add_option("--requests", h.requests, "Requests per level (default 4 × concurrency)");
  app.add_option("--prompt-length", h.prompt_length, "Prompt tokens (Lorem ipsum)")
      ->capture_default_str();
  app.add_option("--max-new-tokens", h.max_new_tokens, "Tokens generated per request")
      ->capture_default_str();
  app.add_option("--warmup-requests", h.warmup_requests, "Untimed requests before the levels")
      ->capture_default_str();
  app.add_flag("--do-sample", h.do_sample, "Sample instead of greedy decoding");
  AddOptional(app, "--temperature", h.temperature, "Sampling temperature");
  AddOptional(app, "--top-p", h.top_p, "Top-p sampling");
  AddOptional(app, "--sampling-seed", h.seed, "Sampling seed (with --do-sample)");
  app.add_option("--openai-model", h.openai_model, "The `model` field of OpenAI requests");
  app.add_option("--timeout", h.timeout_s, "Seconds a request may take")->capture_default_str();
  app.add_option("-t,--tokenizer-name", c.http_tokenizer,
                 "A local directory with tokenizer.json to size the prompt (default: --model's)");
}

}  // namespace

absl::StatusOr<CommandLine> ParseCommandLine(int argc, char** argv) {
  CommandLine c;
  CLI::App app("Benchmarking tool for tgi-cpp: TGI's text-generation-benchmark against the shard, "
               "an HTTP load mode, benchmark models and the roofline.",
               "text-generation-benchmark");
  app.set_version_flag("-V,--version", kVersion);
  c.shard.batch_sizes.clear();
  AddShardFlags(app, c.shard);
  AddReportFlags(app, c.report);
  AddDriverFlags(app, c.driver, "text-generation-shard");

  CLI::App* http = app.add_subcommand("http", "HTTP load: concurrent streaming clients");
  AddHttpFlags(*http, c);
  AddDriverFlags(*http, c.driver, "text-generation-launcher");
  http->add_option("--json", c.report.json_path, "Write every raw number to this JSON file");
  http->add_option("--plot", c.report.plot_path, "Draw TPOT against tokens/s to this PNG");
  http->add_flag("!--no-roofline", c.report.roofline, "Skip the machine probe and the roofline");
  http->add_option("--bandwidth-bytes", c.report.bandwidth.bytes, "Bandwidth probe buffer");

  CLI::App* make = app.add_subcommand("make-model", "Write a random-weight Llama");
  make->add_option("--shape", c.make_model.shape, "bench-110m, tinyllama-1b or tiny")->required();
  make->add_option("--output", c.make_model.output, "The model directory (must not exist)");
  AddModelFlags(*make, c.driver.source);

  CLI::App* roof = app.add_subcommand("roofline", "Probe the machine and print a roofline");
  roof->add_option("--model", c.driver.source.model, "A model directory or a shape name");
  roof->add_option("--dtype", c.driver.source.dtype, "float32 or bfloat16")->capture_default_str();
  roof->add_option("-b,--batch-size", c.shard.batch_sizes, "Batch sizes (default 1 2 4 8 16 32)");
  roof->add_option("-s,--sequence-length", c.shard.sequence_length, "Prompt tokens");
  roof->add_option("-d,--decode-length", c.shard.decode_length, "Generated tokens");
  roof->add_option("--bandwidth-bytes", c.report.bandwidth.bytes, "Bandwidth probe buffer");
  roof->add_option("--bandwidth-passes", c.report.bandwidth.passes, "Bandwidth probe passes");
  roof->add_option("--sgemm-size", c.report.sgemm.n, "n of the n×n sgemm probe");
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    app.exit(e);
    return absl::CancelledError("help");
  } catch (const CLI::CallForAllHelp& e) {
    app.exit(e);
    return absl::CancelledError("help");
  } catch (const CLI::CallForVersion& e) {
    app.exit(e);
    return absl::CancelledError("version");
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return absl::InvalidArgumentError(e.what());
  }
  if (c.shard.batch_sizes.empty()) c.shard.batch_sizes = kDefaultBatchSizes;
  if (http->parsed()) c.mode = Mode::kHttp;
  if (make->parsed()) c.mode = Mode::kMakeModel;
  if (roof->parsed()) c.mode = Mode::kRoofline;
  return c;
}

}  // namespace tgi::benchmark
