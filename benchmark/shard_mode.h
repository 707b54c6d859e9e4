// The default mode: TGI's text-generation-benchmark against a shard, either one already running
// (-m/--master-shard-uds-path, as TGI) or one the benchmark starts on --model. Prints TGI's three
// tables on stdout, then the roofline and the server facts; progress goes to stderr.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "benchmark/cli.h"
#include "common/tokenizer/tokenizer.h"

namespace tgi::benchmark {

absl::Status RunShardMode(const CommandLine& command_line);

// The tokenizer in `dir`/tokenizer.json, loaded as TGI's tool does (Tokenizer::from_file: the
// tokenizer.json alone).
absl::StatusOr<std::unique_ptr<common::Tokenizer>> LoadBenchmarkTokenizer(const std::string& dir);

// The machine probe, unless --no-roofline; its progress on stderr.
std::optional<roofline::MachineProfile> ProbeIfAsked(const ReportOptions& report);

}  // namespace tgi::benchmark
