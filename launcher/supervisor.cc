#include "launcher/supervisor.h"

#include <signal.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "launcher/log_relay.h"

namespace tgi::launcher {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  return set;
}

absl::Status LauncherError(const char* variant) { return absl::InternalError(variant); }

std::string RankText(const ChildProcess& child) {
  return child.spec().rank >= 0 ? absl::StrCat(" rank=", child.spec().rank) : "";
}

}  // namespace

void BlockStopSignals() {
  const sigset_t set = StopSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForStopSignal(std::chrono::milliseconds timeout) {
  const sigset_t set = StopSignals();
  timespec wait{};
  wait.tv_sec = timeout.count() / 1000;
  wait.tv_nsec = (timeout.count() % 1000) * 1'000'000;
  const int signal_number = sigtimedwait(&set, nullptr, &wait);
  return signal_number > 0 ? signal_number : 0;
}

Supervisor::Supervisor(LaunchPlan plan, SupervisorOptions options)
    : plan_(std::move(plan)), options_(options) {}

absl::Status Supervisor::Run() {
  if (absl::Status status = StartShards(); !status.ok()) {
    StopAll();
    return status;
  }
  absl::StatusOr<bool> ready = WaitForShards();
  if (!ready.ok() || !*ready) {
    StopAll();
    return ready.ok() ? absl::OkStatus() : ready.status();
  }
  if (absl::Status status = StartRouter(); !status.ok()) {
    StopAll();
    return status;
  }
  absl::Status result = Watch();
  StopAll();
  return result;
}

absl::Status Supervisor::StartShards() {
  const bool json = options_.json_output;
  for (size_t rank = 0; rank < plan_.shards.size(); ++rank) {
    std::error_code ec;
    if (fs::remove(plan_.socket_paths[rank], ec)) {
      spdlog::info("Removed the stale socket {}", plan_.socket_paths[rank]);
    }
    spdlog::info("Starting shard rank={}", rank);
    absl::StatusOr<std::unique_ptr<ChildProcess>> shard = ChildProcess::Spawn(
        plan_.shards[rank], [json](const std::string& label, bool, const std::string& line) {
          RelayChildLine(label, json, line);
        });
    if (!shard.ok()) {
      spdlog::error("{}", std::string(shard.status().message()));
      spdlog::error("Shard {} failed to start", rank);
      return LauncherError("ShardCannotStart");
    }
    shards_.push_back(std::move(*shard));
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Supervisor::WaitForShards() {
  const auto started = Clock::now();
  const auto deadline = started + options_.startup_timeout;
  auto next_waiting_log = started + options_.waiting_log_interval;
  std::vector<bool> ready(shards_.size(), false);
  size_t ready_count = 0;
  while (ready_count < shards_.size()) {
    if (int signal_number = WaitForStopSignal(options_.poll_interval); signal_number != 0) {
      spdlog::info("Received signal {} while waiting for the shards; stopping", signal_number);
      return false;
    }
    for (size_t rank = 0; rank < shards_.size(); ++rank) {
      if (ready[rank]) continue;
      ChildProcess& shard = *shards_[rank];
      if (shard.Poll()) {
        ReportExit(shard, absl::StrCat("Shard ", rank, " failed to start"));
        return LauncherError("ShardCannotStart");
      }
      std::error_code ec;
      if (fs::exists(plan_.socket_paths[rank], ec)) {
        ready[rank] = true;
        ++ready_count;
        spdlog::info("Shard ready in {:.2f}s rank={}",
                     std::chrono::duration<double>(Clock::now() - started).count(), rank);
      }
    }
    const auto now = Clock::now();
    if (ready_count < shards_.size() && now >= deadline) {
      for (size_t rank = 0; rank < shards_.size(); ++rank) {
        if (ready[rank]) continue;
        spdlog::error(
            "Shard {} did not become ready within {} s: no socket at {} (raise "
            "--shard-startup-timeout if loading the model takes longer)",
            rank, options_.startup_timeout.count(), plan_.socket_paths[rank]);
        const std::vector<std::string> tail = shards_[rank]->StderrTail();
        if (!tail.empty()) {
          std::vector<std::string> lines;
          for (const std::string& line : tail) lines.push_back("  " + ReadableChildLine(line));
          spdlog::error("Last lines of shard-{}'s standard error:\n{}", rank,
                        absl::StrJoin(lines, "\n"));
        }
      }
      return LauncherError("ShardCannotStart");
    }
    if (ready_count < shards_.size() && now >= next_waiting_log) {
      for (size_t rank = 0; rank < shards_.size(); ++rank) {
        if (!ready[rank]) spdlog::info("Waiting for shard to be ready... rank={}", rank);
      }
      next_waiting_log = now + options_.waiting_log_interval;
    }
  }
  return true;
}

absl::Status Supervisor::StartRouter() {
  spdlog::info("Starting Webserver");
  const bool json = options_.json_output;
  absl::StatusOr<std::unique_ptr<ChildProcess>> router = ChildProcess::Spawn(
      plan_.router, [json](const std::string& label, bool, const std::string& line) {
        RelayChildLine(label, json, line);
      });
  if (!router.ok()) {
    spdlog::error("Failed to start webserver: {}", std::string(router.status().message()));
    return LauncherError("WebserverCannotStart");
  }
  router_ = std::move(*router);
  return absl::OkStatus();
}

absl::Status Supervisor::Watch() {
  while (true) {
    if (int signal_number = WaitForStopSignal(options_.poll_interval); signal_number != 0) {
      spdlog::info("Received signal {}; shutting down", signal_number);
      return absl::OkStatus();
    }
    for (auto& shard : shards_) {
      if (shard->Poll()) {
        ReportExit(*shard, absl::StrCat("Shard ", shard->spec().rank, " crashed"));
        return LauncherError("ShardFailed");
      }
    }
    if (router_->Poll()) {
      ReportExit(*router_, "Webserver Crashed");
      return LauncherError("WebserverFailed");
    }
  }
}

void Supervisor::ReportExit(ChildProcess& child, const std::string& headline) {
  spdlog::error("{}", headline);
  const ExitInfo& exit = *child.exit_info();
  spdlog::error("{} (pid {}{}) exited with {}", child.Label(), child.pid(), RankText(child),
                exit.Describe());
  const std::vector<std::string> tail = child.StderrTail();
  if (tail.empty()) {
    spdlog::error("{} wrote nothing to its standard error", child.Label());
    return;
  }
  std::vector<std::string> lines;
  for (const std::string& line : tail) lines.push_back("  " + ReadableChildLine(line));
  spdlog::error("Last {} lines of {}'s standard error:\n{}", lines.size(), child.Label(),
                absl::StrJoin(lines, "\n"));
}

void Supervisor::Terminate(const std::vector<ChildProcess*>& children) {
  std::vector<ChildProcess*> running;
  for (ChildProcess* child : children) {
    if (child == nullptr || child->Poll()) continue;
    spdlog::info("Terminating {}", child->Label());
    child->SignalGroup(SIGTERM);
    running.push_back(child);
  }
  if (running.empty()) return;
  const auto deadline = Clock::now() + options_.graceful_timeout;
  bool kill_now = false;
  while (!running.empty() && Clock::now() < deadline && !kill_now) {
    // A second stop signal means: do not wait any longer.
    kill_now = WaitForStopSignal(options_.poll_interval) != 0;
    std::erase_if(running, [](ChildProcess* child) {
      if (!child->Poll()) return false;
      spdlog::info("{} terminated", child->Label());
      return true;
    });
  }
  for (ChildProcess* child : running) {
    spdlog::info("Killing {}", child->Label());
    child->SignalGroup(SIGKILL);
  }
  while (!running.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::erase_if(running, [](ChildProcess* child) {
      if (!child->Poll()) return false;
      spdlog::info("{} killed", child->Label());
      return true;
    });
  }
}

void Supervisor::StopAll() {
  if (router_) Terminate({router_.get()});
  std::vector<ChildProcess*> shards;
  for (auto& shard : shards_) shards.push_back(shard.get());
  if (!shards.empty()) {
    spdlog::info("Shutting down shards");
    Terminate(shards);
  }
  RemoveSockets();
}

void Supervisor::RemoveSockets() {
  for (const std::string& socket : plan_.socket_paths) {
    std::error_code ec;
    if (fs::remove(socket, ec)) spdlog::info("Removed {}", socket);
  }
}

}  // namespace tgi::launcher
