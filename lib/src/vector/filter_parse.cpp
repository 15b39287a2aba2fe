// Filter expressions: from text to a FilterProgram.
//
// The language is the one of the FILTER option of Redis 8 vector sets (modules/vector-sets/expr.c),
// reimplemented: a precedence-climbing parser over a small lexer builds an expression tree in a
// flat node array, folds every operator whose operands are all literals, and records the distinct
// top-level fields the expression reads; then the and/or/not skeleton of the tree is compiled into
// a branch program (see Test in filter_internal.hpp). Redis compiles with a shunting-yard pass
// into an RPN program; we keep a tree because it makes errors precise (the RPN compiler only
// learns at the end that the operands did not add up) and lets `and`/`or` short-circuit. That
// does not change results: every field is looked up before evaluation starts, and a missing one
// fails the whole expression, as in Redis, where every selector of the program runs.
//
// Grammar (operators in the table below, tightest first):
//   expression := operand (binary-op operand)*
//   operand    := number | string | 'true' | 'false' | 'null' | field | array
//               | '(' expression ')' | ('!' | 'not') operand
//   field      := '.' [A-Za-z0-9_-]+          top level only; '.a-b' is the field "a-b"
//   number     := '-'? digits ('.' digits*)? ([eE] [+-]? digits)?
//                 the '-' belongs to the number where a value is expected (start, after an
//                 operator or '('), so `-2 ** 2` is 4 and `.x -1` is `.x - 1`, as in Redis
//   string     := "..." | '...'   escapes \" \' \\ \/ \b \f \n \r \t \uXXXX
//   array      := '[' (literal (',' literal)* ','?)? ']'   literals only, no nesting
//
//   level  operators                      associativity
//   6      ! not        (prefix)          -      binds tighter than **: `!.a ** 2` is `(!.a) ** 2`
//   5      **                             right  `2 ** 3 ** 2` is 512
//   4      * / %                          left
//   3      + -                            left
//   2      > >= < <= == != in             left   `1 < 2 < 3` is `(1 < 2) < 3`
//   1      and &&                         left
//   0      or ||                          left
// This is Redis's table. Note that `not .x == 1` therefore means `(not .x) == 1`: write
// `not (.x == 1)` to negate a comparison.
//
// Where we differ from Redis, on purpose:
//   - Operands and operators must alternate. Redis's RPN compiler only counts stack depth, so it
//     accepts `1 2 +` and reads `.a not in [1]` as `(not .a) in [1]`; here both are errors.
//   - `true` and `false` are literals (1 and 0, as JSON booleans already are); array literals may
//     hold true/false/null; exponents may carry a sign (1e-5). Redis has only `null`.
//   - An unknown escape in a string, such as \q, is an error.
//   - Keywords are whole words: Redis reads `notnull` as `not null`; here it is an unknown word.

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <string>
#include <system_error>

#include "vector/filter_internal.hpp"

namespace semcache::detail {

namespace {

constexpr std::uint32_t kNoNode = 0xffffffffu;
constexpr int kPrefixBindingPower = 7;

enum class TokenKind : std::uint8_t {
  kEnd, kNumber, kString, kField, kTrue, kFalse, kNull,
  kLParen, kRParen, kLBracket, kRBracket, kComma, kNot, kBinary,
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  OpCode op = OpCode::kLiteral;  // kBinary
  std::size_t offset = 0;        // first byte in the expression
  std::size_t length = 0;        // bytes of source text
  double number = 0;             // kNumber
  std::string text;              // kString: decoded bytes; kField: the name
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_selector_char(char c) { return is_alpha(c) || is_digit(c) || c == '_' || c == '-'; }
bool is_word_char(char c) { return is_alpha(c) || is_digit(c) || c == '_'; }

std::string column_prefix(std::size_t offset) { return "column " + std::to_string(offset + 1) + ": "; }

// A character for a message: itself when printable ASCII, else its byte value.
std::string describe_char(char c) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte >= 0x20 && byte < 0x7f) return std::string("'") + c + "'";
  char buf[16];
  std::snprintf(buf, sizeof buf, "byte 0x%02x", byte);
  return buf;
}

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  // Reads the token at the current position. `want_value` is true where an operand is expected:
  // there a '-' directly followed by a digit starts a negative number.
  bool next(bool want_value, Token& token, std::string& error) {
    while (pos_ < text_.size() && is_space(text_[pos_])) ++pos_;
    token = Token();
    token.offset = pos_;
    if (pos_ == text_.size()) {
      token.kind = TokenKind::kEnd;
      return true;
    }
    const char c = text_[pos_];
    if (is_digit(c) || (want_value && c == '-' && pos_ + 1 < text_.size() && is_digit(text_[pos_ + 1]))) {
      return number(token, error);
    }
    if (c == '"' || c == '\'') return string(token, error);
    if (c == '.') return field(token, error);
    if (is_alpha(c) || c == '_') return word(token, error);
    return punctuation(token, error);
  }

