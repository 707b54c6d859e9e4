// Python's semantics for template values, as Jinja2 reaches them: operators, `in`, subscripts and
// slices (by code point for str), attribute lookup with Jinja2's getattr/getitem fallbacks and
// the bound methods of str, dict and list, iteration, and the `is` tests. Errors are
// absl::FailedPreconditionError with Python's or Jinja2's message; no template syntax here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "router/chat/value.h"

namespace tgi::router::chat {

// An error for using an Undefined where Jinja2 raises UndefinedError ("'x' is undefined").
absl::Status UndefinedError(const Value& undefined);

// a op b for + - * / // % ** and ~ (string concatenation).
absl::StatusOr<Value> BinaryOp(std::string_view op, const Value& a, const Value& b);
// -a (negate) for numbers.
absl::StatusOr<Value> Negate(const Value& a);
// a op b for == != < > <= >= in notin.
absl::StatusOr<bool> Compare(std::string_view op, const Value& a, const Value& b);
// `item in container`: substring, list element, dict key; Undefined holds nothing.
absl::StatusOr<bool> Contains(const Value& container, const Value& item);

// Jinja2's environment.getitem: obj[key], else getattr(obj, key) for a string key, else
// Undefined. Negative indices count from the end.
absl::StatusOr<Value> GetItem(const Value& object, const Value& key);
// Jinja2's environment.getattr: getattr(obj, name) (bound methods of str, dict, list), else
// obj[name], else Undefined.
absl::StatusOr<Value> GetAttr(const Value& object, std::string_view name);
// obj[start:stop:step] on lists and strings; none/undefined parts are absent.
absl::StatusOr<Value> GetSlice(const Value& object, const Value& start, const Value& stop,
                               const Value& step);

// Python's iter(): list items, dict keys, str characters; Undefined yields nothing.
absl::StatusOr<std::vector<Value>> Iterate(const Value& value);
// Python's len(); Undefined has length 0.
absl::StatusOr<int64_t> Length(const Value& value);

// `value is name(args)`; an unknown test is an error.
absl::StatusOr<bool> ApplyTest(std::string_view name, const Value& value,
                               const std::vector<Value>& args);

// UTF-8 helpers with Python str semantics (one element per code point).
std::vector<std::string_view> CodePoints(std::string_view s);
// str.strip/lstrip/rstrip: whitespace when chars is absent, else any of chars' code points.
std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right);
// str.lower(), str.upper(), str.title() and str.capitalize() (ASCII, Latin-1, Latin
// Extended-A, Greek and Cyrillic letters; other scripts unchanged).
std::string PyLower(std::string_view s);
std::string PyUpper(std::string_view s);
std::string PyTitle(std::string_view s);
std::string PyCapitalize(std::string_view s);
// str.replace(old, new[, count]) (count < 0: all).
std::string PyReplace(std::string_view s, std::string_view old_text, std::string_view new_text,
                      int64_t count);
// str.split([sep[, maxsplit]]): on runs of whitespace when sep is absent.
std::vector<std::string> PySplit(std::string_view s, const std::optional<std::string>& sep,
                                 int64_t maxsplit);
// str.splitlines() (without keepends).
std::vector<std::string> PySplitLines(std::string_view s);

// Argument access for native functions: positional index or keyword name, else the fallback.
const Value* FindArg(const CallArgs& args, size_t index, std::string_view name);

}  // namespace tgi::router::chat
