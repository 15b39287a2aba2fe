// The JSON side of filters: finding fields in attributes, and validating attributes on the way in.
//
// extract_fields() is a hand-written scanner over the top-level object, in the spirit of Redis's
// fastjson.c: it never builds a document. Keys are compared with the few field names the
// expression reads; the value of a key that is read is converted to a Value (strings without
// escapes stay views into the text; escaped ones are decoded into the caller's Scratch); every
// other value is skipped by a light pass that only tracks quotes and bracket nesting. The scan
// runs to the closing brace, so text whose top level is not a well-formed object never matches.
// Differences from Redis: \uXXXX escapes are decoded (Redis copies them verbatim), keys are
// compared after unescaping, and Redis stops at the field it needs while we check the whole top
// level (an expression without fields, such as `1`, therefore does not match invalid attributes).
//
// normalize_attributes() is the strict counterpart, run once per insert: a full validating pass
// (grammar, UTF-8, control characters, depth) that copies every token without the white space,
// keeps strings and numbers byte for byte, and rejects duplicate top-level keys, which would make
// "first occurrence wins" in the scanner an invisible rule.

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <forward_list>
#include <limits>
#include <string>
#include <system_error>
#include <vector>

#include "semcache/filter.hpp"
#include "vector/filter_internal.hpp"

