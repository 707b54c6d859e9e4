#include "router/scheduler/batch_limits.h"

#include <gtest/gtest.h>

namespace tgi::router {
namespace {

TEST(CoupleBatchLimitsTest, FollowsTgiGaudi) {
  // Only the size: total = size x max_total.
  BatchLimits limits = CoupleBatchLimits(4, std::nullopt, 2048);
  EXPECT_EQ(limits.max_batch_size, 4u);
  EXPECT_EQ(limits.max_batch_total_tokens, 8192u);
  // Only the total: size = total / max_total.
  limits = CoupleBatchLimits(std::nullopt, 10000, 2048);
  EXPECT_EQ(limits.max_batch_size, 4u);
  EXPECT_EQ(limits.max_batch_total_tokens, 10000u);
  // Both, consistent: kept.
  limits = CoupleBatchLimits(4, 9000, 2048);
  EXPECT_EQ(limits.max_batch_total_tokens, 9000u);
  // Both, inconsistent: the size wins.
  limits = CoupleBatchLimits(8, 9000, 2048);
  EXPECT_EQ(limits.max_batch_size, 8u);
  EXPECT_EQ(limits.max_batch_total_tokens, 16384u);
  // Neither.
  limits = CoupleBatchLimits(std::nullopt, std::nullopt, 2048);
  EXPECT_FALSE(limits.max_batch_size);
  EXPECT_FALSE(limits.max_batch_total_tokens);
}

TEST(ResolveMaxBatchTotalTokensTest, ConfiguredThenSupportedThenFallback) {
  EXPECT_EQ(*ResolveMaxBatchTotalTokens(5000, 90000, 2048, 4096), 5000u);
  EXPECT_EQ(*ResolveMaxBatchTotalTokens(std::nullopt, 90000, 2048, 4096), 90000u);
  absl::StatusOr<uint32_t> too_small = ResolveMaxBatchTotalTokens(std::nullopt, 1000, 2048, 4096);
  EXPECT_EQ(too_small.status().message(),
            "`max_total_tokens` must be <= `max_batch_total_tokens`. Given: 2048 and 1000");
  EXPECT_EQ(*ResolveMaxBatchTotalTokens(std::nullopt, std::nullopt, 2048, 4096), 16000u);
  EXPECT_EQ(*ResolveMaxBatchTotalTokens(std::nullopt, std::nullopt, 20000, 4096), 20000u);
  EXPECT_EQ(*ResolveMaxBatchTotalTokens(std::nullopt, std::nullopt, 2048, 32000), 32000u);
}

}  // namespace
}  // namespace tgi::router
