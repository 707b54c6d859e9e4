// The template evaluator: statements, expressions, scopes, loops, macros and globals.
#include "router/chat/evaluator.h"

#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "router/chat/builtins.h"
#include "router/chat/filters.h"

namespace tgi::router::chat {
namespace {

constexpr int kMaxCallDepth = 200;
constexpr size_t kMaxRangeLength = 1000000;

absl::Status EvalError(std::string message) {
  return absl::FailedPreconditionError(std::move(message));
}

// Python's range(stop) / range(start, stop[, step]) as a list.
absl::StatusOr<Value> Range(const CallArgs& args) {
  std::vector<int64_t> bounds;
  for (const Value& v : args.positional) {
    if (!v.is_int() && !v.is_bool()) return EvalError("range() takes integer arguments");
    bounds.push_back(v.is_int() ? v.int_value() : v.bool_value());
  }
  if (bounds.empty() || bounds.size() > 3) return EvalError("range() takes 1 to 3 arguments");
  const int64_t start = bounds.size() == 1 ? 0 : bounds[0];
  const int64_t stop = bounds.size() == 1 ? bounds[0] : bounds[1];
  const int64_t step = bounds.size() == 3 ? bounds[2] : 1;
  if (step == 0) return EvalError("range() arg 3 must not be zero");
  std::vector<Value> items;
  for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) {
    if (items.size() >= kMaxRangeLength) return EvalError("range() too large");
    items.push_back(Value::Int(i));
  }
  return Value::List(std::move(items));
}

// namespace(...) and dict(...): an optional dict to copy, then keyword arguments.
absl::StatusOr<std::shared_ptr<DictData>> DictFromArgs(const CallArgs& args) {
  auto dict = std::make_shared<DictData>();
  if (!args.positional.empty()) {
    if (!args.positional[0].is_dict()) return EvalError("expected a dict argument");
    *dict = args.positional[0].dict();
  }
  for (const auto& [k, v] : args.keyword) dict->Set(k, v);
  return dict;
}

class Evaluator {
 public:
  Evaluator(const Scope& variables, const Clock& clock) : root_(&variables), clock_(clock) {
    InstallGlobals();
  }

  absl::StatusOr<std::string> Run(const Body& program) {
    std::string out;
    absl::StatusOr<Flow> flow = ExecBody(program, root_, out);
    if (flow.ok()) return out;
    if (raised_) return absl::InvalidArgumentError(flow.status().message());
    std::string message(flow.status().message());
    if (error_line_ > 0) absl::StrAppend(&message, " (template line ", error_line_, ")");
    return absl::FailedPreconditionError(message);
  }

 private:
  enum class Flow { kNormal, kBreak, kContinue };

  void InstallGlobals();
  absl::StatusOr<Flow> ExecBody(const Body& body, Scope& scope, std::string& out);
  absl::StatusOr<Flow> Exec(const Stmt& stmt, Scope& scope, std::string& out);
  absl::StatusOr<Flow> ExecIf(const Stmt& stmt, Scope& scope, std::string& out);
  absl::Status ExecFor(const Stmt& stmt, Scope& scope, std::string& out);
  absl::StatusOr<Value> ApplyFilterChain(const std::vector<ExprPtr>& filters, Value input,
                                         Scope& scope);
  absl::Status Assign(const Target& target, Value value, Scope& scope);
  absl::StatusOr<Value> CallMacro(const Stmt& macro, const CallArgs& args);

  absl::StatusOr<Value> Eval(const Expr& expr, Scope& scope);
  absl::StatusOr<Value> EvalOperator(const Expr& expr, Scope& scope);
  absl::StatusOr<Value> EvalCompare(const Expr& expr, Scope& scope);
  absl::StatusOr<Value> EvalCollection(const Expr& expr, Scope& scope);
  absl::StatusOr<CallArgs> EvalArgs(const Expr& expr, Scope& scope);
  absl::StatusOr<Value> Lookup(const std::string& name, const Scope& scope) const;