namespace semcache {

namespace detail {

namespace {

inline bool is_json_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

inline const char* skip_space(const char* p, const char* end) {
  // Minified attributes have no white space: one comparison settles the common case.
  while (p < end && static_cast<unsigned char>(*p) <= ' ' && is_json_space(*p)) ++p;
  return p;
}

bool read_hex4(const char* p, const char* end, std::uint32_t& code) {
  if (end - p < 4) return false;
  code = 0;
  for (int i = 0; i < 4; ++i) {
    const int h = hex_value(p[i]);
    if (h < 0) return false;
    code = code * 16 + static_cast<std::uint32_t>(h);
  }
  return true;
}

// Decodes the string body [p, end) (between the quotes) into out, which has room for end - p
// bytes: no escape decodes to more bytes than it is written with. Returns the end of the output,
// or nullptr on an invalid escape. An unpaired surrogate decodes to U+FFFD.
char* decode_json_string(const char* p, const char* end, char* out) {
  while (p < end) {
    if (*p != '\\') {
      *out++ = *p++;
      continue;
    }
    if (end - p < 2) return nullptr;
    switch (p[1]) {
      case '"': *out++ = '"'; break;
      case '\\': *out++ = '\\'; break;
      case '/': *out++ = '/'; break;
      case 'b': *out++ = '\b'; break;
      case 'f': *out++ = '\f'; break;
      case 'n': *out++ = '\n'; break;
      case 'r': *out++ = '\r'; break;
      case 't': *out++ = '\t'; break;
      case 'u': {
        std::uint32_t code = 0;
        if (!read_hex4(p + 2, end, code)) return nullptr;
        p += 6;
        if (code >= 0xd800 && code <= 0xdbff) {
          std::uint32_t low = 0;
          if (end - p >= 6 && p[0] == '\\' && p[1] == 'u' && read_hex4(p + 2, end, low) && low >= 0xdc00 &&
              low <= 0xdfff) {
            code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
            p += 6;
          } else {
            code = 0xfffd;
          }
        } else if (code >= 0xdc00 && code <= 0xdfff) {
          code = 0xfffd;
        }
        append_utf8(code, out);
        continue;
      }
      default: return nullptr;
    }
    p += 2;
  }
  return out;
}

constexpr std::uint64_t kEveryByte = 0x0101010101010101ull;
constexpr std::uint64_t kHighBits = 0x8080808080808080ull;

// The high bit of each byte of `word` equal to c. Bytes above the first match may be flagged
// falsely (borrows propagate upwards), so only the lowest flag is meaningful.
inline std::uint64_t bytes_equal(std::uint64_t word, unsigned char c) {
  const std::uint64_t x = word ^ (kEveryByte * c);
  return (x - kEveryByte) & ~x & kHighBits;
}

// p is just past the opening quote. Returns the closing quote, or nullptr when unterminated.
// Eight bytes at a time while eight remain (SWAR), then byte by byte.
inline const char* find_string_end(const char* p, const char* end, bool& escaped) {
  if constexpr (std::endian::native == std::endian::little) {
    while (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, sizeof word);
      const std::uint64_t special = bytes_equal(word, '"') | bytes_equal(word, '\\');
      if (special == 0) {
        p += 8;
        continue;
      }
      p += std::countr_zero(special) / 8;
      if (*p == '"') return p;
      escaped = true;
      if (end - p < 2) return nullptr;
      p += 2;
    }
  }
  while (p < end) {
    const char c = *p;
    if (c == '"') return p;
    if (c == '\\') {
      escaped = true;
      if (end - p < 2) return nullptr;
      p += 2;
      continue;
    }
    ++p;
  }
  return nullptr;
}

// Strict JSON number grammar. Returns the end of the number, or nullptr.
const char* scan_number(const char* p, const char* end, bool& simple) {
  if (p < end && *p == '-') ++p;
  if (p == end) return nullptr;
  if (*p == '0') {
    ++p;
  } else if (*p >= '1' && *p <= '9') {
    while (p < end && is_digit(*p)) ++p;
  } else {
    return nullptr;
  }
  simple = true;
  if (p < end && *p == '.') {
    simple = false;
    ++p;
    if (p == end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) ++p;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    simple = false;
    ++p;
    if (p < end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !is_digit(*p)) return nullptr;
    while (p < end && is_digit(*p)) ++p;
  }
  return p;
}

// Converts a number text already checked by scan_number (or any text from_chars takes). Values
// beyond the double range become +-infinity or 0, as strtod makes them.
double convert_number(const char* first, const char* last, bool simple) {
  if (simple) {
    const bool negative = *first == '-';
    const char* digits = negative ? first + 1 : first;
    if (last - digits <= 15) {
      std::int64_t n = 0;
      for (const char* d = digits; d < last; ++d) n = n * 10 + (*d - '0');
      const double value = static_cast<double>(n);
      return negative ? -value : value;
    }
  }
  double value = 0;
  const auto result = std::from_chars(first, last, value);
  if (result.ec == std::errc::result_out_of_range) {
    const bool negative = *first == '-';
    const char* e = first;
    while (e < last && *e != 'e' && *e != 'E') ++e;
    const bool tiny = e + 1 < last && e[1] == '-';
    const double magnitude = tiny ? 0.0 : std::numeric_limits<double>::infinity();
    return negative ? -magnitude : magnitude;
  }
  return value;
}

inline const char* match_literal(const char* p, const char* end, const char* literal, std::size_t size) {
  if (static_cast<std::size_t>(end - p) < size || std::memcmp(p, literal, size) != 0) return nullptr;
  return p + size;
}

// Skips an object or array without converting it: quotes and the nesting of brackets are checked,
// the tokens between them are not (they are never read). Returns the end, or nullptr.
const char* skip_container(const char* p, const char* end) {
  std::uint64_t is_object = 0;  // one bit per open level, 1 for '{'
  int depth = 0;
  while (p < end) {
    const char c = *p;
    if (c == '"') {
      bool escaped = false;
      p = find_string_end(p + 1, end, escaped);
      if (p == nullptr) return nullptr;
      ++p;
      continue;
    }
    if (c == '{' || c == '[') {
      if (depth == kMaxJsonDepth) return nullptr;
      is_object = (is_object << 1) | (c == '{' ? 1u : 0u);
      ++depth;
    } else if (c == '}' || c == ']') {
      if (depth == 0 || (is_object & 1u) != (c == '}' ? 1u : 0u)) return nullptr;
      is_object >>= 1;
      if (--depth == 0) return p + 1;
    }
    ++p;
  }
  return nullptr;
}

const char* skip_value(const char* p, const char* end) {
  switch (*p) {
    case '"': {
      bool escaped = false;
      const char* close = find_string_end(p + 1, end, escaped);
      return close == nullptr ? nullptr : close + 1;
    }
    case '{':
    case '[': return skip_container(p, end);
    case 't': return match_literal(p, end, "true", 4);
    case 'f': return match_literal(p, end, "false", 5);
    case 'n': return match_literal(p, end, "null", 4);
    default: {
      bool simple = false;
      return scan_number(p, end, simple);
    }
  }
}

// Reads one value the expression can hold. With out == nullptr it only validates (used for the
// items of an array when the array is first found). Returns the end, or nullptr when the value is
// malformed or is an object, or an array holding one, which the language has no value for.
const char* read_value(const char* p, const char* end, Value* out, Scratch& scratch, int depth) {
  switch (*p) {
    case '"': {
      const char* body = p + 1;
      bool escaped = false;
      const char* close = find_string_end(body, end, escaped);
      if (close == nullptr) return nullptr;
      if (!escaped) {
        if (out != nullptr) *out = Value::make_string(body, static_cast<std::size_t>(close - body));
        return close + 1;
      }
      if (out == nullptr) {
        char probe[8];
        for (const char* q = body; q < close; ++q) {
          if (*q != '\\') continue;
          const char* escape_end = q + (q[1] == 'u' ? 6 : 2);
          if (escape_end > close || decode_json_string(q, escape_end, probe) == nullptr) return nullptr;
          q = escape_end - 1;
        }
        return close + 1;
      }
      char* buffer = scratch.allocate(static_cast<std::size_t>(close - body));
      char* decoded_end = decode_json_string(body, close, buffer);
      if (decoded_end == nullptr) return nullptr;
      *out = Value::make_string(buffer, static_cast<std::size_t>(decoded_end - buffer));
      return close + 1;
    }
    case '[': {
      if (depth >= kMaxJsonDepth) return nullptr;
      const char* q = skip_space(p + 1, end);
      if (q < end && *q == ']') {
        if (out != nullptr) *out = Value::make_json_array(p, static_cast<std::size_t>(q + 1 - p));
        return q + 1;
      }
      while (true) {
        if (q == end) return nullptr;
        q = read_value(q, end, nullptr, scratch, depth + 1);
        if (q == nullptr) return nullptr;
        q = skip_space(q, end);
        if (q == end) return nullptr;
        if (*q == ']') break;
        if (*q != ',') return nullptr;
        q = skip_space(q + 1, end);
      }
      if (out != nullptr) *out = Value::make_json_array(p, static_cast<std::size_t>(q + 1 - p));
      return q + 1;
    }
    case 't': {
      const char* q = match_literal(p, end, "true", 4);
      if (q != nullptr && out != nullptr) *out = Value::make_number(1);
      return q;
    }
    case 'f': {
      const char* q = match_literal(p, end, "false", 5);
      if (q != nullptr && out != nullptr) *out = Value::make_number(0);
      return q;
    }
    case 'n': {
      const char* q = match_literal(p, end, "null", 4);
      if (q != nullptr && out != nullptr) *out = Value::make_null();
      return q;
    }
    default: {
      // Fast path, one pass: an integer of up to 15 digits is exact in a double.
      const char* q = p;
      const bool negative = *q == '-';
      if (negative) ++q;
      const char* digits = q;
      std::int64_t n = 0;
      while (q < end && is_digit(*q)) {
        if (q - digits < 15) n = n * 10 + (*q - '0');  // longer numbers take the slow path below
        ++q;
      }
      const std::ptrdiff_t count = q - digits;
      if (count > 0 && count <= 15 && (*digits != '0' || count == 1) &&
          (q == end || (*q != '.' && *q != 'e' && *q != 'E'))) {
        if (out != nullptr) *out = Value::make_number(negative ? -static_cast<double>(n) : static_cast<double>(n));
        return q;
      }
      bool simple = false;
      q = scan_number(p, end, simple);
      if (q != nullptr && out != nullptr) *out = Value::make_number(convert_number(p, q, simple));
      return q;
    }
  }
}

inline bool same_bytes(const char* a, const char* b, std::size_t size) {
  for (std::size_t i = 0; i < size; ++i) {
    if (a[i] != b[i]) return false;
  }
  return true;
}

// Index of the field named by the key [key, key + size), or -1. `end` bounds the readable text.
inline int match_field(const char* key, std::size_t size, bool escaped, const char* end,
                       const std::vector<FieldKey>& fields, Scratch& scratch) {
  if (fields.empty()) return -1;
  if (escaped) {
    char* buffer = scratch.allocate(size);
    char* decoded_end = decode_json_string(key, key + size, buffer);
    if (decoded_end == nullptr) return -1;
    key = buffer;
    size = static_cast<std::size_t>(decoded_end - buffer);
    end = decoded_end;
  }
  const std::size_t count = fields.size();
  if (std::endian::native == std::endian::little && end - key >= 8) {
    std::uint64_t word;
    std::memcpy(&word, key, sizeof word);
    for (std::size_t i = 0; i < count; ++i) {
      const FieldKey& f = fields[i];
      if (f.size == size && (word & f.mask) == f.head && (size <= 8 || same_bytes(f.name + 8, key + 8, size - 8))) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }
  for (std::size_t i = 0; i < count; ++i) {
    const FieldKey& f = fields[i];
    if (f.size == size && same_bytes(f.name, key, size)) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

void append_utf8(std::uint32_t code_point, char*& out) {
  if (code_point < 0x80) {
    *out++ = static_cast<char>(code_point);
  } else if (code_point < 0x800) {
    *out++ = static_cast<char>(0xc0 | (code_point >> 6));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3f));
  } else if (code_point < 0x10000) {
    *out++ = static_cast<char>(0xe0 | (code_point >> 12));
    *out++ = static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3f));
  } else {
    *out++ = static_cast<char>(0xf0 | (code_point >> 18));
    *out++ = static_cast<char>(0x80 | ((code_point >> 12) & 0x3f));
    *out++ = static_cast<char>(0x80 | ((code_point >> 6) & 0x3f));
    *out++ = static_cast<char>(0x80 | (code_point & 0x3f));
  }
}

double string_to_number(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end && (*p == ' ' || (*p >= '\t' && *p <= '\r'))) ++p;
  if (p < end && *p == '+') {
    ++p;
    if (p < end && *p == '-') return 0;
  }
  if (p == end) return 0;
  double value = 0;
  const auto result = std::from_chars(p, end, value);
  if (result.ptr != end) return 0;
  if (result.ec == std::errc::result_out_of_range) return convert_number(p, end, false);
  if (result.ec != std::errc()) return 0;
  return value;
}

