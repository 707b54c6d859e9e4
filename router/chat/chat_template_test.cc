// ChatTemplate's API: parse errors naming the construct and line, the error codes of
// raise_exception and of other render failures, variables from JSON, the injected clock.
#include "router/chat/chat_template.h"

#include <string>

#include "boost/json.hpp"
#include "gtest/gtest.h"
#include "router/chat/chat_test_util.h"

namespace tgi::router::chat {
namespace {

std::string ParseError(std::string_view source) {
  absl::StatusOr<ChatTemplate> parsed = ChatTemplate::Parse(source);
  EXPECT_FALSE(parsed.ok()) << source;
  EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(parsed.status().message());
}

TEST(ChatTemplateTest, UnsupportedConstructsFailAtParseWithTheirLine) {
  EXPECT_EQ(ParseError("{% for m in messages %}\n{{ m }}\n{% include 'other.jinja' %}\n"
                       "{% endfor %}"),
            "unsupported Jinja construct 'include' at line 3");
  EXPECT_EQ(ParseError("{% extends 'base' %}"), "unsupported Jinja construct 'extends' at line 1");
  EXPECT_EQ(ParseError("a\n{% import 'm' as m %}"),
            "unsupported Jinja construct 'import' at line 2");
  EXPECT_EQ(ParseError("{% raw %}x{% endraw %}"), "unsupported Jinja construct 'raw' at line 1");
  EXPECT_EQ(ParseError("{% call f() %}x{% endcall %}"),
            "unsupported Jinja construct 'call' at line 1");
  EXPECT_EQ(ParseError("{% with a = 1 %}{% endwith %}"),
            "unsupported Jinja construct 'with' at line 1");
  EXPECT_EQ(ParseError("\n{{ x|wordwrap }}"), "unsupported Jinja filter 'wordwrap' at line 2");
  EXPECT_EQ(ParseError("{% for x in y recursive %}{% endfor %}"),
            "unsupported Jinja construct 'recursive' at line 1");
}

TEST(ChatTemplateTest, MalformedTemplatesFailAtParse) {
  EXPECT_EQ(ParseError("{% if x %}a"), "unexpected end of template, expected 'elif' at line 1");
  EXPECT_EQ(ParseError("a\n{% endfor %}"), "unexpected 'endfor' at line 2");
  EXPECT_EQ(ParseError("{{ 1 + }}"), "unexpected '}}' at line 1");
  EXPECT_EQ(ParseError("{% set = 1 %}"), "expected a name, got '=' at line 1");
  EXPECT_EQ(ParseError("{{ f(a=1, 2) }}"), "positional argument after keyword argument at line 1");
}

TEST(ChatTemplateTest, RaiseExceptionIsInvalidArgumentWithTheExactMessage) {
  absl::StatusOr<std::string> rendered = RenderSource(
      "text{% macro check(m) %}{{ raise_exception('Bad role: ' + m) }}{% endmacro %}"
      "{% for m in roles %}{% if m != 'user' %}{{ check(m) }}{% endif %}{% endfor %}",
      R"({"roles": ["user", "robot"]})");
  EXPECT_EQ(rendered.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(rendered.status().message(), "Bad role: robot");
}

TEST(ChatTemplateTest, OtherRenderErrorsAreFailedPreconditionWithTheLine) {
  absl::StatusOr<std::string> rendered = RenderSource("a\n\n{{ missing.attr }}");
  EXPECT_EQ(rendered.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(rendered.status().message(), "'missing' is undefined (template line 3)");

  rendered = RenderSource("{{ 1 + 'a' }}");
  EXPECT_EQ(rendered.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(rendered.status().message(),
            "unsupported operand type(s) for +: 'int' and 'str' (template line 1)");

  rendered = RenderSource("{{ 'a' + none }}");
  EXPECT_EQ(rendered.status().message(),
            "can only concatenate str (not \"NoneType\") to str (template line 1)");

  rendered = RenderSource("{% set d = {} %}{% set d.x = 1 %}");
  EXPECT_EQ(rendered.status().message(),
            "cannot assign attribute on non-namespace object (template line 1)");

  rendered = RenderSource("{{ m[0].role }}", R"({"m": []})");
  EXPECT_EQ(rendered.status().message(), "'list object' has no element 0 (template line 1)");

  rendered = RenderSource("{% for x in none %}{% endfor %}");
  EXPECT_EQ(rendered.status().message(), "'NoneType' object is not iterable (template line 1)");
}

TEST(ChatTemplateTest, VariablesComeFromJson) {
  absl::StatusOr<ChatTemplate> parsed = ChatTemplate::Parse(
      "{{ tools is defined }} {{ tools }} {{ bos_token is defined }} {{ n }} {{ f }} {{ big }} "
      "{{ d }} {{ messages[0]['content'] }}");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const boost::json::value variables = boost::json::parse(
      R"({"tools": null, "n": 7, "f": 2.0, "big": 12345678901234, "d": {"z": 1, "a": [true]},
          "messages": [{"role": "user", "content": "hi \"there\""}]})");
  absl::StatusOr<std::string> rendered = parsed->Render(variables.as_object());
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  EXPECT_EQ(*rendered, "True None False 7 2.0 12345678901234 {'z': 1, 'a': [True]} hi \"there\"");
}

TEST(ChatTemplateTest, StrftimeNowUsesTheInjectedClock) {
  absl::StatusOr<ChatTemplate> parsed = ChatTemplate::Parse("{{ strftime_now('%d %B %Y %H:%M') }}");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  RenderOptions options;
  options.clock = [] { return absl::CivilSecond(2025, 1, 2, 3, 4, 5); };
  absl::StatusOr<std::string> rendered = parsed->Render({}, options);
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  EXPECT_EQ(*rendered, "02 January 2025 03:04");
  rendered = parsed->Render({});  // no clock: the machine's local time, "DD Month YYYY HH:MM"
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  ASSERT_GE(rendered->size(), 16u);
  EXPECT_EQ((*rendered)[2], ' ');
  EXPECT_EQ((*rendered)[rendered->size() - 3], ':');
}

TEST(ChatTemplateTest, SafeLiteralPlusStringEscapesTheString) {
  absl::StatusOr<std::string> rendered =
      RenderSource("{{ 'Use '|safe + name + ' now'|safe + args|tojson }}",
                   R"({"name": "<f>", "args": {"a": "b"}})");
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  EXPECT_EQ(*rendered, "Use &lt;f&gt; now{&#34;a&#34;: &#34;b&#34;}");
}

TEST(ChatTemplateTest, CopiesShareTheParsedProgram) {
  absl::StatusOr<ChatTemplate> parsed = ChatTemplate::Parse("{{ x * 2 }}");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  const ChatTemplate copy = *parsed;
  boost::json::object variables;
  variables["x"] = 21;
  EXPECT_EQ(*copy.Render(variables), "42");
  EXPECT_EQ(*parsed->Render(variables), "42");
}

}  // namespace
}  // namespace tgi::router::chat