  Scope root_;
  Scope globals_;
  const Clock& clock_;
  bool raised_ = false;
  int error_line_ = 0;
  int depth_ = 0;
};

void Evaluator::InstallGlobals() {
  globals_.Set(
      "raise_exception",
      Value::Function("raise_exception", [this](const CallArgs& args) -> absl::StatusOr<Value> {
        const Value* message = FindArg(args, 0, "message");
        raised_ = true;
        return absl::InvalidArgumentError(message == nullptr ? "" : message->ToString());
      }));
  globals_.Set(
      "strftime_now",
      Value::Function("strftime_now", [this](const CallArgs& args) -> absl::StatusOr<Value> {
        const Value* format = FindArg(args, 0, "format");
        if (format == nullptr) return EvalError("strftime_now() needs a format");
        return Value::Str(FormatTime(format->ToString(), clock_()));
      }));
  globals_.Set("range", Value::Function("range", Range));
  globals_.Set("namespace",
               Value::Function("namespace", [](const CallArgs& args) -> absl::StatusOr<Value> {
                 CHAT_ASSIGN_OR_RETURN(auto dict, DictFromArgs(args));
                 return Value::MakeNamespace(std::move(dict));
               }));
  globals_.Set("dict", Value::Function("dict", [](const CallArgs& args) -> absl::StatusOr<Value> {
                 CHAT_ASSIGN_OR_RETURN(auto dict, DictFromArgs(args));
                 return Value::Dict(std::move(dict));
               }));
}

absl::StatusOr<Evaluator::Flow> Evaluator::ExecBody(const Body& body, Scope& scope,
                                                    std::string& out) {
  for (const auto& stmt : body) {
    absl::StatusOr<Flow> flow = Exec(*stmt, scope, out);
    if (!flow.ok()) {
      if (error_line_ == 0) error_line_ = stmt->line;
      return flow.status();
    }
    if (*flow != Flow::kNormal) return flow;
  }
  return Flow::kNormal;
}

absl::StatusOr<Evaluator::Flow> Evaluator::Exec(const Stmt& stmt, Scope& scope, std::string& out) {
  switch (stmt.kind) {
    case Stmt::Kind::kText:
      out += stmt.text;
      return Flow::kNormal;
    case Stmt::Kind::kPrint: {
      CHAT_ASSIGN_OR_RETURN(Value value, Eval(*stmt.expr, scope));
      out += value.ToString();
      return Flow::kNormal;
    }
    case Stmt::Kind::kIf:
      return ExecIf(stmt, scope, out);
    case Stmt::Kind::kFor:
      CHAT_RETURN_IF_ERROR(ExecFor(stmt, scope, out));
      return Flow::kNormal;
    case Stmt::Kind::kSet: {
      CHAT_ASSIGN_OR_RETURN(Value value, Eval(*stmt.expr, scope));
      CHAT_RETURN_IF_ERROR(Assign(stmt.target, std::move(value), scope));
      return Flow::kNormal;
    }
    case Stmt::Kind::kSetBlock:
    case Stmt::Kind::kFilterBlock: {
      std::string captured;
      CHAT_ASSIGN_OR_RETURN(Flow flow, ExecBody(stmt.body, scope, captured));
      CHAT_ASSIGN_OR_RETURN(Value value,
                            ApplyFilterChain(stmt.filters, Value::Str(std::move(captured)), scope));
      if (stmt.kind == Stmt::Kind::kFilterBlock) {
        out += value.ToString();
        return flow;
      }
      CHAT_RETURN_IF_ERROR(Assign(stmt.target, std::move(value), scope));
      return flow;
    }
    case Stmt::Kind::kMacro: {
      const Stmt* macro = &stmt;
      scope.Set(stmt.name, Value::Function(stmt.name, [this, macro](const CallArgs& args) {
                  return CallMacro(*macro, args);
                }));
      return Flow::kNormal;
    }
    case Stmt::Kind::kBreak:
      return Flow::kBreak;
    case Stmt::Kind::kContinue:
      return Flow::kContinue;
  }
  return Flow::kNormal;
}

absl::StatusOr<Evaluator::Flow> Evaluator::ExecIf(const Stmt& stmt, Scope& scope,
                                                  std::string& out) {
  for (const auto& [condition, body] : stmt.branches) {
    CHAT_ASSIGN_OR_RETURN(Value test, Eval(*condition, scope));
    if (test.Truthy()) return ExecBody(body, scope, out);
  }
  return ExecBody(stmt.else_body, scope, out);
}

// One child scope per iteration (a `set` in the body does not outlive it, as in Jinja2), with
// `loop` describing the position among the items that pass the `if` filter.
absl::Status Evaluator::ExecFor(const Stmt& stmt, Scope& scope, std::string& out) {
  CHAT_ASSIGN_OR_RETURN(Value iterable, Eval(*stmt.expr, scope));
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> all, Iterate(iterable));
  std::vector<Value> items;
  for (Value& item : all) {
    if (stmt.condition != nullptr) {
      Scope filter_scope(&scope);
      CHAT_RETURN_IF_ERROR(Assign(stmt.target, item, filter_scope));
      CHAT_ASSIGN_OR_RETURN(Value keep, Eval(*stmt.condition, filter_scope));
      if (!keep.Truthy()) continue;
    }
    items.push_back(std::move(item));
  }
  if (items.empty()) return ExecBody(stmt.else_body, scope, out).status();
  const auto n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    Scope iteration(&scope);
    CHAT_RETURN_IF_ERROR(Assign(stmt.target, items[i], iteration));
    auto loop = std::make_shared<DictData>();
    loop->Set("index", Value::Int(i + 1));
    loop->Set("index0", Value::Int(i));
    loop->Set("revindex", Value::Int(n - i));
    loop->Set("revindex0", Value::Int(n - i - 1));
    loop->Set("first", Value::Bool(i == 0));
    loop->Set("last", Value::Bool(i == n - 1));
    loop->Set("length", Value::Int(n));
    loop->Set("depth", Value::Int(1));
    loop->Set("depth0", Value::Int(0));
    if (i > 0) loop->Set("previtem", items[i - 1]);
    if (i + 1 < n) loop->Set("nextitem", items[i + 1]);
    loop->Set("cycle", Value::Function("cycle", [i](const CallArgs& args) -> absl::StatusOr<Value> {
                if (args.positional.empty()) return EvalError("no items for cycling given");
                return args.positional[i % args.positional.size()];
              }));
    iteration.Set("loop", Value::Dict(std::move(loop)));
    CHAT_ASSIGN_OR_RETURN(Flow flow, ExecBody(stmt.body, iteration, out));
    if (flow == Flow::kBreak) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<Value> Evaluator::ApplyFilterChain(const std::vector<ExprPtr>& filters, Value input,
                                                  Scope& scope) {
  for (const ExprPtr& filter : filters) {
    CHAT_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(*filter, scope));
    CHAT_ASSIGN_OR_RETURN(input, ApplyFilter(filter->name, input, args));
  }
  return input;
}

