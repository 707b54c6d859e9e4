// The lexer: tokens of expressions, and Jinja2's whitespace rules (trim_blocks, lstrip_blocks,
// {%- -%} / {{- -}} / {#- -#}) checked against text rendered by Python's Jinja2.
#include "router/chat/lexer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "router/chat/chat_test_util.h"

namespace tgi::router::chat {
namespace {

std::vector<TokenKind> Kinds(const std::vector<Token>& tokens) {
  std::vector<TokenKind> kinds;
  for (const Token& token : tokens) kinds.push_back(token.kind);
  return kinds;
}

TEST(LexerTest, TokenizesTagsAndExpressions) {
  absl::StatusOr<std::vector<Token>> tokens = Tokenize("a{{ x.y|f(1, 2.5) }}{% if 'q' %}");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ(Kinds(*tokens),
            (std::vector<TokenKind>{
                TokenKind::kText, TokenKind::kVariableBegin, TokenKind::kName, TokenKind::kOperator,
                TokenKind::kName, TokenKind::kOperator, TokenKind::kName, TokenKind::kOperator,
                TokenKind::kInteger, TokenKind::kOperator, TokenKind::kFloat, TokenKind::kOperator,
                TokenKind::kVariableEnd, TokenKind::kBlockBegin, TokenKind::kName,
                TokenKind::kString, TokenKind::kBlockEnd, TokenKind::kEnd}));
  EXPECT_EQ((*tokens)[10].value, "2.5");
  EXPECT_EQ((*tokens)[15].value, "q");
}

TEST(LexerTest, TwoCharacterOperatorsAndMinusBeforeTagEnd) {
  absl::StatusOr<std::vector<Token>> tokens = Tokenize("{{ a // b ** c != d - e -}}");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  std::vector<std::string> operators;
  for (const Token& token : *tokens) {
    if (token.kind == TokenKind::kOperator) operators.push_back(token.value);
  }
  EXPECT_EQ(operators, (std::vector<std::string>{"//", "**", "!=", "-"}));
  EXPECT_EQ(tokens->at(tokens->size() - 2).kind, TokenKind::kVariableEnd);
}

TEST(LexerTest, TracksLinesAcrossTextTagsAndStrings) {
  absl::StatusOr<std::vector<Token>> tokens = Tokenize("a\nb\n{{ 'x\ny' }}\n{% if z %}");
  ASSERT_TRUE(tokens.ok()) << tokens.status();
  EXPECT_EQ((*tokens)[1].line, 3);  // {{
  EXPECT_EQ((*tokens)[2].line, 3);  // the string starts on line 3
  const Token& name = (*tokens)[7];
  EXPECT_EQ(name.value, "z");
  EXPECT_EQ(name.line, 5);
}

TEST(LexerTest, BracesInsideATagDoNotCloseIt) {
  absl::StatusOr<std::string> rendered = RenderSource("{{ {'a': {'b': 1}}['a']['b'] }}");
  ASSERT_TRUE(rendered.ok()) << rendered.status();
  EXPECT_EQ(*rendered, "1");
}

TEST(LexerTest, ReportsUnterminatedConstructsWithTheirLine) {
  EXPECT_EQ(Tokenize("x\n{{ a").status().message(),
            "unexpected end of template, expected '}}' at line 2");
  EXPECT_EQ(Tokenize("x\n\n{# open").status().message(), "unterminated comment at line 3");
  EXPECT_EQ(Tokenize("{{ 'abc }}").status().message(), "unterminated string literal at line 1");
  EXPECT_EQ(Tokenize("{{ a ? b }}").status().message(), "unexpected character '?' at line 1");
  EXPECT_EQ(Tokenize("\n{{ '\\u12' }}").status().message(),
            "invalid escape in string literal at line 2");
}

// Whitespace rules, string escapes, and the source normalization (\r\n to \n, one trailing
// newline dropped).
const std::vector<RenderCase> kWhitespaceCases = {
    {"trim_blocks_eats_one_newline", "{% if true %}\nA\n{% endif %}\nB", "{}", "A\nB"},
    {"variable_keeps_newline", "{{ \"A\" }}\nB", "{}", "A\nB"},
    {"lstrip_blocks_indentation", "x\n    {% if true %}\n    y\n    {% endif %}\nz", "{}",
     "x\n    y\nz"},
    {"lstrip_not_after_text_on_line", "x  {% if true %}y{% endif %}", "{}", "x  y"},
    {"lstrip_after_trimmed_newline", "{% if true %}\n  {% set a = 1 %}\n  {{ a }}\n{% endif %}",
     "{}", "  1\n"},
    {"minus_strips_both_sides", "a  \n  {%- if true -%}  \n  b  \n  {%- endif -%}\n  c", "{}",
     "abc"},
    {"variable_minus", "a \n {{- \"b\" -}} \n c", "{}", "abc"},
    {"plus_disables_lstrip", "x\n    {%+ if true %}y{% endif %}", "{}", "x\n    y"},
    {"comment_is_dropped_and_trimmed", "a\n  {# note #}\nb{#- x -#}  c", "{}", "a\nbc"},
    {"string_holds_tag_end", "{{ \"}}\" }}{{ \"%}\" }}{% set s = \"%}\" %}{{ s }}", "{}", "}}%}%}"},
    {"escapes_in_strings", "{{ \"a\\n\\tb\\\\c\\\"d\" }}{{ 'it\\'s' }}{{ \"\\u00e9\" }}", "{}",
     "a\n\tb\\c\"dit'sé"},
    {"unicode_text", "héllo {{ \"wörld\" }} ｜", "{}", "héllo wörld ｜"},
    {"escapes_hex_unicode_unknown",
     "{{ \"\\x41\\U0001F600\\q\\u00e9\" }}|{{ 'a\\\nb' }}|{{ \"crlf\" }}\r\nend\r\n", "{}",
     "A😀\\qé|ab|crlf\nend"},
};

TEST(LexerTest, WhitespaceControlAndLiteralsMatchJinja2) { ExpectRenders(kWhitespaceCases); }

}  // namespace
}  // namespace tgi::router::chat
