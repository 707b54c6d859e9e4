// Executes a parsed template (ast.h) against a scope of variables and returns the rendered text.
// Owns Jinja2's scoping (a for-loop iteration and a macro call each get a child scope; if does
// not), the loop object, macros as callables and the globals (range, namespace, dict,
// raise_exception, strftime_now). Python semantics of values live in builtins/filters.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "router/chat/ast.h"
#include "router/chat/value.h"

namespace tgi::router::chat {

// Variables of one scope; lookups fall back to the parent.
class Scope {
 public:
  explicit Scope(const Scope* parent = nullptr) : parent_(parent) {}
  const Value* Find(std::string_view name) const;
  void Set(std::string name, Value value) { vars_[std::move(name)] = std::move(value); }

 private:
  const Scope* parent_;
  std::map<std::string, Value, std::less<>> vars_;
};

// What strftime_now() formats: the local wall-clock time, injectable for tests.
using Clock = std::function<absl::CivilSecond()>;

// Renders `program` with `variables` as the outermost scope. Errors: raise_exception(msg) gives
// absl::InvalidArgumentError(msg) exactly; every other failure (undefined attribute, type
// error, unknown filter) gives absl::FailedPreconditionError.
absl::StatusOr<std::string> Evaluate(const Body& program, const Scope& variables,
                                     const Clock& clock);

// Python's time.strftime for %a %A %b %B %d %H %I %j %m %M %p %S %y %Y %%.
std::string FormatTime(std::string_view format, const absl::CivilSecond& time);

}  // namespace tgi::router::chat
