// Fuzz target: filter expressions and element attributes (lib/src/vector/filter*.cpp):
// Filter::parse(), Filter::matches() and normalize_attributes().
//
// Input: EXPRESSION, optionally followed by a NUL byte and ATTRIBUTES (JSON text). The
// expression is evaluated against a fixed set of attribute objects and against ATTRIBUTES.
//
// Invariants:
//   - a parsed expression re-parses from expression() with the same fields, and its fields
//     are distinct; a parse error is "filter: ..." ;
//   - matches() gives the same answer twice, and the same answer on attributes as given and
//     after normalize_attributes() (the scanner that filters at search time and the strict
//     minifier that runs at insert time must read one object the same way);
//   - an expression and `not (expression)` never both match the same attributes;
//   - normalize_attributes() is idempotent, leaves no white space outside strings, agrees with
//     simdjson (the minified DOMs of its input and output are equal; simdjson refuses one
//     exactly when it refuses the other), and accepts every object simdjson accepts that has
//     distinct top-level keys and is not nested too deeply.

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "semcache/filter.hpp"

namespace {

using semcache::fuzz::printable;

constexpr std::array<std::string_view, 8> kAttributes = {
    R"({"year":1980,"genre":"drama","rating":7.5,"tags":["a","b",3],"name":"x\u00e9y","n":null,"ok":true})",
    R"({"year": "1999", "genre": "comedy", "rating": -0.5e1, "tags": [], "ok": false, "a-b": 1})",
    R"({"x":1,"y":2,"z":"1","s":"substring","t":"sub","list":[1,2.0,"2",null,true]})",
    R"({"nested":{"year":1},"year":[1980],"genre":{"a":"b"}})",
    R"({"big":1e308,"small":-1e-308,"neg":-0,"i":9007199254740993,"e":"","q":"\"quoted\\"})",
    R"({})",
    R"([1,2,3])",
    R"({"year":1980,"genre":"drama")",
};

// Not simdjson's own depth: nesting counted by brackets, to keep well away from the limit.
std::size_t depth_of(simdjson::dom::element element) {
  std::size_t deepest = 0;
  if (simdjson::dom::array array; element.get_array().get(array) == simdjson::SUCCESS) {
    for (simdjson::dom::element child : array) deepest = std::max(deepest, depth_of(child));
    return deepest + 1;
  }
  if (simdjson::dom::object object; element.get_object().get(object) == simdjson::SUCCESS) {
    for (simdjson::dom::key_value_pair field : object) deepest = std::max(deepest, depth_of(field.value));
    return deepest + 1;
  }
  return 0;
}

bool whitespace_outside_strings(std::string_view json) {
  bool in_string = false;
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      return true;
    }
  }
  return false;
}

void check_attributes(std::string_view text) {
  const auto normalized = semcache::normalize_attributes(text);
  simdjson::dom::parser parser;
  simdjson::dom::element input_root;
  const simdjson::error_code input_error = parser.parse(text.data(), text.size()).get(input_root);

  if (!normalized) {
    FUZZ_CHECK(normalized.status().message().starts_with("attributes: "), normalized.status().message());
    simdjson::dom::object object;
    if (input_error != simdjson::SUCCESS || input_root.get_object().get(object) != simdjson::SUCCESS) return;
    std::set<std::string_view> keys;
    for (simdjson::dom::key_value_pair field : object) {
      if (!keys.insert(field.key).second) return;  // duplicate keys are refused on purpose
    }
    if (depth_of(input_root) > 60) return;
    FUZZ_CHECK(false, "normalize_attributes() refuses an object simdjson accepts: " + normalized.status().message() +
                          "\n  input: '" + printable(text) + "'");
  }

  const std::string& out = *normalized;
  FUZZ_CHECK(!whitespace_outside_strings(out), "white space left outside strings: '" + printable(out) + "'");
  const auto twice = semcache::normalize_attributes(out);
  FUZZ_CHECK(twice && *twice == out, "normalize_attributes() is not idempotent on '" + printable(out) + "'");
  if (out.empty()) return;
  FUZZ_CHECK(out.front() == '{' && out.back() == '}', "not an object: '" + printable(out) + "'");

  const std::string input_minified = input_error == simdjson::SUCCESS ? simdjson::minify(input_root) : std::string();
  simdjson::dom::parser parser2;
  simdjson::dom::element output_root;
  const simdjson::error_code output_error = parser2.parse(out.data(), out.size()).get(output_root);
  FUZZ_CHECK((input_error == simdjson::SUCCESS) == (output_error == simdjson::SUCCESS),
             std::string("simdjson reads input and output differently: ") + simdjson::error_message(input_error) +
                 " vs " + simdjson::error_message(output_error) + "\n  input: '" + printable(text) + "'");
  if (output_error == simdjson::SUCCESS) {
    FUZZ_CHECK(simdjson::minify(output_root) == input_minified, "normalisation changed the JSON value of '" +
                                                                    printable(text) + "' into '" + printable(out) + "'");
  }
}

void check_filter(std::string_view expression, std::string_view attributes, bool has_attributes) {
  const auto parsed = semcache::Filter::parse(expression);
  if (!parsed) {
    FUZZ_CHECK(parsed.status().message().starts_with("filter: "), parsed.status().message());
    return;
  }
  const semcache::Filter& filter = *parsed;
  const std::set<std::string> distinct(filter.fields().begin(), filter.fields().end());
  FUZZ_CHECK(distinct.size() == filter.fields().size(), "fields() repeats a field of '" + printable(expression) + "'");
  const auto again = semcache::Filter::parse(filter.expression());
  FUZZ_CHECK(again && again->fields() == filter.fields(), "expression() does not re-parse the same: '" + printable(expression) + "'");

  const auto negated = semcache::Filter::parse("not (" + std::string(expression) + ")");
  auto check_on = [&](std::string_view json) {
    const bool match = filter.matches(json);
    FUZZ_CHECK(filter.matches(json) == match, "matches() changed its mind");
    FUZZ_CHECK(!(negated && match && negated->matches(json)),
               "'" + printable(expression) + "' and its negation both match '" + printable(json) + "'");
    if (auto normalized = semcache::normalize_attributes(json)) {
      FUZZ_CHECK(filter.matches(*normalized) == match, "'" + printable(expression) + "' gives " + (match ? "true" : "false") +
                                                           " on '" + printable(json) + "' but not on its normalised form '" +
                                                           printable(*normalized) + "'");
    }
  };
  for (std::string_view json : kAttributes) check_on(json);
  if (has_attributes) check_on(attributes);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input = semcache::fuzz::as_text(data, size);
  const std::size_t split = input.find('\0');
  const std::string_view expression = input.substr(0, split);
  const bool has_attributes = split != std::string_view::npos;
  const std::string_view attributes = has_attributes ? input.substr(split + 1) : std::string_view();
  if (has_attributes) check_attributes(attributes);
  check_filter(expression, attributes, has_attributes);
  return 0;
}
