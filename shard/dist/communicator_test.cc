#include "shard/dist/communicator.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "shard/dist/testing/free_port.h"

namespace tgi::shard::dist {
namespace {

using std::chrono::milliseconds;

using testing::FreeLoopbackPort;

// Every test runs over both transports: shared memory (ranks on one host) and Gloo.
class CommunicatorTest : public ::testing::TestWithParam<bool> {
 protected:
  bool shared_memory() const { return GetParam(); }
  std::string backend() const { return shared_memory() ? "shm" : "gloo"; }

  CommunicatorOptions Options(int rank, int world_size, int port, milliseconds timeout) const {
    return {.rank = rank, .world_size = world_size, .master_addr = "127.0.0.1",
            .master_port = port, .timeout = timeout, .shared_memory = shared_memory()};
  }

  // Runs body(rank, communicator) on one thread per rank, each rank joined to the others.
  void OnRanks(int world_size, const std::function<void(int, Communicator&)>& body) const {
    const int port = FreeLoopbackPort();
    std::vector<std::thread> threads;
    for (int rank = 0; rank < world_size; ++rank) {
      threads.emplace_back([&, rank] {
        absl::StatusOr<std::unique_ptr<Communicator>> comm =
            Communicator::Connect(Options(rank, world_size, port, milliseconds(20000)));
        ASSERT_TRUE(comm.ok()) << comm.status();
        EXPECT_EQ((*comm)->rank(), rank);
        EXPECT_EQ((*comm)->backend(), backend());
        body(rank, **comm);
      });
    }
    for (std::thread& t : threads) t.join();
  }
};

INSTANTIATE_TEST_SUITE_P(Transports, CommunicatorTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "SharedMemory" : "Gloo"; });

TEST(SingleCommunicatorTest, OneRankIsTheIdentity) {
  std::unique_ptr<Communicator> comm = Communicator::Single();
  float data[3] = {1, 2, 3};
  ASSERT_TRUE(comm->AllReduceSum(data, 3).ok());
  EXPECT_EQ(data[2], 3.0f);
  float out[3];
  ASSERT_TRUE(comm->AllGather(data, 3, out).ok());
  EXPECT_EQ(out[1], 2.0f);
  EXPECT_EQ(*comm->AllReduceMin(7), 7);
}

TEST_P(CommunicatorTest, CollectivesOverThreeRanks) {
  OnRanks(3, [](int rank, Communicator& comm) {
    std::vector<float> data = {1.0f * rank, 10.0f + rank, 0.5f};
    ASSERT_TRUE(comm.AllReduceSum(data.data(), 3).ok());
    EXPECT_EQ(data, (std::vector<float>{3.0f, 33.0f, 1.5f}));
    const float mine[2] = {1.0f * rank, -1.0f * rank};
    std::vector<float> all(6, 99.0f);
    ASSERT_TRUE(comm.AllGather(mine, 2, all.data()).ok());
    EXPECT_EQ(all, (std::vector<float>{0, -0.0f, 1, -1, 2, -2}));
    absl::StatusOr<int64_t> smallest = comm.AllReduceMin(100 - rank);
    ASSERT_TRUE(smallest.ok());
    EXPECT_EQ(*smallest, 98);
  });
}

// Larger than one shared-memory slot, so it goes in pieces; many in a row, so the slots are reused
// while the ranks run at different speeds.
TEST_P(CommunicatorTest, LargeAndRepeatedCollectivesGiveEveryRankTheSameResult) {
  const int64_t count = static_cast<int64_t>(3 * (size_t{2} << 20) / sizeof(float) / 2 + 7);
  OnRanks(2, [&](int rank, Communicator& comm) {
    std::vector<float> data(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) data[static_cast<size_t>(i)] = 0.25f * (i % 97) + rank;
    ASSERT_TRUE(comm.AllReduceSum(data.data(), count).ok());
    for (int64_t i = 0; i < count; i += 4099) {
      ASSERT_EQ(data[static_cast<size_t>(i)], 0.5f * (i % 97) + 1.0f) << i;
    }
    std::vector<float> all(static_cast<size_t>(2 * count));
    std::vector<float> mine(static_cast<size_t>(count), 1.0f + rank);
    ASSERT_TRUE(comm.AllGather(mine.data(), count, all.data()).ok());
    EXPECT_EQ(all.front(), 1.0f);
    EXPECT_EQ(all[static_cast<size_t>(count - 1)], 1.0f);
    EXPECT_EQ(all[static_cast<size_t>(count)], 2.0f);
    EXPECT_EQ(all.back(), 2.0f);
    for (int step = 0; step < 2000; ++step) {
      float x = static_cast<float>(step * (rank + 1));
      if (rank == 1 && step % 100 == 0) std::this_thread::sleep_for(milliseconds(1));
      ASSERT_TRUE(comm.AllReduceSum(&x, 1).ok());
      ASSERT_EQ(x, 3.0f * step);
      absl::StatusOr<int64_t> smallest = comm.AllReduceMin(step + rank);
      ASSERT_TRUE(smallest.ok());
      ASSERT_EQ(*smallest, step);
    }
  });
}

TEST_P(CommunicatorTest, JoiningAloneFailsWithinTheTimeout) {
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<Communicator>> comm =
      Communicator::Connect(Options(0, 2, FreeLoopbackPort(), milliseconds(1500)));
  EXPECT_FALSE(comm.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
}

TEST_P(CommunicatorTest, APeerThatLeavesFailsTheNextCollectiveInsteadOfHanging) {
  const int port = FreeLoopbackPort();
  std::unique_ptr<Communicator> rank1;
  std::thread peer([&] {
    absl::StatusOr<std::unique_ptr<Communicator>> comm =
        Communicator::Connect(Options(1, 2, port, milliseconds(3000)));
    ASSERT_TRUE(comm.ok()) << comm.status();
    float x = 1;
    ASSERT_TRUE((*comm)->AllReduceSum(&x, 1).ok());
    // Rank 1 then takes part in nothing more.
    rank1 = std::move(*comm);
  });
  absl::StatusOr<std::unique_ptr<Communicator>> comm =
      Communicator::Connect(Options(0, 2, port, milliseconds(3000)));
  ASSERT_TRUE(comm.ok()) << comm.status();
  float x = 1;
  ASSERT_TRUE((*comm)->AllReduceSum(&x, 1).ok());
  EXPECT_EQ(x, 2.0f);
  peer.join();
  const auto start = std::chrono::steady_clock::now();
  absl::Status status = (*comm)->AllReduceSum(&x, 1);
  EXPECT_FALSE(status.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(20));
  // The group stays broken.
  EXPECT_FALSE((*comm)->AllReduceMin(1).ok());
}

TEST_P(CommunicatorTest, APeerThatClosesFailsTheNextCollectiveAtOnce) {
  const int port = FreeLoopbackPort();
  std::thread peer([&] {
    absl::StatusOr<std::unique_ptr<Communicator>> comm =
        Communicator::Connect(Options(1, 2, port, milliseconds(20000)));
    ASSERT_TRUE(comm.ok()) << comm.status();
    float x = 1;
    ASSERT_TRUE((*comm)->AllReduceSum(&x, 1).ok());
  });  // rank 1's communicator is destroyed here
  absl::StatusOr<std::unique_ptr<Communicator>> comm =
      Communicator::Connect(Options(0, 2, port, milliseconds(20000)));
  ASSERT_TRUE(comm.ok()) << comm.status();
  float x = 1;
  ASSERT_TRUE((*comm)->AllReduceSum(&x, 1).ok());
  peer.join();
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE((*comm)->AllReduceSum(&x, 1).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

}  // namespace
}  // namespace tgi::shard::dist
