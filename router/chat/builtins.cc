// Python semantics of operators, lookups, iteration, tests and str/dict/list methods.
#include "router/chat/builtins.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/utf8.h"

namespace tgi::router::chat {
namespace {

absl::Status TypeError(std::string message) {
  return absl::FailedPreconditionError(std::move(message));
}

// The code point at the start of a UTF-8 sequence (the byte itself when malformed).
uint32_t DecodeCodePoint(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  if (b0 < 0x80 || s.size() == 1) return b0;
  const auto b1 = static_cast<unsigned char>(s[1]) & 0x3F;
  if ((b0 & 0xE0) == 0xC0) return ((b0 & 0x1F) << 6) | b1;
  if (s.size() < 3) return b0;
  const auto b2 = static_cast<unsigned char>(s[2]) & 0x3F;
  if ((b0 & 0xF0) == 0xE0) return ((b0 & 0x0F) << 12) | (b1 << 6) | b2;
  if (s.size() < 4) return b0;
  const auto b3 = static_cast<unsigned char>(s[3]) & 0x3F;
  return ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3;
}

// Python's str.isspace() for one code point.
bool IsPyWhitespace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x20) || cp == 0x85 || cp == 0xA0 ||
         cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 ||
         cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

// Simple case mapping of Python's str methods for ASCII, Latin-1, Latin Extended-A, Greek and
// Cyrillic (other scripts are left unchanged).
uint32_t UpperOf(uint32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 32;
  if ((cp >= 0xE0 && cp <= 0xFE && cp != 0xF7)) return cp - 32;
  if (cp == 0xFF) return 0x178;
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) return cp & ~1u;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
    return cp % 2 == 0 ? cp - 1 : cp;
  if (cp >= 0x3B1 && cp <= 0x3C9) return cp == 0x3C2 ? 0x3A3 : cp - 32;
  if (cp >= 0x430 && cp <= 0x44F) return cp - 32;
  if (cp >= 0x450 && cp <= 0x45F) return cp - 80;
  return cp;
}

uint32_t LowerOf(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 32;
  if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)) return cp + 32;
  if (cp == 0x178) return 0xFF;
  if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177)) return cp | 1u;
  if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
    return cp % 2 == 1 ? cp + 1 : cp;
  if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2) return cp + 32;
  if (cp >= 0x410 && cp <= 0x42F) return cp + 32;
  if (cp >= 0x400 && cp <= 0x40F) return cp + 80;
  return cp;
}

bool IsCased(uint32_t cp) { return UpperOf(cp) != cp || LowerOf(cp) != cp || cp == 0xDF; }

enum class CaseMode { kLower, kUpper, kTitle, kCapitalize };

// str.lower/upper/title/capitalize: title uppercases a cased character that follows an uncased
// one and lowercases the rest; capitalize uppercases only the first character.
std::string MapCase(std::string_view s, CaseMode mode) {
  std::string out;
  bool previous_cased = false;
  bool first = true;
  for (std::string_view c : CodePoints(s)) {
    const uint32_t cp = DecodeCodePoint(c);
    if (cp >= 0x800 && !IsCased(cp)) {
      out += c;
      previous_cased = false;
      first = false;
      continue;
    }
    bool upper = mode == CaseMode::kUpper;
    if (mode == CaseMode::kTitle) upper = !previous_cased;
    if (mode == CaseMode::kCapitalize) upper = first;
    common::AppendUtf8(upper ? UpperOf(cp) : LowerOf(cp), out);
    previous_cased = IsCased(cp);
    first = false;
  }
  return out;
}

int64_t AsInt(const Value& v) { return v.is_bool() ? v.bool_value() : v.int_value(); }
bool IsIntLike(const Value& v) { return v.is_int() || v.is_bool(); }

std::string ObjectName(const Value& v) { return absl::StrCat("'", v.TypeName(), " object'"); }

Value MissingAttribute(const Value& object, std::string_view name) {
  return Value::MakeUndefined(
      absl::StrCat(ObjectName(object), " has no attribute '", std::string(name), "'"));
}

// Python's floor division and modulo on integers.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

