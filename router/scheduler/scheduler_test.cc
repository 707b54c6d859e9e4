#include "router/scheduler/scheduler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "router/scheduler/testing/fake_shard_client.h"

namespace tgi::router {
namespace {

using testing::FakeShardClient;
using Call = FakeShardClient::Call;

constexpr auto kTimeout = std::chrono::seconds(30);

ValidRequest Request(uint32_t max_new_tokens, uint32_t input_length = 4) {
  ValidRequest request;
  request.shard.inputs = "Once upon a time";
  request.input_length = input_length;
  request.shard.truncate = input_length;
  request.shard.stopping_parameters.max_new_tokens = max_new_tokens;
  return request;
}

// Every event of a stream up to and including the final one.
std::vector<ResponseEvent> Collect(ResponseStream& stream) {
  std::vector<ResponseEvent> events;
  while (true) {
    std::optional<ResponseEvent> event = stream.Pop(kTimeout);
    if (!event) {
      ADD_FAILURE() << "no final event after " << events.size() << " events";
      return events;
    }
    events.push_back(std::move(*event));
    if (IsFinal(events.back())) return events;
  }
}

std::vector<uint32_t> TokenIds(const std::vector<ResponseEvent>& events) {
  std::vector<uint32_t> ids;
  for (const ResponseEvent& event : events) {
    if (const auto* step = std::get_if<IntermediateEvent>(&event)) ids.push_back(step->token.id);
    if (const auto* end = std::get_if<EndEvent>(&event)) ids.push_back(end->token.id);
  }
  return ids;
}

std::vector<uint32_t> ExpectedIds(uint64_t request_id, uint32_t count) {
  std::vector<uint32_t> ids;
  for (uint32_t step = 1; step <= count; ++step) {
    ids.push_back(FakeShardClient::TokenId(request_id, step));
  }
  return ids;
}

std::string ErrorOf(const std::vector<ResponseEvent>& events) {
  const auto* error = std::get_if<ErrorEvent>(&events.back());
  return error ? error->message : "";
}

// Index of the first call matching, or -1.
int IndexOf(const std::vector<Call>& calls, const std::string& method, uint64_t request_id) {
  for (size_t i = 0; i < calls.size(); ++i) {
    const std::vector<uint64_t>& ids = calls[i].request_ids;
    if (calls[i].method == method && std::find(ids.begin(), ids.end(), request_id) != ids.end()) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

class SchedulerTest : public ::testing::Test {
 protected:
  SchedulerTest()
      : client_(std::make_shared<FakeShardClient>()),
        observer_(std::make_shared<CountingObserver>()) {
    options_.max_batch_prefill_tokens = 4096;
    options_.max_batch_total_tokens = 100000;
    options_.queue.pad_sequence_to_multiple_of = 16;
    options_.observer = observer_;
  }

  Scheduler& Make() {
    scheduler_ = std::make_unique<Scheduler>(client_, options_);
    return *scheduler_;
  }

  std::shared_ptr<FakeShardClient> client_;
  std::shared_ptr<CountingObserver> observer_;
  SchedulerOptions options_;
  std::unique_ptr<Scheduler> scheduler_;
};

TEST_F(SchedulerTest, ARequestCompletesWithTheShardsTokens) {
  Scheduler& scheduler = Make();
  scheduler.Start();
  std::shared_ptr<ResponseStream> stream = scheduler.Submit(Request(5));
  std::vector<ResponseEvent> events = Collect(*stream);
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(TokenIds(events), ExpectedIds(0, 5));
  const auto* end = std::get_if<EndEvent>(&events.back());
  ASSERT_NE(end, nullptr);
  EXPECT_EQ(end->generated_text.text, " r0t1 r0t2 r0t3 r0t4 r0t5");
  EXPECT_EQ(end->generated_text.generated_tokens, 5u);
  EXPECT_EQ(end->generated_text.finish_reason, FinishReason::kLength);
  EXPECT_EQ(end->token.text, " r0t5");
  EXPECT_FLOAT_EQ(end->token.logprob, -0.25f);
  EXPECT_LE(end->queued, end->start);
  // Prefill gives the first token, four decodes the rest; the batch then needs no filter.
  EXPECT_EQ(client_->calls("Prefill").size(), 1u);
  EXPECT_EQ(client_->calls("Decode").size(), 4u);
  EXPECT_TRUE(client_->calls("FilterBatch").empty());
  EXPECT_TRUE(scheduler.generation_healthy());
  CountingObserver::Snapshot counts = observer_->snapshot();
  EXPECT_EQ(counts.inference_count["prefill"], 1u);
  EXPECT_EQ(counts.inference_count["decode"], 4u);
}

TEST_F(SchedulerTest, ChunkedPrefillPassesTheBudgetAndWaitsForTheFirstToken) {
  options_.max_prefill_chunk_tokens = 64;
  client_->set_prompt_steps(3);  // each prompt takes three calls: Prefill, then two Decodes
  Scheduler& scheduler = Make();
  scheduler.Start();
  auto running = scheduler.Submit(Request(20));
  // Once the first request generates, a second one joins; its prompt takes three steps too,
  // during which the first keeps its pace.
  std::shared_ptr<ResponseStream> late;
  int decodes = 0;
  client_->SetHook([&](const Call& call) {
    if (call.method == "Decode" && ++decodes == 4) late = scheduler.Submit(Request(3));
  });
  EXPECT_EQ(TokenIds(Collect(*running)), ExpectedIds(0, 20));
  ASSERT_NE(late, nullptr);
  std::vector<ResponseEvent> events = Collect(*late);
  EXPECT_EQ(TokenIds(events), ExpectedIds(1, 3));
  EXPECT_TRUE(std::holds_alternative<EndEvent>(events.back()));
  for (const Call& call : client_->calls()) {
    if (call.method == "Prefill" || call.method == "Decode") {
      EXPECT_EQ(call.max_prompt_tokens, 64u) << call.method;
    }
  }
  // Request 0: Prefill and two Decodes in its prompt, then a Decode for each of its 20 tokens.
  EXPECT_EQ(client_->calls("Decode").size(), 22u);
  client_->SetHook(nullptr);
}

TEST_F(SchedulerTest, PrefillDetailsAndTopTokensArriveAsEvents) {
  Scheduler& scheduler = Make();
  scheduler.Start();
  ValidRequest request = Request(2);
  request.shard.prefill_logprobs = true;
  request.shard.top_n_tokens = 2;
  std::vector<ResponseEvent> events = Collect(*scheduler.Submit(request));
  ASSERT_EQ(events.size(), 3u);
  const auto* prefill = std::get_if<PrefillEvent>(&events[0]);
  ASSERT_NE(prefill, nullptr);
  ASSERT_EQ(prefill->tokens.size(), 2u);
  EXPECT_TRUE(std::isnan(prefill->tokens[0].logprob));
  EXPECT_EQ(prefill->tokens[1].text, " prompt");
  const auto* first = std::get_if<IntermediateEvent>(&events[1]);
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(first->top_tokens.size(), 2u);
  EXPECT_EQ(first->top_tokens[1].id, 7u);
  EXPECT_EQ(std::get<EndEvent>(events[2]).top_tokens.size(), 2u);
}

TEST_F(SchedulerTest, RequestsSubmittedTogetherShareABatchAndFinishedOnesAreFiltered) {
  Scheduler& scheduler = Make();
  auto short_stream = scheduler.Submit(Request(2));
  auto long_stream = scheduler.Submit(Request(6));
  scheduler.Start();
  EXPECT_EQ(TokenIds(Collect(*short_stream)), ExpectedIds(0, 2));
  EXPECT_EQ(TokenIds(Collect(*long_stream)), ExpectedIds(1, 6));
  std::vector<Call> prefills = client_->calls("Prefill");
  ASSERT_EQ(prefills.size(), 1u);
  EXPECT_EQ(prefills[0].request_ids, (std::vector<uint64_t>{0, 1}));
  std::vector<Call> filters = client_->calls("FilterBatch");
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(filters[0].batch_ids, (std::vector<uint64_t>{0}));
  EXPECT_EQ(filters[0].request_ids, (std::vector<uint64_t>{1}));
}

TEST_F(SchedulerTest, AShardThatDropsFinishedRequestsNeedsNoFilter) {
  client_->set_drops_finished(true);
  Scheduler& scheduler = Make();
  auto short_stream = scheduler.Submit(Request(2));
  auto long_stream = scheduler.Submit(Request(6));
  scheduler.Start();
  EXPECT_EQ(TokenIds(Collect(*short_stream)), ExpectedIds(0, 2));
  EXPECT_EQ(TokenIds(Collect(*long_stream)), ExpectedIds(1, 6));
  scheduler.Stop();
  EXPECT_TRUE(client_->calls("FilterBatch").empty());
  std::vector<Call> decodes = client_->calls("Decode");
  ASSERT_EQ(decodes.size(), 5u);
  EXPECT_EQ(decodes[1].request_ids, (std::vector<uint64_t>{1}));
}

TEST_F(SchedulerTest, MaxWaitingTokensAdmitsASmallBatchAfterEnoughSteps) {
  options_.waiting_served_ratio = 1.2f;  // 3 running -> a new batch needs 3 waiting requests
  options_.max_waiting_tokens = 4;
  Scheduler& scheduler = Make();
  std::vector<std::shared_ptr<ResponseStream>> running;
  for (int i = 0; i < 3; ++i) running.push_back(scheduler.Submit(Request(30)));
  std::shared_ptr<ResponseStream> late;
  int decodes = 0;
  client_->SetHook([&](const Call& call) {
    if (call.method == "Decode" && ++decodes == 1) late = scheduler.Submit(Request(3));
  });
  scheduler.Start();
  for (auto& stream : running) Collect(*stream);
  ASSERT_TRUE(late);
  EXPECT_EQ(TokenIds(Collect(*late)), ExpectedIds(3, 3));
  scheduler.Stop();

  // Submitted during decode 1; held back at waiting tokens 2 and 3, admitted at 4.
  const std::vector<Call> calls = client_->calls();
  const int prefill = IndexOf(calls, "Prefill", 3);
  ASSERT_GE(prefill, 0);
  int decodes_before = 0;
  for (int i = 0; i < prefill; ++i) decodes_before += calls[i].method == "Decode";
  EXPECT_EQ(decodes_before, 3);
  // The next decode concatenates the running batch and the new one.
  ASSERT_LT(prefill + 1, static_cast<int>(calls.size()));
  EXPECT_EQ(calls[prefill + 1].method, "Decode");
  EXPECT_EQ(calls[prefill + 1].batch_ids, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(observer_->snapshot().batch_concat["wait_exceeded"], 1u);
}

TEST_F(SchedulerTest, WaitingServedRatioAdmitsOnceEnoughRequestsWait) {
  options_.waiting_served_ratio = 1.0f;  // 2 running -> 2 waiting are needed
  options_.max_waiting_tokens = 1000;
  Scheduler& scheduler = Make();
  std::vector<std::shared_ptr<ResponseStream>> running;
  for (int i = 0; i < 2; ++i) running.push_back(scheduler.Submit(Request(30)));
  std::shared_ptr<ResponseStream> late[2];
  int decodes = 0;
  client_->SetHook([&](const Call& call) {
    if (call.method != "Decode") return;
    ++decodes;
    if (decodes == 2) late[0] = scheduler.Submit(Request(3));
    if (decodes == 5) late[1] = scheduler.Submit(Request(3));
  });
  scheduler.Start();
  for (auto& stream : running) Collect(*stream);
  ASSERT_TRUE(late[0] && late[1]);
  Collect(*late[0]);
  Collect(*late[1]);
  scheduler.Stop();

  const std::vector<Call> calls = client_->calls();
  std::vector<Call> prefills = client_->calls("Prefill");
  ASSERT_EQ(prefills.size(), 2u);
  // Both late requests come in one batch, right after the decode that brought the second.
  EXPECT_EQ(prefills[1].request_ids, (std::vector<uint64_t>{2, 3}));
  const int prefill = IndexOf(calls, "Prefill", 2);
  int decodes_before = 0;
  for (int i = 0; i < prefill; ++i) decodes_before += calls[i].method == "Decode";
  EXPECT_EQ(decodes_before, 5);
  EXPECT_EQ(observer_->snapshot().batch_concat["backpressure"], 1u);
}

TEST_F(SchedulerTest, MaxBatchSizeBoundsTheRunningBatch) {
  options_.max_batch_size = 2;
  options_.max_waiting_tokens = 1;
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(3));
  auto b = scheduler.Submit(Request(10));
  auto c = scheduler.Submit(Request(3));
  scheduler.Start();
  EXPECT_EQ(TokenIds(Collect(*a)), ExpectedIds(0, 3));
  EXPECT_EQ(TokenIds(Collect(*b)), ExpectedIds(1, 10));
  EXPECT_EQ(TokenIds(Collect(*c)), ExpectedIds(2, 3));
  std::vector<Call> prefills = client_->calls("Prefill");
  ASSERT_EQ(prefills.size(), 2u);
  EXPECT_EQ(prefills[0].request_ids, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(prefills[1].request_ids, (std::vector<uint64_t>{2}));
  // C joins only once A has been filtered out.
  const std::vector<Call> calls = client_->calls();
  const int filter = IndexOf(calls, "FilterBatch", 1);
  ASSERT_GE(filter, 0);
  EXPECT_LT(filter, IndexOf(calls, "Prefill", 2));
  EXPECT_LE(client_->max_live(), 2u);
}

TEST_F(SchedulerTest, TotalTokenBudgetHoldsBackANewBatch) {
  // The fake reports max_tokens = truncate + max_new_tokens per live request.
  options_.max_batch_total_tokens = 60;
  options_.max_waiting_tokens = 1;
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(30, 4));  // cached max_tokens 34; budget left 26
  int decodes = 0;
  std::shared_ptr<ResponseStream> b;
  client_->SetHook([&](const Call& call) {
    if (call.method == "Decode" && ++decodes == 1) b = scheduler.Submit(Request(30, 4));
  });
  scheduler.Start();
  Collect(*a);
  ASSERT_TRUE(b);
  Collect(*b);
  scheduler.Stop();
  // B (4 + 30 = 34 tokens) waits until A has finished.
  const std::vector<Call> calls = client_->calls();
  EXPECT_GT(IndexOf(calls, "Prefill", 1), IndexOf(calls, "Decode", 0) + 28);
  EXPECT_EQ(client_->max_live(), 1u);
}

TEST_F(SchedulerTest, ACancelledQueuedRequestIsNeverPrefilled) {
  options_.max_batch_size = 1;
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(5));
  auto b = scheduler.Submit(Request(5));
  auto c = scheduler.Submit(Request(2));
  b->Close();
  scheduler.Start();
  Collect(*a);
  Collect(*c);
  EXPECT_EQ(client_->prefilled_ids(), (std::set<uint64_t>{0, 2}));
  EXPECT_EQ(observer_->snapshot().request_failure["dropped"], 1u);
}

TEST_F(SchedulerTest, ACancelledRunningRequestIsFilteredOutAtTheNextStep) {
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(20));
  auto b = scheduler.Submit(Request(20));
  int decodes = 0;
  client_->SetHook([&](const Call& call) {
    if (call.method == "Decode" && ++decodes == 2) b->Close();
  });
  scheduler.Start();
  EXPECT_EQ(TokenIds(Collect(*a)), ExpectedIds(0, 20));
  std::vector<Call> filters = client_->calls("FilterBatch");
  ASSERT_EQ(filters.size(), 1u);
  EXPECT_EQ(filters[0].request_ids, (std::vector<uint64_t>{0}));
  // Decode 2 produced B's token (refused), then the filter; decode 3 runs without B.
  std::vector<Call> decode_calls = client_->calls("Decode");
  ASSERT_GE(decode_calls.size(), 3u);
  EXPECT_EQ(decode_calls[1].request_ids, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(decode_calls[2].request_ids, (std::vector<uint64_t>{0}));
  EXPECT_EQ(observer_->snapshot().request_failure["dropped"], 1u);
}

TEST_F(SchedulerTest, CancellingEveryRequestClearsTheBatch) {
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(50));
  client_->SetHook([&](const Call& call) {
    if (call.method == "Decode") a->Close();
  });
  scheduler.Start();
  const auto deadline = std::chrono::steady_clock::now() + kTimeout;
  while (client_->calls("ClearCache").empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  scheduler.Stop();
  std::vector<Call> clears = client_->calls("ClearCache");
  ASSERT_EQ(clears.size(), 1u);
  EXPECT_EQ(clears[0].batch_ids, (std::vector<uint64_t>{0}));
  EXPECT_EQ(client_->calls("Decode").size(), 1u);
  EXPECT_TRUE(client_->calls("FilterBatch").empty());
  EXPECT_EQ(client_->cached_batches(), 0u);
}

TEST_F(SchedulerTest, ADecodeErrorFailsTheBatchClearsItAndLaterRequestsStillRun) {
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(10));
  auto b = scheduler.Submit(Request(10));
  client_->FailNext("Decode", "CUDA out of memory");
  scheduler.Start();
  const std::string expected = "Request failed during generation: Server error: CUDA out of memory";
  std::vector<ResponseEvent> a_events = Collect(*a);
  EXPECT_EQ(ErrorOf(a_events), expected);
  EXPECT_EQ(a_events.size(), 2u);  // the first token from prefill, then the error
  EXPECT_EQ(ErrorOf(Collect(*b)), expected);
  std::vector<Call> clears = client_->calls("ClearCache");
  ASSERT_EQ(clears.size(), 1u);
  EXPECT_EQ(clears[0].batch_ids, (std::vector<uint64_t>{0}));
  EXPECT_FALSE(scheduler.generation_healthy());
  EXPECT_EQ(observer_->snapshot().request_failure["generation"], 2u);
  EXPECT_EQ(observer_->snapshot().inference_failure["decode"], 1u);

  auto c = scheduler.Submit(Request(3));
  EXPECT_EQ(TokenIds(Collect(*c)), ExpectedIds(2, 3));
  EXPECT_TRUE(scheduler.generation_healthy());
}

TEST_F(SchedulerTest, APrefillErrorFailsOnlyTheNewBatch) {
  options_.max_waiting_tokens = 1;
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(8));
  std::shared_ptr<ResponseStream> b;
  int decodes = 0;
  client_->SetHook([&](const Call& call) {
    if (call.method == "Decode" && ++decodes == 1) {
      client_->FailNext("Prefill", "bad input");
      b = scheduler.Submit(Request(8));
    }
  });
  scheduler.Start();
  EXPECT_EQ(TokenIds(Collect(*a)), ExpectedIds(0, 8));
  ASSERT_TRUE(b);
  EXPECT_EQ(ErrorOf(Collect(*b)), "Request failed during generation: Server error: bad input");
  std::vector<Call> clears = client_->calls("ClearCache");
  ASSERT_EQ(clears.size(), 1u);
  EXPECT_EQ(clears[0].batch_ids, (std::vector<uint64_t>{1}));
}

TEST_F(SchedulerTest, AFilterErrorFailsTheBatchInsteadOfCrashing) {
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(2));
  auto b = scheduler.Submit(Request(9));
  client_->FailNext("FilterBatch", "lost batch");
  scheduler.Start();
  EXPECT_EQ(TokenIds(Collect(*a)), ExpectedIds(0, 2));
  EXPECT_EQ(ErrorOf(Collect(*b)), "Request failed during generation: Server error: lost batch");
  EXPECT_FALSE(scheduler.generation_healthy());
}

