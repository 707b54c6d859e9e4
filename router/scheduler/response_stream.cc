#include "router/scheduler/response_stream.h"

#include <utility>

namespace tgi::router {

bool IsFinal(const ResponseEvent& event) {
  return std::holds_alternative<EndEvent>(event) || std::holds_alternative<ErrorEvent>(event);
}

bool ResponseStream::Push(ResponseEvent event) {
  Notify notify;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    events_.push_back(std::move(event));
    notify = notify_;
  }
  ready_.notify_all();
  if (notify) notify();
  return true;
}

bool ResponseStream::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

std::optional<ResponseEvent> ResponseStream::TryPop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (events_.empty()) return std::nullopt;
  ResponseEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

std::optional<ResponseEvent> ResponseStream::Pop(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ready_.wait_for(lock, timeout, [this] { return !events_.empty(); })) return std::nullopt;
  ResponseEvent event = std::move(events_.front());
  events_.pop_front();
  return event;
}

void ResponseStream::SetNotify(Notify notify) {
  bool pending = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    notify_ = notify;
    pending = !events_.empty();
  }
  if (pending && notify) notify();
}

void ResponseStream::Close() {
  Notify released;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
    events_.clear();
    released = std::move(notify_);
    notify_ = nullptr;
  }
  ready_.notify_all();
}

}  // namespace tgi::router
