// A server process the benchmark starts itself (the shard or the launcher): fork/exec in its own
// process group with extra environment, stdout and stderr to a log file, killed with the
// benchmark (PR_SET_PDEATHSIG) and stopped by SIGTERM then SIGKILL. Also where to find the
// project's executables and how much memory a process holds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::benchmark {

class ChildProcess {
 public:
  // `env` entries ("NAME=value") are added to (or override) the benchmark's own environment.
  static absl::StatusOr<std::unique_ptr<ChildProcess>> Spawn(
      const std::string& binary, const std::vector<std::string>& args,
      const std::vector<std::string>& env, const std::filesystem::path& log_path);
  // Stop()s it.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::filesystem::path& log_path() const { return log_path_; }

  // True while it runs (reaps it once it has exited).
  bool Running();
  // SIGTERM to the group, up to `grace` for it to exit, then SIGKILL. Returns the exit code
  // (128 + signal when a signal ended it).
  int Stop(std::chrono::milliseconds grace = std::chrono::seconds(30));
  // The last `lines` lines of its log, for error messages.
  std::string LogTail(size_t lines = 20) const;

 private:
  ChildProcess(pid_t pid, std::filesystem::path log_path)
      : pid_(pid), log_path_(std::move(log_path)) {}

  pid_t pid_;
  std::filesystem::path log_path_;
  std::optional<int> exit_code_;
};

struct MemoryUse {
  uint64_t rss_bytes = 0;       // VmRSS
  uint64_t peak_rss_bytes = 0;  // VmHWM
  uint64_t anon_rss_bytes = 0;  // RssAnon: the process's own memory (weights, KV, heap)
  uint64_t file_rss_bytes = 0;  // RssFile + RssShmem: mapped libraries, files, shared memory
};

// From /proc/<pid>/status.
absl::StatusOr<MemoryUse> ProcessMemory(pid_t pid);

// The descendants of `pid` whose executable's file name is `name` (from /proc).
std::vector<pid_t> DescendantsNamed(pid_t pid, const std::string& name);

}  // namespace tgi::benchmark
