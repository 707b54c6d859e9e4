// Filters and tojson against Python's Jinja2 3.1 with transformers' tojson (json.dumps,
// ensure_ascii=False), plus Python's float repr and str() of containers.
#include "router/chat/filters.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "router/chat/chat_test_util.h"
#include "router/chat/tojson.h"

namespace tgi::router::chat {
namespace {

const std::vector<RenderCase> kFilterCases = {
    {"trim_and_case",
     "[{{ \"  a b \\n\"|trim }}] {{ \"abc\"|upper }} {{ \"ABC\"|lower }} {{ \"hello "
     "WORLD\"|capitalize }} {{ \"hello world\"|title }}",
     "{}", "[a b] ABC abc Hello world Hello World"},
    {"length_count", "{{ [1, 2]|length }} {{ \"héllo\"|length }} {{ {\"a\": 1}|count }}", "{}",
     "2 5 1"},
    {"join_first_last",
     "{{ [\"a\", \"b\"]|join(\", \") }} {{ [1, 2]|join }} {{ l|join(\"-\", attribute=\"n\") }} {{ "
     "[3, 4]|first }} {{ [3, 4]|last }} {{ \"xyz\"|first }}",
     "{\"l\": [{\"n\": 1}, {\"n\": 2}]}", "a, b 12 1-2 3 4 x"},
    {"select_reject",
     "{{ [1, 2, 3, 4]|select(\"odd\")|list }} {{ [1, 2, 3, 4]|reject(\"odd\")|list }} {{ [0, 1, "
     "\"\", \"a\"]|select|list }} {{ [\"a\", \"b\"]|reject(\"equalto\", \"a\")|list }}",
     "{}", "[1, 3] [2, 4] [1, 'a'] ['b']"},
    {"selectattr_rejectattr",
     "{{ m|selectattr(\"role\", \"equalto\", \"user\")|map(attribute=\"c\")|list }} {{ "
     "m|rejectattr(\"role\", \"equalto\", \"user\")|list|length }} {{ m|selectattr(\"x\", "
     "\"defined\")|list|length }} {{ m|selectattr(\"x\")|list|length }}",
     "{\"m\": [{\"role\": \"user\", \"c\": 1}, {\"role\": \"assistant\", \"c\": 2, \"x\": true}, "
     "{\"role\": \"user\", \"c\": 3}]}",
     "[1, 3] 1 1 1"},
    {"map",
     "{{ [\"a\", \"B\"]|map(\"upper\")|list }} {{ l|map(attribute=\"n\")|list }} {{ "
     "l|map(attribute=\"z\", default=0)|list }} {{ [\" a \"]|map(\"trim\")|join }}",
     "{\"l\": [{\"n\": 1}, {\"n\": 2}]}", "['A', 'B'] [1, 2] [0, 0] a"},
    {"default_int_float_string",
     "{{ \"42\"|int + 1 }} {{ \"x\"|int }} {{ \"x\"|int(7) }} {{ 3.9|int }} {{ \"2.5\"|float }} {{ "
     "2|float }} {{ 12|string + \"a\" }} {{ [1]|string }}",
     "{}", "43 0 7 3 2.5 2.0 12a [1]"},
    {"replace_indent",
     "{{ \"aaa\"|replace(\"a\", \"b\", 2) }}|{{ \"a\\nb\\n\\nc\"|indent(2) }}|{{ "
     "\"a\\nb\"|indent(2, first=true) }}|{{ \"a\\n\\nb\"|indent(2, blank=true) }}|{{ "
     "\"x\\ny\"|indent }}",
     "{}", "bba|a\n  b\n\n  c|  a\n  b|a\n  \n  b|x\n    y"},
    {"unique_items_list",
     "{{ [\"a\", \"A\", \"b\", \"a\"]|unique|list }} {{ [1, 2, 1]|unique|list }} {{ {\"a\": 1, "
     "\"b\": 2}|items|list }} {{ \"ab\"|list }} {{ {\"k\": 1}|list }}",
     "{}", "['a', 'b'] [1, 2] [('a', 1), ('b', 2)] ['a', 'b'] ['k']"},
    {"sort_dictsort",
     "{{ [3, 1, 2]|sort }} {{ [\"b\", \"A\", \"c\"]|sort }} {{ [3, 1, 2]|sort(reverse=true) }} {{ "
     "l|sort(attribute=\"n\")|map(attribute=\"n\")|list }} {{ {\"b\": 1, \"a\": 2}|dictsort }}",
     "{\"l\": [{\"n\": 2}, {\"n\": 1}]}",
     "[1, 2, 3] ['A', 'b', 'c'] [3, 2, 1] [1, 2] [('a', 2), ('b', 1)]"},
    {"safe_and_escape",
     "{{ \"<b>\"|escape }} {{ \"<b>\"|safe }} {{ (\"x\"|safe + \"<\\\"'&>\") }} {{ \"<a>\" + "
     "\"<b>\"|safe }} {{ \"a'b\"|e }}",
     "{}", "&lt;b&gt; <b> x&lt;&#34;&#39;&amp;&gt; &lt;a&gt;<b> a&#39;b"},
    {"tojson_compact", "{{ d|tojson }}",
     "{\"d\": {\"b\": [1, 2.5, null, true], \"a\": \"é\\\"\\n\\t\\u0001\", \"c\": {}, \"e\": []}}",
     "{\"b\": [1, 2.5, null, true], \"a\": \"é\\\"\\n\\t\\u0001\", \"c\": {}, \"e\": []}"},
    {"tojson_indent", "{{ d|tojson(indent=2) }}",
     "{\"d\": {\"b\": [1, {\"x\": []}], \"a\": {}, \"s\": \"q\"}}",
     "{\n  \"b\": [\n    1,\n    {\n      \"x\": []\n    }\n  ],\n  \"a\": {},\n  \"s\": \"q\"\n}"},
    {"tojson_scalars_and_order",
     "{{ \"x\"|tojson }} {{ 1.0|tojson }} {{ none|tojson }} {{ [1, \"a\"]|tojson }} {{ {\"z\": 1, "
     "\"a\": 2}|tojson }} {{ {\"z\": 1, \"a\": 2}|tojson(sort_keys=true) }}",
     "{}", "\"x\" 1.0 null [1, \"a\"] {\"z\": 1, \"a\": 2} {\"a\": 2, \"z\": 1}"},
    {"string_of_containers_is_python_repr",
     "{{ d|string }} {{ [1.0, \"it's\", \"a\\nb\"]|string }} {{ d|string|replace(\"'\", '\"') }}",
     "{\"d\": {\"k\": [1, \"v\", null, false]}}",
     "{'k': [1, 'v', None, False]} [1.0, \"it's\", 'a\\nb'] {\"k\": [1, \"v\", None, False]}"},
    {"reverse_sum_abs",
     "{{ [1, 2, 3]|reverse|list }} {{ \"abc\"|reverse }} {{ [1, 2, 3]|sum }} {{ -2.5|abs }}", "{}",
     "[3, 2, 1] cba 6 2.5"},
};

TEST(FiltersTest, FiltersMatchJinja2) { ExpectRenders(kFilterCases); }

const std::vector<RenderCase> kToJsonCases = {
    {"tojson_options",
     "{{ d|tojson(separators=(\",\", \":\")) }} {{ d|tojson(ensure_ascii=true) }} {{ "
     "d|tojson(sort_keys=true, indent=1) }} {{ d|tojson(indent=\"\\t\") }} {{ [1]|tojson(indent=0) "
     "}}",
     "{\"d\": {\"z\": \"é😀\", \"a\": [1, {\"b\": null}]}}",
     "{\"z\":\"é😀\",\"a\":[1,{\"b\":null}]} {\"z\": \"\\u00e9\\ud83d\\ude00\", \"a\": [1, {\"b\": "
     "null}]} {\n \"a\": [\n  1,\n  {\n   \"b\": null\n  }\n ],\n \"z\": \"é😀\"\n} {\n\t\"z\": "
     "\"é😀\",\n\t\"a\": [\n\t\t1,\n\t\t{\n\t\t\t\"b\": null\n\t\t}\n\t]\n} [\n1\n]"},
    {"tojson_in_templates", "{% for t in tools %}{{ t|tojson(indent=4) }}\n{% endfor %}",
     "{\"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\", \"parameters\": "
     "{\"type\": \"object\", \"properties\": {}, \"required\": []}}}]}",
     "{\n    \"type\": \"function\",\n    \"function\": {\n        \"name\": \"f\",\n        "
     "\"parameters\": {\n            \"type\": \"object\",\n            \"properties\": {},\n      "
     "      \"required\": []\n        }\n    }\n}\n"},
};

TEST(FiltersTest, ToJsonOptionsMatchPython) { ExpectRenders(kToJsonCases); }

TEST(FiltersTest, FloatsFormatAsPythonRepr) {
  EXPECT_EQ(FormatFloat(1.0), "1.0");
  EXPECT_EQ(FormatFloat(0.5), "0.5");
  EXPECT_EQ(FormatFloat(-2.25), "-2.25");
  EXPECT_EQ(FormatFloat(1e16), "1e+16");
  EXPECT_EQ(FormatFloat(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(FormatFloat(0.0001), "0.0001");
  EXPECT_EQ(FormatFloat(0.00001), "1e-05");
  EXPECT_EQ(FormatFloat(1.5e-7), "1.5e-07");
  EXPECT_EQ(FormatFloat(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FormatFloat(1e300 * 1e10), "inf");
}

TEST(FiltersTest, ToJsonIndentsLikePython) {
  Value nested =
      MakeDict({{"a", Value::List({Value::Int(1), MakeDict({})})}, {"b", Value::Str("é")}});
  absl::StatusOr<std::string> json = ToJson(nested, JsonFormat{.indent = "    "});
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "{\n    \"a\": [\n        1,\n        {}\n    ],\n    \"b\": \"é\"\n}");
  json = ToJson(nested);
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(*json, "{\"a\": [1, {}], \"b\": \"é\"}");
}

TEST(FiltersTest, ToJsonRejectsUndefined) {
  absl::StatusOr<std::string> json = ToJson(Value::MakeUndefined("'x' is undefined"));
  EXPECT_EQ(json.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(FiltersTest, UnknownFilterIsAnError) {
  absl::StatusOr<Value> result = ApplyFilter("nope", Value::Int(1), {});
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(result.status().message(), "no filter named 'nope'");
  EXPECT_TRUE(IsKnownFilter("tojson"));
  EXPECT_FALSE(IsKnownFilter("nope"));
}

}  // namespace
}  // namespace tgi::router::chat