absl::StatusOr<Value> Arithmetic(std::string_view op, const Value& a, const Value& b) {
  const bool ints = IsIntLike(a) && IsIntLike(b);
  const double x = a.AsDouble();
  const double y = b.AsDouble();
  if (op == "-") return ints ? Value::Int(AsInt(a) - AsInt(b)) : Value::Float(x - y);
  if (op == "+") return ints ? Value::Int(AsInt(a) + AsInt(b)) : Value::Float(x + y);
  if (op == "*") return ints ? Value::Int(AsInt(a) * AsInt(b)) : Value::Float(x * y);
  if (y == 0.0 && (op == "/" || op == "//" || op == "%")) {
    return absl::FailedPreconditionError("division by zero");
  }
  if (op == "/") return Value::Float(x / y);
  if (op == "//")
    return ints ? Value::Int(FloorDiv(AsInt(a), AsInt(b))) : Value::Float(std::floor(x / y));
  if (op == "%") {
    if (ints) return Value::Int(FloorMod(AsInt(a), AsInt(b)));
    double m = std::fmod(x, y);
    if (m != 0.0 && ((m < 0) != (y < 0))) m += y;
    return Value::Float(m);
  }
  if (ints && AsInt(b) >= 0) {
    int64_t result = 1;
    for (int64_t i = 0; i < AsInt(b); ++i) result *= AsInt(a);
    return Value::Int(result);
  }
  return Value::Float(std::pow(x, y));
}

absl::StatusOr<Value> Repeat(const Value& sequence, int64_t times) {
  if (sequence.is_string()) {
    std::string out;
    for (int64_t i = 0; i < times; ++i) out += sequence.str();
    return Value::Str(std::move(out));
  }
  std::vector<Value> items;
  for (int64_t i = 0; i < times; ++i) {
    items.insert(items.end(), sequence.list().items.begin(), sequence.list().items.end());
  }
  return Value::List(std::move(items), sequence.list().is_tuple);
}

// Markup + str escapes the plain side; the result stays Markup.
Value AddStrings(const Value& a, const Value& b) {
  if (!a.is_safe() && !b.is_safe()) return Value::Str(a.str() + b.str());
  const std::string left = a.is_safe() ? a.str() : HtmlEscape(a.str());
  const std::string right = b.is_safe() ? b.str() : HtmlEscape(b.str());
  return Value::Str(left + right, true);
}

int64_t ClampSliceIndex(const Value& v, int64_t length, int64_t lower, int64_t upper,
                        int64_t fallback) {
  if (v.is_none() || v.is_undefined()) return fallback;
  int64_t i = AsInt(v);
  if (i < 0) i += length;
  return std::clamp(i, lower, upper);
}

absl::StatusOr<Value> StringMethod(const Value& self, std::string_view name, const CallArgs& args);
absl::StatusOr<Value> DictMethod(const Value& self, std::string_view name, const CallArgs& args);
absl::StatusOr<Value> ListMethod(const Value& self, std::string_view name, const CallArgs& args);

bool IsStringMethod(std::string_view name) {
  static constexpr std::string_view kNames[] = {
      "strip",   "lstrip", "rstrip",     "split", "startswith", "endswith", "upper",     "lower",
      "replace", "title",  "capitalize", "find",  "count",      "join",     "splitlines"};
  return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
}
bool IsDictMethod(std::string_view name) {
  return name == "items" || name == "keys" || name == "values" || name == "get" || name == "copy";
}
bool IsListMethod(std::string_view name) {
  return name == "append" || name == "index" || name == "count" || name == "pop";
}

Value BindMethod(const Value& self, std::string_view name) {
  std::string method(name);
  return Value::Function(method, [self, method](const CallArgs& args) -> absl::StatusOr<Value> {
    if (self.is_string()) return StringMethod(self, method, args);
    if (self.is_dict()) return DictMethod(self, method, args);
    return ListMethod(self, method, args);
  });
}

std::optional<std::string> OptionalString(const Value* v) {
  if (v == nullptr || v->is_none() || v->is_undefined()) return std::nullopt;
  return v->ToString();
}