absl::Status Evaluator::Assign(const Target& target, Value value, Scope& scope) {
  if (!target.attribute.empty()) {
    CHAT_ASSIGN_OR_RETURN(Value object, Lookup(target.names[0], scope));
    if (!object.is_namespace()) {
      return EvalError("cannot assign attribute on non-namespace object");
    }
    object.namespace_attributes().Set(target.attribute, std::move(value));
    return absl::OkStatus();
  }
  if (target.names.size() == 1) {
    scope.Set(target.names[0], std::move(value));
    return absl::OkStatus();
  }
  CHAT_ASSIGN_OR_RETURN(std::vector<Value> parts, Iterate(value));
  if (parts.size() != target.names.size()) {
    return EvalError(absl::StrCat("cannot unpack ", parts.size(), " values into ",
                                  target.names.size(), " names"));
  }
  for (size_t i = 0; i < parts.size(); ++i) scope.Set(target.names[i], std::move(parts[i]));
  return absl::OkStatus();
}

absl::StatusOr<Value> Evaluator::CallMacro(const Stmt& macro, const CallArgs& args) {
  if (args.positional.size() > macro.params.size()) {
    return EvalError(absl::StrCat("macro '", macro.name, "' takes not more than ",
                                  macro.params.size(), " argument(s)"));
  }
  for (const auto& [name, value] : args.keyword) {
    if (std::find(macro.params.begin(), macro.params.end(), name) == macro.params.end()) {
      return EvalError(
          absl::StrCat("macro '", macro.name, "' takes no keyword argument '", name, "'"));
    }
  }
  if (depth_ >= kMaxCallDepth) return EvalError("maximum macro recursion depth exceeded");
  Scope scope(&root_);
  for (size_t i = 0; i < macro.params.size(); ++i) {
    const Value* given = FindArg(args, i, macro.params[i]);
    if (given != nullptr) {
      scope.Set(macro.params[i], *given);
    } else if (macro.defaults[i] != nullptr) {
      CHAT_ASSIGN_OR_RETURN(Value fallback, Eval(*macro.defaults[i], scope));
      scope.Set(macro.params[i], std::move(fallback));
    } else {
      scope.Set(macro.params[i], Value::MakeUndefined(absl::StrCat("parameter '", macro.params[i],
                                                                   "' was not provided")));
    }
  }
  std::string out;
  ++depth_;
  absl::StatusOr<Flow> flow = ExecBody(macro.body, scope, out);
  --depth_;
  if (!flow.ok()) return flow.status();
  return Value::Str(std::move(out));
}

