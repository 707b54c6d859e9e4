// An incremental parser for server-sent events (the text/event-stream framing): bytes in, in
// whatever pieces the socket delivers them, complete events' data out. Handles \n and \r\n line
// ends, multi-line data (joined with \n), and comment lines (":" keep-alives, skipped).
// No I/O, no JSON.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tgi::benchmark {

class SseParser {
 public:
  // The data of every event completed by `bytes` (an event ends at a blank line).
  std::vector<std::string> Feed(std::string_view bytes);

  // True when bytes of an unfinished line or event are waiting.
  bool HasPartialEvent() const { return !line_.empty() || has_data_; }

 private:
  void EndLine(std::vector<std::string>& events);

  std::string line_;
  std::string data_;
  bool has_data_ = false;
};

}  // namespace tgi::benchmark
