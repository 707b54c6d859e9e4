// Test helpers for router/chat: render a template source with JSON variables and a frozen clock,
// and check tables of (template, variables, text Python's Jinja2 3.1 renders) rows.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "boost/json.hpp"
#include "gtest/gtest.h"
#include "router/chat/chat_template.h"

namespace tgi::router::chat {

// 2024-07-26 13:05:09, a Friday.
inline absl::CivilSecond TestClock() { return absl::CivilSecond(2024, 7, 26, 13, 5, 9); }

inline absl::StatusOr<std::string> RenderSource(std::string_view source,
                                                std::string_view variables_json = "{}") {
  absl::StatusOr<ChatTemplate> parsed = ChatTemplate::Parse(source);
  if (!parsed.ok()) return parsed.status();
  return parsed->Render(boost::json::parse(variables_json).as_object(), RenderOptions{TestClock});
}

// One row: the expected text was produced by Python's Jinja2 (trim_blocks, lstrip_blocks,
// loopcontrols, transformers' tojson) from the same source and variables.
struct RenderCase {
  const char* name;
  const char* source;
  const char* variables_json;
  const char* expected;
};

inline void ExpectRenders(const std::vector<RenderCase>& cases) {
  for (const RenderCase& c : cases) {
    SCOPED_TRACE(c.name);
    absl::StatusOr<std::string> rendered = RenderSource(c.source, c.variables_json);
    ASSERT_TRUE(rendered.ok()) << rendered.status();
    EXPECT_EQ(*rendered, c.expected);
  }
}

}  // namespace tgi::router::chat
