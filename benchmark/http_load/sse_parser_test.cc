#include "benchmark/http_load/sse_parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace tgi::benchmark {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(SseParserTest, EventsEndAtABlankLine) {
  SseParser parser;
  EXPECT_THAT(parser.Feed("data:{\"a\":1}\n\ndata: {\"b\":2}\n\n"),
              ElementsAre("{\"a\":1}", "{\"b\":2}"));
  EXPECT_FALSE(parser.HasPartialEvent());
}

TEST(SseParserTest, EventsSplitAcrossReadsAreReassembled) {
  SseParser parser;
  EXPECT_THAT(parser.Feed("da"), IsEmpty());
  EXPECT_THAT(parser.Feed("ta:{\"tok"), IsEmpty());
  EXPECT_THAT(parser.Feed("en\":1}\n"), IsEmpty());
  EXPECT_TRUE(parser.HasPartialEvent());
  EXPECT_THAT(parser.Feed("\n"), ElementsAre("{\"token\":1}"));
}

TEST(SseParserTest, CrLfCommentsAndMultiLineData) {
  SseParser parser;
  EXPECT_THAT(parser.Feed(":\n\r\nevent: message\r\ndata: one\r\ndata: two\r\n\r\n"),
              ElementsAre("one\ntwo"));
}

TEST(SseParserTest, DoneMarkerIsAnEvent) {
  SseParser parser;
  EXPECT_THAT(parser.Feed("data: [DONE]\n\n"), ElementsAre("[DONE]"));
}

}  // namespace
}  // namespace tgi::benchmark
