// ChatTemplate: parse once, render per request from JSON variables.
#include "router/chat/chat_template.h"

#include <utility>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "router/chat/parser.h"

namespace tgi::router::chat {

absl::StatusOr<ChatTemplate> ChatTemplate::Parse(std::string_view source) {
  CHAT_ASSIGN_OR_RETURN(Body program, ParseTemplate(source));
  return ChatTemplate(std::make_shared<const Body>(std::move(program)));
}

absl::StatusOr<std::string> ChatTemplate::Render(const boost::json::object& variables,
                                                 const RenderOptions& options) const {
  Scope scope;
  for (const auto& [key, value] : variables) scope.Set(std::string(key), Value::FromJson(value));
  const Clock local_now = [] { return absl::ToCivilSecond(absl::Now(), absl::LocalTimeZone()); };
  return Evaluate(*program_, scope, options.clock ? options.clock : local_now);
}

}  // namespace tgi::router::chat
