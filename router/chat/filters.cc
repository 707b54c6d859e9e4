// Jinja2's built-in filters and transformers' tojson.
#include "router/chat/filters.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "router/chat/builtins.h"
#include "router/chat/tojson.h"

namespace tgi::router::chat {
namespace {

using FilterFn = absl::StatusOr<Value> (*)(const Value&, const CallArgs&);

// A FindArg index no positional argument has: the argument is keyword-only.
constexpr size_t kKeywordOnly = static_cast<size_t>(-1);

absl::Status FilterError(std::string message) {
  return absl::FailedPreconditionError(std::move(message));
}

// Jinja2's soft_str: Markup stays Markup, everything else becomes str(value).
Value SoftStr(const Value& v) { return v.is_string() ? v : Value::Str(v.ToString()); }

bool ArgTruthy(const CallArgs& args, size_t index, std::string_view name, bool fallback) {
  const Value* v = FindArg(args, index, name);
  return v == nullptr ? fallback : v->Truthy();
}

// Jinja2's make_attrgetter: "a.b.0" looks up a, then b, then index 0.
absl::StatusOr<Value> AttributePath(const Value& item, const Value& path) {
  if (!path.is_string()) return GetItem(item, path);
  Value current = item;
  const std::vector<std::string> parts = absl::StrSplit(path.str(), '.');
  for (const std::string& part : parts) {
    int64_t index = 0;
    if (absl::SimpleAtoi(part, &index)) {
      CHAT_ASSIGN_OR_RETURN(current, GetItem(current, Value::Int(index)));
    } else {
      CHAT_ASSIGN_OR_RETURN(current, GetItem(current, Value::Str(part)));
    }
  }
  return current;
}

// select/reject/selectattr/rejectattr: keep items whose (attribute's) test result is `keep`.
absl::StatusOr<Value> SelectOrReject(const Value& input, const CallArgs& args, bool by_attribute,
                                     bool keep) {
  if (!input.Truthy()) return Value::List();  // Jinja2 iterates only a truthy sequence
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  size_t next = 0;
  const Value* attribute = nullptr;
  if (by_attribute) {
    attribute = FindArg(args, next++, "");
    if (attribute == nullptr) return FilterError("selectattr/rejectattr need an attribute");
  }
  const Value* test = FindArg(args, next++, "");
  std::vector<Value> test_args;
  for (size_t i = next; i < args.positional.size(); ++i) test_args.push_back(args.positional[i]);
  std::vector<Value> out;
  for (const Value& item : items) {
    Value subject = item;
    if (attribute != nullptr) {
      CHAT_ASSIGN_OR_RETURN(subject, AttributePath(item, *attribute));
    }
    bool result = subject.Truthy();
    if (test != nullptr) {
      CHAT_ASSIGN_OR_RETURN(result, ApplyTest(test->ToString(), subject, test_args));
    }
    if (result == keep) out.push_back(item);
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> Select(const Value& in, const CallArgs& a) {
  return SelectOrReject(in, a, false, true);
}
absl::StatusOr<Value> Reject(const Value& in, const CallArgs& a) {
  return SelectOrReject(in, a, false, false);
}
absl::StatusOr<Value> SelectAttr(const Value& in, const CallArgs& a) {
  return SelectOrReject(in, a, true, true);
}
absl::StatusOr<Value> RejectAttr(const Value& in, const CallArgs& a) {
  return SelectOrReject(in, a, true, false);
}

absl::StatusOr<Value> Map(const Value& input, const CallArgs& args) {
  if (!input.Truthy()) return Value::List();
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  const Value* attribute = FindArg(args, kKeywordOnly, "attribute");
  const Value* fallback = FindArg(args, kKeywordOnly, "default");
  CallArgs filter_args;
  for (size_t i = 1; i < args.positional.size(); ++i)
    filter_args.positional.push_back(args.positional[i]);
  if (attribute == nullptr && args.positional.empty())
    return FilterError("map needs a filter or attribute");
  std::vector<Value> out;
  for (const Value& item : items) {
    if (attribute != nullptr) {
      CHAT_ASSIGN_OR_RETURN(Value v, AttributePath(item, *attribute));
      out.push_back(v.is_undefined() && fallback != nullptr ? *fallback : v);
    } else {
      CHAT_ASSIGN_OR_RETURN(Value v, ApplyFilter(args.positional[0].ToString(), item, filter_args));
      out.push_back(std::move(v));
    }
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> Trim(const Value& input, const CallArgs& args) {
  const Value* chars = FindArg(args, 0, "chars");
  std::optional<std::string> strip_chars;
  if (chars != nullptr && !chars->is_none()) strip_chars = chars->ToString();
  return Value::Str(PyStrip(input.ToString(), strip_chars, true, true), input.is_safe());
}

absl::StatusOr<Value> LengthFilter(const Value& input, const CallArgs&) {
  CHAT_ASSIGN_OR_RETURN(int64_t n, Length(input));
  return Value::Int(n);
}

absl::StatusOr<Value> ListFilter(const Value& input, const CallArgs&) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  return Value::List(std::move(items));
}

absl::StatusOr<Value> Join(const Value& input, const CallArgs& args) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  const Value* sep = FindArg(args, 0, "d");
  const Value* attribute = FindArg(args, 1, "attribute");
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0 && sep != nullptr) out += sep->ToString();
    Value item = items[i];
    if (attribute != nullptr) {
      CHAT_ASSIGN_OR_RETURN(item, AttributePath(item, *attribute));
    }
    out += item.ToString();
  }
  return Value::Str(std::move(out));
}

absl::StatusOr<Value> First(const Value& input, const CallArgs&) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  if (items.empty()) return Value::MakeUndefined("No first item, sequence was empty.");
  return items.front();
}

absl::StatusOr<Value> Last(const Value& input, const CallArgs&) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  if (items.empty()) return Value::MakeUndefined("No last item, sequence was empty.");
  return items.back();
}

