// Recursive-descent parser following jinja2/parser.py: statements, then expressions from
// condexpr down to primary, with postfix, filters and tests.
#include "router/chat/parser.h"

#include <cstdlib>
#include <initializer_list>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "router/chat/filters.h"
#include "router/chat/lexer.h"

namespace tgi::router::chat {
namespace {

ExprPtr NewExpr(Expr::Kind kind, int line) {
  auto expr = std::make_unique<Expr>();
  expr->kind = kind;
  expr->line = line;
  return expr;
}

ExprPtr NewBinary(Expr::Kind kind, std::string name, ExprPtr left, ExprPtr right, int line) {
  ExprPtr expr = NewExpr(kind, line);
  expr->name = std::move(name);
  expr->args.push_back(std::move(left));
  expr->args.push_back(std::move(right));
  return expr;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  absl::StatusOr<Body> ParseAll() {
    CHAT_ASSIGN_OR_RETURN(Body body, ParseBody({}));
    if (Current().kind != TokenKind::kEnd) return Unexpected();
    return body;
  }

 private:
  const Token& Current() const { return tokens_[pos_]; }
  const Token& Peek(size_t ahead = 1) const {
    return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)];
  }
  void Advance() {
    if (pos_ + 1 < tokens_.size()) ++pos_;
  }
  bool IsOp(std::string_view op) const {
    return Current().kind == TokenKind::kOperator && Current().value == op;
  }
  bool IsName(std::string_view name) const {
    return Current().kind == TokenKind::kName && Current().value == name;
  }
  bool SkipOp(std::string_view op) {
    if (!IsOp(op)) return false;
    Advance();
    return true;
  }
  bool SkipName(std::string_view name) {
    if (!IsName(name)) return false;
    Advance();
    return true;
  }

  std::string Describe(const Token& token) const {
    switch (token.kind) {
      case TokenKind::kEnd:
        return "end of template";
      case TokenKind::kBlockEnd:
        return "'%}'";
      case TokenKind::kVariableEnd:
        return "'}}'";
      case TokenKind::kText:
        return "template text";
      default:
        return absl::StrCat("'", token.value, "'");
    }
  }
  absl::Status Error(std::string message) const {
    return absl::InvalidArgumentError(absl::StrCat(message, " at line ", Current().line));
  }
  absl::Status Unexpected() const {
    return Error(absl::StrCat("unexpected ", Describe(Current())));
  }
  absl::Status ExpectOp(std::string_view op) {
    if (SkipOp(op)) return absl::OkStatus();
    return Error(absl::StrCat("expected '", std::string(op), "', got ", Describe(Current())));
  }
  absl::Status ExpectBlockEnd() {
    if (Current().kind != TokenKind::kBlockEnd) {
      return Error(absl::StrCat("expected '%}', got ", Describe(Current())));
    }
    Advance();
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> ExpectName() {
    if (Current().kind != TokenKind::kName) {
      return Error(absl::StrCat("expected a name, got ", Describe(Current())));
    }
    std::string name = Current().value;
    Advance();
    return name;
  }

  // Statements until a block tag named in `stops` (left current, after its '{%') or the end.
  absl::StatusOr<Body> ParseBody(std::initializer_list<std::string_view> stops) {
    Body body;
    while (true) {
      const Token& token = Current();
      if (token.kind == TokenKind::kEnd) {
        if (stops.size() == 0) return body;
        return Error(absl::StrCat("unexpected end of template, expected '",
                                  std::string(*stops.begin()), "'"));
      }
      if (token.kind == TokenKind::kText) {
        auto stmt = std::make_unique<Stmt>();
        stmt->kind = Stmt::Kind::kText;
        stmt->line = token.line;
        stmt->text = token.value;
        body.push_back(std::move(stmt));
        Advance();
      } else if (token.kind == TokenKind::kVariableBegin) {
        auto stmt = std::make_unique<Stmt>();
        stmt->kind = Stmt::Kind::kPrint;
        stmt->line = token.line;
        Advance();
        CHAT_ASSIGN_OR_RETURN(stmt->expr, ParseTuple(true));
        if (Current().kind != TokenKind::kVariableEnd) {
          return Error(absl::StrCat("expected '}}', got ", Describe(Current())));
        }
        Advance();
        body.push_back(std::move(stmt));
      } else if (token.kind == TokenKind::kBlockBegin) {
        Advance();
        for (std::string_view stop : stops) {
          if (IsName(stop)) return body;
        }
        CHAT_ASSIGN_OR_RETURN(auto stmt, ParseStatement());
        body.push_back(std::move(stmt));
      } else {
        return Unexpected();
      }
    }
  }

  absl::StatusOr<std::unique_ptr<Stmt>> ParseStatement() {
    if (Current().kind != TokenKind::kName) return Unexpected();
    const std::string keyword = Current().value;
    auto stmt = std::make_unique<Stmt>();
    stmt->line = Current().line;
    Advance();
    absl::Status status;
    if (keyword == "if") {
      status = ParseIf(*stmt);
    } else if (keyword == "for") {
      status = ParseFor(*stmt);
    } else if (keyword == "set") {
      status = ParseSet(*stmt);
    } else if (keyword == "macro") {
      status = ParseMacro(*stmt);
    } else if (keyword == "filter") {
      status = ParseFilterBlock(*stmt);
    } else if (keyword == "break" || keyword == "continue") {
      stmt->kind = keyword == "break" ? Stmt::Kind::kBreak : Stmt::Kind::kContinue;
      status = ExpectBlockEnd();
    } else if (keyword.rfind("end", 0) == 0 || keyword == "elif" || keyword == "else") {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected '", keyword, "' at line ", stmt->line));
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("unsupported Jinja construct '", keyword, "' at line ", stmt->line));
    }
    if (!status.ok()) return status;
    return stmt;
  }