// Byte offset to code point index, for str.find.
int64_t CodePointIndex(std::string_view s, size_t byte_offset) {
  return static_cast<int64_t>(CodePoints(s.substr(0, byte_offset)).size());
}

absl::StatusOr<Value> AffixMethod(std::string_view s, std::string_view name, const Value* arg) {
  if (arg == nullptr)
    return TypeError(absl::StrCat(std::string(name), "() takes at least 1 argument"));
  std::vector<Value> affixes = arg->is_list() ? arg->list().items : std::vector<Value>{*arg};
  for (const Value& affix : affixes) {
    if (!affix.is_string())
      return TypeError(absl::StrCat(std::string(name), "() arguments must be str"));
    const std::string& a = affix.str();
    const bool hit = name == "startswith"
                         ? s.substr(0, a.size()) == a
                         : s.size() >= a.size() && s.substr(s.size() - a.size()) == a;
    if (hit) return Value::Bool(true);
  }
  return Value::Bool(false);
}

absl::StatusOr<Value> StringMethod(const Value& self, std::string_view name, const CallArgs& args) {
  const std::string& s = self.str();
  const Value* a0 = FindArg(args, 0, "");
  const Value* a1 = FindArg(args, 1, "");
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return Value::Str(
        PyStrip(s, OptionalString(FindArg(args, 0, "chars")), name != "rstrip", name != "lstrip"));
  }
  if (name == "split") {
    const Value* max = FindArg(args, 1, "maxsplit");
    std::vector<Value> parts;
    for (auto& part : PySplit(s, OptionalString(FindArg(args, 0, "sep")),
                              max != nullptr && IsIntLike(*max) ? AsInt(*max) : -1)) {
      parts.push_back(Value::Str(std::move(part)));
    }
    return Value::List(std::move(parts));
  }
  if (name == "splitlines") {
    std::vector<Value> lines;
    for (auto& line : PySplitLines(s)) lines.push_back(Value::Str(std::move(line)));
    return Value::List(std::move(lines));
  }
  if (name == "startswith" || name == "endswith") return AffixMethod(s, name, a0);
  if (name == "upper") return Value::Str(PyUpper(s));
  if (name == "lower") return Value::Str(PyLower(s));
  if (name == "title") return Value::Str(PyTitle(s));
  if (name == "capitalize") return Value::Str(PyCapitalize(s));
  if (a0 == nullptr || !a0->is_string()) {
    return TypeError(absl::StrCat("str.", std::string(name), "() needs a str argument"));
  }
  if (name == "replace") {
    if (a1 == nullptr || !a1->is_string()) return TypeError("str.replace() needs two strings");
    const Value* count = FindArg(args, 2, "count");
    return Value::Str(PyReplace(s, a0->str(), a1->str(),
                                count != nullptr && IsIntLike(*count) ? AsInt(*count) : -1));
  }
  if (name == "find") {
    const size_t at = s.find(a0->str());
    return Value::Int(at == std::string::npos ? -1 : CodePointIndex(s, at));
  }
  if (name == "count") {
    if (a0->str().empty()) return Value::Int(static_cast<int64_t>(CodePoints(s).size()) + 1);
    int64_t n = 0;
    for (size_t at = s.find(a0->str()); at != std::string::npos;
         at = s.find(a0->str(), at + a0->str().size())) {
      ++n;
    }
    return Value::Int(n);
  }
  return TypeError(absl::StrCat("str.", std::string(name), "() is not supported"));
}

absl::StatusOr<Value> DictMethod(const Value& self, std::string_view name, const CallArgs& args) {
  const DictData& dict = self.dict();
  std::vector<Value> out;
  if (name == "get") {
    const Value* key = FindArg(args, 0, "key");
    const Value* fallback = FindArg(args, 1, "default");
    const Value* found = key != nullptr && key->is_string() ? dict.Find(key->str()) : nullptr;
    if (found != nullptr) return *found;
    return fallback != nullptr ? *fallback : Value::MakeNone();
  }
  if (name == "copy") {
    auto copy = std::make_shared<DictData>(dict);
    return Value::Dict(std::move(copy));
  }
  for (const auto& [k, v] : dict.entries) {
    if (name == "items") {
      out.push_back(Value::List({Value::Str(k), v}, /*is_tuple=*/true));
    } else if (name == "keys") {
      out.push_back(Value::Str(k));
    } else {
      out.push_back(v);
    }
  }
  return Value::List(std::move(out));
}

