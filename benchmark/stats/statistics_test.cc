#include "benchmark/stats/statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace tgi::benchmark {
namespace {

TEST(StatisticsTest, AverageMinMaxOfKnownSamples) {
  const std::vector<double> samples = {4, 1, 3, 2};
  const Summary s = Summarize(samples);
  EXPECT_DOUBLE_EQ(s.average, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 1);
  EXPECT_DOUBLE_EQ(s.max, 4);
}

// TGI's rule: the sorted sample at index floor(p / 100 × n), no interpolation.
TEST(StatisticsTest, PercentileIsTheSampleAtFloorOfPTimesN) {
  std::vector<double> ten;
  for (int i = 1; i <= 10; ++i) ten.push_back(i * 10.0);  // 10, 20, ..., 100
  EXPECT_DOUBLE_EQ(Percentile(ten, 50), 60);   // index 5
  EXPECT_DOUBLE_EQ(Percentile(ten, 90), 100);  // index 9
  EXPECT_DOUBLE_EQ(Percentile(ten, 99), 100);  // index 9 (9.9 floored)
  EXPECT_DOUBLE_EQ(Percentile(ten, 0), 10);

  const std::vector<double> three = {1, 2, 3};
  EXPECT_DOUBLE_EQ(Percentile(three, 50), 2);  // index 1 (1.5 floored)
  EXPECT_DOUBLE_EQ(Percentile(three, 90), 3);  // index 2 (2.7 floored)
  EXPECT_DOUBLE_EQ(Percentile(three, 99), 3);

  std::vector<double> hundred;
  for (int i = 0; i < 100; ++i) hundred.push_back(i);
  EXPECT_DOUBLE_EQ(Percentile(hundred, 50), 50);
  EXPECT_DOUBLE_EQ(Percentile(hundred, 90), 90);
  EXPECT_DOUBLE_EQ(Percentile(hundred, 99), 99);
}

TEST(StatisticsTest, SummarizeSortsACopyBeforeThePercentiles) {
  const std::vector<double> shuffled = {50, 10, 40, 20, 30};
  const Summary s = Summarize(shuffled);
  EXPECT_DOUBLE_EQ(s.p50, 30);  // sorted[2]
  EXPECT_DOUBLE_EQ(s.p90, 50);  // sorted[4]
  EXPECT_DOUBLE_EQ(s.p99, 50);
  EXPECT_EQ(shuffled.front(), 50);  // the input is untouched
}

TEST(StatisticsTest, OneSampleIsEveryStatistic) {
  const Summary s = Summarize(std::vector<double>{7.25});
  for (double value : {s.average, s.min, s.max, s.p50, s.p90, s.p99}) EXPECT_DOUBLE_EQ(value, 7.25);
}

TEST(StatisticsTest, EmptyInputIsNaN) {
  const Summary s = Summarize(std::vector<double>{});
  for (double value : {s.average, s.min, s.max, s.p50, s.p90, s.p99}) EXPECT_TRUE(std::isnan(value));
  EXPECT_TRUE(std::isnan(Percentile(std::vector<double>{1.0}, 100)));  // index past the end
}

}  // namespace
}  // namespace tgi::benchmark
