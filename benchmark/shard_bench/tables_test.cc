#include "benchmark/shard_bench/tables.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"

namespace tgi::benchmark {
namespace {

using ::testing::ElementsAre;

std::vector<std::string> Column(const MarkdownTable& table, size_t column) {
  std::vector<std::string> out;
  for (const auto& row : table.rows()) out.push_back(row[column]);
  return out;
}

std::vector<std::string> HeaderOf(const MarkdownTable& table) {
  const std::string text = table.Render();
  const std::string first = text.substr(0, text.find('\n'));
  std::vector<std::string> cells;
  for (absl::string_view cell : absl::StrSplit(first, '|', absl::SkipWhitespace())) {
    cells.emplace_back(absl::StripAsciiWhitespace(cell));
  }
  return cells;
}

std::vector<BatchSamples> TwoBatches() {
  BatchSamples one;
  one.batch_size = 1;
  one.prefill_latency_ms = {10, 30, 20};
  one.prefill_throughput = {100, 33.333, 50};
  one.decode_latency_ms = {70, 70, 77};
  one.decode_token_latency_ms = {10, 10, 11};
  one.decode_throughput = {100, 100, 90.909};
  one.decode_steps = {7, 7, 7};
  BatchSamples two = one;
  two.batch_size = 2;
  two.prefill_latency_ms = {12, 12, 12};
  return {one, two};
}

TEST(TablesTest, ParametersTableHasTgisRowsInTgisOrder) {
  ShardBenchOptions options;
  options.tokenizer_name = "models/stories260K";
  options.sampling.temperature = 0.5f;
  options.sampling.top_k = 4;
  const MarkdownTable table = ParametersTable(options);
  EXPECT_THAT(HeaderOf(table), ElementsAre("Parameter", "Value"));
  EXPECT_THAT(Column(table, 0),
              ElementsAre("Model", "Sequence Length", "Decode Length", "Top N Tokens", "N Runs",
                          "Warmups", "Temperature", "Top K", "Top P", "Typical P",
                          "Repetition Penalty", "Frequency Penalty", "Watermark", "Do Sample"));
  EXPECT_THAT(Column(table, 1),
              ElementsAre("models/stories260K", "10", "8", "None", "10", "1", "Some(0.5)",
                          "Some(4)", "None", "None", "None", "None", "false", "false"));
}

TEST(TablesTest, LatencyTableHasTgisColumnsAndOneRowPerStepAndBatch) {
  const std::vector<BatchSamples> results = TwoBatches();
  const MarkdownTable table = LatencyTable(results);
  EXPECT_THAT(HeaderOf(table), ElementsAre("Step", "Batch Size", "Average", "Lowest", "Highest",
                                           "p50", "p90", "p99"));
  EXPECT_THAT(Column(table, 0), ElementsAre("Prefill", "Prefill", "Decode (token)",
                                            "Decode (token)", "Decode (total)", "Decode (total)"));
  EXPECT_THAT(Column(table, 1), ElementsAre("1", "2", "1", "2", "1", "2"));
  // Prefill at batch 1: samples 10, 30, 20 -> sorted 10, 20, 30; p50 = [1], p90 = p99 = [2].
  EXPECT_THAT(table.rows()[0], ElementsAre("Prefill", "1", "20.00 ms", "10.00 ms", "30.00 ms",
                                           "20.00 ms", "30.00 ms", "30.00 ms"));
  EXPECT_THAT(table.rows()[2], ElementsAre("Decode (token)", "1", "10.33 ms", "10.00 ms",
                                           "11.00 ms", "10.00 ms", "11.00 ms", "11.00 ms"));
}

TEST(TablesTest, ThroughputTableHasTgisColumnsAndUnit) {
  const std::vector<BatchSamples> results = TwoBatches();
  const MarkdownTable table = ThroughputTable(results);
  EXPECT_THAT(HeaderOf(table), ElementsAre("Step", "Batch Size", "Average", "Lowest", "Highest"));
  EXPECT_THAT(Column(table, 0), ElementsAre("Prefill", "Prefill", "Decode", "Decode"));
  EXPECT_THAT(table.rows()[2], ElementsAre("Decode", "1", "96.97 tokens/secs",
                                           "90.91 tokens/secs", "100.00 tokens/secs"));
}

// tabled's Merge::vertical blanks any cell equal to the one above it, in every column: the
// repeated step names, and here also Decode's "100.00 tokens/secs", equal to Prefill's above it.
TEST(TablesTest, RenderedTablesMergeRepeatedCellsAsTgiDoes) {
  const std::vector<BatchSamples> results = TwoBatches();
  EXPECT_EQ(ThroughputTable(results).Render(),
            "| Step    | Batch Size | Average           | Lowest            | Highest            |\n"
            "|---------|------------|-------------------|-------------------|--------------------|\n"
            "| Prefill | 1          | 61.11 tokens/secs | 33.33 tokens/secs | 100.00 tokens/secs |\n"
            "|         | 2          |                   |                   |                    |\n"
            "| Decode  | 1          | 96.97 tokens/secs | 90.91 tokens/secs |                    |\n"
            "|         | 2          |                   |                   |                    |\n");
}

TEST(TablesTest, OutputIsThreeTablesBetweenBlankLines) {
  const std::vector<BatchSamples> results = TwoBatches();
  const ShardBenchOptions options;
  const std::string text = RenderTgiTables(options, results);
  EXPECT_EQ(text, "\n" + ParametersTable(options).Render() + "\n\n" +
                      LatencyTable(results).Render() + "\n\n" + ThroughputTable(results).Render() +
                      "\n");
}

TEST(TablesTest, OptionsPrintAsRustDebugDoes) {
  EXPECT_EQ(DebugOption(std::optional<float>()), "None");
  EXPECT_EQ(DebugOption(std::optional<float>(1.0f)), "Some(1.0)");
  EXPECT_EQ(DebugOption(std::optional<float>(0.95f)), "Some(0.95)");
  EXPECT_EQ(DebugOption(std::optional<float>(0.1f)), "Some(0.1)");
  EXPECT_EQ(DebugOption(std::optional<uint32_t>(5)), "Some(5)");
  EXPECT_EQ(FormatValue(12.345, "ms"), "12.35 ms");
  EXPECT_EQ(FormatValue(std::numeric_limits<double>::quiet_NaN(), "ms"), "NaN ms");
}

}  // namespace
}  // namespace tgi::benchmark