absl::StatusOr<Value> ListMethod(const Value& self, std::string_view name, const CallArgs& args) {
  std::vector<Value>& items = self.list().items;
  const Value* a0 = FindArg(args, 0, "");
  if (name == "append") {
    if (a0 == nullptr) return TypeError("append() takes exactly one argument");
    items.push_back(*a0);
    return Value::MakeNone();
  }
  if (name == "pop") {
    if (items.empty()) return TypeError("pop from empty list");
    int64_t i = a0 != nullptr && IsIntLike(*a0) ? AsInt(*a0) : -1;
    if (i < 0) i += static_cast<int64_t>(items.size());
    if (i < 0 || i >= static_cast<int64_t>(items.size()))
      return TypeError("pop index out of range");
    Value popped = items[i];
    items.erase(items.begin() + i);
    return popped;
  }
  if (a0 == nullptr)
    return TypeError(absl::StrCat(std::string(name), "() takes exactly one argument"));
  int64_t count = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (!Equals(items[i], *a0)) continue;
    if (name == "index") return Value::Int(static_cast<int64_t>(i));
    ++count;
  }
  if (name == "index") return TypeError(absl::StrCat(a0->Repr(), " is not in list"));
  return Value::Int(count);
}

}  // namespace

absl::Status UndefinedError(const Value& undefined) {
  return absl::FailedPreconditionError(undefined.undefined_hint());
}

absl::StatusOr<Value> BinaryOp(std::string_view op, const Value& a, const Value& b) {
  if (op == "~") return Value::Str(a.ToString() + b.ToString());
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (a.is_number() && b.is_number()) return Arithmetic(op, a, b);
  if (op == "+" && a.is_string() && b.is_string()) return AddStrings(a, b);
  if (op == "+" && a.is_list() && b.is_list() && a.list().is_tuple == b.list().is_tuple) {
    std::vector<Value> items = a.list().items;
    items.insert(items.end(), b.list().items.begin(), b.list().items.end());
    return Value::List(std::move(items), a.list().is_tuple);
  }
  if (op == "*" && (a.is_string() || a.is_list()) && IsIntLike(b)) return Repeat(a, AsInt(b));
  if (op == "*" && (b.is_string() || b.is_list()) && IsIntLike(a)) return Repeat(b, AsInt(a));
  if (op == "+" && a.is_string()) {
    return TypeError(absl::StrCat("can only concatenate str (not \"", b.TypeName(), "\") to str"));
  }
  return TypeError(absl::StrCat("unsupported operand type(s) for ", std::string(op), ": '",
                                a.TypeName(), "' and '", b.TypeName(), "'"));
}

absl::StatusOr<Value> Negate(const Value& a) {
  if (a.is_undefined()) return UndefinedError(a);
  if (a.is_float()) return Value::Float(-a.float_value());
  if (IsIntLike(a)) return Value::Int(-AsInt(a));
  return TypeError(absl::StrCat("bad operand type for unary -: '", a.TypeName(), "'"));
}

absl::StatusOr<bool> Compare(std::string_view op, const Value& a, const Value& b) {
  if (op == "==") return Equals(a, b);
  if (op == "!=") return !Equals(a, b);
  if (op == "in") return Contains(b, a);
  if (op == "notin") {
    CHAT_ASSIGN_OR_RETURN(bool in, Contains(b, a));
    return !in;
  }
  if (a.is_undefined()) return UndefinedError(a);
  if (b.is_undefined()) return UndefinedError(b);
  if (op == "<") return Less(a, b);
  if (op == ">") return Less(b, a);
  if (op == "<=") {
    CHAT_ASSIGN_OR_RETURN(bool greater, Less(b, a));
    return !greater;
  }
  CHAT_ASSIGN_OR_RETURN(bool less, Less(a, b));
  return !less;
}

