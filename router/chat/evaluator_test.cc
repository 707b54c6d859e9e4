// The evaluator against Python's Jinja2: operator precedence, Python semantics of values,
// loops and the loop object, scoping, macros, namespace, set/filter blocks, break/continue,
// slicing and Jinja2's default Undefined.
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "router/chat/chat_test_util.h"

namespace tgi::router::chat {
namespace {

const std::vector<RenderCase> kExpressionCases = {
    {"arithmetic_precedence",
     "{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 2 ** 3 ** 2 }} {{ -2 ** 2 }} {{ 10 - 2 - 3 }}", "{}",
     "7 9 64 4 5"},
    {"division",
     "{{ 7 / 2 }} {{ 6 / 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 7 % -3 }} {{ 7.5 // 2 }}",
     "{}", "3.5 2.0 3 -4 2 -2 3.0"},
    {"floats_print_as_python",
     "{{ 1.0 }} {{ 0.5 }} {{ 1e16 }} {{ 1.5e-5 }} {{ 0.0001 }} {{ 123456789.125 }} {{ 2.5 * 2 }} "
     "{{ 0.1 + 0.2 }}",
     "{}", "1.0 0.5 1e+16 1.5e-05 0.0001 123456789.125 5.0 0.30000000000000004"},
    {"string_ops",
     "{{ \"ab\" + \"cd\" }} {{ \"ab\" * 3 }} {{ \"a\" ~ 1 ~ none ~ true }} {{ [1] + [2, 3] }}",
     "{}", "abcd ababab a1NoneTrue [1, 2, 3]"},
    {"comparisons",
     "{{ 1 < 2 }} {{ 2 <= 1 }} {{ 1 == 1.0 }} {{ true == 1 }} {{ \"a\" != \"b\" }} {{ 1 < 2 < 3 }} "
     "{{ 3 > 2 > 2 }} {{ \"abc\" < \"abd\" }}",
     "{}", "True False True True True True False True"},
    {"boolean_logic",
     "{{ true and false or true }} {{ not true or true }} {{ not (true or true) }} {{ 0 or \"x\" "
     "}} {{ \"\" and 1 }} {{ none or [] }}",
     "{}", "True True False x  []"},
    {"in_and_not_in",
     "{{ \"b\" in \"abc\" }} {{ 2 in [1, 2] }} {{ \"k\" in {\"k\": 1} }} {{ 3 not in [1] }} {{ not "
     "\"z\" in \"abc\" }}",
     "{}", "True True True True True"},
    {"ternary",
     "{{ \"y\" if 1 else \"n\" }} {{ \"y\" if 0 else \"n\" }} [{{ \"y\" if false }}] {{ 1 if false "
     "else 2 if true else 3 }}",
     "{}", "y n [] 2"},
    {"filter_binds_tighter_than_plus",
     "{{ \"a\" + \" b \"|trim + \"c\" }} {{ -3|abs }} {{ [1,2]|length * 10 }}", "{}", "abc 3 20"},
    {"tests",
     "{{ x is defined }} {{ y is undefined }} {{ n is none }} {{ s is string }} {{ d is mapping }} "
     "{{ l is iterable }} {{ s is iterable }} {{ 1 is number }} {{ l is sequence }} {{ true is "
     "true }} {{ 0 is false }} {{ 1 is not string }}",
     "{\"x\": 1, \"n\": null, \"s\": \"t\", \"d\": {}, \"l\": []}",
     "True True True True True True True True True True False True"},
    {"more_tests",
     "{{ 4 is divisibleby 2 }} {{ 3 is odd }} {{ 2 is even }} {{ 1.5 is float }} {{ 1 is integer "
     "}} {{ true is boolean }} {{ \"a\" is equalto \"a\" }} {{ \"AB\" is upper }} {{ 2 is in [1, "
     "2] }}",
     "{}", "True True True True True True True True True"},
    {"literals",
     "{{ [1, \"a\", none, true, 1.5] }} {{ {\"k\": [1, 2], \"j\": {\"x\": \"y\"}} }} {{ (1, 2) }} "
     "{{ (1,) }} {{ () }} {{ \"it's\" }} {{ ['\"', \"'\"] }}",
     "{}",
     "[1, 'a', None, True, 1.5] {'k': [1, 2], 'j': {'x': 'y'}} (1, 2) (1,) () it's ['\"', \"'\"]"},
    {"subscripts_and_attributes",
     "{{ m.role }} {{ m[\"role\"] }} {{ l[0] }} {{ l[-1] }} {{ l.1 }} {{ m.items()|list }} {{ "
     "m.missing is defined }}",
     "{\"m\": {\"role\": \"user\", \"items\": 5}, \"l\": [10, 20, 30]}",
     "user user 10 30 20 [('role', 'user'), ('items', 5)] False"},
    {"attribute_falls_back_to_key_and_method_wins",
     "{{ d.items is defined }} {{ d[\"items\"] }} {{ d.get(\"a\") }} {{ d.get(\"zz\", \"dflt\") }} "
     "{{ d.get(\"zz\") }}",
     "{\"d\": {\"a\": 1, \"items\": \"key\"}}", "True key 1 dflt None"},
    {"dict_methods",
     "{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %} {{ d.keys()|list }} {{ "
     "d.values()|list }}",
     "{\"d\": {\"z\": 1, \"a\": [2]}}", "z=1;a=[2]; ['z', 'a'] [1, [2]]"},
    {"string_methods",
     "{{ \" x \".strip() }}|{{ \"xxaxx\".strip(\"x\") }}|{{ \" x \".lstrip() }}|{{ \" x "
     "\".rstrip() }}|{{ \"a,b,,c\".split(\",\") }}|{{ \" a  b \".split() }}|{{ \"a b c\".split(\" "
     "\", 1) }}|{{ \"abc\".startswith(\"ab\") }}|{{ \"abc\".endswith((\"x\", \"c\")) }}|{{ "
     "\"Ab\".upper() }}{{ \"Ab\".lower() }}|{{ \"aXa\".replace(\"a\", \"b\") }}|{{ \"hello "
     "world\".title() }}|{{ \"hELLO\".capitalize() }}",
     "{}",
     "x|a|x | x|['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|True|True|ABab|bXb|Hello World|Hello"},
    {"slicing",
     "{{ l[1:] }} {{ l[:-1] }} {{ l[::2] }} {{ l[::-1] }} {{ l[-2:] }} {{ l[5:] }} {{ l[1:3] }} {{ "
     "s[1:] }} {{ s[::-1] }} {{ s[-1] }} {{ l[-10:2] }}",
     "{\"l\": [1, 2, 3, 4], \"s\": \"héllo\"}",
     "[2, 3, 4] [1, 2, 3] [1, 3] [4, 3, 2, 1] [3, 4] [] [2, 3] éllo olléh o [1, 2]"},
    {"none_and_bools_print", "{{ none }} {{ true }} {{ false }} {{ [none, true] }}", "{}",
     "None True False [None, True]"},
    {"json_numbers_are_faithful", "{{ i }} {{ f }} {{ g }} {{ i + 1 }} {{ f * 2 }}",
     "{\"i\": 3, \"f\": 1.0, \"g\": 0.5}", "3 1.0 0.5 4 2.0"},
};

const std::vector<RenderCase> kStatementCases = {
    {"loop_variables",
     "{% for x in [\"a\", \"b\", \"c\"] %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ "
     "loop.last }}{{ loop.length }}{{ loop.revindex }}{{ loop.revindex0 }} {% endfor %}",
     "{}", "10TrueFalse332 21FalseFalse321 32FalseTrue310 "},
    {"loop_prev_next",
     "{% for x in [1, 2, 3] %}[{{ loop.previtem }}|{{ x }}|{{ loop.nextitem }}]{% endfor %}", "{}",
     "[|1|2][1|2|3][2|3|]"},
    {"loop_filter_and_else",
     "{% for x in range(6) if x is odd %}{{ x }}/{{ loop.length }} {% endfor %}{% for x in [] "
     "%}no{% else %}empty{% endfor %}",
     "{}", "1/3 3/3 5/3 empty"},
    {"loop_unpack_and_dict",
     "{% for a, b in [[1, 2], [3, 4]] %}{{ a + b }} {% endfor %}{% for k in {\"x\": 1, \"y\": 2} "
     "%}{{ k }}{% endfor %}",
     "{}", "3 7 xy"},
    {"break_and_continue",
     "{% for x in range(10) %}{% if x == 2 %}{% continue %}{% endif %}{% if x == 5 %}{% break %}{% "
     "endif %}{{ x }}{% endfor %}",
     "{}", "0134"},
    {"nested_loops_own_loop",
     "{% for a in [1, 2] %}{% for b in \"xy\" %}{{ loop.index }}{{ b }}{% endfor %}{{ loop.index "
     "}}|{% endfor %}",
     "{}", "1x2y1|1x2y2|"},
    {"if_elif_else",
     "{% for n in [1, 2, 3] %}{% if n == 1 %}one{% elif n == 2 %}two{% else %}many{% endif %} {% "
     "endfor %}",
     "{}", "one two many "},
    {"set_in_loop_does_not_leak",
     "{% set c = 0 %}{% for i in range(3) %}{% set c = c + 1 %}{{ c }}{% endfor %}{{ c }}", "{}",
     "1110"},
    {"set_in_if_leaks", "{% if true %}{% set z = \"in\" %}{% endif %}{{ z }}", "{}", "in"},
    {"namespace_carries_state_out_of_loops",
     "{% set ns = namespace(count=0, seen=[]) %}{% for i in range(3) %}{% set ns.count = ns.count "
     "+ i %}{% set ns.seen = ns.seen + [i] %}{% endfor %}{{ ns.count }} {{ ns.seen }}",
     "{}", "3 [0, 1, 2]"},
    {"empty_namespace", "{% set ns = namespace() %}{% set ns.index = 1 %}{{ ns.index }}", "{}",
     "1"},
    {"set_block", "{% set text %}\n  Hello {{ name }}!\n{% endset %}[{{ text }}]",
     "{\"name\": \"Ann\"}", "[  Hello Ann!\n]"},
    {"filter_block",
     "{%- filter upper -%}\n  shout {{ 1 + 1 }}\n{%- endfilter %}|{% filter trim %}  x  {% "
     "endfilter %}",
     "{}", "SHOUT 2|x"},
    {"tuple_set", "{% set a, b = 1, 2 %}{{ a }}{{ b }}", "{}", "12"},
    {"macro_with_defaults",
     "{% macro greet(name, greeting=\"Hi\", punct=\"!\") %}{{ greeting }} {{ name }}{{ punct }}{% "
     "endmacro %}{{ greet(\"A\") }}|{{ greet(\"B\", \"Yo\") }}|{{ greet(\"C\", punct=\"?\") }}|{{ "
     "greet(name=\"D\") }}",
     "{}", "Hi A!|Yo B!|Hi C?|Hi D!"},
    {"recursive_macro",
     "{% macro count(n) %}{% if n > 0 %}{{ n }}{{ count(n - 1) }}{% endif %}{% endmacro %}{{ "
     "count(3) }}{{ count(2) + \"x\" }}",
     "{}", "32121x"},
    {"macro_sees_template_globals",
     "{% set suffix = \"!\" %}{% macro f(x) %}{{ x ~ suffix ~ missing }}{% endmacro %}{{ f(1) }}",
     "{}", "1!"},
    {"macro_missing_argument_is_undefined",
     "{% macro f(a, b) %}{{ b is defined }}{% endmacro %}{{ f(1) }}", "{}", "False"},
    {"strftime_now",
     "{{ strftime_now(\"%d %b %Y\") }}|{{ strftime_now(\"%Y-%m-%d %H:%M:%S\") }}|{{ "
     "strftime_now(\"%A %a %B %y\") }}",
     "{}", "26 Jul 2024|2024-07-26 13:05:09|Friday Fri July 24"},
};

const std::vector<RenderCase> kUndefinedCases = {
    {"undefined_prints_empty", "[{{ missing }}][{{ d.missing }}][{{ l[9] }}]",
     "{\"d\": {}, \"l\": []}", "[][][]"},
    {"undefined_iterates_empty",
     "{% for x in missing %}x{% else %}none{% endfor %} {{ missing|length }} {{ missing|list }}",
     "{}", "none 0 []"},
    {"undefined_is_falsy",
     "{% if missing %}t{% else %}f{% endif %} {{ missing == missing }} {{ missing is none }} {{ "
     "not missing }}",
     "{}", "f True False True"},
    {"defined_checks_on_keys",
     "{{ m.tool_calls is defined }} {{ m[\"content\"] is none }} {{ \"tool_calls\" in m }}",
     "{\"m\": {\"content\": null}}", "False True False"},
    {"undefined_default",
     "{{ missing|default(\"d\") }} {{ none|default(\"d\") }} {{ \"\"|default(\"d\", true) }} {{ "
     "missing|d(\"x\") }}",
     "{}", "d None d x"},
    {"undefined_in_concat_tilde", "[{{ missing ~ \"a\" }}]", "{}", "[a]"},
    {"attribute_of_string_is_undefined", "{{ s.content is defined }}", "{\"s\": \"text\"}",
     "False"},
};

TEST(EvaluatorTest, ExpressionsMatchJinja2) { ExpectRenders(kExpressionCases); }
TEST(EvaluatorTest, StatementsMatchJinja2) { ExpectRenders(kStatementCases); }
TEST(EvaluatorTest, UndefinedMatchesJinja2) { ExpectRenders(kUndefinedCases); }

}  // namespace
}  // namespace tgi::router::chat
