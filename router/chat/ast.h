// The syntax tree of a parsed chat template: expressions (Expr) and statements (Stmt). Plain data
// owned by the ChatTemplate; the parser builds it, the evaluator only reads it.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "router/chat/value.h"

namespace tgi::router::chat {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    kLiteral,    // literal
    kName,       // name
    kGetAttr,    // args[0].name
    kGetItem,    // args[0][args[1]]
    kSlice,      // args[0][args[1]:args[2]:args[3]], absent parts null
    kCall,       // args[0](args[1..], kwargs)
    kFilter,     // args[0] | name(args[1..], kwargs); args[0] null in filter blocks
    kTest,       // args[0] is [not] name(args[1..])
    kNeg,        // -args[0]
    kPos,        // +args[0]
    kNot,        // not args[0]
    kAnd,        // args[0] and args[1]
    kOr,         // args[0] or args[1]
    kBinary,     // args[0] name args[1], name one of + - * / // % ** ~
    kCompare,    // args[0] ops[0] args[1] ops[1] args[2] ... (== != < > <= >= in notin)
    kCondition,  // args[1] if args[0] else args[2] (args[2] null: undefined)
    kList,       // [args...]
    kTuple,      // (args...)
    kDict,       // {args[0]: args[1], args[2]: args[3], ...}
  };

  Kind kind;
  int line = 0;
  std::string name;
  Value literal;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  std::vector<std::string> ops;
  bool negated = false;
};

struct Stmt;
using Body = std::vector<std::unique_ptr<Stmt>>;

// Where `set` and `for` store a value: a name, `ns.attr`, or a tuple of names to unpack.
struct Target {
  std::vector<std::string> names;  // one name, or several to unpack
  std::string attribute;           // set: non-empty for `names[0].attribute = ...`
};

struct Stmt {
  enum class Kind {
    kText,         // text
    kPrint,        // {{ expr }}
    kIf,           // branches (condition, body), else_body
    kFor,          // for target in expr [if condition]: body, else_body
    kSet,          // set target = expr
    kSetBlock,     // set target: body captured, then filters applied
    kMacro,        // macro name(params = defaults): body
    kFilterBlock,  // filter filters: body
    kBreak,
    kContinue,
  };

  Kind kind;
  int line = 0;
  std::string text;
  ExprPtr expr;
  std::vector<std::pair<ExprPtr, Body>> branches;
  Body body;
  Body else_body;
  Target target;
  ExprPtr condition;
  std::string name;                 // macro name
  std::vector<std::string> params;  // macro parameters
  std::vector<ExprPtr> defaults;    // one per parameter, null when none
  std::vector<ExprPtr> filters;     // kFilter exprs with a null operand
};

}  // namespace tgi::router::chat
