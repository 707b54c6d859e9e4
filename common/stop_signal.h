// SIGTERM and SIGINT for a server process that must stop promptly in any phase (connecting,
// loading, warmup, serving). Install() sets a handler for both that only writes the signal number
// to a pipe (whichever thread receives it: libraries start threads of their own before main), and
// starts one thread that reads the pipe. The first signal sets stopped() and runs the callbacks
// registered at that moment, on that thread. Owns no other state; what "stopping" means in each
// phase is the caller's business.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace tgi::common {

class StopSignal {
 public:
  // The process's one instance; the first call installs it.
  static StopSignal& Install();

  // Unregisters its callback when destroyed (so it can capture locals of the phase it guards).
  class Scope {
   public:
    Scope(Scope&& other) noexcept;
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    ~Scope();

   private:
    friend class StopSignal;
    Scope(StopSignal* owner, uint64_t id) : owner_(owner), id_(id) {}
    StopSignal* owner_;
    uint64_t id_;
  };

  // Runs `callback` at the first stop signal, or at once (on this thread) if one already came.
  // It runs on the signal thread and must not block for long (cancel, notify, exit).
  [[nodiscard]] Scope OnStop(std::function<void()> callback);

  bool stopped() const;
  // The signal that arrived (0 before).
  int signal_number() const;
  // Blocks until a stop signal came and its callbacks have run.
  void Wait();
  // Blocks up to `timeout`; true when a stop signal came and its callbacks have run.
  bool WaitFor(std::chrono::milliseconds timeout);

  // Delivers a stop as if `signal_number` had arrived (tests, and internal shutdown paths).
  void Trigger(int signal_number);

 private:
  StopSignal() = default;
  void Run();

  // Held while callbacks run, so that a Scope never outlives a callback it unregisters.
  std::mutex running_;
  mutable std::mutex mutex_;
  std::condition_variable signalled_;
  std::map<uint64_t, std::function<void()>> callbacks_;
  uint64_t next_id_ = 0;
  int signal_number_ = 0;
  bool handled_ = false;  // the callbacks of the first signal have run
};

}  // namespace tgi::common
