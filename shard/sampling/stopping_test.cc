#include "shard/sampling/stopping.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tgi::shard {
namespace {

constexpr int64_t kEos = 2;

StoppingParams Params(uint32_t max_new_tokens, std::vector<std::string> stop = {},
                      bool ignore_eos = false) {
  return StoppingParams{.max_new_tokens = max_new_tokens,
                        .stop_sequences = std::move(stop),
                        .ignore_eos_token = ignore_eos};
}

TEST(StoppingTest, LengthAfterMaxNewTokens) {
  StoppingCriteria criteria(Params(3), {kEos});
  EXPECT_EQ(criteria.Step(10, "a"), std::nullopt);
  EXPECT_EQ(criteria.Step(11, "b"), std::nullopt);
  EXPECT_EQ(criteria.Step(12, "c"), FinishReason::kLength);
  EXPECT_EQ(criteria.CurrentTokens(), 3u);
}

TEST(StoppingTest, EosToken) {
  StoppingCriteria criteria(Params(10), {kEos, 7});
  EXPECT_EQ(criteria.Step(10, "a"), std::nullopt);
  EXPECT_EQ(criteria.Step(7, ""), FinishReason::kEosToken);
  StoppingCriteria other(Params(10), {kEos, 7});
  EXPECT_EQ(other.Step(kEos, "</s>"), FinishReason::kEosToken);
}

TEST(StoppingTest, IgnoreEosFromRequestOrEnvironment) {
  StoppingCriteria by_request(Params(3, {}, /*ignore_eos=*/true), {kEos});
  EXPECT_EQ(by_request.Step(kEos, ""), std::nullopt);
  EXPECT_EQ(by_request.Step(kEos, ""), std::nullopt);
  EXPECT_EQ(by_request.Step(kEos, ""), FinishReason::kLength);

  StoppingCriteria by_env(Params(3), {kEos}, /*force_ignore_eos=*/true);
  EXPECT_EQ(by_env.Step(kEos, ""), std::nullopt);
}

TEST(StoppingTest, PrecedenceLengthThenEosThenStop) {
  // The last allowed token is also EOS and completes a stop sequence: length wins.
  StoppingCriteria last(Params(1, {"end"}), {kEos});
  EXPECT_EQ(last.Step(kEos, "end"), FinishReason::kLength);
  // EOS that also completes a stop sequence: EOS wins.
  StoppingCriteria eos(Params(5, {"end"}), {kEos});
  EXPECT_EQ(eos.Step(kEos, "end"), FinishReason::kEosToken);
  // With EOS ignored the stop sequence is seen.
  StoppingCriteria ignored(Params(5, {"end"}, true), {kEos});
  EXPECT_EQ(ignored.Step(kEos, "end"), FinishReason::kStopSequence);
}

TEST(StoppingTest, MaxNewTokensZeroStopsAtTheFirstToken) {
  StoppingCriteria criteria(Params(0), {kEos});
  EXPECT_EQ(criteria.Step(5, "x"), FinishReason::kLength);
}

TEST(StoppingTest, StopSequenceWithinOneToken) {
  StoppingCriteria criteria(Params(10, {"###"}), {kEos});
  EXPECT_EQ(criteria.Step(10, "Hello"), std::nullopt);
  EXPECT_EQ(criteria.Step(11, " ###"), FinishReason::kStopSequence);
}

TEST(StoppingTest, StopSequenceSpanningTokens) {
  StoppingCriteria criteria(Params(10, {"User:"}), {kEos});
  EXPECT_EQ(criteria.Step(10, "ok\nUs"), std::nullopt);
  EXPECT_EQ(criteria.Step(11, "e"), std::nullopt);
  EXPECT_EQ(criteria.Step(12, "r:"), FinishReason::kStopSequence);
}

TEST(StoppingTest, StopSequenceEndingInsideATokenStops) {
  // "stop" ends inside the text of the token "pping": TGI (which matches only at the end of the
  // buffer) would miss it; we stop there.
  StoppingCriteria criteria(Params(10, {"stop"}), {kEos});
  EXPECT_EQ(criteria.Step(10, "sto"), std::nullopt);
  EXPECT_EQ(criteria.Step(11, "pping"), FinishReason::kStopSequence);
}

TEST(StoppingTest, StopSequenceFollowedByMoreTextInTheSameToken) {
  StoppingCriteria criteria(Params(10, {"stop"}), {kEos});
  EXPECT_EQ(criteria.Step(10, "stop\n\n"), FinishReason::kStopSequence);
}

TEST(StoppingTest, OldTextDoesNotStopAgain) {
  // A stop string only counts when it ends in the newest token's text.
  StoppingCriteria criteria(Params(10, {"ab"}), {kEos});
  EXPECT_EQ(criteria.Step(10, "xa"), std::nullopt);
  EXPECT_EQ(criteria.Step(11, "c"), std::nullopt);
  EXPECT_EQ(criteria.Step(12, "b"), std::nullopt);
}

TEST(StoppingTest, RegexCharactersAreLiteral) {
  StoppingCriteria criteria(Params(10, {"a.c"}), {kEos});
  EXPECT_EQ(criteria.Step(10, "abc"), std::nullopt);
  EXPECT_EQ(criteria.Step(11, " a.c"), FinishReason::kStopSequence);
}

TEST(StoppingTest, SeveralStopSequences) {
  StoppingCriteria criteria(Params(10, {"foo", "bar"}), {kEos});
  EXPECT_EQ(criteria.Step(10, "xx"), std::nullopt);
  EXPECT_EQ(criteria.Step(11, "ba"), std::nullopt);
  EXPECT_EQ(criteria.Step(12, "r"), FinishReason::kStopSequence);
}

TEST(StoppingTest, TailIsBoundedAndKeepsRecentText) {
  StoppingCriteria criteria(Params(10000, {"é!"}), {kEos});
  // Many multi-byte characters force trimming; a stop split across tokens still matches later.
  for (int i = 0; i < 500; ++i) ASSERT_EQ(criteria.Step(10, "é"), std::nullopt);
  EXPECT_EQ(criteria.Step(11, "!"), FinishReason::kStopSequence);
}

TEST(StoppingTest, TrimmingDropsOldText) {
  // A 300-character stop: it matches while the text is at most 300 characters, but once the text
  // grows past 300 it is cut to the last 200 and the stop can no longer fit.
  const std::string stop = std::string(150, 'a') + std::string(150, 'b');
  StoppingCriteria fits(Params(10000, {stop}), {kEos});
  EXPECT_EQ(fits.Step(10, std::string(150, 'a')), std::nullopt);
  EXPECT_EQ(fits.Step(11, std::string(150, 'b')), FinishReason::kStopSequence);

  StoppingCriteria cut(Params(10000, {stop}), {kEos});
  EXPECT_EQ(cut.Step(10, "x" + std::string(150, 'a')), std::nullopt);
  EXPECT_EQ(cut.Step(11, std::string(150, 'b')), std::nullopt);
}

TEST(StoppingTest, FinishReasonNamesAndValues) {
  EXPECT_EQ(static_cast<int>(FinishReason::kLength), 0);
  EXPECT_EQ(static_cast<int>(FinishReason::kEosToken), 1);
  EXPECT_EQ(static_cast<int>(FinishReason::kStopSequence), 2);
  EXPECT_EQ(FinishReasonName(FinishReason::kLength), "length");
  EXPECT_EQ(FinishReasonName(FinishReason::kEosToken), "eos_token");
  EXPECT_EQ(FinishReasonName(FinishReason::kStopSequence), "stop_sequence");
}

}  // namespace
}  // namespace tgi::shard
