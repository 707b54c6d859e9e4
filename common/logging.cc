#include "logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <optional>
#include <sstream>
#include <utility>
#include <vector>

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

// LOG_LEVEL as TGI reads it (an env-filter): "debug", or "info,text_generation_router=debug".
// A bare level applies to every component; "name=level" applies when name is ours (the
// component, or TGI's target names for the same program). Anything unknown keeps `fallback`.
spdlog::level::level_enum LevelFor(const std::string& filter, const std::string& component,
                                   spdlog::level::level_enum fallback) {
  static const std::vector<std::pair<std::string, std::string>> kTargets = {
      {"router", "text_generation_router"},
      {"launcher", "text_generation_launcher"},
      {"shard", "text_generation_server"}};
  auto parse = [](std::string text) -> std::optional<spdlog::level::level_enum> {
    for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (text == "warning") text = "warn";
    const auto level = spdlog::level::from_str(text);
    if (level == spdlog::level::off && text != "off") return std::nullopt;
    return level;
  };
  spdlog::level::level_enum level = fallback;
  std::stringstream parts(filter);
  std::string part;
  while (std::getline(parts, part, ',')) {
    const size_t eq = part.find('=');
    if (eq == std::string::npos) {
      if (auto parsed = parse(part)) level = *parsed;
      continue;
    }
    const std::string target = part.substr(0, eq);
    bool ours = target == component;
    for (const auto& [prefix, name] : kTargets) {
      ours |= target == name && component.rfind(prefix, 0) == 0;
    }
    if (ours) {
      if (auto parsed = parse(part.substr(eq + 1))) level = *parsed;
    }
  }
  return level;
}

}  // namespace

std::string EffectiveLogLevel(const std::string& filter, const std::string& component,
                              const std::string& fallback) {
  const auto level = LevelFor(filter, component, spdlog::level::from_str(fallback));
  const auto name = spdlog::level::to_string_view(level);
  return std::string(name.data(), name.size());
}

void SetUpLogging(const LoggingOptions& options) {
  auto logger = spdlog::stderr_color_mt(options.component.empty() ? "tgi" : options.component);
  if (options.json) {
    logger->set_formatter(std::make_unique<JsonFormatter>(options.component));
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%5l%$ " + options.component + ": %v",
                        spdlog::pattern_time_type::utc);
  }
  logger->set_level(LevelFor(GetEnvString("LOG_LEVEL", options.level), options.component,
                             spdlog::level::from_str(options.level)));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace tgi::common
