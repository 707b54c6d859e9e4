#include "router/metrics/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <sstream>
#include <string>

namespace tgi::router {
namespace {

// The samples of a text exposition: "name{labels}" -> value (comments dropped).
std::map<std::string, double> Samples(const std::string& text) {
  std::map<std::string, double> samples;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    samples[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return samples;
}

TEST(BucketsTest, FollowTgisLayouts) {
  const std::vector<double> durations = DurationBuckets();
  ASSERT_EQ(durations.size(), 35u);
  EXPECT_DOUBLE_EQ(durations.front(), 0.00015);
  EXPECT_DOUBLE_EQ(durations[1], 0.000225);
  EXPECT_NEAR(durations.back(), 145.611, 0.001);
  const std::vector<double> lengths = LengthBuckets(1024);
  ASSERT_EQ(lengths.size(), 100u);
  EXPECT_DOUBLE_EQ(lengths.front(), 10.24);
  EXPECT_DOUBLE_EQ(lengths.back(), 1024);
  const std::vector<double> sizes = BatchSizeBuckets();
  ASSERT_EQ(sizes.size(), 1024u);
  EXPECT_EQ(sizes.front(), 1);
  EXPECT_EQ(sizes.back(), 1024);
  EXPECT_EQ(SkippedTokenBuckets(0), std::vector<double>{0});
  EXPECT_EQ(SkippedTokenBuckets(2), (std::vector<double>{0, 1, 2}));
}

TEST(MetricsTest, SeriesAppearAtTheirFirstUpdate) {
  Metrics metrics(MetricsConfig{});
  EXPECT_EQ(metrics.Render(), "");
  metrics.OnRequest();
  const std::string text = metrics.Render();
  EXPECT_NE(text.find("# HELP tgi_request_count "), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE tgi_request_count counter"), std::string::npos) << text;
  EXPECT_EQ(Samples(text), (std::map<std::string, double>{{"tgi_request_count", 1}}));
}

TEST(MetricsTest, AKnownSequenceGivesExactValues) {
  Metrics metrics(MetricsConfig{.max_input_tokens = 100, .max_total_tokens = 200});
  for (int i = 0; i < 3; ++i) metrics.OnRequest();
  metrics.OnRequestFailure("validation");
  metrics.OnRequestFailure("overloaded");
  metrics.OnValidRequest(7, 20);
  RequestTimings timings;
  timings.total = std::chrono::milliseconds(30);
  timings.inference = std::chrono::milliseconds(20);
  timings.per_token = std::chrono::milliseconds(2);
  timings.generated_tokens = 10;
  metrics.OnRequestSuccess(timings);
  metrics.OnQueueSize(4);
  metrics.OnQueueSize(0);
  metrics.OnNextBatch(3, 99);
  metrics.OnCurrentBatch(3, 90);
  metrics.OnBatchConcat("backpressure");
  InferenceRecord prefill{"prefill", true, std::chrono::milliseconds(5), {}, std::nullopt};
  prefill.timings.forward_ns = 4'000'000;
  metrics.OnInference(prefill);
  InferenceRecord decode{"decode", false, std::chrono::milliseconds(1), {}, std::nullopt};
  metrics.OnInference(decode);
  metrics.OnFilter("prefill", std::chrono::microseconds(200));
  metrics.OnSkippedTokens(0);

  std::map<std::string, double> s = Samples(metrics.Render());
  EXPECT_EQ(s["tgi_request_count"], 3);
  EXPECT_EQ(s["tgi_request_success"], 1);
  EXPECT_EQ(s["tgi_request_failure{err=\"validation\"}"], 1);
  EXPECT_EQ(s["tgi_request_failure{err=\"overloaded\"}"], 1);
  EXPECT_EQ(s["tgi_request_duration_count"], 1);
  EXPECT_NEAR(s["tgi_request_duration_sum"], 0.030, 1e-9);
  EXPECT_EQ(s["tgi_request_generated_tokens_count"], 1);
  EXPECT_EQ(s["tgi_request_generated_tokens_sum"], 10);
  EXPECT_EQ(s["tgi_request_generated_tokens_bucket{le=\"8\"}"], 0);
  EXPECT_EQ(s["tgi_request_generated_tokens_bucket{le=\"10\"}"], 1);  // 200 / 100 x 5
  EXPECT_EQ(s["tgi_request_input_length_bucket{le=\"7\"}"], 1);
  EXPECT_EQ(s["tgi_request_input_length_bucket{le=\"6\"}"], 0);
  EXPECT_EQ(s["tgi_request_max_new_tokens_sum"], 20);
  EXPECT_EQ(s["tgi_queue_size"], 0);
  EXPECT_EQ(s["tgi_batch_current_size"], 3);
  EXPECT_EQ(s["tgi_batch_current_max_tokens"], 90);
  EXPECT_EQ(s["tgi_batch_next_size_bucket{le=\"2\"}"], 0);
  EXPECT_EQ(s["tgi_batch_next_size_bucket{le=\"3\"}"], 1);
  EXPECT_EQ(s["tgi_batch_concat{reason=\"backpressure\"}"], 1);
  EXPECT_EQ(s["tgi_batch_inference_count{method=\"prefill\"}"], 1);
  EXPECT_EQ(s["tgi_batch_inference_success{method=\"prefill\"}"], 1);
  EXPECT_EQ(s["tgi_batch_inference_count{method=\"decode\"}"], 1);
  EXPECT_EQ(s["tgi_batch_inference_failure{method=\"decode\"}"], 1);
  EXPECT_EQ(s.count("tgi_batch_inference_success{method=\"decode\"}"), 0u);
  EXPECT_NEAR(s["tgi_batch_forward_duration_sum{method=\"prefill\"}"], 0.004, 1e-12);
  EXPECT_EQ(s["tgi_batch_filter_duration_count{method=\"prefill\"}"], 1);
  EXPECT_EQ(s.count("tgi_batch_concat_duration_count{method=\"decode\"}"), 0u);
  EXPECT_EQ(s["tgi_request_skipped_tokens_bucket{le=\"0\"}"], 1);
  InferenceRecord step{"decode", true, std::chrono::milliseconds(1), {}, std::nullopt};
  step.timings.forward_ns = 500'000;
  step.stats = ShardStepStats{.rows = 3, .tokens = 3, .padding_tokens = 0, .bucket_rows = 8,
                              .bucket_length = 1};
  metrics.WatchKvUsage([] {
    return std::optional<ShardKvUsage>(
        ShardKvUsage{.blocks_used = 5, .blocks_reserved = 100, .block_size = 16});
  });
  metrics.OnInference(step);
  metrics.OnInference(step);
  s = Samples(metrics.Render());
  EXPECT_EQ(s["tgi_cpp_batch_shape_steps_total{batch=\"8\",length=\"1\",method=\"decode\"}"], 2);
  EXPECT_NEAR(s["tgi_cpp_batch_shape_forward_seconds_total{batch=\"8\",length=\"1\",method=\"decode\"}"],
              0.001, 1e-12);
  EXPECT_EQ(s["tgi_cpp_positions_total{kind=\"real\",method=\"decode\"}"], 6);
  EXPECT_EQ(s["tgi_cpp_positions_total{kind=\"padding\",method=\"decode\"}"], 0);
  EXPECT_EQ(s["tgi_cpp_kv_blocks_used"], 5);
  EXPECT_EQ(s["tgi_cpp_kv_blocks_reserved"], 100);
  EXPECT_EQ(s["tgi_cpp_kv_block_size"], 16);
  // 35 duration buckets plus +Inf.
  int buckets = 0;
  for (const auto& [name, value] : s) buckets += name.rfind("tgi_request_duration_bucket", 0) == 0;
  EXPECT_EQ(buckets, 36);
}

}  // namespace
}  // namespace tgi::router
