#include "router/scheduler/response_stream.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace tgi::router {
namespace {

IntermediateEvent Intermediate(uint32_t id) {
  IntermediateEvent event;
  event.token.id = id;
  return event;
}

TEST(ResponseStreamTest, EventsComeOutInOrder) {
  ResponseStream stream;
  EXPECT_FALSE(stream.TryPop());
  EXPECT_TRUE(stream.Push(Intermediate(1)));
  EXPECT_TRUE(stream.Push(Intermediate(2)));
  EXPECT_TRUE(stream.Push(ErrorEvent{"boom"}));
  std::optional<ResponseEvent> first = stream.TryPop();
  ASSERT_TRUE(first);
  EXPECT_EQ(std::get<IntermediateEvent>(*first).token.id, 1u);
  EXPECT_FALSE(IsFinal(*first));
  EXPECT_EQ(std::get<IntermediateEvent>(*stream.TryPop()).token.id, 2u);
  std::optional<ResponseEvent> last = stream.TryPop();
  ASSERT_TRUE(last);
  EXPECT_TRUE(IsFinal(*last));
  EXPECT_EQ(std::get<ErrorEvent>(*last).message, "boom");
  EXPECT_FALSE(stream.TryPop());
}

TEST(ResponseStreamTest, NotifyRunsForPendingAndLaterEvents) {
  ResponseStream stream;
  stream.Push(Intermediate(1));
  int calls = 0;
  stream.SetNotify([&] { ++calls; });
  EXPECT_EQ(calls, 1);  // an event was already waiting
  stream.Push(Intermediate(2));
  EXPECT_EQ(calls, 2);
}

TEST(ResponseStreamTest, NotifyMayPopFromInsideTheCallback) {
  ResponseStream stream;
  std::vector<uint32_t> seen;
  stream.SetNotify([&] {
    while (std::optional<ResponseEvent> event = stream.TryPop()) {
      seen.push_back(std::get<IntermediateEvent>(*event).token.id);
    }
  });
  stream.Push(Intermediate(4));
  stream.Push(Intermediate(5));
  EXPECT_EQ(seen, (std::vector<uint32_t>{4, 5}));
}

TEST(ResponseStreamTest, CloseRefusesPushesAndReleasesTheCallback) {
  ResponseStream stream;
  auto token = std::make_shared<int>(0);
  stream.SetNotify([token] {});
  EXPECT_EQ(token.use_count(), 2);
  stream.Push(Intermediate(1));
  stream.Close();
  EXPECT_TRUE(stream.closed());
  EXPECT_EQ(token.use_count(), 1);
  EXPECT_FALSE(stream.Push(Intermediate(2)));
  EXPECT_FALSE(stream.TryPop());
}

TEST(ResponseStreamTest, PopWaitsForAnotherThread) {
  ResponseStream stream;
  std::thread producer([&] { stream.Push(EndEvent{}); });
  std::optional<ResponseEvent> event = stream.Pop(std::chrono::seconds(30));
  producer.join();
  ASSERT_TRUE(event);
  EXPECT_TRUE(std::holds_alternative<EndEvent>(*event));
  EXPECT_FALSE(stream.Pop(std::chrono::milliseconds(1)));
}

TEST(ResponseStreamTest, ConcurrentProducerAndConsumerLoseNothing) {
  ResponseStream stream;
  constexpr uint32_t kEvents = 10000;
  std::atomic<uint32_t> notified{0};
  stream.SetNotify([&] { ++notified; });
  std::thread producer([&] {
    for (uint32_t i = 0; i < kEvents; ++i) stream.Push(Intermediate(i));
  });
  uint32_t expected = 0;
  while (expected < kEvents) {
    std::optional<ResponseEvent> event = stream.Pop(std::chrono::seconds(30));
    ASSERT_TRUE(event);
    ASSERT_EQ(std::get<IntermediateEvent>(*event).token.id, expected);
    ++expected;
  }
  producer.join();
  EXPECT_EQ(notified.load(), kEvents);
}

}  // namespace
}  // namespace tgi::router
