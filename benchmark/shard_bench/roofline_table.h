// The benchmark's fourth table (not TGI's): for each batch size the measured prefill and decode
// tokens/s next to the roofline of this machine, their ratio, what bounds the roofline, and the
// FLOP rate (prefill) or read bandwidth (decode) the measurement implies. Formatting and
// roofline arithmetic only.
#pragma once

#include <span>

#include "benchmark/report/markdown_table.h"
#include "benchmark/roofline/roofline.h"
#include "benchmark/shard_bench/options.h"
#include "benchmark/shard_bench/runner.h"

namespace tgi::benchmark {

struct RooflineInputs {
  roofline::LlamaDims dims;
  int dtype_bytes = 4;
  roofline::MachineProfile machine;
};

// Decode rows attend over sequence_length + decode_length / 2 positions (the average of the
// decode steps); prefill rows are b × sequence_length tokens / latency.
int64_t AverageDecodeContext(uint32_t sequence_length, uint32_t decode_length);

struct RooflineRow {
  const char* step;  // "Prefill" or "Decode"
  uint32_t batch_size;
  double measured_tokens_per_second;
  roofline::Bound bound;
  double achieved;  // prefill: FLOP/s; decode: bytes/s read
};

std::vector<RooflineRow> RooflineRows(const ShardBenchOptions& options,
                                      std::span<const BatchSamples> results,
                                      const RooflineInputs& inputs);

MarkdownTable RooflineTable(std::span<const RooflineRow> rows);

}  // namespace tgi::benchmark
