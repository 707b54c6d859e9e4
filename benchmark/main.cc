// text-generation-benchmark: TGI's benchmark against the shard (default), the HTTP load mode
// (`http`), the random-weight model writer (`make-model`) and the machine's roofline
// (`roofline`). Parses the command line, sets up logging on stderr and runs one mode.
#include <cstdio>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/cli.h"
#include "benchmark/http_mode.h"
#include "benchmark/models/random_llama.h"
#include "benchmark/report/common_report.h"
#include "benchmark/roofline/machine_probe.h"
#include "benchmark/roofline/roofline.h"
#include "benchmark/shard_bench/roofline_table.h"
#include "benchmark/shard_mode.h"
#include "common/logging.h"

namespace tgi::benchmark {
namespace {

namespace fs = std::filesystem;

absl::Status RunMakeModel(const CommandLine& c) {
  ModelSource source = c.driver.source;
  source.model = c.make_model.shape;
  absl::StatusOr<RandomLlamaOptions> options = RandomLlamaFor(source);
  if (!options.ok()) return options.status();
  const fs::path dir = !c.make_model.output.empty()
                           ? fs::path(c.make_model.output)
                           : ModelCacheDir(source) / RandomLlamaDirName(*options);
  if (absl::Status status = WriteRandomLlama(*options, dir); !status.ok()) return status;
  std::printf("%s\n", dir.c_str());
  return absl::OkStatus();
}

// A shape name gives its dimensions without writing the model; a directory its config.json.
absl::StatusOr<roofline::LlamaDims> DimsOf(const std::string& model) {
  if (absl::StatusOr<LlamaShape> shape = FindShape(model); shape.ok()) {
    return roofline::ParseLlamaDims(LlamaConfigJson(*shape, Dtype::kFloat32));
  }
  return roofline::LoadLlamaDims(model);
}

absl::Status RunRooflineMode(const CommandLine& c) {
  absl::StatusOr<roofline::MachineProfile> machine =
      roofline::ProbeMachine(c.report.bandwidth, c.report.sgemm);
  if (!machine.ok()) return machine.status();
  std::string out = absl::StrCat("\n", MachineTable(*machine).Render(), "\n");
  if (!c.driver.source.model.empty()) {
    absl::StatusOr<roofline::LlamaDims> dims = DimsOf(c.driver.source.model);
    if (!dims.ok()) return dims.status();
    const int bytes = roofline::DtypeBytes(c.driver.source.dtype);
    const int64_t seq = c.shard.sequence_length;
    const int64_t context = AverageDecodeContext(c.shard.sequence_length, c.shard.decode_length);
    absl::StrAppend(&out, absl::StrFormat(
        "%s (%s): %.1f M parameters, %s of weights read per decode step, %s of KV per row at "
        "%d positions\n\n",
        c.driver.source.model, c.driver.source.dtype, roofline::TotalParameters(*dims) / 1e6,
        FormatBytes(roofline::WeightBytesPerStep(*dims, bytes)),
        FormatBytes(roofline::KvBytesPerRow(*dims, context, bytes)), context));
    MarkdownTable table({"Step", "Batch Size", "Roofline", "Bound", "Memory Bound",
                         "Compute Bound"});
    for (const char* step : {"Prefill", "Decode"}) {
      for (uint32_t b : c.shard.batch_sizes) {
        const roofline::Bound bound =
            std::string_view(step) == "Prefill"
                ? roofline::PrefillRoofline(*dims, bytes, b, seq, *machine)
                : roofline::DecodeRoofline(*dims, bytes, b, context, *machine);
        table.AddRow({step, absl::StrCat(b),
                      absl::StrFormat("%.2f tokens/secs", bound.tokens_per_second), bound.limit,
                      absl::StrFormat("%.2f tokens/secs", bound.memory_tokens_per_second),
                      absl::StrFormat("%.2f tokens/secs", bound.compute_tokens_per_second)});
      }
    }
    absl::StrAppend(&out, table.Render());
  }
  std::fputs(out.c_str(), stdout);
  return absl::OkStatus();
}

int Main(int argc, char** argv) {
  absl::StatusOr<CommandLine> command_line = ParseCommandLine(argc, argv);
  if (!command_line.ok()) {
    return command_line.status().code() == absl::StatusCode::kCancelled ? 0 : 2;
  }
  common::SetUpLogging({.json = false, .level = "info", .component = "benchmark"});
  absl::Status status;
  switch (command_line->mode) {
    case Mode::kShard: status = RunShardMode(*command_line); break;
    case Mode::kHttp: status = RunHttpMode(*command_line); break;
    case Mode::kMakeModel: status = RunMakeModel(*command_line); break;
    case Mode::kRoofline: status = RunRooflineMode(*command_line); break;
  }
  if (!status.ok()) {
    std::fprintf(stderr, "text-generation-benchmark: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace tgi::benchmark

int main(int argc, char** argv) {
  tgi::benchmark::roofline::ReexecIfOpenBlasMisdetects(argv);
  return tgi::benchmark::Main(argc, argv);
}
