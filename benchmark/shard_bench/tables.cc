#include "benchmark/shard_bench/tables.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/stats/statistics.h"

namespace tgi::benchmark {

namespace {

void AddLatencyRows(MarkdownTable& table, const std::string& step,
                    std::span<const BatchSamples> results,
                    std::vector<double> BatchSamples::*field) {
  for (const BatchSamples& batch : results) {
    const Summary s = Summarize(batch.*field);
    table.AddRow({step, absl::StrCat(batch.batch_size), FormatValue(s.average, "ms"),
                  FormatValue(s.min, "ms"), FormatValue(s.max, "ms"), FormatValue(s.p50, "ms"),
                  FormatValue(s.p90, "ms"), FormatValue(s.p99, "ms")});
  }
}

void AddThroughputRows(MarkdownTable& table, const std::string& step,
                       std::span<const BatchSamples> results,
                       std::vector<double> BatchSamples::*field) {
  constexpr std::string_view kUnit = "tokens/secs";
  for (const BatchSamples& batch : results) {
    const Summary s = Summarize(batch.*field);
    table.AddRow({step, absl::StrCat(batch.batch_size), FormatValue(s.average, kUnit),
                  FormatValue(s.min, kUnit), FormatValue(s.max, kUnit)});
  }
}

}  // namespace

std::string DebugOption(std::optional<float> value) {
  if (!value) return "None";
  if (std::isnan(*value)) return "Some(NaN)";
  if (std::isinf(*value)) return *value > 0 ? "Some(inf)" : "Some(-inf)";
  char buffer[64];
  const auto [end, error] =
      std::to_chars(buffer, buffer + sizeof(buffer), *value, std::chars_format::fixed);
  std::string text(buffer, error == std::errc() ? end : buffer);
  if (text.find('.') == std::string::npos) text += ".0";
  return absl::StrCat("Some(", text, ")");
}

std::string DebugOption(std::optional<uint32_t> value) {
  return value ? absl::StrCat("Some(", *value, ")") : "None";
}

std::string FormatValue(double value, std::string_view unit) {
  if (std::isnan(value)) return absl::StrCat("NaN ", std::string(unit));
  return absl::StrFormat("%.2f %s", value, unit);
}

MarkdownTable ParametersTable(const ShardBenchOptions& options) {
  const SamplingOptions& s = options.sampling;
  MarkdownTable table({"Parameter", "Value"});
  table.AddRow({"Model", options.tokenizer_name});
  table.AddRow({"Sequence Length", absl::StrCat(options.sequence_length)});
  table.AddRow({"Decode Length", absl::StrCat(options.decode_length)});
  table.AddRow({"Top N Tokens", DebugOption(s.top_n_tokens)});
  table.AddRow({"N Runs", absl::StrCat(options.runs)});
  table.AddRow({"Warmups", absl::StrCat(options.warmups)});
  table.AddRow({"Temperature", DebugOption(s.temperature)});
  table.AddRow({"Top K", DebugOption(s.top_k)});
  table.AddRow({"Top P", DebugOption(s.top_p)});
  table.AddRow({"Typical P", DebugOption(s.typical_p)});
  table.AddRow({"Repetition Penalty", DebugOption(s.repetition_penalty)});
  table.AddRow({"Frequency Penalty", DebugOption(s.frequency_penalty)});
  table.AddRow({"Watermark", s.watermark ? "true" : "false"});
  table.AddRow({"Do Sample", s.do_sample ? "true" : "false"});
  return table;
}

MarkdownTable LatencyTable(std::span<const BatchSamples> results) {
  MarkdownTable table({"Step", "Batch Size", "Average", "Lowest", "Highest", "p50", "p90", "p99"});
  AddLatencyRows(table, "Prefill", results, &BatchSamples::prefill_latency_ms);
  AddLatencyRows(table, "Decode (token)", results, &BatchSamples::decode_token_latency_ms);
  AddLatencyRows(table, "Decode (total)", results, &BatchSamples::decode_latency_ms);
  table.MergeVertically();
  return table;
}

MarkdownTable ThroughputTable(std::span<const BatchSamples> results) {
  MarkdownTable table({"Step", "Batch Size", "Average", "Lowest", "Highest"});
  AddThroughputRows(table, "Prefill", results, &BatchSamples::prefill_throughput);
  AddThroughputRows(table, "Decode", results, &BatchSamples::decode_throughput);
  table.MergeVertically();
  return table;
}

std::string RenderTgiTables(const ShardBenchOptions& options,
                            std::span<const BatchSamples> results) {
  return absl::StrCat("\n", ParametersTable(options).Render(), "\n\n",
                      LatencyTable(results).Render(), "\n\n", ThroughputTable(results).Render(),
                      "\n");
}

}  // namespace tgi::benchmark
