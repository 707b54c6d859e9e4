// The per-request response channel between the scheduler thread (producer) and the HTTP layer
// (consumer). Thread-safe; owns only the queued events and the consumer's notify callback. A
// closed stream is the cancellation signal: the scheduler drops the request at its next step.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <variant>

#include "router/scheduler/request.h"

namespace tgi::router {

using ResponseEvent = std::variant<PrefillEvent, IntermediateEvent, EndEvent, ErrorEvent>;

// True for the events after which nothing more is sent (End, Error).
bool IsFinal(const ResponseEvent& event);

class ResponseStream {
 public:
  using Notify = std::function<void()>;

  ResponseStream() = default;
  ResponseStream(const ResponseStream&) = delete;
  ResponseStream& operator=(const ResponseStream&) = delete;

  // Producer side. Appends the event and then runs the notify callback on the calling thread.
  // Returns false, dropping the event, once the consumer has closed the stream.
  bool Push(ResponseEvent event);
  bool closed() const;

  // Consumer side. The next event, without blocking.
  std::optional<ResponseEvent> TryPop();
  // The next event, waiting up to `timeout` (for tests and simple blocking consumers).
  std::optional<ResponseEvent> Pop(std::chrono::milliseconds timeout);
  // Runs `notify` after every later Push, on the pushing thread, and once now if events are
  // already waiting. It must not block (post to an executor and return); it may call TryPop. It
  // can still run once after Close() when a Push was already under way.
  void SetNotify(Notify notify);
  // The client went away: later pushes are refused and the callback is released.
  void Close();

 private:
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<ResponseEvent> events_;
  Notify notify_;
  bool closed_ = false;
};

}  // namespace tgi::router
