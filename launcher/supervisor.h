// Runs a launch plan: starts the shards, waits for their sockets, starts the router, watches all
// of them every 100 ms and shuts everything down (router first, then shards; SIGTERM, then
// SIGKILL after the graceful timeout) on a stop signal or when any child exits. Owns the child
// processes and their socket files; must run on the main thread (see child_process.h).
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "launcher/child_process.h"
#include "launcher/plan.h"

namespace tgi::launcher {

// SIGINT, SIGTERM and SIGHUP are blocked in every thread and read with sigtimedwait. Call
// BlockStopSignals() first thing in main, before any thread starts.
void BlockStopSignals();
// Waits up to `timeout` for a stop signal; returns it, or 0.
int WaitForStopSignal(std::chrono::milliseconds timeout);

struct SupervisorOptions {
  std::chrono::seconds startup_timeout{600};
  std::chrono::seconds graceful_timeout{90};
  std::chrono::milliseconds poll_interval{100};
  std::chrono::seconds waiting_log_interval{10};
  bool json_output = false;
};

class Supervisor {
 public:
  Supervisor(LaunchPlan plan, SupervisorOptions options);

  // The whole life of the children. OK after a stop signal; otherwise the error is TGI's
  // LauncherError name ("ShardCannotStart", "ShardFailed", "WebserverFailed", …), already
  // explained in the log.
  absl::Status Run();

 private:
  absl::Status StartShards();
  // True when every shard is ready; false when a stop signal came first.
  absl::StatusOr<bool> WaitForShards();
  absl::Status StartRouter();
  absl::Status Watch();

  // Logs why `child` ended and the tail of its stderr.
  void ReportExit(ChildProcess& child, const std::string& headline);
  // SIGTERM to each, wait up to the graceful timeout, SIGKILL whatever is left.
  void Terminate(const std::vector<ChildProcess*>& children);
  void StopAll();
  void RemoveSockets();

  LaunchPlan plan_;
  SupervisorOptions options_;
  std::vector<std::unique_ptr<ChildProcess>> shards_;
  std::unique_ptr<ChildProcess> router_;
};

}  // namespace tgi::launcher