FieldKey make_field_key(const std::string& name) {
  FieldKey key;
  key.size = static_cast<std::uint32_t>(name.size());
  key.name = name.data();
  const std::size_t head_size = std::min<std::size_t>(name.size(), 8);
  std::memcpy(&key.head, name.data(), head_size);
  std::memset(&key.mask, 0xff, head_size);
  return key;
}

bool extract_fields(std::string_view json, const std::vector<FieldKey>& fields, Value* slots, Scratch& scratch) {
  const char* p = json.data();
  const char* end = p + json.size();
  p = skip_space(p, end);
  if (p == end || *p != '{') return false;
  p = skip_space(p + 1, end);
  if (p == end) return false;
  std::uint64_t found = 0;
  std::size_t found_count = 0;
  if (*p != '}') {
    while (true) {
      if (*p != '"') return false;
      const char* key = p + 1;
      bool escaped = false;
      const char* key_end = find_string_end(key, end, escaped);
      if (key_end == nullptr) return false;
      p = skip_space(key_end + 1, end);
      if (p == end || *p != ':') return false;
      p = skip_space(p + 1, end);
      if (p == end) return false;
      const int slot = match_field(key, static_cast<std::size_t>(key_end - key), escaped, end, fields, scratch);
      if (slot >= 0 && (found & (std::uint64_t{1} << slot)) == 0) {
        p = read_value(p, end, &slots[slot], scratch, 0);
        found |= std::uint64_t{1} << slot;
        ++found_count;
      } else {
        p = skip_value(p, end);
      }
      if (p == nullptr) return false;
      p = skip_space(p, end);
      if (p == end) return false;
      if (*p == '}') break;
      if (*p != ',') return false;
      p = skip_space(p + 1, end);
      if (p == end) return false;
    }
  }
  p = skip_space(p + 1, end);
  return p == end && found_count == fields.size();
}

