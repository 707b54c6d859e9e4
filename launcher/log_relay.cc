#include "launcher/log_relay.h"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>
#include <cstdio>

#include "absl/strings/ascii.h"

namespace tgi::launcher {

namespace {

std::string NormalizeLevel(std::string level) {
  level = absl::AsciiStrToLower(level);
  if (level == "warning") return "warn";
  if (level == "success") return "info";
  if (level == "critical" || level == "fatal") return "error";
  if (level == "trace" || level == "debug" || level == "info" || level == "warn" ||
      level == "error") {
    return level;
  }
  return "info";
}

const boost::json::string* StringAt(const boost::json::object& object, const char* key) {
  const boost::json::value* value = object.if_contains(key);
  return value != nullptr ? value->if_string() : nullptr;
}

}  // namespace

ChildLogLine ParseChildLine(const std::string& line) {
  ChildLogLine result;
  result.message = line;
  if (line.empty() || line.front() != '{') return result;
  boost::system::error_code ec;
  boost::json::value parsed = boost::json::parse(line, ec);
  if (ec || !parsed.is_object()) return result;
  const boost::json::object& object = parsed.as_object();
  // common/logging.h: {"level":"INFO","fields":{"message":"…"}}
  if (const auto* level = StringAt(object, "level")) {
    const boost::json::value* fields = object.if_contains("fields");
    if (fields != nullptr && fields->is_object()) {
      if (const auto* message = StringAt(fields->as_object(), "message")) {
        result = {true, NormalizeLevel(std::string(*level)), std::string(*message)};
        return result;
      }
    }
  }
  // loguru (TGI's Python shards): {"text":"…","record":{"level":{"name":"INFO"}}}
  const auto* text = StringAt(object, "text");
  const boost::json::value* record = object.if_contains("record");
  if (text != nullptr && record != nullptr && record->is_object()) {
    std::string level = "info";
    if (const auto* level_object = record->as_object().if_contains("level");
        level_object != nullptr && level_object->is_object()) {
      if (const auto* name = StringAt(level_object->as_object(), "name"))
        level = std::string(*name);
    }
    std::string message(*text);
    while (!message.empty() && message.back() == '\n') message.pop_back();
    result = {true, NormalizeLevel(level), message};
  }
  return result;
}

std::string ReadableChildLine(const std::string& line) {
  ChildLogLine parsed = ParseChildLine(line);
  if (!parsed.is_record) return line;
  return absl::AsciiStrToUpper(parsed.level) + " " + parsed.message;
}

void RelayChildLine(const std::string& label, bool json_output, const std::string& line) {
  ChildLogLine parsed = ParseChildLine(line);
  if (json_output && parsed.is_record) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(line, ec);
    if (!ec && value.is_object() && value.as_object().contains("fields")) {
      value.as_object()["target"] = label;
      // One fwrite per line: stdio keeps it whole next to spdlog's own lines.
      const std::string out = boost::json::serialize(value) + "\n";
      std::fwrite(out.data(), 1, out.size(), stderr);
      std::fflush(stderr);
      return;
    }
  }
  const spdlog::level::level_enum level =
      parsed.is_record ? spdlog::level::from_str(parsed.level) : spdlog::level::info;
  spdlog::log(level, "[{}] {}", label, parsed.message);
}

}  // namespace tgi::launcher