absl::StatusOr<Value> Evaluator::Lookup(const std::string& name, const Scope& scope) const {
  if (const Value* found = scope.Find(name)) return *found;
  if (const Value* found = globals_.Find(name)) return *found;
  return Value::MakeUndefined(absl::StrCat("'", name, "' is undefined"));
}

absl::StatusOr<CallArgs> Evaluator::EvalArgs(const Expr& expr, Scope& scope) {
  CallArgs args;
  for (size_t i = 1; i < expr.args.size(); ++i) {
    CHAT_ASSIGN_OR_RETURN(Value v, Eval(*expr.args[i], scope));
    args.positional.push_back(std::move(v));
  }
  for (const auto& [name, value_expr] : expr.kwargs) {
    CHAT_ASSIGN_OR_RETURN(Value v, Eval(*value_expr, scope));
    args.keyword.emplace_back(name, std::move(v));
  }
  return args;
}

absl::StatusOr<Value> Evaluator::Eval(const Expr& expr, Scope& scope) {
  switch (expr.kind) {
    case Expr::Kind::kLiteral:
      return expr.literal;
    case Expr::Kind::kName:
      return Lookup(expr.name, scope);
    case Expr::Kind::kGetAttr: {
      CHAT_ASSIGN_OR_RETURN(Value object, Eval(*expr.args[0], scope));
      return GetAttr(object, expr.name);
    }
    case Expr::Kind::kGetItem: {
      CHAT_ASSIGN_OR_RETURN(Value object, Eval(*expr.args[0], scope));
      CHAT_ASSIGN_OR_RETURN(Value key, Eval(*expr.args[1], scope));
      return GetItem(object, key);
    }
    case Expr::Kind::kSlice: {
      Value parts[4];
      for (size_t i = 0; i < 4; ++i) {
        if (expr.args[i] == nullptr) continue;
        CHAT_ASSIGN_OR_RETURN(parts[i], Eval(*expr.args[i], scope));
      }
      return GetSlice(parts[0], parts[1], parts[2], parts[3]);
    }
    case Expr::Kind::kCall: {
      CHAT_ASSIGN_OR_RETURN(Value callee, Eval(*expr.args[0], scope));
      CHAT_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(expr, scope));
      if (callee.is_undefined()) return UndefinedError(callee);
      if (!callee.is_callable()) {
        return EvalError(absl::StrCat("'", callee.TypeName(), "' object is not callable"));
      }
      return callee.callable().function(args);
    }
    case Expr::Kind::kFilter: {
      CHAT_ASSIGN_OR_RETURN(Value input, Eval(*expr.args[0], scope));
      CHAT_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(expr, scope));
      return ApplyFilter(expr.name, input, args);
    }
    case Expr::Kind::kTest: {
      CHAT_ASSIGN_OR_RETURN(Value input, Eval(*expr.args[0], scope));
      CHAT_ASSIGN_OR_RETURN(CallArgs args, EvalArgs(expr, scope));
      CHAT_ASSIGN_OR_RETURN(bool result, ApplyTest(expr.name, input, args.positional));
      return Value::Bool(result != expr.negated);
    }
    case Expr::Kind::kCompare:
      return EvalCompare(expr, scope);
    case Expr::Kind::kList:
    case Expr::Kind::kTuple:
    case Expr::Kind::kDict:
      return EvalCollection(expr, scope);
    default:
      return EvalOperator(expr, scope);
  }
}

absl::StatusOr<Value> Evaluator::EvalOperator(const Expr& expr, Scope& scope) {
  CHAT_ASSIGN_OR_RETURN(Value first, Eval(*expr.args[0], scope));
  switch (expr.kind) {
    case Expr::Kind::kNeg:
      return Negate(first);
    case Expr::Kind::kPos:
      if (!first.is_number()) return EvalError("bad operand type for unary +");
      return first;
    case Expr::Kind::kNot:
      return Value::Bool(!first.Truthy());
    case Expr::Kind::kAnd:
      if (!first.Truthy()) return first;
      return Eval(*expr.args[1], scope);
    case Expr::Kind::kOr:
      if (first.Truthy()) return first;
      return Eval(*expr.args[1], scope);
    case Expr::Kind::kCondition:
      if (first.Truthy()) return Eval(*expr.args[1], scope);
      if (expr.args[2] == nullptr) {
        return Value::MakeUndefined(
            absl::StrCat("the inline if-expression on line ", expr.line,
                         " evaluated to false and no else section was defined."));
      }
      return Eval(*expr.args[2], scope);
    case Expr::Kind::kBinary: {
      CHAT_ASSIGN_OR_RETURN(Value second, Eval(*expr.args[1], scope));
      return BinaryOp(expr.name, first, second);
    }
    default:
      return EvalError("unknown expression");
  }
}

