// One child process (a shard or the router): fork/exec in its own process group with a chosen
// environment and CPU set, PR_SET_PDEATHSIG so it dies with the launcher, its stdout and stderr
// relayed line by line from a reader thread, and the tail of its stderr kept for crash reports.
// Spawn it from the thread that lives as long as the launcher (PDEATHSIG follows that thread).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::launcher {

struct ChildSpec {
  std::string name;  // "shard" or "router"
  int rank = -1;     // -1 for the router
  std::string binary;
  std::vector<std::string> args;  // without argv[0]
  std::vector<std::string> env;   // the complete environment, "NAME=value"
  std::vector<int> cpus;          // empty: inherit the launcher's affinity

  std::string Label() const;  // "shard-0", "router"
};

struct ExitInfo {
  int code = -1;   // when it exited
  int signal = 0;  // when a signal ended it
  // "exit code 3" or "signal 9 (Killed)".
  std::string Describe() const;
};

// Called from the reader thread for each line (without its newline).
using LineHandler =
    std::function<void(const std::string& label, bool is_stderr, const std::string& line)>;

class ChildProcess {
 public:
  static constexpr size_t kTailLines = 20;

  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(const ChildSpec& spec,
                                                             LineHandler on_line);
  // Kills the whole group if it is still running and joins the reader thread.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const ChildSpec& spec() const { return spec_; }
  std::string Label() const { return spec_.Label(); }

  // Reaps the child without blocking; true once it has exited. After the exit, whatever else is
  // left in its process group is killed.
  bool Poll();
  const std::optional<ExitInfo>& exit_info() const { return exit_; }

  // Sends `signal` to the child's process group (no-op once it has exited).
  void SignalGroup(int signal);

  // The last kTailLines lines of its stderr. After an exit, waits up to 500 ms for the pipe to
  // drain first.
  std::vector<std::string> StderrTail();

 private:
  ChildProcess(ChildSpec spec, pid_t pid, int out_fd, int err_fd, int wake_fd, LineHandler on_line);
  void ReadLoop();

  ChildSpec spec_;
  pid_t pid_;
  int out_fd_, err_fd_;
  int wake_fd_;  // eventfd: tells the reader to stop
  LineHandler on_line_;
  std::optional<ExitInfo> exit_;

  std::mutex mutex_;
  std::condition_variable drained_cv_;
  bool drained_ = false;
  std::deque<std::string> stderr_tail_;
  std::thread reader_;
};

}  // namespace tgi::launcher