  absl::Status ParseIf(Stmt& stmt) {
    stmt.kind = Stmt::Kind::kIf;
    while (true) {
      CHAT_ASSIGN_OR_RETURN(ExprPtr condition, ParseTuple(false));  // as jinja2: no `a if b`
      CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
      CHAT_ASSIGN_OR_RETURN(Body body, ParseBody({"elif", "else", "endif"}));
      stmt.branches.emplace_back(std::move(condition), std::move(body));
      if (SkipName("elif")) continue;
      if (SkipName("else")) {
        CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
        CHAT_ASSIGN_OR_RETURN(stmt.else_body, ParseBody({"endif"}));
      }
      Advance();  // endif
      return ExpectBlockEnd();
    }
  }

  absl::Status ParseFor(Stmt& stmt) {
    stmt.kind = Stmt::Kind::kFor;
    do {
      CHAT_ASSIGN_OR_RETURN(std::string name, ExpectName());
      stmt.target.names.push_back(std::move(name));
    } while (SkipOp(","));
    if (!SkipName("in")) return Error(absl::StrCat("expected 'in', got ", Describe(Current())));
    CHAT_ASSIGN_OR_RETURN(stmt.expr, ParseTuple(false));
    if (SkipName("if")) {
      CHAT_ASSIGN_OR_RETURN(stmt.condition, ParseExpression(true));
    }
    if (IsName("recursive")) return Error("unsupported Jinja construct 'recursive'");
    CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
    CHAT_ASSIGN_OR_RETURN(stmt.body, ParseBody({"else", "endfor"}));
    if (SkipName("else")) {
      CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
      CHAT_ASSIGN_OR_RETURN(stmt.else_body, ParseBody({"endfor"}));
    }
    Advance();  // endfor
    return ExpectBlockEnd();
  }

  absl::Status ParseSet(Stmt& stmt) {
    CHAT_ASSIGN_OR_RETURN(std::string first, ExpectName());
    stmt.target.names.push_back(std::move(first));
    if (SkipOp(".")) {
      CHAT_ASSIGN_OR_RETURN(stmt.target.attribute, ExpectName());
    } else {
      while (SkipOp(",")) {
        CHAT_ASSIGN_OR_RETURN(std::string name, ExpectName());
        stmt.target.names.push_back(std::move(name));
      }
    }
    if (SkipOp("=")) {
      stmt.kind = Stmt::Kind::kSet;
      CHAT_ASSIGN_OR_RETURN(stmt.expr, ParseTuple(true));
      return ExpectBlockEnd();
    }
    stmt.kind = Stmt::Kind::kSetBlock;
    if (!stmt.target.attribute.empty() || stmt.target.names.size() != 1) {
      return Error("a block set takes one name");
    }
    while (SkipOp("|")) {
      CHAT_ASSIGN_OR_RETURN(ExprPtr filter, ParseFilter(nullptr));
      stmt.filters.push_back(std::move(filter));
    }
    CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
    CHAT_ASSIGN_OR_RETURN(stmt.body, ParseBody({"endset"}));
    Advance();  // endset
    return ExpectBlockEnd();
  }

