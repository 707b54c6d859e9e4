// Turns a child's output line into a line of the launcher's log, tagged with the child's label
// ("shard-0", "router"): JSON log records (common/logging.h's format, or loguru's) keep their
// level; other lines are logged at info. Formatting only; it owns no state.
#pragma once

#include <string>

namespace tgi::launcher {

struct ChildLogLine {
  bool is_record = false;  // a JSON log record
  std::string level;       // lower case: trace, debug, info, warn, error
  std::string message;
};

// Parses one line a child printed.
ChildLogLine ParseChildLine(const std::string& line);

// "ERROR could not load …" for a record, the line itself otherwise (for crash reports).
std::string ReadableChildLine(const std::string& line);

// Logs the line. With JSON output a record is re-emitted as JSON with "target" set to `label`;
// with text output it goes through spdlog as "[label] message" at its level.
void RelayChildLine(const std::string& label, bool json_output, const std::string& line);

}  // namespace tgi::launcher