JsonArrayCursor::JsonArrayCursor(const Value& array) : p_(array.text + 1), end_(array.text + array.size) {}

bool JsonArrayCursor::next(Value& item, Scratch& scratch) {
  p_ = skip_space(p_, end_);
  if (p_ < end_ && *p_ == ',') p_ = skip_space(p_ + 1, end_);
  if (p_ >= end_ || *p_ == ']') return false;
  const char* after = read_value(p_, end_, &item, scratch, 1);
  if (after == nullptr) {
    p_ = end_;
    return false;
  }
  p_ = after;
  return true;
}

}  // namespace detail

namespace {

// The validating minifier behind normalize_attributes().
class AttributeNormalizer {
 public:
  explicit AttributeNormalizer(std::string_view text) : text_(text) {
    out_.reserve(text.size());
    keys_.reserve(8);
  }

  Expected<std::string> run() {
    skip_space();
    if (pos_ == text_.size()) return std::string();
    const char first = text_[pos_];
    if (!value(0)) return Status::bad_input("attributes: " + error_);
    if (first != '{') {
      return Status::bad_input(std::string("attributes: expected a JSON object, got ") + type_name(first));
    }
    skip_space();
    if (pos_ != text_.size()) {
      return Status::bad_input("attributes: column " + std::to_string(pos_ + 1) + ": unexpected " + describe() +
                               " after the JSON object");
    }
    std::sort(keys_.begin(), keys_.end());
    const auto duplicate = std::adjacent_find(keys_.begin(), keys_.end());
    if (duplicate != keys_.end()) {
      return Status::bad_input("attributes: duplicate key \"" + std::string(*duplicate) + "\"");
    }
    return std::move(out_);
  }