TEST_F(SchedulerTest, HealthRunsALivenessPrefillUntilGenerationSucceeded) {
  Scheduler& scheduler = Make();
  EXPECT_FALSE(scheduler.generation_healthy());
  EXPECT_TRUE(scheduler.Health().ok());
  std::vector<Call> prefills = client_->calls("Prefill");
  ASSERT_EQ(prefills.size(), 1u);
  EXPECT_EQ(prefills[0].batch_ids, (std::vector<uint64_t>{kLivenessId}));
  ASSERT_EQ(prefills[0].requests.size(), 1u);
  const ShardRequest& liveness = prefills[0].requests[0];
  EXPECT_EQ(liveness.id, kLivenessId);
  EXPECT_EQ(liveness.inputs, "liveness");
  EXPECT_EQ(liveness.truncate, 10u);
  EXPECT_EQ(liveness.stopping_parameters.max_new_tokens, 1u);
  EXPECT_FALSE(liveness.parameters.do_sample);
  EXPECT_TRUE(scheduler.generation_healthy());

  // Healthy: the cheap Health RPC only.
  EXPECT_TRUE(scheduler.Health().ok());
  EXPECT_EQ(client_->calls("Prefill").size(), 1u);
  EXPECT_EQ(client_->calls("Health").size(), 1u);
  client_->FailNext("Health", "shard 1 is gone");
  EXPECT_EQ(scheduler.Health().message(), "shard 1 is gone");
}

