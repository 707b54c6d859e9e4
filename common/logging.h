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

// The level a component logs at under LOG_LEVEL `filter` (TGI's env-filter form: "debug", or
// "info,text_generation_router=debug"); `fallback` when the filter names none for it.
std::string EffectiveLogLevel(const std::string& filter, const std::string& component,
                              const std::string& fallback);

}  // namespace tgi::common
