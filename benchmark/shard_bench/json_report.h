// The --json file of a run against the shard: the parameters, every raw sample per batch size
// with its summary, and, when measured, the machine, the roofline rows and the server facts.
// Serialisation only.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "benchmark/report/common_report.h"
#include "benchmark/shard_bench/options.h"
#include "benchmark/shard_bench/roofline_table.h"
#include "benchmark/shard_bench/runner.h"

namespace tgi::benchmark {

struct ShardReport {
  const ShardBenchOptions& options;
  std::span<const BatchSamples> results;
  std::string shard_dtype;   // Info's dtype
  std::string device_type;   // Info's device_type
  std::optional<roofline::MachineProfile> machine;
  std::vector<RooflineRow> roofline;
  std::optional<ServerFacts> server;
};

std::string ShardReportJson(const ShardReport& report);

}  // namespace tgi::benchmark
