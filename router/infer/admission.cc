#include "router/infer/admission.h"

#include <utility>

namespace tgi::router {

Permit::Permit(Permit&& other) noexcept
    : used_(std::move(other.used_)), count_(std::exchange(other.count_, 0)) {}

Permit& Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    Release();
    used_ = std::move(other.used_);
    count_ = std::exchange(other.count_, 0);
  }
  return *this;
}

void Permit::Release() {
  if (used_ && count_ > 0) used_->fetch_sub(static_cast<int64_t>(count_));
  used_.reset();
  count_ = 0;
}

Admission::Admission(size_t limit)
    : limit_(static_cast<int64_t>(limit)), used_(std::make_shared<std::atomic<int64_t>>(0)) {}

std::optional<Permit> Admission::TryAcquire(size_t count) {
  const int64_t wanted = static_cast<int64_t>(count);
  int64_t used = used_->load();
  do {
    if (used + wanted > limit_) return std::nullopt;
  } while (!used_->compare_exchange_weak(used, used + wanted));
  return Permit(used_, count);
}

}  // namespace tgi::router
