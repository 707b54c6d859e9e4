// Report pieces both benchmark modes print and write: the machine's roofline probe, the facts
// about a server the benchmark started (model, launch-to-ready time, shard memory), their JSON,
// and writing a report file. Formatting only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "benchmark/report/markdown_table.h"
#include "benchmark/roofline/machine_probe.h"
#include "boost/json/object.hpp"

namespace tgi::benchmark {

// What the driver measured about the server it started.
struct ServerFacts {
  std::string binary;     // "text-generation-shard" or "text-generation-launcher"
  std::string model_dir;
  double ready_seconds = 0;       // spawn to ready
  uint64_t shard_rss_bytes = 0;   // after the benchmark (VmRSS)
  uint64_t shard_peak_rss_bytes = 0;  // VmHWM
  // The RSS split: the shard's own memory, and mapped files (libtorch and the ~300 libraries
  // Debian's build of it loads) with shared memory.
  uint64_t shard_anon_rss_bytes = 0;
  uint64_t shard_file_rss_bytes = 0;
  int shards = 1;  // the memory figures are rank 0's, against its 1/shards of the weights
  // Their floors, when the model's shape and the machine are known: the weights' bytes (the least
  // a shard can hold) and the time to read them once at the measured bandwidth (the least a
  // start can take).
  std::optional<uint64_t> weight_bytes;
  std::optional<double> read_bandwidth;  // bytes/s
};

MarkdownTable ServerTable(const ServerFacts& facts);
MarkdownTable MachineTable(const roofline::MachineProfile& machine);

boost::json::object ServerJson(const ServerFacts& facts);
boost::json::object MachineJson(const roofline::MachineProfile& machine);

absl::Status WriteTextFile(const std::filesystem::path& path, const std::string& text);

// "438.0 MiB"
std::string FormatBytes(uint64_t bytes);

}  // namespace tgi::benchmark
