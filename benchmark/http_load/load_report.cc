#include "benchmark/http_load/load_report.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/shard_bench/tables.h"
#include "benchmark/stats/statistics.h"
#include "boost/json.hpp"

namespace tgi::benchmark {

namespace {

namespace json = boost::json;

uint32_t ErrorTotal(const LevelResult& level) {
  uint32_t total = 0;
  for (const auto& [kind, error] : level.errors) total += error.count;
  return total;
}

json::object SummaryJson(const std::vector<double>& values) {
  const Summary s = Summarize(values);
  return {{"average", s.average}, {"min", s.min}, {"max", s.max},
          {"p50", s.p50},         {"p90", s.p90}, {"p99", s.p99}};
}

json::object LevelJson(const LevelResult& level) {
  json::array requests;
  for (const RequestRecord& r : level.records) {
    json::object request = {{"ok", r.ok},           {"tokens", r.tokens},
                            {"ttft_ms", r.ttft_ms}, {"tpot_ms", r.tpot_ms},
                            {"latency_ms", r.latency_ms}};
    if (r.reported_tokens) request["reported_tokens"] = *r.reported_tokens;
    requests.push_back(std::move(request));
  }
  json::object errors;
  for (const auto& [kind, error] : level.errors) {
    errors[kind] = {{"count", error.count}, {"first_message", error.first_message}};
  }
  return {{"concurrency", level.concurrency},
          {"requests", level.requests},
          {"succeeded", level.succeeded()},
          {"wall_seconds", level.wall_seconds},
          {"requests_per_second", level.requests_per_second()},
          {"generated_tokens", level.generated_tokens()},
          {"tokens_per_second", level.tokens_per_second()},
          {"ttft_ms", SummaryJson(SuccessfulValues(level, &RequestRecord::ttft_ms))},
          {"tpot_ms", SummaryJson(SuccessfulValues(level, &RequestRecord::tpot_ms))},
          {"latency_ms", SummaryJson(SuccessfulValues(level, &RequestRecord::latency_ms))},
          {"errors", std::move(errors)},
          {"per_request", std::move(requests)}};
}

}  // namespace

std::vector<HttpRooflineRow> HttpRooflineRows(const HttpLoadOptions& options,
                                              std::span<const LevelResult> levels,
                                              const roofline::LlamaDims& dims, int dtype_bytes,
                                              const roofline::MachineProfile& machine) {
  const int64_t context = static_cast<int64_t>(options.prompt_length) + options.max_new_tokens / 2;
  std::vector<HttpRooflineRow> rows;
  for (const LevelResult& level : levels) {
    const int64_t batch = std::max<int64_t>(1, std::min(level.concurrency, level.requests));
    rows.push_back({level.concurrency, level.tokens_per_second(),
                    roofline::DecodeRoofline(dims, dtype_bytes, batch, context, machine)});
  }
  return rows;
}

MarkdownTable HttpParametersTable(const HttpReport& report) {
  const HttpLoadOptions& o = report.options;
  MarkdownTable table({"Parameter", "Value"});
  table.AddRow({"URL", report.url});
  table.AddRow({"API", absl::StrCat(o.api, " (", StreamRoute(ParseApi(o.api).value_or(Api::kTgi)),
                                    ")")});
  table.AddRow({"Prompt Length", absl::StrCat(o.prompt_length, " tokens")});
  table.AddRow({"Max New Tokens", absl::StrCat(o.max_new_tokens)});
  table.AddRow({"Requests", o.requests == 0 ? "4 × concurrency" : absl::StrCat(o.requests)});
  table.AddRow({"Warmup Requests", absl::StrCat(o.warmup_requests)});
  table.AddRow({"Do Sample", o.do_sample ? "true" : "false"});
  table.AddRow({"Temperature", DebugOption(o.temperature)});
  table.AddRow({"Top P", DebugOption(o.top_p)});
  return table;
}

MarkdownTable HttpResultsTable(std::span<const LevelResult> levels) {
  MarkdownTable table({"Concurrency", "Requests", "Errors", "Requests/s", "Tokens/s", "TTFT p50",
                       "TTFT p90", "TTFT p99", "TPOT p50", "TPOT p90", "TPOT p99"});
  for (const LevelResult& level : levels) {
    const Summary ttft = Summarize(SuccessfulValues(level, &RequestRecord::ttft_ms));
    const Summary tpot = Summarize(SuccessfulValues(level, &RequestRecord::tpot_ms));
    table.AddRow({absl::StrCat(level.concurrency), absl::StrCat(level.records.size()),
                  absl::StrCat(ErrorTotal(level)),
                  absl::StrFormat("%.2f", level.requests_per_second()),
                  FormatValue(level.tokens_per_second(), "tokens/secs"),
                  FormatValue(ttft.p50, "ms"), FormatValue(ttft.p90, "ms"),
                  FormatValue(ttft.p99, "ms"), FormatValue(tpot.p50, "ms"),
                  FormatValue(tpot.p90, "ms"), FormatValue(tpot.p99, "ms")});
  }
  return table;
}

MarkdownTable HttpErrorsTable(std::span<const LevelResult> levels) {
  MarkdownTable table({"Concurrency", "Kind", "Count", "First Message"});
  for (const LevelResult& level : levels) {
    for (const auto& [kind, error] : level.errors) {
      table.AddRow({absl::StrCat(level.concurrency), kind, absl::StrCat(error.count),
                    error.first_message.substr(0, 120)});
    }
  }
  return table;
}

MarkdownTable HttpRooflineTable(std::span<const HttpRooflineRow> rows) {
  MarkdownTable table({"Concurrency", "Measured", "Decode Roofline", "Ratio", "Bound"});
  for (const HttpRooflineRow& row : rows) {
    table.AddRow({absl::StrCat(row.concurrency),
                  FormatValue(row.measured_tokens_per_second, "tokens/secs"),
                  FormatValue(row.bound.tokens_per_second, "tokens/secs"),
                  absl::StrFormat("%.3f", row.measured_tokens_per_second /
                                              row.bound.tokens_per_second),
                  row.bound.limit});
  }
  return table;
}

std::string RenderHttpReport(const HttpReport& report) {
  std::string out = absl::StrCat("\n", HttpParametersTable(report).Render(), "\n",
                                 HttpResultsTable(report.levels).Render(), "\n");
  const MarkdownTable errors = HttpErrorsTable(report.levels);
  absl::StrAppend(&out, errors.rows().empty() ? "No errors.\n" : errors.Render(), "\n");
  if (report.machine) {
    absl::StrAppend(&out, MachineTable(*report.machine).Render(), "\n",
                    HttpRooflineTable(report.roofline).Render(), "\n");
  }
  if (report.server) absl::StrAppend(&out, ServerTable(*report.server).Render(), "\n");
  return out;
}

std::string HttpReportJson(const HttpReport& report) {
  const HttpLoadOptions& o = report.options;
  json::array levels;
  for (const LevelResult& level : report.levels) levels.push_back(LevelJson(level));
  json::object root = {{"tool", "text-generation-benchmark"},
                       {"mode", "http"},
                       {"parameters",
                        {{"url", report.url},
                         {"api", o.api},
                         {"prompt_length", o.prompt_length},
                         {"max_new_tokens", o.max_new_tokens},
                         {"warmup_requests", o.warmup_requests},
                         {"do_sample", o.do_sample}}},
                       {"levels", std::move(levels)}};
  if (report.machine) root["machine"] = MachineJson(*report.machine);
  if (!report.roofline.empty()) {
    json::array rows;
    for (const HttpRooflineRow& row : report.roofline) {
      rows.push_back({{"concurrency", row.concurrency},
                      {"measured_tokens_per_second", row.measured_tokens_per_second},
                      {"roofline_tokens_per_second", row.bound.tokens_per_second},
                      {"bound", row.bound.limit},
                      {"ratio", row.measured_tokens_per_second / row.bound.tokens_per_second}});
    }
    root["roofline"] = std::move(rows);
  }
  if (report.server) root["server"] = ServerJson(*report.server);
  return json::serialize(root) + "\n";
}

std::vector<PlotPanel> HttpPlotPanels(std::span<const LevelResult> levels) {
  PlotPanel tpot{"Time per output token over throughput", "tokens/secs", "TPOT p50 (ms)", {}};
  PlotPanel ttft{"Time to first token over throughput", "tokens/secs", "TTFT p50 (ms)", {}};
  for (const LevelResult& level : levels) {
    const std::string label = absl::StrCat("c=", level.concurrency);
    tpot.points.push_back({level.tokens_per_second(),
                           Summarize(SuccessfulValues(level, &RequestRecord::tpot_ms)).p50, label});
    ttft.points.push_back({level.tokens_per_second(),
                           Summarize(SuccessfulValues(level, &RequestRecord::ttft_ms)).p50, label});
  }
  return {tpot, ttft};
}

}  // namespace tgi::benchmark
