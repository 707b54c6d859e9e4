#include "common/stop_signal.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include <thread>
#include <utility>
#include <vector>

namespace tgi::common {
namespace {

int stop_pipe[2] = {-1, -1};

// Async-signal-safe: one write of the signal number.
void OnSignal(int number) {
  const unsigned char byte = static_cast<unsigned char>(number);
  const int saved = errno;
  [[maybe_unused]] ssize_t written = write(stop_pipe[1], &byte, 1);
  errno = saved;
}

}  // namespace

StopSignal& StopSignal::Install() {
  static StopSignal* instance = [] {
    if (pipe2(stop_pipe, O_CLOEXEC) != 0) std::abort();
    struct sigaction action {};
    action.sa_handler = OnSignal;
    action.sa_flags = SA_RESTART;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);
    sigaction(SIGINT, &action, nullptr);
    auto* created = new StopSignal();  // lives as long as the process, like its thread
    std::thread([created] { created->Run(); }).detach();
    return created;
  }();
  return *instance;
}

void StopSignal::Run() {
  unsigned char byte = 0;
  while (read(stop_pipe[0], &byte, 1) != 1) {
  }
  Trigger(byte);
}
void StopSignal::Trigger(int number) {
  std::lock_guard running(running_);
  std::vector<std::function<void()>> callbacks;
  {
    std::lock_guard lock(mutex_);
    if (signal_number_ != 0) return;
    signal_number_ = number;
    for (auto& [id, callback] : callbacks_) callbacks.push_back(callback);
  }
  for (const auto& callback : callbacks) callback();
  {
    std::lock_guard lock(mutex_);
    handled_ = true;
  }
  signalled_.notify_all();
}

StopSignal::Scope StopSignal::OnStop(std::function<void()> callback) {
  bool now = false;
  uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    id = next_id_++;
    if (signal_number_ != 0) {
      now = true;
    } else {
      callbacks_.emplace(id, callback);
    }
  }
  if (now) callback();
  return Scope(this, id);
}

StopSignal::Scope::Scope(Scope&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_) {}

StopSignal::Scope::~Scope() {
  if (owner_ == nullptr) return;
  std::lock_guard running(owner_->running_);
  std::lock_guard lock(owner_->mutex_);
  owner_->callbacks_.erase(id_);
}

bool StopSignal::stopped() const { return signal_number() != 0; }

int StopSignal::signal_number() const {
  std::lock_guard lock(mutex_);
  return signal_number_;
}

void StopSignal::Wait() {
  std::unique_lock lock(mutex_);
  signalled_.wait(lock, [this] { return handled_; });
}

bool StopSignal::WaitFor(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return signalled_.wait_for(lock, timeout, [this] { return handled_; });
}

}  // namespace tgi::common