  void rewind(std::size_t offset) { pos_ = offset; }

 private:
  bool fail(std::size_t offset, const std::string& message, std::string& error) {
    error = column_prefix(offset) + message;
    return false;
  }

  bool number(Token& token, std::string& error) {
    const std::size_t start = pos_;
    std::size_t p = pos_;
    if (text_[p] == '-') ++p;
    while (p < text_.size() && is_digit(text_[p])) ++p;
    if (p < text_.size() && text_[p] == '.') {
      ++p;
      while (p < text_.size() && is_digit(text_[p])) ++p;
    }
    if (p < text_.size() && (text_[p] == 'e' || text_[p] == 'E')) {
      ++p;
      if (p < text_.size() && (text_[p] == '+' || text_[p] == '-')) ++p;
      if (p == text_.size() || !is_digit(text_[p])) {
        while (p < text_.size() && is_word_char(text_[p])) ++p;
        return fail(start, "invalid number '" + std::string(text_.substr(start, p - start)) + "'", error);
      }
      while (p < text_.size() && is_digit(text_[p])) ++p;
    }
    const char* first = text_.data() + start;
    const char* last = text_.data() + p;
    double value = 0;
    const auto result = std::from_chars(first, last, value);
    if (result.ec == std::errc::result_out_of_range) {
      return fail(start, "number out of range '" + std::string(first, last) + "'", error);
    }
    if (result.ec != std::errc() || result.ptr != last) {
      return fail(start, "invalid number '" + std::string(first, last) + "'", error);
    }
    token.kind = TokenKind::kNumber;
    token.number = value;
    token.length = p - start;
    pos_ = p;
    return true;
  }

  bool string(Token& token, std::string& error) {
    const std::size_t start = pos_;
    const char quote = text_[pos_];
    std::size_t p = pos_ + 1;
    std::string decoded;
    while (true) {
      if (p >= text_.size()) return fail(start, "unterminated string", error);
      const char c = text_[p];
      if (c == quote) break;
      if (c != '\\') {
        decoded.push_back(c);
        ++p;
        continue;
      }
      if (p + 1 >= text_.size()) return fail(start, "unterminated string", error);
      const char e = text_[p + 1];
      switch (e) {
        case '"': decoded.push_back('"'); break;
        case '\'': decoded.push_back('\''); break;
        case '\\': decoded.push_back('\\'); break;
        case '/': decoded.push_back('/'); break;
        case 'b': decoded.push_back('\b'); break;
        case 'f': decoded.push_back('\f'); break;
        case 'n': decoded.push_back('\n'); break;
        case 'r': decoded.push_back('\r'); break;
        case 't': decoded.push_back('\t'); break;
        case 'u': {
          std::uint32_t code = 0;
          std::size_t q = p + 2;
          if (!hex4(q, code)) return fail(p, "expected 4 hex digits after '\\u'", error);
          q += 4;
          if (code >= 0xd800 && code <= 0xdbff) {
            std::uint32_t low = 0;
            if (q + 1 < text_.size() && text_[q] == '\\' && text_[q + 1] == 'u' && hex4(q + 2, low) &&
                low >= 0xdc00 && low <= 0xdfff) {
              code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
              q += 6;
            } else {
              return fail(p, "unpaired surrogate '\\u" + std::string(text_.substr(p + 2, 4)) + "'", error);
            }
          } else if (code >= 0xdc00 && code <= 0xdfff) {
            return fail(p, "unpaired surrogate '\\u" + std::string(text_.substr(p + 2, 4)) + "'", error);
          }
          char utf8[4];
          char* out = utf8;
          append_utf8(code, out);
          decoded.append(utf8, out);
          p = q;
          continue;
        }
        default:
          return fail(p,
                      "unknown escape '\\" + std::string(1, e) +
                          "' in string (known: \\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)",
                      error);
      }
      p += 2;
    }
    token.kind = TokenKind::kString;
    token.text = std::move(decoded);
    token.length = p + 1 - start;
    pos_ = p + 1;
    return true;
  }