absl::StatusOr<Value> Default(const Value& input, const CallArgs& args) {
  const Value* fallback = FindArg(args, 0, "default_value");
  if (input.is_undefined() || (ArgTruthy(args, 1, "boolean", false) && !input.Truthy())) {
    return fallback != nullptr ? *fallback : Value::Str("");
  }
  return input;
}

absl::StatusOr<Value> StringFilter(const Value& input, const CallArgs&) { return SoftStr(input); }

absl::StatusOr<Value> IntFilter(const Value& input, const CallArgs& args) {
  const Value* fallback = FindArg(args, 0, "default");
  const Value result_default = fallback != nullptr ? *fallback : Value::Int(0);
  if (input.is_undefined()) return UndefinedError(input);  // int(Undefined) raises in Jinja2
  if (input.is_bool()) return Value::Int(input.bool_value());
  if (input.is_int()) return input;
  if (input.is_float()) {
    if (!std::isfinite(input.float_value())) return result_default;
    return Value::Int(static_cast<int64_t>(std::trunc(input.float_value())));
  }
  if (input.is_string()) {
    const std::string text(absl::StripAsciiWhitespace(input.str()));
    int64_t i = 0;
    if (absl::SimpleAtoi(text, &i)) return Value::Int(i);
    double d = 0;
    if (absl::SimpleAtod(text, &d) && std::isfinite(d)) return Value::Int(static_cast<int64_t>(d));
  }
  return result_default;
}

absl::StatusOr<Value> FloatFilter(const Value& input, const CallArgs& args) {
  const Value* fallback = FindArg(args, 0, "default");
  if (input.is_undefined()) return UndefinedError(input);
  if (input.is_number()) return Value::Float(input.AsDouble());
  double d = 0;
  if (input.is_string() && absl::SimpleAtod(absl::StripAsciiWhitespace(input.str()), &d)) {
    return Value::Float(d);
  }
  return fallback != nullptr ? *fallback : Value::Float(0.0);
}

absl::StatusOr<Value> Lower(const Value& in, const CallArgs&) {
  return Value::Str(PyLower(in.ToString()));
}
absl::StatusOr<Value> Upper(const Value& in, const CallArgs&) {
  return Value::Str(PyUpper(in.ToString()));
}
absl::StatusOr<Value> Capitalize(const Value& in, const CallArgs&) {
  return Value::Str(PyCapitalize(in.ToString()));
}
// Jinja2's title filter (not str.title): each chunk after a run of whitespace, '-', '(', '{',
// '[' or '<' gets its first character uppercased and the rest lowercased.
absl::StatusOr<Value> Title(const Value& input, const CallArgs&) {
  const std::string text = input.ToString();
  std::string out;
  std::string word;
  auto flush = [&] {
    out += PyCapitalize(word);
    word.clear();
  };
  for (std::string_view c : CodePoints(text)) {
    const bool separator = c.size() == 1 && (std::string_view(" \t\n\r\f\v-({[<").find(c[0]) !=
                                             std::string_view::npos);
    if (separator) {
      flush();
      out += c;
    } else {
      word += c;
    }
  }
  flush();
  return Value::Str(std::move(out));
}

