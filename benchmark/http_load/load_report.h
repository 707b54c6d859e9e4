// What the HTTP load mode prints and writes: its parameters, one row per concurrency level
// (requests/s, generated tokens/s, TTFT and TPOT p50/p90/p99), every error by kind, the decode
// roofline at batch = concurrency next to the measured tokens/s, and the --json document.
// Formatting only.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "benchmark/http_load/load_test.h"
#include "benchmark/report/common_report.h"
#include "benchmark/report/markdown_table.h"
#include "benchmark/report/plot.h"
#include "benchmark/roofline/roofline.h"

namespace tgi::benchmark {

struct HttpRooflineRow {
  uint32_t concurrency = 0;
  double measured_tokens_per_second = 0;
  roofline::Bound bound;
};

struct HttpReport {
  const HttpLoadOptions& options;
  std::string url;
  std::span<const LevelResult> levels;
  std::optional<roofline::MachineProfile> machine;
  std::vector<HttpRooflineRow> roofline;
  std::optional<ServerFacts> server;
};

// Decode at batch = min(concurrency, requests), each row over prompt + max_new_tokens / 2
// positions.
std::vector<HttpRooflineRow> HttpRooflineRows(const HttpLoadOptions& options,
                                              std::span<const LevelResult> levels,
                                              const roofline::LlamaDims& dims, int dtype_bytes,
                                              const roofline::MachineProfile& machine);

MarkdownTable HttpParametersTable(const HttpReport& report);
MarkdownTable HttpResultsTable(std::span<const LevelResult> levels);
MarkdownTable HttpErrorsTable(std::span<const LevelResult> levels);  // empty when none
MarkdownTable HttpRooflineTable(std::span<const HttpRooflineRow> rows);

// Every table of the report, as printed on stdout.
std::string RenderHttpReport(const HttpReport& report);
std::string HttpReportJson(const HttpReport& report);
std::vector<PlotPanel> HttpPlotPanels(std::span<const LevelResult> levels);

}  // namespace tgi::benchmark