  bool hex4(std::size_t at, std::uint32_t& code) const {
    if (at + 4 > text_.size()) return false;
    code = 0;
    for (std::size_t i = 0; i < 4; ++i) {
      const int h = hex_value(text_[at + i]);
      if (h < 0) return false;
      code = code * 16 + static_cast<std::uint32_t>(h);
    }
    return true;
  }

  bool field(Token& token, std::string& error) {
    const std::size_t start = pos_;
    std::size_t p = pos_ + 1;
    while (p < text_.size() && is_selector_char(text_[p])) ++p;
    if (p == start + 1) {
      return fail(start, "expected a field name after '.' (fields are written .name with letters, digits, '_' or '-')",
                  error);
    }
    if (p + 1 < text_.size() && text_[p] == '.' && is_selector_char(text_[p + 1])) {
      std::size_t q = p + 1;
      while (q < text_.size() && (is_selector_char(text_[q]) || text_[q] == '.')) ++q;
      return fail(start,
                  "nested fields are not supported: '" + std::string(text_.substr(start, q - start)) +
                      "' (only top-level fields such as '" + std::string(text_.substr(start, p - start)) +
                      "' can be selected)",
                  error);
    }
    token.kind = TokenKind::kField;
    token.text.assign(text_.substr(start + 1, p - start - 1));
    token.length = p - start;
    pos_ = p;
    return true;
  }