absl::StatusOr<bool> Contains(const Value& container, const Value& item) {
  if (container.is_undefined()) return false;
  if (container.is_string()) {
    if (!item.is_string()) {
      return TypeError(
          absl::StrCat("'in <string>' requires string as left operand, not ", item.TypeName()));
    }
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_list()) {
    for (const Value& v : container.list().items) {
      if (Equals(v, item)) return true;
    }
    return false;
  }
  if (container.is_dict()) {
    if (item.is_list() && !item.list().is_tuple) return TypeError("unhashable type: 'list'");
    if (item.is_dict()) return TypeError("unhashable type: 'dict'");
    return item.is_string() && container.dict().Find(item.str()) != nullptr;
  }
  return TypeError(absl::StrCat("argument of type '", container.TypeName(), "' is not iterable"));
}

absl::StatusOr<Value> GetItem(const Value& object, const Value& key) {
  if (object.is_undefined()) return UndefinedError(object);
  if ((object.is_list() || object.is_string()) && IsIntLike(key)) {
    std::vector<std::string_view> chars;
    if (object.is_string()) chars = CodePoints(object.str());
    const int64_t length = object.is_list() ? static_cast<int64_t>(object.list().items.size())
                                            : static_cast<int64_t>(chars.size());
    int64_t i = AsInt(key);
    if (i < 0) i += length;
    if (i >= 0 && i < length) {
      if (object.is_list()) return object.list().items[i];
      return Value::Str(std::string(chars[i]));
    }
    return Value::MakeUndefined(absl::StrCat(ObjectName(object), " has no element ", AsInt(key)));
  }
  if (object.is_dict() && key.is_string()) {
    if (const Value* found = object.dict().Find(key.str())) return *found;
  }
  if (key.is_string()) return GetAttr(object, key.str());
  return Value::MakeUndefined(absl::StrCat(ObjectName(object), " has no element ", key.Repr()));
}

absl::StatusOr<Value> GetAttr(const Value& object, std::string_view name) {
  if (object.is_undefined()) return UndefinedError(object);
  if ((object.is_string() && IsStringMethod(name)) || (object.is_dict() && IsDictMethod(name)) ||
      (object.is_list() && IsListMethod(name))) {
    return BindMethod(object, name);
  }
  if (object.is_dict()) {
    if (const Value* found = object.dict().Find(name)) return *found;
  }
  if (object.is_namespace()) {
    if (const Value* found = object.namespace_attributes().Find(name)) return *found;
  }
  return MissingAttribute(object, name);
}

absl::StatusOr<Value> GetSlice(const Value& object, const Value& start, const Value& stop,
                               const Value& step) {
  if (object.is_undefined()) return UndefinedError(object);
  if (!object.is_list() && !object.is_string()) {
    return TypeError(absl::StrCat("'", object.TypeName(), "' object is not subscriptable"));
  }
  for (const Value* part : {&start, &stop, &step}) {
    if (!part->is_none() && !part->is_undefined() && !IsIntLike(*part)) {
      return TypeError("slice indices must be integers or None");
    }
  }
  const int64_t s = step.is_none() || step.is_undefined() ? 1 : AsInt(step);
  if (s == 0) return TypeError("slice step cannot be zero");
  std::vector<std::string_view> chars;
  if (object.is_string()) chars = CodePoints(object.str());
  const int64_t length = object.is_list() ? static_cast<int64_t>(object.list().items.size())
                                          : static_cast<int64_t>(chars.size());
  const int64_t lower = s > 0 ? 0 : -1;
  const int64_t upper = s > 0 ? length : length - 1;
  const int64_t first = ClampSliceIndex(start, length, lower, upper, s > 0 ? lower : upper);
  const int64_t last = ClampSliceIndex(stop, length, lower, upper, s > 0 ? upper : lower);
  std::vector<Value> items;
  std::string text;
  for (int64_t i = first; s > 0 ? i < last : i > last; i += s) {
    if (object.is_list()) {
      items.push_back(object.list().items[i]);
    } else {
      text += chars[i];
    }
  }
  if (object.is_string()) return Value::Str(std::move(text));
  return Value::List(std::move(items), object.list().is_tuple);
}

