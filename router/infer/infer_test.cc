#include "router/infer/infer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "router/api/errors.h"
#include "router/scheduler/testing/fake_shard_client.h"

namespace tgi::router {
namespace {

using testing::FakeShardClient;
constexpr auto kTimeout = std::chrono::seconds(30);

GenerateRequest Parse(const std::string& body) {
  absl::StatusOr<GenerateRequest> request = ParseGenerateRequest(body);
  EXPECT_TRUE(request.ok()) << request.status() << " " << body;
  return request.ok() ? *request : GenerateRequest{};
}

constexpr char kGood[] = R"({"inputs":"x","parameters":{"max_new_tokens":3}})";
// Every way validation can fail: on the caller's thread (a parameter rule) and on a worker
// (the length rules, after counting).
const std::vector<std::string> kBad = {
    R"({"inputs":"x","parameters":{"top_p":7}})",
    R"({"inputs":"x","parameters":{"temperature":0}})",
    R"({"inputs":"","parameters":{"max_new_tokens":3}})",
    R"({"inputs":"x","parameters":{"max_new_tokens":30}})",
    R"({"inputs":"x","parameters":{"max_new_tokens":null}})",
    R"({"inputs":"x","parameters":{"truncate":99,"max_new_tokens":1}})",
    R"({"inputs":"x","parameters":{"best_of":9,"do_sample":true}})",
    R"({"inputs":"x","parameters":{"best_of":2}})",
};

class InferTest : public ::testing::Test {
 protected:
  static constexpr size_t kLimit = 3;

  InferTest()
      : client_(std::make_shared<FakeShardClient>()),
        validation_(Config(), nullptr),
        scheduler_(client_, SchedulerOptions{}),
        infer_(kLimit, validation_, scheduler_) {
    client_->set_drops_finished(true);
    scheduler_.Start();
  }

  static ValidationConfig Config() {
    ValidationConfig config;
    config.max_input_tokens = 8;
    config.max_total_tokens = 32;
    config.max_best_of = 8;
    return config;
  }

  absl::StatusOr<GenerateResult> Generate(const std::string& body) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<GenerateResult>>>();
    std::future<absl::StatusOr<GenerateResult>> future = promise->get_future();
    infer_.Generate(Parse(body),
                    [promise](absl::StatusOr<GenerateResult> result) { promise->set_value(result); });
    EXPECT_EQ(future.wait_for(kTimeout), std::future_status::ready);
    return future.get();
  }

  absl::StatusOr<std::shared_ptr<InferStream>> Stream(const std::string& body) {
    auto promise = std::make_shared<std::promise<absl::StatusOr<std::shared_ptr<InferStream>>>>();
    std::future<absl::StatusOr<std::shared_ptr<InferStream>>> future = promise->get_future();
    infer_.GenerateStream(Parse(body), [promise](absl::StatusOr<std::shared_ptr<InferStream>> s) {
      promise->set_value(std::move(s));
    });
    EXPECT_EQ(future.wait_for(kTimeout), std::future_status::ready);
    return future.get();
  }