  bool word(Token& token, std::string& error) {
    const std::size_t start = pos_;
    std::size_t p = pos_;
    while (p < text_.size() && is_word_char(text_[p])) ++p;
    const std::string_view w = text_.substr(start, p - start);
    token.length = p - start;
    pos_ = p;
    if (w == "and") return binary(token, OpCode::kAnd);
    if (w == "or") return binary(token, OpCode::kOr);
    if (w == "in") return binary(token, OpCode::kIn);
    if (w == "not") {
      token.kind = TokenKind::kNot;
      return true;
    }
    if (w == "true") {
      token.kind = TokenKind::kTrue;
      return true;
    }
    if (w == "false") {
      token.kind = TokenKind::kFalse;
      return true;
    }
    if (w == "null") {
      token.kind = TokenKind::kNull;
      return true;
    }
    std::string lower(w);
    for (char& c : lower) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    }
    for (const char* keyword : {"and", "or", "in", "not", "true", "false", "null"}) {
      if (lower == keyword) {
        return fail(start, "unknown word '" + std::string(w) + "' (keywords are lowercase: '" + lower + "')", error);
      }
    }
    return fail(start,
                "unknown word '" + std::string(w) + "' (fields start with a dot, as in '." + std::string(w) +
                    "'; strings are quoted)",
                error);
  }

  static bool binary(Token& token, OpCode op) {
    token.kind = TokenKind::kBinary;
    token.op = op;
    return true;
  }

  bool punctuation(Token& token, std::string& error) {
    const std::size_t start = pos_;
    const char c = text_[pos_];
    const char d = pos_ + 1 < text_.size() ? text_[pos_ + 1] : '\0';
    std::size_t length = 1;
    switch (c) {
      case '(': token.kind = TokenKind::kLParen; break;
      case ')': token.kind = TokenKind::kRParen; break;
      case '[': token.kind = TokenKind::kLBracket; break;
      case ']': token.kind = TokenKind::kRBracket; break;
      case ',': token.kind = TokenKind::kComma; break;
      case '/': binary(token, OpCode::kDiv); break;
      case '%': binary(token, OpCode::kMod); break;
      case '+': binary(token, OpCode::kAdd); break;
      case '-': binary(token, OpCode::kSub); break;
      case '*':
        if (d == '*') {
          binary(token, OpCode::kPow);
          length = 2;
        } else {
          binary(token, OpCode::kMul);
        }
        break;
      case '>':
        if (d == '=') {
          binary(token, OpCode::kGe);
          length = 2;
        } else {
          binary(token, OpCode::kGt);
        }
        break;
      case '<':
        if (d == '=') {
          binary(token, OpCode::kLe);
          length = 2;
        } else {
          binary(token, OpCode::kLt);
        }
        break;
      case '=':
        if (d != '=') return fail(start, "unknown operator '=' (did you mean '=='?)", error);
        binary(token, OpCode::kEq);
        length = 2;
        break;
      case '!':
        if (d == '=') {
          binary(token, OpCode::kNe);
          length = 2;
        } else {
          token.kind = TokenKind::kNot;
        }
        break;
      case '&':
        if (d != '&') return fail(start, "unknown operator '&' (did you mean '&&'?)", error);
        binary(token, OpCode::kAnd);
        length = 2;
        break;
      case '|':
        if (d != '|') return fail(start, "unknown operator '|' (did you mean '||'?)", error);
        binary(token, OpCode::kOr);
        length = 2;
        break;
      case '^': return fail(start, "unknown operator '^' (powers are written '**')", error);
      default: return fail(start, "unexpected character " + describe_char(c), error);
    }
    token.length = length;
    pos_ += length;
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

// Binding powers for precedence climbing: an operator continues the current expression when its
// left power is at least the minimum; its right operand is parsed with the right power.
struct BindingPower {
  int left;
  int right;
};

BindingPower binding_power(OpCode op) {
  switch (op) {
    case OpCode::kOr: return {1, 2};
    case OpCode::kAnd: return {2, 3};
    case OpCode::kGt:
    case OpCode::kGe:
    case OpCode::kLt:
    case OpCode::kLe:
    case OpCode::kEq:
    case OpCode::kNe:
    case OpCode::kIn: return {3, 4};
    case OpCode::kAdd:
    case OpCode::kSub: return {4, 5};
    case OpCode::kMul:
    case OpCode::kDiv:
    case OpCode::kMod: return {5, 6};
    case OpCode::kPow: return {6, 6};
    default: return {-1, -1};
  }
}

class Parser {
 public:
  Parser(std::string_view text, FilterProgram& program) : text_(text), lexer_(text), program_(program) {}

  bool run(std::string& error) {
    const std::uint32_t root = parse_expression(0, {});
    if (ok()) {
      const Token* t = peek(false);
      if (t != nullptr && t->kind != TokenKind::kEnd) unexpected_after_expression(*t);
    }
    if (!ok()) {
      error = error_;
      return false;
    }
    program_.root = root;
    for (const std::string& name : program_.fields) program_.field_keys.push_back(make_field_key(name));
    const Node& node = program_.nodes[root];
    if (node.op == OpCode::kLiteral) {
      program_.is_constant = true;
      program_.constant_result = is_truthy(program_.literals[node.lhs]);
    } else {
      program_.entry = emit_tests(root, kAccept, kReject);
    }
    return true;
  }

 private:
  // Compiles the subtree at `index` into tests that continue at on_true or on_false; returns the
  // first test. Each subtree is emitted once, so the program has one test per leaf.
  std::uint32_t emit_tests(std::uint32_t index, std::uint32_t on_true, std::uint32_t on_false) {
    const Node node = program_.nodes[index];
    switch (node.op) {
      case OpCode::kAnd: return emit_tests(node.lhs, emit_tests(node.rhs, on_true, on_false), on_false);
      case OpCode::kOr: return emit_tests(node.lhs, on_true, emit_tests(node.rhs, on_true, on_false));
      case OpCode::kNot: return emit_tests(node.lhs, on_false, on_true);
      default: break;
    }
    Test test{TestKind::kNode, node.op, index, 0, on_true, on_false};
    if (node.op == OpCode::kField) {
      test = {TestKind::kFieldTruth, node.op, node.lhs, 0, on_true, on_false};
    } else if (node.op != OpCode::kLiteral) {
      const Node& left = program_.nodes[node.lhs];
      const Node& right = program_.nodes[node.rhs];
      const bool comparison = node.op == OpCode::kEq || node.op == OpCode::kNe || node.op == OpCode::kGt ||
                              node.op == OpCode::kGe || node.op == OpCode::kLt || node.op == OpCode::kLe;
      if (comparison && left.op == OpCode::kField && right.op == OpCode::kLiteral) {
        test = {TestKind::kFieldCompare, node.op, left.lhs, right.lhs, on_true, on_false};
      } else if (comparison && left.op == OpCode::kLiteral && right.op == OpCode::kField) {
        test = {TestKind::kFieldCompare, mirrored(node.op), right.lhs, left.lhs, on_true, on_false};
      } else if (node.op == OpCode::kIn && left.op == OpCode::kField && right.op == OpCode::kLiteral) {
        test = {TestKind::kFieldIn, node.op, left.lhs, right.lhs, on_true, on_false};
      }
    }
    program_.tests.push_back(test);
    return static_cast<std::uint32_t>(program_.tests.size() - 1);
  }

  // `a < b` is `b > a`: the operator for the operands swapped.
  static OpCode mirrored(OpCode op) {
    switch (op) {
      case OpCode::kGt: return OpCode::kLt;
      case OpCode::kGe: return OpCode::kLe;
      case OpCode::kLt: return OpCode::kGt;
      case OpCode::kLe: return OpCode::kGe;
      default: return op;
    }
  }

  bool ok() const { return error_.empty(); }

  std::uint32_t fail(std::size_t offset, const std::string& message) {
    if (ok()) error_ = column_prefix(offset) + message;
    return kNoNode;
  }

  // The lookahead token, lexed in value or operator position; nullptr after a lexing error.
  const Token* peek(bool want_value) {
    if (have_token_ && token_want_value_ != want_value) {
      lexer_.rewind(token_.offset);
      have_token_ = false;
    }
    if (!have_token_) {
      std::string error;
      if (!lexer_.next(want_value, token_, error)) {
        if (ok()) error_ = error;
        return nullptr;
      }
      have_token_ = true;
      token_want_value_ = want_value;
    }
    return &token_;
  }

  void consume() { have_token_ = false; }

  std::string spelled(const Token& t) const { return std::string(text_.substr(t.offset, t.length)); }

  std::string describe(const Token& t) const {
    if (t.kind == TokenKind::kEnd) return "end of expression";
    std::string s = spelled(t);
    if (s.size() > 32) s = s.substr(0, 29) + "...";
    return "'" + s + "'";
  }

  void unexpected_after_expression(const Token& t) {
    if (t.kind == TokenKind::kRParen) {
      fail(t.offset, "unexpected ')' without a matching '('");
    } else if (t.kind == TokenKind::kNot) {
      fail(t.offset, "expected an operator or end of expression, got " + describe(t) +
                         " ('not' is a prefix operator: write 'not (.a in [1, 2])')");
    } else {
      fail(t.offset, "expected an operator or end of expression, got " + describe(t));
    }
  }

  // `after` is the operator or parenthesis that asked for this expression, for messages.
  std::uint32_t parse_expression(int min_power, std::string_view after) {
    if (++recursion_ > kMaxFilterDepth) {
      const Token* t = peek(true);
      return fail(t != nullptr ? t->offset : 0,
                  "expression nests deeper than " + std::to_string(kMaxFilterDepth) + " levels");
    }
    std::uint32_t lhs = parse_operand(after);
    while (ok()) {
      const Token* t = peek(false);
      if (t == nullptr || t->kind != TokenKind::kBinary) break;
      const BindingPower power = binding_power(t->op);
      if (power.left < min_power) break;
      const OpCode op = t->op;
      const std::size_t offset = t->offset;
      const std::string op_text = spelled(*t);
      consume();
      const std::uint32_t rhs = parse_expression(power.right, op_text);
      if (!ok()) break;
      lhs = make_node(op, lhs, rhs, offset);
    }
    --recursion_;
    return ok() ? lhs : kNoNode;
  }

  std::uint32_t parse_operand(std::string_view after) {
    const Token* t = peek(true);
    if (t == nullptr) return kNoNode;
    switch (t->kind) {
      case TokenKind::kNumber:
      case TokenKind::kString:
      case TokenKind::kTrue:
      case TokenKind::kFalse:
      case TokenKind::kNull: {
        const std::uint32_t node = add_literal(literal_value(*t));
        consume();
        return node;
      }
      case TokenKind::kField: {
        const std::size_t offset = t->offset;
        const std::string name = t->text;
        consume();
        return add_field(name, offset);
      }
      case TokenKind::kLBracket: return parse_array();
      case TokenKind::kLParen: {
        const std::size_t open = t->offset;
        consume();
        const std::uint32_t inner = parse_expression(0, "(");
        if (!ok()) return kNoNode;
        const Token* close = peek(false);
        if (close == nullptr) return kNoNode;
        if (close->kind != TokenKind::kRParen) {
          if (close->kind == TokenKind::kEnd || close->kind == TokenKind::kComma ||
              close->kind == TokenKind::kRBracket) {
            return fail(close->offset, "expected ')' to close the '(' at column " + std::to_string(open + 1) +
                                           ", got " + describe(*close));
          }
          unexpected_after_expression(*close);
          return kNoNode;
        }
        consume();
        return inner;
      }
      case TokenKind::kNot: {
        const std::size_t offset = t->offset;
        const std::string op_text = spelled(*t);
        consume();
        const std::uint32_t operand = parse_expression(kPrefixBindingPower, op_text);
        if (!ok()) return kNoNode;
        return make_node(OpCode::kNot, operand, 0, offset);
      }
      default: break;
    }
    std::string message = "expected a value";
    if (!after.empty()) message += " after '" + std::string(after) + "'";
    message += ", got " + describe(*t);
    if (t->kind == TokenKind::kBinary && t->op == OpCode::kSub) {
      message += " (a minus sign only negates a number literal: write 0 - x)";
    }
    return fail(t->offset, message);
  }

  std::uint32_t parse_array() {
    const std::size_t open = token_.offset;
    consume();
    std::vector<Value> items;
    while (true) {
      const Token* t = peek(true);
      if (t == nullptr) return kNoNode;
      if (t->kind == TokenKind::kRBracket) {
        consume();
        break;
      }
      switch (t->kind) {
        case TokenKind::kNumber:
        case TokenKind::kString:
        case TokenKind::kTrue:
        case TokenKind::kFalse:
        case TokenKind::kNull: items.push_back(literal_value(*t)); break;
        case TokenKind::kEnd:
          return fail(t->offset,
                      "expected ']' to close the '[' at column " + std::to_string(open + 1) + ", got end of expression");
        case TokenKind::kLBracket: return fail(t->offset, "nested arrays are not supported in expressions");
        default:
          return fail(t->offset, "expected a number, string, true, false or null in the array, got " + describe(*t));
      }
      consume();
      const Token* sep = peek(false);
      if (sep == nullptr) return kNoNode;
      if (sep->kind == TokenKind::kComma) {
        consume();
        continue;
      }
      if (sep->kind == TokenKind::kRBracket) {
        consume();
        break;
      }
      if (sep->kind == TokenKind::kEnd) {
        return fail(sep->offset,
                    "expected ']' to close the '[' at column " + std::to_string(open + 1) + ", got end of expression");
      }
      return fail(sep->offset, "expected ',' or ']' in the array opened at column " + std::to_string(open + 1) +
                                   ", got " + describe(*sep));
    }
    std::vector<Value>& stored = program_.tuple_items.emplace_back(std::move(items));
    return add_literal(Value::make_tuple(stored.data(), stored.size()));
  }

  Value literal_value(const Token& t) {
    switch (t.kind) {
      case TokenKind::kNumber: return Value::make_number(t.number);
      case TokenKind::kTrue: return Value::make_number(1);
      case TokenKind::kFalse: return Value::make_number(0);
      case TokenKind::kString: {
        const std::string& stored = program_.strings.emplace_back(t.text);
        return Value::make_string(stored.data(), stored.size());
      }
      default: return Value::make_null();
    }
  }

  std::uint32_t push_node(Node node, std::uint32_t depth) {
    program_.nodes.push_back(node);
    depths_.push_back(depth);
    return static_cast<std::uint32_t>(program_.nodes.size() - 1);
  }

  std::uint32_t add_literal(const Value& value) {
    program_.literals.push_back(value);
    return push_node({OpCode::kLiteral, static_cast<std::uint32_t>(program_.literals.size() - 1), 0}, 1);
  }

  std::uint32_t add_field(const std::string& name, std::size_t offset) {
    std::uint32_t slot = 0;
    while (slot < program_.fields.size() && program_.fields[slot] != name) ++slot;
    if (slot == program_.fields.size()) {
      if (program_.fields.size() == kMaxFilterFields) {
        return fail(offset, "more than " + std::to_string(kMaxFilterFields) + " distinct fields in one expression");
      }
      program_.fields.push_back(name);
    }
    return push_node({OpCode::kField, slot, 0}, 1);
  }

  // Adds an operator node, or its value when every operand is a literal.
  std::uint32_t make_node(OpCode op, std::uint32_t lhs, std::uint32_t rhs, std::size_t offset) {
    const bool unary = op == OpCode::kNot;
    const std::uint32_t depth = 1 + std::max(depths_[lhs], unary ? 0u : depths_[rhs]);
    if (depth > kMaxFilterDepth) {
      return fail(offset, "expression nests deeper than " + std::to_string(kMaxFilterDepth) + " levels");
    }
    const std::uint32_t node = push_node({op, lhs, unary ? 0u : rhs}, depth);
    const bool constant = program_.nodes[lhs].op == OpCode::kLiteral &&
                          (unary || program_.nodes[rhs].op == OpCode::kLiteral);
    if (!constant) return node;
    // Operators always yield numbers, so the folded value owns no bytes.
    Scratch scratch;
    const Value value = evaluate(program_, node, nullptr, scratch);
    program_.nodes.pop_back();
    depths_.pop_back();
    return add_literal(value);
  }

  std::string_view text_;
  Lexer lexer_;
  FilterProgram& program_;
  Token token_;
  bool have_token_ = false;
  bool token_want_value_ = false;
  std::string error_;
  std::vector<std::uint32_t> depths_;
  std::size_t recursion_ = 0;
};

}  // namespace

std::shared_ptr<const FilterProgram> compile_filter(std::string_view expression, std::string& error) {
  auto program = std::make_shared<FilterProgram>();
  program->expression.assign(expression);
  Parser parser(program->expression, *program);
  if (!parser.run(error)) return nullptr;
  return program;
}

}  // namespace semcache::detail
