#include "benchmark/shard_bench/roofline_table.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmark/stats/statistics.h"

namespace tgi::benchmark {

int64_t AverageDecodeContext(uint32_t sequence_length, uint32_t decode_length) {
  return static_cast<int64_t>(sequence_length) + decode_length / 2;
}

std::vector<RooflineRow> RooflineRows(const ShardBenchOptions& options,
                                      std::span<const BatchSamples> results,
                                      const RooflineInputs& in) {
  const int64_t seq = options.sequence_length;
  const int64_t context = AverageDecodeContext(options.sequence_length, options.decode_length);
  std::vector<RooflineRow> rows;
  for (const BatchSamples& batch : results) {
    const int64_t b = batch.batch_size;
    // TGI's prefill throughput counts requests; × sequence_length gives prompt tokens/s.
    const double prefill_tps = Average(batch.prefill_throughput) * static_cast<double>(seq);
    rows.push_back(RooflineRow{
        .step = "Prefill",
        .batch_size = batch.batch_size,
        .measured_tokens_per_second = prefill_tps,
        .bound = roofline::PrefillRoofline(in.dims, in.dtype_bytes, b, seq, in.machine),
        .achieved = prefill_tps / static_cast<double>(seq) * roofline::PrefillFlops(in.dims, seq)});
  }
  for (const BatchSamples& batch : results) {
    const int64_t b = batch.batch_size;
    const double decode_tps = Average(batch.decode_throughput);
    const double bytes_per_step =
        static_cast<double>(roofline::WeightBytesPerStep(in.dims, in.dtype_bytes)) +
        static_cast<double>(b * roofline::KvBytesPerRow(in.dims, context, in.dtype_bytes));
    rows.push_back(RooflineRow{
        .step = "Decode",
        .batch_size = batch.batch_size,
        .measured_tokens_per_second = decode_tps,
        .bound = roofline::DecodeRoofline(in.dims, in.dtype_bytes, b, context, in.machine),
        .achieved = decode_tps / static_cast<double>(b) * bytes_per_step});
  }
  return rows;
}

MarkdownTable RooflineTable(std::span<const RooflineRow> rows) {
  MarkdownTable table(
      {"Step", "Batch Size", "Measured", "Roofline", "Ratio", "Bound", "Achieved"});
  std::string_view previous_step;
  for (const RooflineRow& row : rows) {
    const bool prefill = std::string_view(row.step) == "Prefill";
    // As in TGI's tables, a step's name shows on its first row only.
    const std::string step = row.step == previous_step ? "" : row.step;
    previous_step = row.step;
    table.AddRow({step, absl::StrCat(row.batch_size),
                  absl::StrFormat("%.2f tokens/secs", row.measured_tokens_per_second),
                  absl::StrFormat("%.2f tokens/secs", row.bound.tokens_per_second),
                  absl::StrFormat("%.3f", row.measured_tokens_per_second /
                                              row.bound.tokens_per_second),
                  row.bound.limit,
                  prefill ? absl::StrFormat("%.2f GFLOP/s", row.achieved / 1e9)
                          : absl::StrFormat("%.2f GB/s", row.achieved / 1e9)});
  }
  return table;
}

}  // namespace tgi::benchmark
