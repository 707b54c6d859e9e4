#include "common/stop_signal.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <chrono>

namespace tgi::common {
namespace {

// One process-wide instance: this single test covers the whole life of it.
TEST(StopSignalTest, ASignalRunsTheRegisteredCallbacksOnce) {
  StopSignal& stop = StopSignal::Install();
  EXPECT_FALSE(stop.stopped());
  EXPECT_FALSE(stop.WaitFor(std::chrono::milliseconds(10)));
  std::atomic<int> kept{0};
  std::atomic<int> dropped{0};
  StopSignal::Scope keep = stop.OnStop([&] { ++kept; });
  { StopSignal::Scope gone = stop.OnStop([&] { ++dropped; }); }

  kill(getpid(), SIGTERM);  // handled: the process lives on
  stop.Wait();
  EXPECT_TRUE(stop.stopped());
  EXPECT_EQ(stop.signal_number(), SIGTERM);
  EXPECT_EQ(kept.load(), 1);
  EXPECT_EQ(dropped.load(), 0);

  // Registered after the signal: runs at once. A second trigger changes nothing.
  std::atomic<int> late{0};
  StopSignal::Scope after = stop.OnStop([&] { ++late; });
  EXPECT_EQ(late.load(), 1);
  stop.Trigger(SIGINT);
  EXPECT_EQ(stop.signal_number(), SIGTERM);
  EXPECT_EQ(kept.load(), 1);
}

}  // namespace
}  // namespace tgi::common