TEST_F(SchedulerTest, AFailedLivenessPrefillKeepsHealthFalse) {
  Scheduler& scheduler = Make();
  client_->FailNext("Prefill", "model thread died");
  absl::Status status = scheduler.Health();
  EXPECT_EQ(status.message(), "model thread died");
  EXPECT_FALSE(scheduler.generation_healthy());
  EXPECT_TRUE(scheduler.Health().ok());
  EXPECT_EQ(client_->calls("Prefill").size(), 2u);
  EXPECT_TRUE(client_->calls("Health").empty());
}

TEST_F(SchedulerTest, HealthWhileServingNeverCollidesWithBatches) {
  Scheduler& scheduler = Make();
  scheduler.Start();
  std::vector<std::shared_ptr<ResponseStream>> streams;
  for (int i = 0; i < 8; ++i) streams.push_back(scheduler.Submit(Request(15)));
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(scheduler.Health().ok());
  for (auto& stream : streams) {
    std::vector<ResponseEvent> events = Collect(*stream);
    EXPECT_TRUE(std::holds_alternative<EndEvent>(events.back()));
  }
}

TEST_F(SchedulerTest, StoppingFailsWhatIsLeft) {
  Scheduler& scheduler = Make();
  auto queued = scheduler.Submit(Request(5));
  scheduler_.reset();
  std::vector<ResponseEvent> events = Collect(*queued);
  EXPECT_EQ(ErrorOf(events),
            "Request failed during generation: Server error: the router is shutting down");
}

TEST_F(SchedulerTest, QueueAndBatchGaugesAreReported) {
  Scheduler& scheduler = Make();
  auto a = scheduler.Submit(Request(4));
  auto b = scheduler.Submit(Request(4));
  scheduler.Start();
  Collect(*a);
  Collect(*b);
  scheduler.Stop();
  CountingObserver::Snapshot counts = observer_->snapshot();
  EXPECT_EQ(counts.queue_size, 0u);
  EXPECT_EQ(counts.batch_size, 0u);  // back to 0 once nothing runs
  EXPECT_EQ(counts.next_batches, 1u);
  EXPECT_GT(counts.inference_duration["decode"].count(), 0);
}

}  // namespace
}  // namespace tgi::router