  // Pops every event up to the final one (polling: this test consumes without a notify).
  static std::vector<ResponseEvent> Drain(InferStream& stream) {
    std::vector<ResponseEvent> events;
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (std::optional<ResponseEvent> event = stream.TryPop()) {
        events.push_back(std::move(*event));
        if (IsFinal(events.back())) return events;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    ADD_FAILURE() << "no final event";
    return events;
  }

  void WaitIdle() {
    const auto deadline = std::chrono::steady_clock::now() + kTimeout;
    while (infer_.admission().in_use() != 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(infer_.admission().in_use(), 0u);
  }

  std::shared_ptr<FakeShardClient> client_;
  Validation validation_;
  Scheduler scheduler_;
  Infer infer_;
};

TEST_F(InferTest, ValidationFailuresReleaseTheirPermits) {
  for (size_t round = 0; round < 3 * (kLimit + 1); ++round) {
    for (const std::string& body : kBad) {
      absl::StatusOr<GenerateResult> result = Generate(body);
      ASSERT_FALSE(result.ok()) << body;
      EXPECT_EQ(KindOf(result.status()), ErrorKind::kValidation) << result.status();
      EXPECT_EQ(infer_.admission().in_use(), 0u) << body;
    }
  }
  absl::StatusOr<GenerateResult> good = Generate(kGood);
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(good->best.generated_text.generated_tokens, 3u);
  EXPECT_TRUE(client_->prefilled_ids().size() == 1) << "no bad request reached the shard";
}

TEST_F(InferTest, StreamValidationFailuresReleaseTheirPermits) {
  for (size_t round = 0; round < 3 * (kLimit + 1); ++round) {
    for (const std::string& body : kBad) {
      absl::StatusOr<std::shared_ptr<InferStream>> stream = Stream(body);
      ASSERT_FALSE(stream.ok()) << body;
      EXPECT_EQ(KindOf(stream.status()), ErrorKind::kValidation);
      EXPECT_EQ(infer_.admission().in_use(), 0u) << body;
    }
  }
  absl::StatusOr<std::shared_ptr<InferStream>> stream = Stream(kGood);
  ASSERT_TRUE(stream.ok()) << stream.status();
  EXPECT_EQ(infer_.admission().in_use(), 1u);
  std::vector<ResponseEvent> events = Drain(**stream);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<EndEvent>(events.back()));
  EXPECT_EQ(infer_.admission().in_use(), 0u) << "the final event frees the permit";
}

TEST_F(InferTest, PermitsAreHeldWhileRunningAndRefusedPastTheLimit) {
  // Hold every Prefill until released, so that requests stay in flight.
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  client_->SetHook([&](const FakeShardClient::Call&) {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return release; });
  });
  std::vector<std::shared_ptr<InferStream>> streams;
  for (size_t i = 0; i < kLimit; ++i) {
    absl::StatusOr<std::shared_ptr<InferStream>> stream = Stream(kGood);
    ASSERT_TRUE(stream.ok()) << stream.status();
    streams.push_back(*stream);
  }
  EXPECT_EQ(infer_.admission().in_use(), kLimit);
  absl::StatusOr<std::shared_ptr<InferStream>> refused = Stream(kGood);
  EXPECT_EQ(KindOf(refused.status()), ErrorKind::kOverloaded);
  EXPECT_EQ(KindOf(Generate(kGood).status()), ErrorKind::kOverloaded);
  streams[0]->Cancel();  // a client that went away frees its permit at once
  EXPECT_EQ(infer_.admission().in_use(), kLimit - 1);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  for (size_t i = 1; i < kLimit; ++i) Drain(*streams[i]);
  WaitIdle();
}

TEST_F(InferTest, BestOfTakesOnePermitPerSequenceAndPicksTheHighestMeanLogprob) {
  absl::StatusOr<GenerateResult> result = Generate(
      R"({"inputs":"x","parameters":{"max_new_tokens":2,"do_sample":true,"best_of":3}})");
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->others.size(), 2u);
  for (const GenerationOutput& other : result->others) {
    EXPECT_LE(MeanLogprob(other), MeanLogprob(result->best));
  }
  EXPECT_EQ(infer_.admission().in_use(), 0u);
  // More sequences than permits: refused as a whole.
  EXPECT_EQ(KindOf(Generate(R"({"inputs":"x","parameters":{"do_sample":true,"best_of":4}})")
                        .status()),
            ErrorKind::kOverloaded);
  EXPECT_EQ(infer_.admission().in_use(), 0u);
}

TEST_F(InferTest, ShardErrorsReachTheCallerAndFreeThePermits) {
  client_->FailNext("Prefill", "boom");
  absl::StatusOr<GenerateResult> result =
      Generate(R"({"inputs":"x","parameters":{"max_new_tokens":3,"do_sample":true,"best_of":2}})");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(KindOf(result.status()), ErrorKind::kGeneration);
  EXPECT_NE(result.status().message().find("boom"), std::string::npos);
  WaitIdle();
  EXPECT_TRUE(Generate(kGood).ok());
}

TEST_F(InferTest, CancelledCallsNeverAnswerAndFreeThePermits) {
  std::mutex mutex;
  std::condition_variable cv;
  bool release = false;
  client_->SetHook([&](const FakeShardClient::Call&) {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return release; });
  });
  std::atomic<int> answers{0};
  std::atomic<int> stream_answers{0};
  std::shared_ptr<Infer::Call> call =
      infer_.Generate(Parse(kGood), [&](absl::StatusOr<GenerateResult>) { ++answers; });
  std::shared_ptr<Infer::Call> stream_call = infer_.GenerateStream(
      Parse(kGood), [&](absl::StatusOr<std::shared_ptr<InferStream>>) { ++stream_answers; });
  call->Cancel();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stream_call->Cancel();
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  cv.notify_all();
  WaitIdle();
  EXPECT_EQ(answers.load(), 0);
  EXPECT_LE(stream_answers.load(), 1);  // the stream may have started before its Cancel
  EXPECT_TRUE(Generate(kGood).ok());
}

}  // namespace
}  // namespace tgi::router
