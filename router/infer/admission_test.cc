#include "router/infer/admission.h"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <thread>
#include <vector>

namespace tgi::router {
namespace {

TEST(AdmissionTest, RefusesPastTheLimitAndFreesOnDestruction) {
  Admission admission(3);
  std::optional<Permit> two = admission.TryAcquire(2);
  ASSERT_TRUE(two);
  EXPECT_EQ(admission.in_use(), 2u);
  EXPECT_FALSE(admission.TryAcquire(2));  // all or nothing, like a semaphore's acquire_many
  std::optional<Permit> one = admission.TryAcquire();
  ASSERT_TRUE(one);
  EXPECT_FALSE(admission.TryAcquire());
  two.reset();
  EXPECT_EQ(admission.in_use(), 1u);
  one->Release();
  one->Release();  // once only
  EXPECT_EQ(admission.in_use(), 0u);
}

TEST(AdmissionTest, MovedPermitsReleaseOnce) {
  Admission admission(1);
  Permit outer;
  {
    std::optional<Permit> permit = admission.TryAcquire();
    ASSERT_TRUE(permit);
    outer = std::move(*permit);
  }
  EXPECT_EQ(admission.in_use(), 1u);
  Permit moved(std::move(outer));
  EXPECT_EQ(outer.count(), 0u);
  EXPECT_EQ(moved.count(), 1u);
  moved = Permit();
  EXPECT_EQ(admission.in_use(), 0u);
}

TEST(AdmissionTest, APermitOutlivesItsAdmission) {
  std::optional<Permit> permit;
  {
    Admission admission(1);
    permit = admission.TryAcquire();
  }
  permit.reset();  // must not touch freed memory (ASan would see it)
}

TEST(AdmissionTest, ConcurrentAcquiresNeverExceedTheLimit) {
  Admission admission(5);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        std::optional<Permit> permit = admission.TryAcquire();
        if (!permit) continue;
        ++granted;
        EXPECT_LE(admission.in_use(), 5u);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_GT(granted.load(), 0);
  EXPECT_EQ(admission.in_use(), 0u);
}

}  // namespace
}  // namespace tgi::router
