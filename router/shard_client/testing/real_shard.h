// Test helpers for running against the real shard: a text-generation-shard process on a private
// socket (stopped with SIGTERM on destruction) and the greedy oracle of the bundled model. Only
// for tests; knows nothing of the protocol.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace tgi::router::testing {

class ShardProcess {
 public:
  // Spawns `binary model_dir --uds-path DIR/shard --num-threads 1` with `env` added to this
  // process's environment, and waits up to `timeout` for its socket DIR/shard-0.
  static absl::StatusOr<std::unique_ptr<ShardProcess>> Start(
      const std::string& binary, const std::string& model_dir,
      const std::map<std::string, std::string>& env,
      std::chrono::seconds timeout = std::chrono::seconds(120));
  ~ShardProcess();

  const std::string& socket() const { return socket_; }
  std::string Logs() const;
  // Sends SIGTERM and waits; true when the shard exited with status 0.
  bool Stop();

 private:
  ShardProcess() = default;

  std::string dir_, socket_, log_;
  pid_t pid_ = -1;
};

// One case of testdata/oracle/stories260K_greedy.json.
struct OracleCase {
  std::string prompt;
  std::vector<uint32_t> generated_tokens;
};

absl::StatusOr<OracleCase> LoadOracleCase(const std::string& path, const std::string& name);

}  // namespace tgi::router::testing