absl::StatusOr<std::vector<Value>> Iterate(const Value& value) {
  std::vector<Value> out;
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      return out;
    case Value::Kind::kList:
      return value.list().items;
    case Value::Kind::kDict:
      for (const auto& entry : value.dict().entries) out.push_back(Value::Str(entry.first));
      return out;
    case Value::Kind::kString:
      for (std::string_view c : CodePoints(value.str())) out.push_back(Value::Str(std::string(c)));
      return out;
    default:
      return TypeError(absl::StrCat("'", value.TypeName(), "' object is not iterable"));
  }
}

absl::StatusOr<int64_t> Length(const Value& value) {
  switch (value.kind()) {
    case Value::Kind::kUndefined:
      return 0;
    case Value::Kind::kString:
      return static_cast<int64_t>(CodePoints(value.str()).size());
    case Value::Kind::kList:
      return static_cast<int64_t>(value.list().items.size());
    case Value::Kind::kDict:
      return static_cast<int64_t>(value.dict().entries.size());
    default:
      return TypeError(absl::StrCat("object of type '", value.TypeName(), "' has no len()"));
  }
}

absl::StatusOr<bool> ApplyTest(std::string_view name, const Value& v,
                               const std::vector<Value>& args) {
  auto arg = [&](size_t i) -> absl::StatusOr<Value> {
    if (i >= args.size())
      return TypeError(absl::StrCat("test '", std::string(name), "' needs an argument"));
    return args[i];
  };
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  if (name == "number") return v.is_number();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.bool_value();
  if (name == "false") return v.is_bool() && !v.bool_value();
  if (name == "callable") return v.is_callable();
  if (name == "iterable") return v.is_undefined() || v.is_list() || v.is_dict() || v.is_string();
  if (name == "sequence") return v.is_undefined() || v.is_list() || v.is_dict() || v.is_string();
  if (name == "escaped") return v.is_safe();
  if (name == "lower") return v.is_string() && PyLower(v.str()) == v.str();
  if (name == "upper") return v.is_string() && PyUpper(v.str()) == v.str();
  if (name == "even" || name == "odd" || name == "divisibleby") {  // value % n, as Jinja2
    Value divisor = Value::Int(2);
    if (name == "divisibleby") {
      CHAT_ASSIGN_OR_RETURN(divisor, arg(0));
    }
    CHAT_ASSIGN_OR_RETURN(Value remainder, BinaryOp("%", v, divisor));
    return Equals(remainder, Value::Int(name == "odd" ? 1 : 0));
  }
  static constexpr std::pair<std::string_view, std::string_view> kComparisons[] = {
      {"equalto", "=="},    {"eq", "=="}, {"==", "=="},      {"ne", "!="}, {"!=", "!="},
      {"lt", "<"},          {"<", "<"},   {"lessthan", "<"}, {"gt", ">"},  {">", ">"},
      {"greaterthan", ">"}, {"le", "<="}, {"<=", "<="},      {"ge", ">="}, {">=", ">="}};
  for (const auto& [test, op] : kComparisons) {
    if (name != test) continue;
    CHAT_ASSIGN_OR_RETURN(Value other, arg(0));
    return Compare(op, v, other);
  }
  if (name == "in") {
    CHAT_ASSIGN_OR_RETURN(Value other, arg(0));
    return Contains(other, v);
  }
  if (name == "sameas") {
    CHAT_ASSIGN_OR_RETURN(Value other, arg(0));
    if (v.is_list() && other.is_list()) return &v.list() == &other.list();
    if (v.is_dict() && other.is_dict()) return &v.dict() == &other.dict();
    return v.kind() == other.kind() && (v.is_none() || v.is_undefined() || Equals(v, other));
  }
  return TypeError(absl::StrCat("no test named '", std::string(name), "'"));
}

std::vector<std::string_view> CodePoints(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80             ? 1
               : (b & 0xE0) == 0xC0 ? 2
               : (b & 0xF0) == 0xE0 ? 3
               : (b & 0xF8) == 0xF0 ? 4
                                    : 1;
    if (i + n > s.size()) n = 1;
    out.push_back(s.substr(i, n));
    i += n;
  }
  return out;
}

