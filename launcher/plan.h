// The launch plan: from the resolved options, the command line and environment of every shard
// and of the router, as TGI's launcher builds them (tgi.md §2.3), plus the CPU split between CPU
// shards. Pure: it starts nothing and reads nothing but its arguments.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "launcher/child_process.h"
#include "launcher/limits.h"
#include "launcher/lmi.h"
#include "launcher/options.h"

namespace tgi::launcher {

struct PlanInputs {
  std::string model_id;   // as given (hub id or path), for the log
  std::string model_dir;  // the local directory the children load
  Limits limits;
  Device device = Device::kCpu;
  std::optional<std::string> dtype;
  std::string shard_binary;
  std::string router_binary;
  std::vector<int> cpus;                 // the launcher's affinity
  std::vector<std::string> environment;  // the launcher's environment, "NAME=value"
};

struct LaunchPlan {
  PlanInputs inputs;
  std::vector<ChildSpec> shards;
  ChildSpec router;
  std::vector<std::string> socket_paths;  // one per shard: {shard_uds_path}-{rank}
};

// Splits `cpus` into `parts` contiguous slices of equal size (at least one CPU each; slices wrap
// around when there are more parts than CPUs).
std::vector<std::vector<int>> SplitCpus(const std::vector<int>& cpus, int64_t parts);

LaunchPlan BuildPlan(const LauncherOptions& options, PlanInputs inputs);

// The resolved configuration and the plan as one JSON document (--print-config).
std::string PlanToJson(const LauncherOptions& options, const LmiResult& lmi,
                       const LaunchPlan& plan);

// One line per setting for the log: "model_id=…, max_input_tokens=…, …".
std::string DescribeConfiguration(const LauncherOptions& options, const LaunchPlan& plan);

// The value of NAME in a "NAME=value" list, if present.
std::optional<std::string> FindEnv(const std::vector<std::string>& environment,
                                   const std::string& name);

}  // namespace tgi::launcher
