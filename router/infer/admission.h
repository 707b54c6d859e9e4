// Admission control for generation requests: TGI's semaphore of --max-concurrent-requests
// permits, taken at once or refused (429, never queued). A Permit is a move-only RAII guard that
// owns the shared count it releases, so it stays safe to release after the Admission (and the
// routes that own it) are gone. Knows nothing of HTTP or of what the permit protects.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

namespace tgi::router {

class Permit {
 public:
  Permit() = default;  // holds nothing
  Permit(Permit&& other) noexcept;
  Permit& operator=(Permit&& other) noexcept;
  Permit(const Permit&) = delete;
  Permit& operator=(const Permit&) = delete;
  ~Permit() { Release(); }

  // Gives the permits back now; later calls (and the destructor) do nothing.
  void Release();
  size_t count() const { return count_; }

 private:
  friend class Admission;
  Permit(std::shared_ptr<std::atomic<int64_t>> used, size_t count)
      : used_(std::move(used)), count_(count) {}

  std::shared_ptr<std::atomic<int64_t>> used_;
  size_t count_ = 0;
};

class Admission {
 public:
  explicit Admission(size_t limit);

  // `count` permits at once (best_of takes one per sequence, as TGI's semaphore does), or
  // nullopt when they would exceed the limit. Thread-safe.
  std::optional<Permit> TryAcquire(size_t count = 1);

  size_t limit() const { return static_cast<size_t>(limit_); }
  // Permits held right now.
  size_t in_use() const { return static_cast<size_t>(used_->load()); }

 private:
  const int64_t limit_;
  std::shared_ptr<std::atomic<int64_t>> used_;
};

}  // namespace tgi::router