absl::StatusOr<Value> Replace(const Value& input, const CallArgs& args) {
  const Value* old_text = FindArg(args, 0, "old");
  const Value* new_text = FindArg(args, 1, "new");
  const Value* count = FindArg(args, 2, "count");
  if (old_text == nullptr || new_text == nullptr) return FilterError("replace needs old and new");
  const int64_t n = count != nullptr && count->is_int() ? count->int_value() : -1;
  return Value::Str(PyReplace(input.ToString(), old_text->ToString(), new_text->ToString(), n));
}

absl::StatusOr<Value> Indent(const Value& input, const CallArgs& args) {
  if (input.is_undefined()) return UndefinedError(input);
  if (!input.is_string()) {
    return FilterError(
        absl::StrCat("'", input.TypeName(), "' object has no attribute 'splitlines'"));
  }
  const Value* width = FindArg(args, 0, "width");
  std::string indention(4, ' ');
  if (width != nullptr) {
    indention =
        width->is_string()
            ? width->str()
            : std::string(std::max<int64_t>(0, width->is_int() ? width->int_value() : 4), ' ');
  }
  const bool first = ArgTruthy(args, 1, "first", false);
  const bool blank = ArgTruthy(args, 2, "blank", false);
  std::vector<std::string> lines = PySplitLines(input.ToString() + "\n");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0) out += "\n";
    if (i > 0 && (blank || !lines[i].empty())) out += indention;
    out += lines[i];
  }
  if (first) out = indention + out;
  return Value::Str(std::move(out), input.is_safe());
}

absl::StatusOr<Value> Unique(const Value& input, const CallArgs& args) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  const bool case_sensitive = ArgTruthy(args, 0, "case_sensitive", false);
  const Value* attribute = FindArg(args, 1, "attribute");
  std::vector<Value> seen;
  std::vector<Value> out;
  for (const Value& item : items) {
    Value key = item;
    if (attribute != nullptr) {
      CHAT_ASSIGN_OR_RETURN(key, AttributePath(item, *attribute));
    }
    if (!case_sensitive && key.is_string()) key = Value::Str(PyLower(key.str()));
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return Equals(s, key); })) {
      continue;
    }
    seen.push_back(key);
    out.push_back(item);
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> Safe(const Value& input, const CallArgs&) {
  return Value::Str(input.ToString(), true);
}

absl::StatusOr<Value> Escape(const Value& input, const CallArgs&) {
  if (input.is_safe()) return input;
  return Value::Str(HtmlEscape(input.ToString()), true);
}

absl::StatusOr<Value> Items(const Value& input, const CallArgs&) {
  if (input.is_undefined()) return Value::List();
  if (!input.is_dict()) return FilterError("Can only get item pairs from a mapping.");
  std::vector<Value> out;
  for (const auto& [k, v] : input.dict().entries) {
    out.push_back(Value::List({Value::Str(k), v}, /*is_tuple=*/true));
  }
  return Value::List(std::move(out));
}

// Sorts by key(item), stably; strings compare case-insensitively unless case_sensitive.
absl::Status SortValues(std::vector<Value>& items, bool case_sensitive, bool reverse,
                        const std::function<absl::StatusOr<Value>(const Value&)>& key) {
  std::vector<std::pair<Value, Value>> keyed;
  for (Value& item : items) {
    CHAT_ASSIGN_OR_RETURN(Value k, key(item));
    if (!case_sensitive && k.is_string()) k = Value::Str(PyLower(k.str()));
    keyed.emplace_back(std::move(k), std::move(item));
  }
  absl::Status status;
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& a, const auto& b) {
    absl::StatusOr<bool> less = reverse ? Less(b.first, a.first) : Less(a.first, b.first);
    if (!less.ok()) {
      status = less.status();
      return false;
    }
    return *less;
  });
  items.clear();
  for (auto& [k, item] : keyed) items.push_back(std::move(item));
  return status;
}

absl::StatusOr<Value> Sort(const Value& input, const CallArgs& args) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  const Value* attribute = FindArg(args, 2, "attribute");
  CHAT_RETURN_IF_ERROR(SortValues(items, ArgTruthy(args, 1, "case_sensitive", false),
                                  ArgTruthy(args, 0, "reverse", false),
                                  [&](const Value& item) -> absl::StatusOr<Value> {
                                    if (attribute == nullptr) return item;
                                    return AttributePath(item, *attribute);
                                  }));
  return Value::List(std::move(items));
}

