// text-generation-launcher: reads TGI's flags (and LMI settings), finds or downloads the model,
// checks the arguments as TGI does, then starts and supervises the shards and the router.
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/env.h"
#include "common/logging.h"
#include "launcher/hub_download.h"
#include "launcher/hub_paths.h"
#include "launcher/limits.h"
#include "launcher/lmi.h"
#include "common/executables.h"
#include "launcher/locate.h"
#include "launcher/options.h"
#include "launcher/plan.h"
#include "launcher/supervisor.h"

extern char** environ;

namespace tgi::launcher {
namespace {

namespace fs = std::filesystem;

// TGI's exit: "Error: <LauncherError in Rust debug form>" on stderr, status 1.
int Fail(const std::string& error_text) {
  std::fflush(stderr);
  std::cerr << "Error: " << error_text << std::endl;
  return 1;
}

// Runs `work` on a worker thread while the main thread waits for stop signals. A signal raises
// `stop` (the work is expected to notice and return soon); the result is then kCancelled.
absl::Status RunInterruptibly(const std::function<absl::Status()>& work, std::atomic<bool>& stop) {
  absl::Status result;
  std::atomic<bool> done = false;
  std::thread worker([&] {
    result = work();
    done = true;
  });
  while (!done) {
    if (int signal_number = WaitForStopSignal(std::chrono::milliseconds(100)); signal_number) {
      spdlog::info("Received signal {} during the download; stopping", signal_number);
      stop = true;
    }
  }
  worker.join();
  return stop ? absl::CancelledError("stopped by a signal") : result;
}

std::string CommandOutput(const std::string& command) {
  std::string output;
  if (FILE* pipe = popen(command.c_str(), "r")) {
    char buffer[4096];
    size_t got;
    while ((got = fread(buffer, 1, sizeof(buffer), pipe)) > 0) output.append(buffer, got);
    pclose(pipe);
  }
  return output.empty() ? "N/A" : output;
}

// --env: what TGI's env_runtime prints, with hl-smi as tgi-gaudi adds it.
void LogRuntimeEnvironment() {
  utsname name{};
  uname(&name);
  std::string text =
      absl::StrCat("Runtime environment:\nTarget: ", name.machine, "-", name.sysname,
                   "\nVersion: tgi-cpp 0.1.0 (text-generation-launcher 2.0.4 compatible)",
                   "\nDocker label: ", common::GetEnvString("DOCKER_LABEL", "N/A"),
                   "\nCPUs: ", std::thread::hardware_concurrency());
  for (const char* tool : {"nvidia-smi", "hl-smi"}) {
    std::optional<std::string> path = common::FindInPath(tool);
    text += absl::StrCat("\n", tool, ":\n", path ? CommandOutput(*path + " 2>&1") : "N/A");
  }
  spdlog::info("{}", text);
}

std::vector<int> AffinityCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
      if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
    }
  }
  return cpus;
}

void WarnIgnored(const LauncherOptions& options) {
  if (options.quantize) {
    spdlog::warn("--quantize {} is not supported by tgi-cpp; the weights are served as stored",
                 *options.quantize);
  }
  if (options.speculate) spdlog::warn("--speculate is not supported by tgi-cpp; ignored");
  if (options.kv_cache_dtype && options.kv_cache_dtype->rfind("fp8", 0) == 0) {
    spdlog::warn("--kv-cache-dtype {} is not supported by tgi-cpp; the model's dtype is used",
                 *options.kv_cache_dtype);
  }
  if (options.lora_adapters) spdlog::warn("--lora-adapters is not supported by tgi-cpp; ignored");
}