  absl::Status ParseMacro(Stmt& stmt) {
    stmt.kind = Stmt::Kind::kMacro;
    CHAT_ASSIGN_OR_RETURN(stmt.name, ExpectName());
    CHAT_RETURN_IF_ERROR(ExpectOp("("));
    while (!IsOp(")")) {
      if (!stmt.params.empty()) CHAT_RETURN_IF_ERROR(ExpectOp(","));
      CHAT_ASSIGN_OR_RETURN(std::string param, ExpectName());
      stmt.params.push_back(std::move(param));
      ExprPtr default_value;
      if (SkipOp("=")) {
        CHAT_ASSIGN_OR_RETURN(default_value, ParseExpression(true));
      }
      stmt.defaults.push_back(std::move(default_value));
    }
    Advance();  // )
    CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
    CHAT_ASSIGN_OR_RETURN(stmt.body, ParseBody({"endmacro"}));
    Advance();  // endmacro
    SkipName(stmt.name);
    return ExpectBlockEnd();
  }

  absl::Status ParseFilterBlock(Stmt& stmt) {
    stmt.kind = Stmt::Kind::kFilterBlock;
    do {
      CHAT_ASSIGN_OR_RETURN(ExprPtr filter, ParseFilter(nullptr));
      stmt.filters.push_back(std::move(filter));
    } while (SkipOp("|"));
    CHAT_RETURN_IF_ERROR(ExpectBlockEnd());
    CHAT_ASSIGN_OR_RETURN(stmt.body, ParseBody({"endfilter"}));
    Advance();  // endfilter
    return ExpectBlockEnd();
  }