absl::StatusOr<Value> DictSort(const Value& input, const CallArgs& args) {
  CHAT_ASSIGN_OR_RETURN(Value pairs, Items(input, {}));
  const Value* by = FindArg(args, 1, "by");
  const size_t position = by != nullptr && by->ToString() == "value" ? 1 : 0;
  std::vector<Value> items = pairs.list().items;
  CHAT_RETURN_IF_ERROR(SortValues(
      items, ArgTruthy(args, 0, "case_sensitive", false), ArgTruthy(args, 2, "reverse", false),
      [&](const Value& item) -> absl::StatusOr<Value> { return item.list().items[position]; }));
  return Value::List(std::move(items));
}

absl::StatusOr<Value> Reverse(const Value& input, const CallArgs&) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  std::reverse(items.begin(), items.end());
  if (!input.is_string()) return Value::List(std::move(items));
  std::string out;
  for (const Value& c : items) out += c.str();
  return Value::Str(std::move(out));
}

absl::StatusOr<Value> Abs(const Value& input, const CallArgs&) {
  if (input.is_float()) return Value::Float(std::fabs(input.float_value()));
  if (input.is_int()) return Value::Int(std::llabs(input.int_value()));
  if (input.is_bool()) return Value::Int(input.bool_value());
  return FilterError(absl::StrCat("bad operand type for abs(): '", input.TypeName(), "'"));
}

absl::StatusOr<Value> Sum(const Value& input, const CallArgs& args) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> items, Iterate(input));
  const Value* attribute = FindArg(args, 0, "attribute");
  const Value* start = FindArg(args, 1, "start");
  Value total = start != nullptr ? *start : Value::Int(0);
  for (const Value& item : items) {
    Value v = item;
    if (attribute != nullptr) {
      CHAT_ASSIGN_OR_RETURN(v, AttributePath(item, *attribute));
    }
    CHAT_ASSIGN_OR_RETURN(total, BinaryOp("+", total, v));
  }
  return total;
}

// transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
absl::StatusOr<Value> ToJsonFilter(const Value& input, const CallArgs& args) {
  JsonFormat format;
  format.ensure_ascii = ArgTruthy(args, 0, "ensure_ascii", false);
  const Value* indent = FindArg(args, 1, "indent");
  if (indent != nullptr && (indent->is_int() || indent->is_string())) {
    format.indent = indent->is_string()
                        ? indent->str()
                        : std::string(std::max<int64_t>(0, indent->int_value()), ' ');
  }
  const Value* separators = FindArg(args, 2, "separators");
  if (separators != nullptr && separators->is_list() && separators->list().items.size() == 2) {
    format.separators = {separators->list().items[0].ToString(),
                         separators->list().items[1].ToString()};
  }
  format.sort_keys = ArgTruthy(args, 3, "sort_keys", false);
  CHAT_ASSIGN_OR_RETURN(std::string json, ToJson(input, format));
  return Value::Str(std::move(json));
}

struct FilterEntry {
  std::string_view name;
  FilterFn function;
};

constexpr FilterEntry kFilters[] = {
    {"abs", Abs},
    {"capitalize", Capitalize},
    {"count", LengthFilter},
    {"d", Default},
    {"default", Default},
    {"dictsort", DictSort},
    {"e", Escape},
    {"escape", Escape},
    {"first", First},
    {"float", FloatFilter},
    {"indent", Indent},
    {"int", IntFilter},
    {"items", Items},
    {"join", Join},
    {"last", Last},
    {"length", LengthFilter},
    {"list", ListFilter},
    {"lower", Lower},
    {"map", Map},
    {"reject", Reject},
    {"rejectattr", RejectAttr},
    {"replace", Replace},
    {"reverse", Reverse},
    {"safe", Safe},
    {"select", Select},
    {"selectattr", SelectAttr},
    {"sort", Sort},
    {"string", StringFilter},
    {"sum", Sum},
    {"title", Title},
    {"tojson", ToJsonFilter},
    {"trim", Trim},
    {"unique", Unique},
    {"upper", Upper},
};

}  // namespace

absl::StatusOr<Value> ApplyFilter(std::string_view name, const Value& input, const CallArgs& args) {
  for (const FilterEntry& entry : kFilters) {
    if (entry.name == name) return entry.function(input, args);
  }
  return FilterError(absl::StrCat("no filter named '", std::string(name), "'"));
}

bool IsKnownFilter(std::string_view name) {
  return std::any_of(std::begin(kFilters), std::end(kFilters),
                     [&](const FilterEntry& entry) { return entry.name == name; });
}

}  // namespace tgi::router::chat