int Main(int argc, char** argv) {
  ParsedCommandLine parsed = ParseCommandLine(argc, argv);
  if (parsed.exit_now) {
    std::cout << parsed.out;
    std::cerr << parsed.err;
    return parsed.exit_code;
  }
  LauncherOptions& options = parsed.options;
  common::SetUpLogging({.json = options.json_output, .level = "info", .component = "launcher"});
  if (options.env) LogRuntimeEnvironment();

  // LMI settings fill what neither a flag nor TGI's variable set.
  const LmiProperties lmi_environment = LmiEnvironment(environ);
  absl::StatusOr<std::string> properties = FindServingProperties(options, lmi_environment);
  if (!properties.ok()) {
    return Fail(
        LauncherErrorText("ArgumentValidation", std::string(properties.status().message())));
  }
  absl::StatusOr<LmiResult> lmi = ApplyLmi(*properties, lmi_environment, options);
  if (!lmi.ok()) {
    return Fail(LauncherErrorText("ArgumentValidation", std::string(lmi.status().message())));
  }
  if (!lmi->properties_file.empty())
    spdlog::info("Read LMI settings from {}", lmi->properties_file);
  for (const std::string& line : lmi->applied) spdlog::info("LMI setting {}", line);
  for (const std::string& line : lmi->ignored) spdlog::info("LMI setting ignored: {}", line);
  WarnIgnored(options);

  // The model: a local directory, or a hub id downloaded into the cache.
  std::string model_id;
  if (options.model_id) {
    model_id = *options.model_id;
  } else {
    absl::StatusOr<std::string> bundled = BundledModelDir();
    if (!bundled.ok()) {
      spdlog::error("{}", std::string(bundled.status().message()));
      return Fail("DownloadError");
    }
    model_id = *bundled;
    spdlog::info("No --model-id: serving the bundled model {}", model_id);
  }
  absl::StatusOr<ModelLocation> location = ClassifyModelId(model_id);
  if (!location.ok()) {
    spdlog::error("{}", std::string(location.status().message()));
    return Fail("DownloadError");
  }
  std::atomic<bool> stop = false;
  std::unique_ptr<HubDownloader> downloader;
  std::string model_dir = location->local_dir;
  if (!location->is_local) {
    downloader = std::make_unique<HubDownloader>(
        HubDownloadOptions{.endpoint = HubEndpoint(),
                           .cache_dir = options.huggingface_hub_cache.value_or(DefaultHubCache()),
                           .token = HubToken(),
                           .offline = HubOffline(),
                           .stop = &stop,
                           .progress_bar = !options.json_output && isatty(STDERR_FILENO) == 1});
    absl::Status prepared = RunInterruptibly(
        [&]() -> absl::Status {
          absl::StatusOr<std::string> dir =
              downloader->Prepare(location->hub_id, options.revision.value_or(""));
          if (!dir.ok()) return dir.status();
          model_dir = *dir;
          return absl::OkStatus();
        },
        stop);
    if (absl::IsCancelled(prepared)) return 0;
    if (!prepared.ok()) {
      spdlog::error("Download encountered an error: {}", std::string(prepared.message()));
      return Fail("DownloadError");
    }
  }

  // TGI's derived defaults and argument checks, from the model's config.json.
  const std::string config_path = (fs::path(model_dir) / "config.json").string();
  absl::StatusOr<std::optional<int64_t>> max_position = ReadMaxPositionEmbeddings(config_path);
  if (!max_position.ok()) {
    spdlog::error("{} is not a model directory: {}", model_dir,
                  std::string(max_position.status().message()));
    return Fail("DownloadError");
  }
  absl::StatusOr<Limits> limits = ResolveLimits(options, *max_position, lmi->max_output_len);
  if (!limits.ok()) return Fail(std::string(limits.status().message()));

  if (downloader && !options.print_config) {
    absl::Status downloaded = RunInterruptibly([&] { return downloader->DownloadAll(); }, stop);
    if (absl::IsCancelled(downloaded)) return 0;
    if (!downloaded.ok()) {
      spdlog::error("Download encountered an error: {}", std::string(downloaded.message()));
      return Fail("DownloadError");
    }
    spdlog::info("Successfully downloaded weights.");
  }

  const Device device = DetectDevice();
  absl::StatusOr<std::string> shard_binary =
      common::FindChildBinary("text-generation-shard", "TGI_SHARD_BIN", "shard");
  absl::StatusOr<std::string> router_binary =
      common::FindChildBinary("text-generation-router", "TGI_ROUTER_BIN", "router");
  std::vector<std::string> environment;
  for (char** entry = environ; *entry != nullptr; ++entry) environment.emplace_back(*entry);
  LaunchPlan plan = BuildPlan(
      options, PlanInputs{.model_id = model_id,
                          .model_dir = model_dir,
                          .limits = *limits,
                          .device = device,
                          .dtype = options.dtype ? options.dtype : DefaultDtype(device),
                          .shard_binary = shard_binary.value_or("text-generation-shard"),
                          .router_binary = router_binary.value_or("text-generation-router"),
                          .cpus = AffinityCpus(),
                          .environment = std::move(environment)});
  spdlog::info("Resolved configuration: {}", DescribeConfiguration(options, plan));
  if (options.print_config) {
    std::cout << PlanToJson(options, *lmi, plan) << std::endl;
    return 0;
  }
  if (!shard_binary.ok()) {
    spdlog::error("{}", std::string(shard_binary.status().message()));
    return Fail("ShardCannotStart");
  }
  if (!router_binary.ok()) {
    spdlog::error("{}", std::string(router_binary.status().message()));
    return Fail("WebserverCannotStart");
  }

  Supervisor supervisor(
      std::move(plan),
      SupervisorOptions{
          .startup_timeout = std::chrono::seconds(options.shard_startup_timeout),
          .graceful_timeout = std::chrono::seconds(options.graceful_termination_timeout),
          .json_output = options.json_output});
  absl::Status result = supervisor.Run();
  if (!result.ok()) return Fail(std::string(result.message()));
  return 0;
}

}  // namespace
}  // namespace tgi::launcher

int main(int argc, char** argv) {
  // Before any thread exists: stop signals are read with sigtimedwait, never delivered.
  tgi::launcher::BlockStopSignals();
  signal(SIGPIPE, SIG_IGN);
  return tgi::launcher::Main(argc, argv);
}