  // An expression, or several separated by commas as a tuple (`{{ a, b }}`, `set x = 1, 2`).
  absl::StatusOr<ExprPtr> ParseTuple(bool with_condexpr) {
    const int line = Current().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr first, ParseExpression(with_condexpr));
    if (!IsOp(",")) return first;
    ExprPtr tuple = NewExpr(Expr::Kind::kTuple, line);
    tuple->args.push_back(std::move(first));
    while (SkipOp(",")) {
      if (Current().kind == TokenKind::kBlockEnd || Current().kind == TokenKind::kVariableEnd ||
          IsOp(")") || IsName("if")) {
        break;
      }
      CHAT_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(with_condexpr));
      tuple->args.push_back(std::move(item));
    }
    return tuple;
  }

  absl::StatusOr<ExprPtr> ParseExpression(bool with_condexpr) {
    const int line = Current().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr expr, ParseOr());
    if (!with_condexpr) return expr;
    while (SkipName("if")) {
      ExprPtr cond = NewExpr(Expr::Kind::kCondition, line);
      CHAT_ASSIGN_OR_RETURN(ExprPtr test, ParseOr());
      ExprPtr otherwise;
      if (SkipName("else")) {
        CHAT_ASSIGN_OR_RETURN(otherwise, ParseExpression(true));
      }
      cond->args.push_back(std::move(test));
      cond->args.push_back(std::move(expr));
      cond->args.push_back(std::move(otherwise));
      expr = std::move(cond);
    }
    return expr;
  }

  absl::StatusOr<ExprPtr> ParseOr() {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseAnd());
    while (IsName("or")) {
      const int line = Current().line;
      Advance();
      CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseAnd());
      left = NewBinary(Expr::Kind::kOr, "or", std::move(left), std::move(right), line);
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseAnd() {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, ParseNot());
    while (IsName("and")) {
      const int line = Current().line;
      Advance();
      CHAT_ASSIGN_OR_RETURN(ExprPtr right, ParseNot());
      left = NewBinary(Expr::Kind::kAnd, "and", std::move(left), std::move(right), line);
    }
    return left;
  }

  absl::StatusOr<ExprPtr> ParseNot() {
    if (IsName("not")) {
      ExprPtr expr = NewExpr(Expr::Kind::kNot, Current().line);
      Advance();
      CHAT_ASSIGN_OR_RETURN(ExprPtr operand, ParseNot());
      expr->args.push_back(std::move(operand));
      return expr;
    }
    return ParseCompare();
  }

  absl::StatusOr<ExprPtr> ParseCompare() {
    const int line = Current().line;
    CHAT_ASSIGN_OR_RETURN(ExprPtr first, ParseMath1());
    ExprPtr compare = NewExpr(Expr::Kind::kCompare, line);
    compare->args.push_back(std::move(first));
    while (true) {
      std::string op;
      if (Current().kind == TokenKind::kOperator &&
          (IsOp("==") || IsOp("!=") || IsOp("<") || IsOp(">") || IsOp("<=") || IsOp(">="))) {
        op = Current().value;
        Advance();
      } else if (IsName("in")) {
        op = "in";
        Advance();
      } else if (IsName("not") && Peek().kind == TokenKind::kName && Peek().value == "in") {
        op = "notin";
        Advance();
        Advance();
      } else {
        break;
      }
      CHAT_ASSIGN_OR_RETURN(ExprPtr operand, ParseMath1());
      compare->ops.push_back(std::move(op));
      compare->args.push_back(std::move(operand));
    }
    if (compare->ops.empty()) return std::move(compare->args[0]);
    return compare;
  }

  // One precedence level of left-associative binary operators.
  absl::StatusOr<ExprPtr> ParseBinaryLevel(std::initializer_list<std::string_view> ops,
                                           absl::StatusOr<ExprPtr> (Parser::*next)()) {
    CHAT_ASSIGN_OR_RETURN(ExprPtr left, (this->*next)());
    while (true) {
      bool matched = false;
      for (std::string_view op : ops) {
        if (IsOp(op)) {
          const int line = Current().line;
          Advance();
          CHAT_ASSIGN_OR_RETURN(ExprPtr right, (this->*next)());
          left = NewBinary(Expr::Kind::kBinary, std::string(op), std::move(left), std::move(right),
                           line);
          matched = true;
          break;
        }
      }
      if (!matched) return left;
    }
  }

  absl::StatusOr<ExprPtr> ParseMath1() {
    return ParseBinaryLevel({"+", "-"}, &Parser::ParseConcat);
  }
  absl::StatusOr<ExprPtr> ParseConcat() { return ParseBinaryLevel({"~"}, &Parser::ParseMath2); }
  absl::StatusOr<ExprPtr> ParseMath2() {
    return ParseBinaryLevel({"*", "/", "//", "%"}, &Parser::ParsePow);
  }
  absl::StatusOr<ExprPtr> ParsePow() {
    return ParseBinaryLevel({"**"}, &Parser::ParseUnaryFiltered);
  }
  absl::StatusOr<ExprPtr> ParseUnaryFiltered() { return ParseUnary(true); }

  absl::StatusOr<ExprPtr> ParseUnary(bool with_filter) {
    ExprPtr expr;
    if (IsOp("-") || IsOp("+")) {
      expr = NewExpr(IsOp("-") ? Expr::Kind::kNeg : Expr::Kind::kPos, Current().line);
      Advance();
      CHAT_ASSIGN_OR_RETURN(ExprPtr operand, ParseUnary(false));
      expr->args.push_back(std::move(operand));
    } else {
      CHAT_ASSIGN_OR_RETURN(expr, ParsePrimary());
      CHAT_ASSIGN_OR_RETURN(expr, ParsePostfix(std::move(expr)));
    }
    if (!with_filter) return expr;
    return ParseFilterExpr(std::move(expr));
  }

  absl::StatusOr<ExprPtr> ParsePrimary();
  absl::StatusOr<ExprPtr> ParseSequence(Expr::Kind kind, std::string_view close);
  absl::StatusOr<ExprPtr> ParseDict();
  absl::StatusOr<ExprPtr> ParsePostfix(ExprPtr expr);
  absl::StatusOr<ExprPtr> ParseSubscript(ExprPtr expr);
  absl::Status ParseCallArgs(Expr& call);
  absl::StatusOr<ExprPtr> ParseFilterExpr(ExprPtr expr);
  absl::StatusOr<ExprPtr> ParseFilter(ExprPtr operand);
  absl::StatusOr<ExprPtr> ParseTest(ExprPtr operand);
  absl::StatusOr<std::string> ParseDottedName();

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