 private:
  static const char* type_name(char first) {
    switch (first) {
      case '[': return "array";
      case '"': return "string";
      case 't':
      case 'f': return "boolean";
      case 'n': return "null";
      default: return "number";
    }
  }

  bool fail(const std::string& message) {
    error_ = "column " + std::to_string(pos_ + 1) + ": " + message;
    return false;
  }

  std::string describe() const {
    if (pos_ >= text_.size()) return "end of input";
    const auto byte = static_cast<unsigned char>(text_[pos_]);
    if (byte >= 0x20 && byte < 0x7f) return std::string("'") + text_[pos_] + "'";
    return "byte 0x" + std::string(1, "0123456789abcdef"[byte >> 4]) + "0123456789abcdef"[byte & 15];
  }

  void skip_space() {
    while (pos_ < text_.size() && detail::is_json_space(text_[pos_])) ++pos_;
  }

  bool value(int depth) {
    skip_space();
    if (pos_ == text_.size()) return fail("expected a JSON value, got end of input");
    switch (text_[pos_]) {
      case '{': return object(depth);
      case '[': return array(depth);
      case '"': return string(nullptr);
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return number();
    }
  }

  bool object(int depth) {
    if (depth == detail::kMaxJsonDepth) {
      return fail("attributes nest deeper than " + std::to_string(detail::kMaxJsonDepth) + " levels");
    }
    out_.push_back('{');
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == '}') {
      out_.push_back('}');
      ++pos_;
      return true;
    }
    while (true) {
      skip_space();
      if (pos_ == text_.size() || text_[pos_] != '"') return fail("expected a string key, got " + describe());
      std::string_view key;
      if (!string(depth == 0 ? &key : nullptr)) return false;
      if (depth == 0) keys_.push_back(key);
      skip_space();
      if (pos_ == text_.size() || text_[pos_] != ':') return fail("expected ':' after the key, got " + describe());
      out_.push_back(':');
      ++pos_;
      if (!value(depth + 1)) return false;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        out_.push_back(',');
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == '}') {
        out_.push_back('}');
        ++pos_;
        return true;
      }
      return fail("expected ',' or '}' after a value, got " + describe());
    }
  }

  bool array(int depth) {
    if (depth == detail::kMaxJsonDepth) {
      return fail("attributes nest deeper than " + std::to_string(detail::kMaxJsonDepth) + " levels");
    }
    out_.push_back('[');
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == ']') {
      out_.push_back(']');
      ++pos_;
      return true;
    }
    while (true) {
      if (!value(depth + 1)) return false;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        out_.push_back(',');
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == ']') {
        out_.push_back(']');
        ++pos_;
        return true;
      }
      return fail("expected ',' or ']' after a value, got " + describe());
    }
  }

  // Validates a string (escapes, control characters, UTF-8) and copies it as written.
  // decoded_key (top-level keys): the key's text, a view of the input unless it has escapes
  // (then of a decoded copy kept in decoded_keys_).
  bool string(std::string_view* decoded_key) {
    const std::size_t start = pos_;
    ++pos_;
    bool escaped = false;
    while (true) {
      // Printable ASCII without quote or backslash, the bulk of any string, in one tight loop.
      while (pos_ < text_.size()) {
        const auto c = static_cast<unsigned char>(text_[pos_]);
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') break;
        ++pos_;
      }
      if (pos_ >= text_.size()) {
        pos_ = start;
        return fail("unterminated string");
      }
      const auto c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') break;
      if (c < 0x20) return fail("control character in a string (write it as an escape such as \\n or \\u0001)");
      if (c == '\\') {
        escaped = true;
        if (pos_ + 1 >= text_.size()) {
          pos_ = start;
          return fail("unterminated string");
        }
        const char e = text_[pos_ + 1];
        if (e == 'u') {
          std::uint32_t code = 0;
          if (!detail::read_hex4(text_.data() + pos_ + 2, text_.data() + text_.size(), code)) {
            return fail("expected 4 hex digits after '\\u'");
          }
          pos_ += 6;
          continue;
        }
        if (std::strchr("\"\\/bfnrt", e) == nullptr || e == '\0') {
          return fail(std::string("invalid escape '\\") + e + "'");
        }
        pos_ += 2;
        continue;
      }
      if (c < 0x80) {
        ++pos_;
        continue;
      }
      if (!utf8_sequence()) return fail("invalid UTF-8 in a string");
    }
    ++pos_;
    out_.append(text_.data() + start, pos_ - start);
    if (decoded_key != nullptr) {
      const char* body = text_.data() + start + 1;
      const std::size_t size = pos_ - start - 2;
      if (!escaped) {
        *decoded_key = std::string_view(body, size);
      } else {
        std::string& decoded = decoded_keys_.emplace_front(size, '\0');
        char* end = detail::decode_json_string(body, body + size, decoded.data());
        decoded.resize(static_cast<std::size_t>(end - decoded.data()));
        *decoded_key = decoded;
      }
    }
    return true;
  }

  // Consumes one multi-byte UTF-8 sequence at pos_ (RFC 3629: no overlong forms, no surrogates).
  bool utf8_sequence() {
    const auto at = [this](std::size_t i) -> unsigned {
      return pos_ + i < text_.size() ? static_cast<unsigned char>(text_[pos_ + i]) : 0u;
    };
    const unsigned lead = at(0);
    std::size_t length = 0;
    unsigned low = 0x80;
    unsigned high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) {
      length = 2;
    } else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3;
      if (lead == 0xe0) low = 0xa0;
      if (lead == 0xed) high = 0x9f;
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4;
      if (lead == 0xf0) low = 0x90;
      if (lead == 0xf4) high = 0x8f;
    } else {
      return false;
    }
    if (at(1) < low || at(1) > high) return false;
    for (std::size_t i = 2; i < length; ++i) {
      if (at(i) < 0x80 || at(i) > 0xbf) return false;
    }
    pos_ += length;
    return true;
  }

  bool number() {
    const char* begin = text_.data() + pos_;
    const char* end = text_.data() + text_.size();
    bool simple = false;
    const char* after = detail::scan_number(begin, end, simple);
    if (after == nullptr) {
      if (begin < end && (*begin == '-' || detail::is_digit(*begin))) return fail("invalid number");
      return fail("expected a JSON value, got " + describe());
    }
    out_.append(begin, after);
    pos_ += static_cast<std::size_t>(after - begin);
    return true;
  }

  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail("expected a JSON value, got " + describe());
    out_.append(word);
    pos_ += word.size();
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string out_;
  std::string error_;
  std::vector<std::string_view> keys_;    // the top-level keys, to find duplicates
  std::forward_list<std::string> decoded_keys_;  // those with escapes, decoded (list nodes never move)
};

}  // namespace

Expected<std::string> normalize_attributes(std::string_view json) { return AttributeNormalizer(json).run(); }

}  // namespace semcache
