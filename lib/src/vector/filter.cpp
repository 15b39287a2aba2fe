// Filter: evaluation of a compiled expression against an element's attributes.
//
// matches() is on the hot path of filtered HNSW search, called once per visited node, so it does
// no work it can avoid: one pass over the top-level JSON object picks out only the fields the
// expression names (filter_json.cpp), then a recursive walk of the folded expression tree computes
// the result. Values are 16-byte views; strings without escapes point into the attributes text, so
// the common case allocates nothing. Per-call state (value slots, a scratch arena for decoded
// strings) lives on the caller's stack and the program is immutable, hence thread-safe.
//
// Alternatives measured and rejected: simdjson On-Demand needs SIMDJSON_PADDING readable bytes past
// the document, which a string_view into stored attributes does not promise, so every call would
// copy the text into a padded buffer; on a three-field object that copy plus the parser's set-up
// costs more than this scanner takes to do the whole job (numbers in the report of the change that
// added this file). A byte-code VM instead of the tree gained nothing measurable for expressions of
// a few nodes, and the tree makes and/or short-circuit for free.
//
// Semantics follow Redis's expr.c (see filter_parse.cpp for the grammar):
//   - numbers are doubles; true/false are 1/0; comparisons and logic yield 1 or 0;
//   - arithmetic and ordering convert each operand to a number: a string that is a whole decimal
//     number converts to it, any other string, null and arrays convert to 0;
//   - == compares strings bytewise and numbers numerically; null equals only null; any other mix
//     is compared as numbers (so "abc" == 0 holds, as in Redis);
//   - `a in b`: membership when b is an array (by ==), substring when both are strings, else 0;
//   - truth: non-zero numbers, non-empty strings and every array are true; 0, "" and null are not.

#include "semcache/filter.hpp"

#include <cmath>
#include <cstring>

#include "vector/filter_internal.hpp"

namespace semcache {

namespace detail {

namespace {

double to_number(const Value& v) {
  if (v.kind == ValueKind::kNumber) return v.number;
  if (v.kind == ValueKind::kString) return string_to_number(v.string());
  return 0;
}

bool values_equal(const Value& a, const Value& b) {
  if (a.kind == ValueKind::kString && b.kind == ValueKind::kString) {
    return a.size == b.size && (a.size == 0 || std::memcmp(a.text, b.text, a.size) == 0);
  }
  if (a.kind == ValueKind::kNumber && b.kind == ValueKind::kNumber) return a.number == b.number;
  if (a.kind == ValueKind::kNull || b.kind == ValueKind::kNull) return a.kind == b.kind;
  return to_number(a) == to_number(b);
}

bool value_in(const Value& needle, const Value& haystack, Scratch& scratch) {
  if (haystack.kind == ValueKind::kTuple) {
    for (std::uint32_t i = 0; i < haystack.size; ++i) {
      if (values_equal(needle, haystack.items[i])) return true;
    }
    return false;
  }
  if (haystack.kind == ValueKind::kJsonArray) {
    JsonArrayCursor cursor(haystack);
    Value item;
    while (cursor.next(item, scratch)) {
      if (values_equal(needle, item)) return true;
    }
    return false;
  }
  if (needle.kind == ValueKind::kString && haystack.kind == ValueKind::kString) {
    return haystack.string().find(needle.string()) != std::string_view::npos;
  }
  return false;
}

Value boolean(bool b) { return Value::make_number(b ? 1.0 : 0.0); }

}  // namespace

bool is_truthy(const Value& value) {
  switch (value.kind) {
    case ValueKind::kNumber: return value.number != 0;  // NaN is true, as in Redis
    case ValueKind::kString: return value.size != 0;
    case ValueKind::kNull: return false;
    default: return true;
  }
}

Value evaluate(const FilterProgram& program, std::uint32_t index, const Value* fields, Scratch& scratch) {
  const Node& node = program.nodes[index];
  switch (node.op) {
    case OpCode::kLiteral: return program.literals[node.lhs];
    case OpCode::kField: return fields[node.lhs];
    case OpCode::kNot: return boolean(!is_truthy(evaluate(program, node.lhs, fields, scratch)));
    case OpCode::kAnd:
      return boolean(is_truthy(evaluate(program, node.lhs, fields, scratch)) &&
                     is_truthy(evaluate(program, node.rhs, fields, scratch)));
    case OpCode::kOr:
      return boolean(is_truthy(evaluate(program, node.lhs, fields, scratch)) ||
                     is_truthy(evaluate(program, node.rhs, fields, scratch)));
    default: break;
  }
  const Value a = evaluate(program, node.lhs, fields, scratch);
  const Value b = evaluate(program, node.rhs, fields, scratch);
  switch (node.op) {
    case OpCode::kEq: return boolean(values_equal(a, b));
    case OpCode::kNe: return boolean(!values_equal(a, b));
    case OpCode::kIn: return boolean(value_in(a, b, scratch));
    default: break;
  }
  const double x = to_number(a);
  const double y = to_number(b);
  switch (node.op) {
    case OpCode::kPow: return Value::make_number(std::pow(x, y));
    case OpCode::kMul: return Value::make_number(x * y);
    case OpCode::kDiv: return Value::make_number(x / y);
    case OpCode::kMod: return Value::make_number(std::fmod(x, y));
    case OpCode::kAdd: return Value::make_number(x + y);
    case OpCode::kSub: return Value::make_number(x - y);
    case OpCode::kGt: return boolean(x > y);
    case OpCode::kGe: return boolean(x >= y);
    case OpCode::kLt: return boolean(x < y);
    case OpCode::kLe: return boolean(x <= y);
    default: return Value::make_null();  // unreachable: every opcode is handled above
  }
}

}  // namespace detail

Filter::Filter(std::shared_ptr<const detail::FilterProgram> program) : program_(std::move(program)) {}

Expected<Filter> Filter::parse(std::string_view expression) {
  std::string error;
  auto program = detail::compile_filter(expression, error);
  if (program == nullptr) return Status::bad_input("filter: " + error);
  return Filter(std::move(program));
}

bool Filter::matches(std::string_view attributes_json) const {
  const detail::FilterProgram& program = *program_;
  detail::Scratch scratch;
  detail::Value slots[detail::kMaxFilterFields];
  if (!detail::extract_fields(attributes_json, program.fields, slots, scratch)) return false;
  if (program.is_constant) return program.constant_result;
  return detail::is_truthy(detail::evaluate(program, program.root, slots, scratch));
}

const std::string& Filter::expression() const { return program_->expression; }

const std::vector<std::string>& Filter::fields() const { return program_->fields; }

}  // namespace semcache