absl::StatusOr<ExprPtr> Parser::ParsePrimary() {
  const Token& token = Current();
  const int line = token.line;
  ExprPtr expr = NewExpr(Expr::Kind::kLiteral, line);
  switch (token.kind) {
    case TokenKind::kName:
      if (token.value == "true" || token.value == "True") {
        expr->literal = Value::Bool(true);
      } else if (token.value == "false" || token.value == "False") {
        expr->literal = Value::Bool(false);
      } else if (token.value == "none" || token.value == "None") {
        expr->literal = Value::MakeNone();
      } else {
        expr->kind = Expr::Kind::kName;
        expr->name = token.value;
      }
      Advance();
      return expr;
    case TokenKind::kString: {
      std::string text;
      while (Current().kind == TokenKind::kString) {
        text += Current().value;
        Advance();
      }
      expr->literal = Value::Str(std::move(text));
      return expr;
    }
    case TokenKind::kInteger: {
      errno = 0;
      const long long value = std::strtoll(token.value.c_str(), nullptr, 10);
      if (errno == ERANGE) return Error("integer literal out of range");
      expr->literal = Value::Int(value);
      Advance();
      return expr;
    }
    case TokenKind::kFloat:
      expr->literal = Value::Float(std::strtod(token.value.c_str(), nullptr));
      Advance();
      return expr;
    case TokenKind::kOperator:
      if (token.value == "(") {
        Advance();
        if (SkipOp(")")) return NewExpr(Expr::Kind::kTuple, line);
        CHAT_ASSIGN_OR_RETURN(ExprPtr inner, ParseTuple(true));
        CHAT_RETURN_IF_ERROR(ExpectOp(")"));
        return inner;
      }
      if (token.value == "[") {
        Advance();
        return ParseSequence(Expr::Kind::kList, "]");
      }
      if (token.value == "{") {
        Advance();
        return ParseDict();
      }
      break;
    default:
      break;
  }
  return Unexpected();
}

absl::StatusOr<ExprPtr> Parser::ParseSequence(Expr::Kind kind, std::string_view close) {
  ExprPtr list = NewExpr(kind, Current().line);
  while (!IsOp(close)) {
    if (!list->args.empty()) {
      CHAT_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(close)) break;
    }
    CHAT_ASSIGN_OR_RETURN(ExprPtr item, ParseExpression(true));
    list->args.push_back(std::move(item));
  }
  Advance();
  return list;
}

absl::StatusOr<ExprPtr> Parser::ParseDict() {
  ExprPtr dict = NewExpr(Expr::Kind::kDict, Current().line);
  while (!IsOp("}")) {
    if (!dict->args.empty()) {
      CHAT_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp("}")) break;
    }
    CHAT_ASSIGN_OR_RETURN(ExprPtr key, ParseExpression(true));
    CHAT_RETURN_IF_ERROR(ExpectOp(":"));
    CHAT_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
    dict->args.push_back(std::move(key));
    dict->args.push_back(std::move(value));
  }
  Advance();
  return dict;
}

absl::StatusOr<ExprPtr> Parser::ParsePostfix(ExprPtr expr) {
  while (true) {
    const int line = Current().line;
    if (SkipOp(".")) {
      if (Current().kind == TokenKind::kName) {
        ExprPtr attr = NewExpr(Expr::Kind::kGetAttr, line);
        attr->name = Current().value;
        attr->args.push_back(std::move(expr));
        expr = std::move(attr);
      } else if (Current().kind == TokenKind::kInteger) {
        ExprPtr index = NewExpr(Expr::Kind::kLiteral, line);
        index->literal = Value::Int(std::strtoll(Current().value.c_str(), nullptr, 10));
        expr = NewBinary(Expr::Kind::kGetItem, "", std::move(expr), std::move(index), line);
      } else {
        return Unexpected();
      }
      Advance();
    } else if (SkipOp("[")) {
      CHAT_ASSIGN_OR_RETURN(expr, ParseSubscript(std::move(expr)));
    } else if (IsOp("(")) {
      ExprPtr call = NewExpr(Expr::Kind::kCall, line);
      call->args.push_back(std::move(expr));
      CHAT_RETURN_IF_ERROR(ParseCallArgs(*call));
      expr = std::move(call);
    } else {
      return expr;
    }
  }
}

// After '[': an index, or a slice [start:stop:step] with any part absent.
absl::StatusOr<ExprPtr> Parser::ParseSubscript(ExprPtr expr) {
  const int line = Current().line;
  std::vector<ExprPtr> parts(1);
  bool is_slice = false;
  if (!IsOp(":")) {
    CHAT_ASSIGN_OR_RETURN(parts[0], ParseTuple(true));
  }
  while (SkipOp(":")) {
    is_slice = true;
    if (parts.size() == 3) return Unexpected();
    parts.emplace_back();
    if (!IsOp(":") && !IsOp("]")) {
      CHAT_ASSIGN_OR_RETURN(parts.back(), ParseExpression(true));
    }
  }
  CHAT_RETURN_IF_ERROR(ExpectOp("]"));
  if (!is_slice)
    return NewBinary(Expr::Kind::kGetItem, "", std::move(expr), std::move(parts[0]), line);
  parts.resize(3);
  ExprPtr slice = NewExpr(Expr::Kind::kSlice, line);
  slice->args.push_back(std::move(expr));
  for (auto& part : parts) slice->args.push_back(std::move(part));
  return slice;
}

