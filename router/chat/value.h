// The Python-like values a chat template computes with: undefined (Jinja2's default Undefined),
// None, bool, int64, double, str (with Jinja2's Markup "safe" flag), list/tuple, dict (string
// keys, insertion order), namespace and callables. Lists, dicts and namespaces are shared by
// reference, as in Python. This module knows no template syntax; it converts from Boost.JSON.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "boost/json/value.hpp"

// Early returns for absl::Status and absl::StatusOr inside this module.
#define CHAT_RETURN_IF_ERROR(expr)               \
  do {                                           \
    absl::Status chat_status_ = (expr);          \
    if (!chat_status_.ok()) return chat_status_; \
  } while (0)
#define CHAT_CONCAT_INNER(a, b) a##b
#define CHAT_CONCAT(a, b) CHAT_CONCAT_INNER(a, b)
#define CHAT_ASSIGN_OR_RETURN(lhs, expr) \
  CHAT_ASSIGN_OR_RETURN_IMPL(CHAT_CONCAT(chat_or_, __LINE__), lhs, expr)
#define CHAT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                               \
  if (!tmp.ok()) return tmp.status();              \
  lhs = std::move(*tmp)

namespace tgi::router::chat {

class Value;

// Arguments of a call: positional, then keyword in source order.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

using NativeFunction = std::function<absl::StatusOr<Value>(const CallArgs&)>;

struct ListData {
  std::vector<Value> items;
  bool is_tuple = false;
};

// A dict with string keys in insertion order (JSON objects, {...} literals, namespaces).
struct DictData {
  std::vector<std::pair<std::string, Value>> entries;

  const Value* Find(std::string_view key) const;
  // Inserts or overwrites, keeping the first insertion's position.
  void Set(std::string key, Value value);
};

struct Callable {
  std::string name;
  NativeFunction function;
};

struct Undefined {
  std::string hint;  // what was looked up, for the error when it is used: "'x' is undefined"
};
struct None {};
struct String {
  std::string text;
  bool safe = false;  // Jinja2's Markup: `safe + str` HTML-escapes the str
};
struct Namespace {
  std::shared_ptr<DictData> attributes;
};

class Value {
 public:
  enum class Kind {
    kUndefined,
    kNone,
    kBool,
    kInt,
    kFloat,
    kString,
    kList,
    kDict,
    kNamespace,
    kCallable
  };

  Value() : data_(Undefined{}) {}
  static Value MakeUndefined(std::string hint);
  static Value MakeNone() { return Value(None{}); }
  static Value Bool(bool b) { return Value(b); }
  static Value Int(int64_t i) { return Value(i); }
  static Value Float(double d) { return Value(d); }
  static Value Str(std::string s, bool safe = false) { return Value(String{std::move(s), safe}); }
  static Value List(std::vector<Value> items = {}, bool is_tuple = false);
  static Value Dict(std::shared_ptr<DictData> dict = nullptr);
  static Value MakeNamespace(std::shared_ptr<DictData> attributes);
  static Value Function(std::string name, NativeFunction function);
  static Value FromJson(const boost::json::value& json);

  Kind kind() const { return static_cast<Kind>(data_.index()); }
  bool is_undefined() const { return kind() == Kind::kUndefined; }
  bool is_none() const { return kind() == Kind::kNone; }
  bool is_bool() const { return kind() == Kind::kBool; }
  bool is_int() const { return kind() == Kind::kInt; }
  bool is_float() const { return kind() == Kind::kFloat; }
  // Python's numbers.Number: bool, int and float.
  bool is_number() const { return is_bool() || is_int() || is_float(); }
  bool is_string() const { return kind() == Kind::kString; }
  bool is_list() const { return kind() == Kind::kList; }
  bool is_dict() const { return kind() == Kind::kDict; }
  bool is_namespace() const { return kind() == Kind::kNamespace; }
  bool is_callable() const { return kind() == Kind::kCallable; }
  bool is_safe() const { return is_string() && std::get<String>(data_).safe; }

  bool bool_value() const { return std::get<bool>(data_); }
  int64_t int_value() const { return std::get<int64_t>(data_); }
  double float_value() const { return std::get<double>(data_); }
  // bool/int/float as a double (callers check is_number()).
  double AsDouble() const;
  const std::string& str() const { return std::get<String>(data_).text; }
  const std::string& undefined_hint() const { return std::get<Undefined>(data_).hint; }
  ListData& list() const { return *std::get<std::shared_ptr<ListData>>(data_); }
  DictData& dict() const { return *std::get<std::shared_ptr<DictData>>(data_); }
  DictData& namespace_attributes() const { return *std::get<Namespace>(data_).attributes; }
  const Callable& callable() const { return *std::get<std::shared_ptr<Callable>>(data_); }

  // Python's bool(x); Undefined is false.
  bool Truthy() const;
  // Python's str(x) (Undefined prints as "").
  std::string ToString() const;
  // Python's repr(x) (how a value prints inside a list or dict).
  std::string Repr() const;
  // Python's type name, for error messages ("int", "str", "dict", "undefined").
  std::string TypeName() const;

 private:
  using Data =
      std::variant<Undefined, None, bool, int64_t, double, String, std::shared_ptr<ListData>,
                   std::shared_ptr<DictData>, Namespace, std::shared_ptr<Callable>>;
  template <typename T>
  explicit Value(T data) : data_(std::in_place_type<T>, std::move(data)) {}
  Data data_;
};

// Python's ==: 1 == 1.0 == True, lists and dicts deep, Undefined equal only to Undefined.
bool Equals(const Value& a, const Value& b);
// Python's < on numbers, strings (by code point) and lists; an error for other pairs.
absl::StatusOr<bool> Less(const Value& a, const Value& b);

// Python's repr(float): the shortest digits that round-trip, "1.0", "1e-05", "1e+16", "inf".
std::string FormatFloat(double d);
// Python's repr(str): single quotes unless the text holds ' and no ".
std::string ReprString(std::string_view s);
// markupsafe.escape: & < > ' " as &amp; &lt; &gt; &#39; &#34;.
std::string HtmlEscape(std::string_view s);

// A dict whose keys are given in order, for tests and the render context.
Value MakeDict(std::vector<std::pair<std::string, Value>> entries);

}  // namespace tgi::router::chat