std::string PyStrip(std::string_view s, const std::optional<std::string>& chars, bool left,
                    bool right) {
  std::vector<std::string_view> cps = CodePoints(s);
  std::vector<std::string_view> strip_set;
  if (chars.has_value()) strip_set = CodePoints(*chars);
  auto strip = [&](std::string_view c) {
    if (!chars.has_value()) return IsPyWhitespace(DecodeCodePoint(c));
    return std::find(strip_set.begin(), strip_set.end(), c) != strip_set.end();
  };
  size_t begin = 0;
  size_t end = cps.size();
  while (left && begin < end && strip(cps[begin])) ++begin;
  while (right && end > begin && strip(cps[end - 1])) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += cps[i];
  return out;
}

std::string PyLower(std::string_view s) { return MapCase(s, CaseMode::kLower); }
std::string PyUpper(std::string_view s) { return MapCase(s, CaseMode::kUpper); }
std::string PyTitle(std::string_view s) { return MapCase(s, CaseMode::kTitle); }
std::string PyCapitalize(std::string_view s) { return MapCase(s, CaseMode::kCapitalize); }

std::string PyReplace(std::string_view s, std::string_view old_text, std::string_view new_text,
                      int64_t count) {
  std::string out;
  if (old_text.empty()) {
    std::vector<std::string_view> cps = CodePoints(s);
    int64_t done = 0;
    for (std::string_view c : cps) {
      if (count < 0 || done < count) {
        out += new_text;
        ++done;
      }
      out += c;
    }
    if (count < 0 || done < count) out += new_text;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t at = s.find(old_text, pos);
    if (at == std::string_view::npos) break;
    out.append(s.substr(pos, at - pos));
    out.append(new_text);
    pos = at + old_text.size();
    ++done;
  }
  out += s.substr(pos);
  return out;
}

std::vector<std::string> PySplit(std::string_view s, const std::optional<std::string>& sep,
                                 int64_t maxsplit) {
  std::vector<std::string> out;
  if (sep.has_value() && !sep->empty()) {
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(out.size()) < maxsplit) {
      const size_t at = s.find(*sep, pos);
      if (at == std::string_view::npos) break;
      out.emplace_back(s.substr(pos, at - pos));
      pos = at + sep->size();
    }
    out.emplace_back(s.substr(pos));
    return out;
  }
  std::vector<std::string_view> cps = CodePoints(s);
  size_t i = 0;
  while (i < cps.size()) {
    while (i < cps.size() && IsPyWhitespace(DecodeCodePoint(cps[i]))) ++i;
    if (i == cps.size()) break;
    std::string word;
    if (maxsplit >= 0 && static_cast<int64_t>(out.size()) == maxsplit) {
      for (; i < cps.size(); ++i) word += cps[i];
      out.push_back(PyStrip(word, std::nullopt, false, true));
      break;
    }
    while (i < cps.size() && !IsPyWhitespace(DecodeCodePoint(cps[i]))) word += cps[i++];
    out.push_back(std::move(word));
  }
  return out;
}

std::vector<std::string> PySplitLines(std::string_view s) {
  std::vector<std::string> out;
  std::string line;
  std::vector<std::string_view> cps = CodePoints(s);
  for (size_t i = 0; i < cps.size(); ++i) {
    const uint32_t cp = DecodeCodePoint(cps[i]);
    const bool boundary = cp == '\n' || cp == '\r' || cp == 0x0B || cp == 0x0C || cp == 0x1C ||
                          cp == 0x1D || cp == 0x1E || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
    if (!boundary) {
      line += cps[i];
      continue;
    }
    if (cp == '\r' && i + 1 < cps.size() && cps[i + 1] == "\n") ++i;
    out.push_back(std::move(line));
    line.clear();
  }
  if (!line.empty()) out.push_back(std::move(line));
  return out;
}

const Value* FindArg(const CallArgs& args, size_t index, std::string_view name) {
  if (index < args.positional.size()) return &args.positional[index];
  if (!name.empty()) {
    for (const auto& [k, v] : args.keyword) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

}  // namespace tgi::router::chat
