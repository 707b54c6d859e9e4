#include "benchmark/http_load/sse_parser.h"

namespace tgi::benchmark {

void SseParser::EndLine(std::vector<std::string>& events) {
  if (!line_.empty() && line_.back() == '\r') line_.pop_back();
  if (line_.empty()) {
    if (has_data_) events.push_back(std::move(data_));
    data_.clear();
    has_data_ = false;
    return;
  }
  if (line_.front() == ':') {
    line_.clear();
    return;
  }
  const size_t colon = line_.find(':');
  const std::string_view field = std::string_view(line_).substr(0, colon);
  std::string_view value;
  if (colon != std::string::npos) {
    value = std::string_view(line_).substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) data_ += '\n';
    data_ += value;
    has_data_ = true;
  }
  line_.clear();
}

std::vector<std::string> SseParser::Feed(std::string_view bytes) {
  std::vector<std::string> events;
  for (char c : bytes) {
    if (c == '\n') {
      EndLine(events);
    } else {
      line_ += c;
    }
  }
  return events;
}

}  // namespace tgi::benchmark