// At '(': positional arguments, then name=value keyword arguments, up to ')'.
absl::Status Parser::ParseCallArgs(Expr& call) {
  CHAT_RETURN_IF_ERROR(ExpectOp("("));
  bool first = true;
  while (!IsOp(")")) {
    if (!first) {
      CHAT_RETURN_IF_ERROR(ExpectOp(","));
      if (IsOp(")")) break;
    }
    first = false;
    if (IsOp("*") || IsOp("**")) return Error("unsupported Jinja construct '*args'");
    if (Current().kind == TokenKind::kName && Peek().kind == TokenKind::kOperator &&
        Peek().value == "=") {
      std::string name = Current().value;
      Advance();
      Advance();
      CHAT_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      call.kwargs.emplace_back(std::move(name), std::move(value));
    } else {
      if (!call.kwargs.empty()) return Error("positional argument after keyword argument");
      CHAT_ASSIGN_OR_RETURN(ExprPtr value, ParseExpression(true));
      call.args.push_back(std::move(value));
    }
  }
  Advance();
  return absl::OkStatus();
}

absl::StatusOr<ExprPtr> Parser::ParseFilterExpr(ExprPtr expr) {
  while (true) {
    if (SkipOp("|")) {
      CHAT_ASSIGN_OR_RETURN(expr, ParseFilter(std::move(expr)));
    } else if (IsName("is")) {
      Advance();
      CHAT_ASSIGN_OR_RETURN(expr, ParseTest(std::move(expr)));
    } else if (IsOp("(")) {
      ExprPtr call = NewExpr(Expr::Kind::kCall, Current().line);
      call->args.push_back(std::move(expr));
      CHAT_RETURN_IF_ERROR(ParseCallArgs(*call));
      expr = std::move(call);
    } else {
      return expr;
    }
  }
}

absl::StatusOr<std::string> Parser::ParseDottedName() {
  CHAT_ASSIGN_OR_RETURN(std::string name, ExpectName());
  while (SkipOp(".")) {
    CHAT_ASSIGN_OR_RETURN(std::string part, ExpectName());
    absl::StrAppend(&name, ".", part);
  }
  return name;
}

// After '|': name[(args)]. `operand` is null for filter blocks and `set x | f`.
absl::StatusOr<ExprPtr> Parser::ParseFilter(ExprPtr operand) {
  ExprPtr filter = NewExpr(Expr::Kind::kFilter, Current().line);
  CHAT_ASSIGN_OR_RETURN(filter->name, ParseDottedName());
  if (!IsKnownFilter(filter->name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported Jinja filter '", filter->name, "' at line ", filter->line));
  }
  filter->args.push_back(std::move(operand));
  if (IsOp("(")) CHAT_RETURN_IF_ERROR(ParseCallArgs(*filter));
  return filter;
}

// After 'is': [not] name, then (args) or one bare argument, as jinja2's parse_test.
absl::StatusOr<ExprPtr> Parser::ParseTest(ExprPtr operand) {
  ExprPtr test = NewExpr(Expr::Kind::kTest, Current().line);
  test->negated = SkipName("not");
  CHAT_ASSIGN_OR_RETURN(test->name, ParseDottedName());
  test->args.push_back(std::move(operand));
  const Token& next = Current();
  if (IsOp("(")) {
    CHAT_RETURN_IF_ERROR(ParseCallArgs(*test));
  } else if ((next.kind == TokenKind::kName && next.value != "else" && next.value != "or" &&
              next.value != "and" && next.value != "if") ||
             next.kind == TokenKind::kString || next.kind == TokenKind::kInteger ||
             next.kind == TokenKind::kFloat || IsOp("[") || IsOp("{")) {
    if (next.kind == TokenKind::kName && next.value == "is") return Unexpected();
    CHAT_ASSIGN_OR_RETURN(ExprPtr arg, ParsePrimary());
    CHAT_ASSIGN_OR_RETURN(arg, ParsePostfix(std::move(arg)));
    test->args.push_back(std::move(arg));
  }
  return test;
}

}  // namespace

absl::StatusOr<Body> ParseTemplate(std::string_view source) {
  CHAT_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(source));
  return Parser(std::move(tokens)).ParseAll();
}

}  // namespace tgi::router::chat
