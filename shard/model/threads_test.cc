#include "shard/model/threads.h"

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <pthread.h>

#include <mutex>
#include <set>

namespace tgi::shard {
namespace {

// The threads that ran the slots of a parallel_for over [0, slots).
std::set<pthread_t> ThreadsOfParallelFor(int64_t slots) {
  std::mutex mutex;
  std::set<pthread_t> threads;
  at::parallel_for(0, slots, 1, [&](int64_t, int64_t) {
    const std::lock_guard<std::mutex> lock(mutex);
    threads.insert(pthread_self());
  });
  return threads;
}

// The kernels split their work with at::parallel_for, a template that runs in parallel only in
// code compiled with OpenMP: compiled without it, every kernel would silently run on one thread.
TEST(ThreadsTest, ParallelForRunsOnThePool) {
  at::set_num_threads(2);
  EXPECT_EQ(ThreadsOfParallelFor(2).size(), 2u);
}

TEST(ThreadsTest, PinsOneThreadPerCpuOfTheMask) {
  const ThreadConfig config = ConfigureThreads();
  EXPECT_EQ(config.threads, AffinityCpuCount());
  EXPECT_EQ(config.pinned, AffinityCpuCount() > 1);
  EXPECT_EQ(ThreadsOfParallelFor(config.threads).size(), static_cast<size_t>(config.threads));
}

}  // namespace
}  // namespace tgi::shard
