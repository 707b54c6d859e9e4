#include "benchmark/http_load/load_test.h"

#include <gtest/gtest.h>

#include "boost/json.hpp"

namespace tgi::benchmark {
namespace {

using std::chrono::milliseconds;

TEST(LoadTestTest, RecordTimesFirstTokenAndTimePerOutputToken) {
  StreamOutcome outcome;
  outcome.sent = Clock::time_point(milliseconds(1000));
  outcome.token_times = {Clock::time_point(milliseconds(1100)),
                         Clock::time_point(milliseconds(1150)),
                         Clock::time_point(milliseconds(1300))};
  outcome.finished = Clock::time_point(milliseconds(1310));
  const RequestRecord record = RecordOf(outcome);
  EXPECT_TRUE(record.ok);
  EXPECT_EQ(record.tokens, 3u);
  EXPECT_DOUBLE_EQ(record.ttft_ms, 100);
  EXPECT_DOUBLE_EQ(record.tpot_ms, 100);  // (1300 - 1100) / 2
  EXPECT_DOUBLE_EQ(record.latency_ms, 310);
}

TEST(LoadTestTest, AFailedOrTokenlessStreamIsNotASuccess) {
  StreamOutcome failed;
  failed.error = StreamOutcome::Error::kHttpStatus;
  failed.token_times = {Clock::now()};
  EXPECT_FALSE(RecordOf(failed).ok);
  EXPECT_FALSE(RecordOf(StreamOutcome{}).ok);
}

TEST(LoadTestTest, LevelRatesCountSuccessfulRequestsOnly) {
  LevelResult level;
  level.wall_seconds = 2;
  for (auto [ok, tokens] : {std::pair{true, 10u}, std::pair{true, 6u}, std::pair{false, 3u}}) {
    RequestRecord record;
    record.ok = ok;
    record.tokens = tokens;
    level.records.push_back(record);
  }
  EXPECT_EQ(level.succeeded(), 2u);
  EXPECT_EQ(level.generated_tokens(), 16u);
  EXPECT_DOUBLE_EQ(level.requests_per_second(), 1);
  EXPECT_DOUBLE_EQ(level.tokens_per_second(), 8);
}

TEST(LoadTestTest, TgiBodyIsGreedyWithDetails) {
  HttpLoadOptions options;
  options.max_new_tokens = 16;
  const boost::json::value body = boost::json::parse(GenerationBody(Api::kTgi, options, "Lorem"));
  EXPECT_EQ(body.at("inputs").as_string(), "Lorem");
  const boost::json::object& parameters = body.at("parameters").as_object();
  EXPECT_EQ(parameters.at("max_new_tokens").to_number<int>(), 16);
  EXPECT_FALSE(parameters.at("do_sample").as_bool());
  EXPECT_TRUE(parameters.at("details").as_bool());
  EXPECT_FALSE(parameters.contains("temperature"));
}

TEST(LoadTestTest, OpenAiBodyStreamsGreedilyAndIgnoresEos) {
  HttpLoadOptions options;
  const boost::json::value body =
      boost::json::parse(GenerationBody(Api::kOpenAi, options, "Lorem"));
  EXPECT_EQ(body.at("prompt").as_string(), "Lorem");
  EXPECT_TRUE(body.at("stream").as_bool());
  EXPECT_EQ(body.at("max_tokens").to_number<int>(), 64);
  EXPECT_EQ(body.at("temperature").to_number<double>(), 0.0);
  EXPECT_TRUE(body.at("ignore_eos").as_bool());
}

TEST(LoadTestTest, UrlsAndApis) {
  absl::StatusOr<Endpoint> endpoint = ParseHttpUrl("http://127.0.0.1:8080/");
  ASSERT_TRUE(endpoint.ok());
  EXPECT_EQ(endpoint->host, "127.0.0.1");
  EXPECT_EQ(endpoint->port, "8080");
  EXPECT_EQ(ParseHttpUrl("http://localhost")->port, "80");
  EXPECT_EQ(ParseHttpUrl("http://[::1]:99")->host, "::1");
  EXPECT_FALSE(ParseHttpUrl("https://x:1").ok());
  EXPECT_FALSE(ParseApi("grpc").ok());
  EXPECT_STREQ(StreamRoute(Api::kTgi), "/generate_stream");
  EXPECT_STREQ(StreamRoute(Api::kOpenAi), "/v1/completions");
}

}  // namespace
}  // namespace tgi::benchmark

namespace tgi::benchmark {
namespace {

TEST(StreamEventTest, TgiTokenFinalAndErrorEvents) {
  const StreamEvent token = InterpretEvent(
      Api::kTgi, R"({"index":1,"token":{"id":5,"text":"a","logprob":-1,"special":false},)"
                 R"("generated_text":null,"details":null})");
  EXPECT_TRUE(token.token);
  EXPECT_FALSE(token.final);

  const StreamEvent last = InterpretEvent(
      Api::kTgi, R"({"index":2,"token":{"id":6,"text":"b","logprob":-1,"special":false},)"
                 R"("generated_text":"ab","details":{"finish_reason":"length","generated_tokens":2}})");
  EXPECT_TRUE(last.token);
  EXPECT_TRUE(last.final);
  EXPECT_EQ(last.reported_tokens, 2u);

  const StreamEvent error =
      InterpretEvent(Api::kTgi, R"({"error":"Request failed during generation","error_type":"generation"})");
  EXPECT_EQ(error.error_type, "generation");
  EXPECT_EQ(error.error_message, "Request failed during generation");

  EXPECT_EQ(InterpretEvent(Api::kTgi, "not json").error_type, "unparsable event");
}

TEST(StreamEventTest, OpenAiChunksDoneAndErrors) {
  EXPECT_TRUE(
      InterpretEvent(Api::kOpenAi, R"({"choices":[{"text":"a","finish_reason":null}]})").token);
  // llama-server's closing chunk carries only the finish reason: not a token.
  const StreamEvent closing = InterpretEvent(
      Api::kOpenAi,
      R"({"choices":[{"text":"","finish_reason":"length"}],"usage":{"completion_tokens":8}})");
  EXPECT_FALSE(closing.token);
  EXPECT_EQ(closing.reported_tokens, 8u);
  EXPECT_TRUE(InterpretEvent(Api::kOpenAi, "[DONE]").final);
  const StreamEvent error =
      InterpretEvent(Api::kOpenAi, R"({"error":{"message":"too long","type":"invalid_request"}})");
  EXPECT_EQ(error.error_type, "invalid_request");
  EXPECT_EQ(error.error_message, "too long");
}

}  // namespace
}  // namespace tgi::benchmark