// a < b < c as Python chains it: each operand evaluated once, stopping at the first false.
absl::StatusOr<Value> Evaluator::EvalCompare(const Expr& expr, Scope& scope) {
  CHAT_ASSIGN_OR_RETURN(Value left, Eval(*expr.args[0], scope));
  for (size_t i = 0; i < expr.ops.size(); ++i) {
    CHAT_ASSIGN_OR_RETURN(Value right, Eval(*expr.args[i + 1], scope));
    CHAT_ASSIGN_OR_RETURN(bool result, Compare(expr.ops[i], left, right));
    if (!result) return Value::Bool(false);
    left = std::move(right);
  }
  return Value::Bool(true);
}

absl::StatusOr<Value> Evaluator::EvalCollection(const Expr& expr, Scope& scope) {
  std::vector<Value> values;
  for (const ExprPtr& item : expr.args) {
    CHAT_ASSIGN_OR_RETURN(Value v, Eval(*item, scope));
    values.push_back(std::move(v));
  }
  if (expr.kind != Expr::Kind::kDict) {
    return Value::List(std::move(values), expr.kind == Expr::Kind::kTuple);
  }
  auto dict = std::make_shared<DictData>();
  for (size_t i = 0; i + 1 < values.size(); i += 2) {
    if (!values[i].is_string()) return EvalError("only string dict keys are supported");
    dict->Set(values[i].str(), std::move(values[i + 1]));
  }
  return Value::Dict(std::move(dict));
}

}  // namespace

const Value* Scope::Find(std::string_view name) const {
  for (const Scope* scope = this; scope != nullptr; scope = scope->parent_) {
    auto it = scope->vars_.find(name);
    if (it != scope->vars_.end()) return &it->second;
  }
  return nullptr;
}

absl::StatusOr<std::string> Evaluate(const Body& program, const Scope& variables,
                                     const Clock& clock) {
  return Evaluator(variables, clock).Run(program);
}

namespace {

// One strftime field of `time`, or false for a specifier outside the supported set.
bool AppendTimeField(char spec, const absl::CivilSecond& time, std::string& out) {
  static constexpr std::string_view kDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                               "Friday", "Saturday", "Sunday"};
  static constexpr std::string_view kMonths[] = {"January",   "February", "March",    "April",
                                                 "May",       "June",     "July",     "August",
                                                 "September", "October",  "November", "December"};
  const std::string_view day = kDays[static_cast<int>(absl::GetWeekday(time))];
  const std::string_view month = kMonths[time.month() - 1];
  switch (spec) {
    case 'a':
      out += day.substr(0, 3);
      return true;
    case 'A':
      out += day;
      return true;
    case 'b':
      out += month.substr(0, 3);
      return true;
    case 'B':
      out += month;
      return true;
    case 'd':
      absl::StrAppendFormat(&out, "%02d", time.day());
      return true;
    case 'H':
      absl::StrAppendFormat(&out, "%02d", time.hour());
      return true;
    case 'I':
      absl::StrAppendFormat(&out, "%02d", (time.hour() + 11) % 12 + 1);
      return true;
    case 'j':
      absl::StrAppendFormat(&out, "%03d", absl::GetYearDay(time));
      return true;
    case 'm':
      absl::StrAppendFormat(&out, "%02d", time.month());
      return true;
    case 'M':
      absl::StrAppendFormat(&out, "%02d", time.minute());
      return true;
    case 'p':
      out += time.hour() < 12 ? "AM" : "PM";
      return true;
    case 'S':
      absl::StrAppendFormat(&out, "%02d", time.second());
      return true;
    case 'y':
      absl::StrAppendFormat(&out, "%02d", time.year() % 100);
      return true;
    case 'Y':
      absl::StrAppendFormat(&out, "%d", time.year());
      return true;
    case '%':
      out += '%';
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string FormatTime(std::string_view format, const absl::CivilSecond& time) {
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    const char spec = format[++i];
    if (!AppendTimeField(spec, time, out)) {
      out += '%';
      out += spec;
    }
  }
  return out;
}

}  // namespace tgi::router::chat
