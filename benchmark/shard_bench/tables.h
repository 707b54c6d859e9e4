// The three markdown tables text-generation-benchmark prints on exit (TGI's table.rs): the
// parameters, the latencies (Prefill, Decode (token), Decode (total) per batch size: average,
// lowest, highest, p50, p90, p99 in ms) and the throughputs (Prefill, Decode in tokens/secs), with
// TGI's cell texts. Formatting only.
#pragma once

#include <optional>
#include <span>
#include <string>

#include "benchmark/report/markdown_table.h"
#include "benchmark/shard_bench/options.h"
#include "benchmark/shard_bench/runner.h"

namespace tgi::benchmark {

MarkdownTable ParametersTable(const ShardBenchOptions& options);
MarkdownTable LatencyTable(std::span<const BatchSamples> results);
MarkdownTable ThroughputTable(std::span<const BatchSamples> results);

// The three tables as TGI prints them: each preceded and followed by a blank line.
std::string RenderTgiTables(const ShardBenchOptions& options, std::span<const BatchSamples> results);

// Rust's Debug text of an Option: "None", "Some(0.5)", "Some(1.0)", "Some(4)".
std::string DebugOption(std::optional<float> value);
std::string DebugOption(std::optional<uint32_t> value);

// TGI's format_value: two decimals, a space, the unit ("12.34 ms").
std::string FormatValue(double value, std::string_view unit);

}  // namespace tgi::benchmark
