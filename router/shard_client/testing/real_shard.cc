#include "router/shard_client/testing/real_shard.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace tgi::router::testing {

namespace fs = std::filesystem;

absl::StatusOr<std::unique_ptr<ShardProcess>> ShardProcess::Start(
    const std::string& binary, const std::string& model_dir,
    const std::map<std::string, std::string>& env, std::chrono::seconds timeout) {
  std::unique_ptr<ShardProcess> shard(new ShardProcess());
  char dir_template[] = "/tmp/tgi-shard-test-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return absl::InternalError("mkdtemp failed");
  shard->dir_ = dir_template;
  const std::string uds = shard->dir_ + "/shard";
  shard->socket_ = uds + "-0";
  shard->log_ = shard->dir_ + "/shard.log";

  std::vector<std::string> variables;
  for (char** entry = environ; *entry != nullptr; ++entry) variables.emplace_back(*entry);
  for (const auto& [name, value] : env) variables.push_back(absl::StrCat(name, "=", value));
  std::vector<std::string> args = {binary, model_dir, "--uds-path", uds, "--num-threads", "1"};
  std::vector<char*> argv, envp;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  for (std::string& variable : variables) envp.push_back(variable.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, shard->log_.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  const int spawned =
      posix_spawn(&shard->pid_, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return absl::InternalError(absl::StrCat("cannot start ", binary));

  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!fs::exists(shard->socket_)) {
    int status = 0;
    if (waitpid(shard->pid_, &status, WNOHANG) == shard->pid_) {
      shard->pid_ = -1;
      return absl::InternalError(absl::StrCat("the shard exited before serving:\n", shard->Logs()));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat("shard not ready:\n", shard->Logs()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return shard;
}

ShardProcess::~ShardProcess() {
  Stop();
  if (!dir_.empty()) {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
}

bool ShardProcess::Stop() {
  if (pid_ <= 0) return true;
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string ShardProcess::Logs() const {
  std::ifstream file(log_);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

absl::StatusOr<OracleCase> LoadOracleCase(const std::string& path, const std::string& name) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << file.rdbuf();
  boost::system::error_code error;
  const boost::json::value root = boost::json::parse(text.str(), error);
  if (error) return absl::InvalidArgumentError(absl::StrCat(path, ": ", error.message()));
  for (const boost::json::value& item : root.at("cases").as_array()) {
    const boost::json::object& entry = item.as_object();
    if (entry.at("name").as_string() != name) continue;
    OracleCase out;
    out.prompt = std::string(entry.at("prompt").as_string());
    for (const boost::json::value& id : entry.at("generated_tokens").as_array()) {
      out.generated_tokens.push_back(static_cast<uint32_t>(id.to_number<int64_t>()));
    }
    return out;
  }
  return absl::NotFoundError(absl::StrCat("no oracle case ", name, " in ", path));
}

}  // namespace tgi::router::testing
