// Process-wide logging setup on spdlog: readable text by default, JSON lines with --json-output
// (the form TGI's launcher parses from its children). Call once at start-up, before any log line.
#pragma once

#include <string>

namespace tgi::common {

struct LoggingOptions {
  bool json = false;
  // trace, debug, info, warn, error; LOG_LEVEL in the environment overrides it when set.
  std::string level = "info";
  // Shown in every line, e.g. "shard-0", "router".
  std::string component;
};

void SetUpLogging(const LoggingOptions& options);

}  // namespace tgi::common
