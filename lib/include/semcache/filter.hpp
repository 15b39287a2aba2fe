#pragma once
// Filter expressions over element attributes, in the syntax and semantics of the FILTER option of
// Redis 8 vector sets (VSIM ... FILTER '.year > 1950 and .genre == "drama"').
//
// An element's attributes are a JSON object; `.name` selects one of its top-level fields. The full
// grammar, the precedence table and the places where semcache differs from Redis are described at
// the top of lib/src/vector/filter_parse.cpp. In short:
//   values       .field  123  -4.5e3  "str"  'str'  true  false  null  [1, "a", null]
//   operators    ( )   ! not   **   * / %   + -   > >= < <= == != in   and &&   or ||
//   booleans     are numbers: true is 1, false is 0; comparisons and logic yield 1 or 0
//   `a in b`     membership when b is an array, substring when a and b are both strings
// An element does not match when its attributes are empty or not a JSON object, or when any field
// the expression names is missing or holds a value the language cannot represent (an object).

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/status.hpp"

namespace semcache {

namespace detail {
struct FilterProgram;
}  // namespace detail

class Filter {
 public:
  // Parses an expression; a syntax error is Status::bad_input with the column and what was expected, e.g.
  //   filter: column 14: expected a value after 'and', got end of expression
  //   filter: column 1: unknown operator '=' (did you mean '=='?)
  static Expected<Filter> parse(std::string_view expression);

  // True when the element's attributes (a JSON object text, possibly empty) satisfy the expression.
  // Thread-safe (const, no shared mutable state) and allocation-free unless the fields it reads
  // hold long strings with escapes: this is called per visited node during HNSW search.
  bool matches(std::string_view attributes_json) const;

  // The expression as given to parse().
  const std::string& expression() const;

  // The distinct top-level fields the expression reads, in order of first appearance.
  const std::vector<std::string>& fields() const;

  // Copies share one immutable compiled program: copying costs one reference-count increment.
  Filter(const Filter&) = default;
  Filter(Filter&&) noexcept = default;
  Filter& operator=(const Filter&) = default;
  Filter& operator=(Filter&&) noexcept = default;
  ~Filter() = default;

 private:
  explicit Filter(std::shared_ptr<const detail::FilterProgram> program);
  std::shared_ptr<const detail::FilterProgram> program_;
};

// Validates and minifies element attributes: must be a JSON object (or empty -> no attributes).
// Whitespace outside strings is removed; strings and numbers are kept byte for byte. Rejected:
// invalid JSON or UTF-8, nesting deeper than 64 levels, and duplicate top-level keys.
// Errors: Status::bad_input("attributes: expected a JSON object, got array"),
//         Status::bad_input("attributes: column 9: expected ',' or '}' after a value, got ']'").
Expected<std::string> normalize_attributes(std::string_view json);

}  // namespace semcache
