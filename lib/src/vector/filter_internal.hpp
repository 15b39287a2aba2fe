#pragma once
// The compiled form of a filter expression and the pieces its evaluation is made of.
//
// filter_parse.cpp turns the text into a FilterProgram: a flat array of nodes (an expression tree
// whose children are indices, constants already folded), a pool of literals, the fields the
// expression reads, and a branch program for its and/or/not skeleton. filter_json.cpp finds the
// fields in an element's JSON attributes in one pass over the top-level object; filter.cpp runs
// the branch program over the values found. A program is immutable once built and is shared by
// every copy of a Filter; all per-call state lives on the caller's stack (Value slots and a
// Scratch arena), so evaluation is thread-safe without locks.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace semcache::detail {

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }

// The value of a hex digit, -1 for any other character.
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Limits that keep recursion bounded and per-call state on the stack.
inline constexpr std::size_t kMaxFilterDepth = 256;  // nesting of operators and parentheses
inline constexpr std::size_t kMaxFilterFields = 64;  // distinct fields per expression
inline constexpr int kMaxJsonDepth = 64;             // nesting of arrays/objects in attributes

enum class ValueKind : std::uint8_t {
  kNumber,     // number; JSON true/false become 1/0
  kString,     // bytes, escapes already decoded
  kNull,       // JSON null or the literal null
  kTuple,      // an array literal of the expression: `items` points into the program
  kJsonArray,  // an array from the attributes: `text` is its raw JSON, '[' to ']', already validated
};

// A value during evaluation: 16 bytes, trivially copyable and trivially default-constructible (an
// array of slots costs nothing to declare). Strings and arrays are views whose bytes live in the
// program, in the attributes text, or in the Scratch arena of the current call.
struct Value {
  ValueKind kind;
  std::uint32_t size;  // string bytes, JSON array text bytes, or tuple items
  union {
    double number;
    const char* text;
    const Value* items;
  };

  static Value make_number(double n) {
    Value v;
    v.kind = ValueKind::kNumber;
    v.size = 0;
    v.number = n;
    return v;
  }
  static Value make_string(const char* data, std::size_t size) {
    Value v;
    v.kind = ValueKind::kString;
    v.size = static_cast<std::uint32_t>(size);
    v.text = data;
    return v;
  }
  static Value make_null() {
    Value v;
    v.kind = ValueKind::kNull;
    v.size = 0;
    v.number = 0;
    return v;
  }
  static Value make_tuple(const Value* items, std::size_t count) {
    Value v;
    v.kind = ValueKind::kTuple;
    v.size = static_cast<std::uint32_t>(count);
    v.items = items;
    return v;
  }
  static Value make_json_array(const char* data, std::size_t size) {
    Value v;
    v.kind = ValueKind::kJsonArray;
    v.size = static_cast<std::uint32_t>(size);
    v.text = data;
    return v;
  }
  std::string_view string() const { return {text, size}; }
};

// Bytes for strings decoded during one call. The first kInlineBytes live inside the object (on the
// caller's stack); beyond that, heap blocks are chained and freed with the arena.
class Scratch {
 public:
  Scratch() = default;
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch() {
    while (overflow_ != nullptr) {
      char* block = overflow_;
      std::memcpy(&overflow_, block, sizeof overflow_);
      delete[] block;
    }
  }

  char* allocate(std::size_t size) {
    if (size <= kInlineBytes - used_) {
      char* p = inline_ + used_;
      used_ += size;
      return p;
    }
    // Each block starts with the address of the previous one.
    char* block = new char[sizeof(char*) + size];
    std::memcpy(block, &overflow_, sizeof overflow_);
    overflow_ = block;
    return block + sizeof(char*);
  }

 private:
  static constexpr std::size_t kInlineBytes = 512;
  char inline_[kInlineBytes];
  std::size_t used_ = 0;
  char* overflow_ = nullptr;
};

enum class OpCode : std::uint8_t {
  kLiteral,  // lhs: index in literals
  kField,    // lhs: index in fields (the value slot)
  kNot,      // lhs: operand
  kPow, kMul, kDiv, kMod, kAdd, kSub,
  kGt, kGe, kLt, kLe, kEq, kNe, kIn,
  kAnd, kOr,
};

