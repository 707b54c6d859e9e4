#include "logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "env.h"

namespace tgi::common {

namespace {

// A JSON line per record. The message is escaped by spdlog's %v only as plain text, so JSON output
// uses a formatter that escapes it.
class JsonFormatter final : public spdlog::formatter {
 public:
  explicit JsonFormatter(std::string component) : component_(std::move(component)) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const auto seconds = std::chrono::duration_cast<std::chrono::microseconds>(
                             msg.time.time_since_epoch())
                             .count();
    std::string line = "{\"timestamp\":" + std::to_string(seconds / 1'000'000) + "." +
                       Pad6(seconds % 1'000'000) + ",\"level\":\"" +
                       Upper(spdlog::level::to_string_view(msg.level)) + "\",\"target\":\"" +
                       component_ + "\",\"fields\":{\"message\":\"";
    AppendEscaped(std::string_view(msg.payload.data(), msg.payload.size()), line);
    line += "\"}}\n";
    dest.append(line.data(), line.data() + line.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>(component_);
  }

 private:
  static std::string Pad6(long long value) {
    std::string digits = std::to_string(value);
    return std::string(6 - std::min<size_t>(6, digits.size()), '0') + digits;
  }
  static std::string Upper(spdlog::string_view_t text) {
    std::string out(text.data(), text.size());
    for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
  }
  static void AppendEscaped(std::string_view text, std::string& out) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out += '\\';
        out += c;
      } else if (u < 0x20) {
        out += "\\u00";
        out += kHex[u >> 4];
        out += kHex[u & 15];
      } else {
        out += c;
      }
    }
  }

  std::string component_;
};

}  // namespace

void SetUpLogging(const LoggingOptions& options) {
  auto logger = spdlog::stderr_color_mt(options.component.empty() ? "tgi" : options.component);
  if (options.json) {
    logger->set_formatter(std::make_unique<JsonFormatter>(options.component));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%5l%$ " + options.component + ": %v",
                        spdlog::pattern_time_type::utc);
  }
  const std::string level = GetEnvString("LOG_LEVEL", options.level);
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace tgi::common