struct Node {
  OpCode op;
  std::uint32_t lhs;
  std::uint32_t rhs;
};

// The and/or/not skeleton of an expression compiled to jumps: each test is a leaf of that
// skeleton and names the test to run next when it is true and when it is false (`not` swaps the
// two, `a and b` sends a's true edge to b). Running the program walks one path, with no recursion
// and no cost for the logic operators. Comparisons of a field with a literal, the usual leaves,
// are done in place; any other leaf is handed to the tree evaluator.
enum class TestKind : std::uint8_t {
  kFieldCompare,  // fields[a] <op> literals[b], op one of == != > >= < <= (a literal on the left is swapped over)
  kFieldIn,       // fields[a] in literals[b]
  kFieldTruth,    // the truth of fields[a]
  kNode,          // the truth of nodes[a]
};

inline constexpr std::uint32_t kAccept = 0xffffffffu;
inline constexpr std::uint32_t kReject = 0xfffffffeu;

struct Test {
  TestKind kind;
  OpCode op;
  std::uint32_t a;
  std::uint32_t b;
  std::uint32_t on_true;  // index of the next test, or kAccept / kReject
  std::uint32_t on_false;
};

// A field name prepared for comparison with JSON keys eight bytes at a time: `head` holds its
// first (up to) eight bytes in memory order and `mask` selects them.
struct FieldKey {
  std::uint64_t head = 0;
  std::uint64_t mask = 0;
  std::uint32_t size = 0;
  const char* name = nullptr;  // points into FilterProgram::fields
};

struct FilterProgram {
  FilterProgram() = default;
  FilterProgram(const FilterProgram&) = delete;  // literals point into strings_ and tuple_items_
  FilterProgram& operator=(const FilterProgram&) = delete;

  std::string expression;
  std::vector<Node> nodes;
  std::uint32_t root = 0;
  std::vector<Value> literals;
  std::vector<std::string> fields;
  std::vector<FieldKey> field_keys;  // one per field, built once parsing is done
  std::vector<Test> tests;           // the branch program, run from tests[entry]
  std::uint32_t entry = 0;
  bool is_constant = false;  // the whole expression folded to a literal
  bool constant_result = false;

  // Owners of the bytes literals point to; deques never move what they hold.
  std::deque<std::string> strings;
  std::deque<std::vector<Value>> tuple_items;
};

// --- filter_parse.cpp ---------------------------------------------------------------------------

// Builds the program, or fills `error` with "column N: message" and returns nullptr.
std::shared_ptr<const FilterProgram> compile_filter(std::string_view expression, std::string& error);

// --- filter.cpp ---------------------------------------------------------------------------------

// Evaluates the subtree at `node` with the field values found in the attributes.
Value evaluate(const FilterProgram& program, std::uint32_t node, const Value* fields, Scratch& scratch);
// Whether the whole expression is true, by running the branch program.
bool evaluate_truth(const FilterProgram& program, const Value* fields, Scratch& scratch);
bool is_truthy(const Value& value);

// --- filter_json.cpp ----------------------------------------------------------------------------

// Scans the top-level JSON object once and stores the value of each of `fields` in `slots`
// (first occurrence wins). False when the text is not a JSON object, when a field is missing,
// or when a field holds an object (or an array containing one), which the language cannot hold.
bool extract_fields(std::string_view json, const std::vector<FieldKey>& fields, Value* slots, Scratch& scratch);

FieldKey make_field_key(const std::string& name);

// Walks the items of a kJsonArray value.
class JsonArrayCursor {
 public:
  explicit JsonArrayCursor(const Value& array);
  // The next item, or false at the end.
  bool next(Value& item, Scratch& scratch);

 private:
  const char* p_;
  const char* end_;
};

// The number a string converts to in arithmetic and comparisons: the whole string must be a
// decimal number (leading white space and a '+' allowed, as strtod does); otherwise 0.
double string_to_number(std::string_view text);

// Appends the UTF-8 encoding of a code point.
void append_utf8(std::uint32_t code_point, char*& out);

}  // namespace semcache::detail
