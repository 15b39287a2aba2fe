// Tests for semcache/filter.hpp: the FILTER expression language of Redis vector sets.
//
// The tables replay the cases of Redis's own tests (modules/vector-sets/tests/filter_*.py) and the
// examples of its documentation, then pin precedence, type mixing and the handling of missing
// fields and malformed attributes. A randomized test checks the filter against an independent
// oracle written here for a subset of the language, and a fuzz-style test feeds random token soup
// and damaged JSON to make sure nothing crashes and every error names a column.

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "semcache/filter.hpp"
#include "vector/filter_internal.hpp"

namespace {

using semcache::ErrorCode;
using semcache::Filter;
using semcache::normalize_attributes;

Filter must_parse(const std::string& expression) {
  auto filter = Filter::parse(expression);
  INFO("expression: " << expression << "\nerror: " << filter.status().message());
  REQUIRE(filter.has_value());
  return std::move(filter).value();
}

bool eval(const std::string& expression, const std::string& attributes) {
  return must_parse(expression).matches(attributes);
}

struct Case {
  std::string expression;
  std::string attributes;
  bool expected;
};

void check_cases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO("expression: " << c.expression << "\nattributes: " << c.attributes);
    CHECK(eval(c.expression, c.attributes) == c.expected);
  }
}

// A set of elements and, per expression, which of them match (as Redis's tests count results).
struct SetCase {
  const char* expression;
  std::vector<int> matching;  // 1-based element numbers
};

void check_set(const std::vector<std::string>& elements, const std::vector<SetCase>& cases) {
  for (const SetCase& c : cases) {
    const Filter filter = must_parse(c.expression);
    std::vector<int> got;
    for (std::size_t i = 0; i < elements.size(); ++i) {
      if (filter.matches(elements[i])) got.push_back(static_cast<int>(i + 1));
    }
    INFO("expression: " << c.expression);
    CHECK(got == c.matching);
  }
}

}  // namespace

TEST_CASE("filter: the examples of the Redis documentation", "[filter]") {
  check_cases({
      {".year >= 1980 and .year < 1990", R"({"year": 1984})", true},
      {".year >= 1980 and .year < 1990", R"({"year": 1990})", false},
      {".genre == \"action\" and .rating > 8.0", R"({"genre": "action", "rating": 8.5})", true},
      {".genre == \"action\" and .rating > 8.0", R"({"genre": "action", "rating": 8.0})", false},
      {".genre == \"action\" and .rating > 8.0", R"({"genre": "drama", "rating": 9})", false},
      {".director in [\"Spielberg\", \"Nolan\"]", R"({"director": "Nolan"})", true},
      {".director in [\"Spielberg\", \"Nolan\"]", R"({"director": "Kubrick"})", false},
      {"(.year - 2000) ** 2 < 100 and .rating / 2 > 4", R"({"year": 2008, "rating": 9.0})", true},
      {"(.year - 2000) ** 2 < 100 and .rating / 2 > 4", R"({"year": 1990, "rating": 9.0})", false},
      {"(.year - 2000) ** 2 < 100 and .rating / 2 > 4", R"({"year": 2008, "rating": 8.0})", false},
      {".year > 1950", R"({"year": 1960})", true},
      {".year > 1950", R"({"year": 1950})", false},
      {"(5+2)*3 and .year > 1980 and 'foo' == 'foo'", R"({"year": 1984, "name": "The Matrix"})", true},
  });
}

TEST_CASE("filter: Redis tests/filter_expr.py", "[filter]") {
  const std::vector<std::string> items = {
      R"({"age": 25, "name": "Alice", "active": true, "scores": [85, 90, 95], "city": "New York"})",
      R"({"age": 30, "name": "Bob", "active": false, "scores": [70, 75, 80], "city": "Boston"})",
      R"({"age": 35, "name": "Charlie", "scores": [60, 65, 70], "city": "Seattle"})",
      "",              // no attributes at all
      "invalid json",  // malformed
  };
  check_set(items, {
                       {".age == 25", {1}},
                       {".age > 25", {2, 3}},
                       {".age <= 30", {1, 2}},
                       {".name == \"Alice\"", {1}},
                       {".name != \"Alice\"", {2, 3}},
                       {".active", {1}},
                       {".age > 20 and .age < 30", {1}},
                       {".age < 30 or .age > 35", {1}},
                       {"!(.age == 25)", {2, 3}},
                       {".age in [25, 35]", {1, 3}},
                       {".name in [\"Alice\", \"David\"]", {1}},
                       {"\"lic\" in .name", {1}},
                       {"\"ork\" in .city", {1}},
                       {"\"xyz\" in .name", {}},
                       {"\"Ali\" in .name", {1}},
                       {"\"ice\" in .name", {1}},
                       {"\"Alice\" in .name", {1}},
                       {"\"A\" in .name", {1}},
                       {"\"\" in .name", {1, 2, 3}},
                       {".name in \"\"", {}},
                       {"\"\" in .name && \"\" in \"\"", {1, 2, 3}},
                       {".age + 10 > 40", {3}},
                       {".age * 2 > 60", {3}},
                       {".age / 5 == 5", {1}},
                       {".age % 2 == 0", {2}},
                       {".age ** 2 > 900", {3}},
                       {".missing_field == \"value\"", {}},
                       {".any_field", {}},
                       {"(.age > 20 and .age < 40) and (.city == \"Boston\" or .city == \"New York\")", {1, 2}},
                       {".age > (20 + 10)", {3}},
                       {".scores", {1, 2, 3}},
                       {"90 in .scores", {1}},
                       {"1", {1, 2, 3}},  // a constant still needs a JSON object
                   });
}

TEST_CASE("filter: Redis tests/filter_double_not.py", "[filter]") {
  const std::vector<std::string> items = {R"({"active": true, "n": 5})", R"({"active": false, "n": 0})"};
  check_set(items, {
                       {"!!.active", {1}},
                       {"not not .active", {1}},
                       {"!!!.active", {2}},
                       {"!!.n == 1", {1}},
                       {"!.active or !!.active", {1, 2}},
                       {".n > 1 and not not .active", {1}},
                   });
}

TEST_CASE("filter: Redis tests/filter_string_escape.py", "[filter]") {
  const std::vector<std::string> items = {
      R"({"dq": "a\"b", "sq": "O'Brien", "bs": "x\\y", "nl": "l1\nl2"})",
      R"({"dq": "ab", "sq": "OBrien", "bs": "xy", "nl": "l1l2"})",
  };
  check_set(items, {
                       {R"(.dq == "a\"b")", {1}},
                       {R"(.sq == 'O\'Brien')", {1}},
                       {R"(.bs == "x\\y")", {1}},
                       {R"(.nl == "l1\nl2")", {1}},
                       {R"("\"b" in .dq)", {1}},
                       {R"(.dq in ["zzz", "a\"b"])", {1}},
                       {R"('a"b' == .dq)", {1}},
                       {R"(.sq == "O'Brien")", {1}},
                   });
}

TEST_CASE("filter: precedence and associativity follow Redis", "[filter]") {
  check_cases({
      {"1 + 2 * 3 == 7", "{}", true},
      {"(1 + 2) * 3 == 9", "{}", true},
      {"2 * 3 ** 2 == 18", "{}", true},
      {"2 ** 3 ** 2 == 512", "{}", true},  // ** is right-associative
      {"(2 ** 3) ** 2 == 64", "{}", true},
      {"-2 ** 2 == 4", "{}", true},  // the sign belongs to the literal, as in Redis
      {"2 ** -1 == 0.5", "{}", true},
      {"10 - 2 - 3 == 5", "{}", true},
      {"12 / 2 / 3 == 2", "{}", true},
      {"7 % 4 == 3", "{}", true},
      {"-7 % 4 == -3", "{}", true},  // fmod keeps the sign of the dividend
      {"5 -1 == 4", "{}", true},     // after a value '-' is the operator
      {"5--3 == 8", "{}", true},
      {"1 or 0 and 0", "{}", true},  // and binds tighter than or
      {"(1 or 0) and 0", "{}", false},
      {"0 and 1 or 1", "{}", true},
      {"1 && 0 || 1", "{}", true},
      {"1 < 2 < 3", "{}", true},  // (1 < 2) < 3
      {"3 > 2 > 1", "{}", false},  // (3 > 2) > 1 is 1 > 1
      {"1 + 1 in [2]", "{}", true},
      {"1 == 1 in [1]", "{}", true},  // (1 == 1) in [1]
      {"!0 + 1 == 2", "{}", true},    // ! binds tighter than +
      {"!2 ** 2 == 0", "{}", true},   // (!2) ** 2
      {"not 0 == 1", "{}", true},     // (not 0) == 1
      {"not 1 == 1", "{}", false},
      {"not (1 == 2)", "{}", true},
      {".x -1 == 1", R"({"x": 2})", true},
      {".year > 1950 == 1", R"({"year": 1980})", true},
      // The trap Redis users meet: `not` applies to the field, not to the comparison.
      {"not .x == 1", R"({"x": 1})", false},
      {"not .x == 1", R"({"x": 0})", true},
      {"not (.x == 1)", R"({"x": 0})", true},
  });
}

TEST_CASE("filter: in, with arrays and strings", "[filter]") {
  const char* doc = R"({"tags": ["new", "sale"], "scores": [85, 90], "m": [[1, 2], 3], "e": [], "n": null,
                        "name": "Alice", "obj_in_array": [{"a": 1}]})";
  check_cases({
      {"\"sale\" in .tags", doc, true},
      {"\"old\" in .tags", doc, false},
      {"90 in .scores", doc, true},
      {"91 in .scores", doc, false},
      {"\"90\" in .scores", doc, true},  // mixed types compare as numbers
      {"3 in .m", doc, true},
      {"2 in .m", doc, false},  // nested arrays are items, not flattened
      {"1 in .e", doc, false},
      {".e", doc, true},  // every array is true
      {"null in [null]", doc, true},
      {".n in [1, null]", doc, true},
      {".name in [\"Bob\", \"Alice\"]", doc, true},
      {"\"lic\" in .name", doc, true},
      {"1 in \"1\"", doc, false},  // substring needs two strings
      {"\"a\" in 5", doc, false},
      {"\"ell\" in \"hello\"", doc, true},
      {"\"x\" in []", doc, false},
      {"[1, 2]", doc, true},
      {"[]", doc, true},
      // Redis compares an array with a non-array as numbers, and an array counts as 0.
      {".tags in [\"x\"]", doc, true},
      {".tags == 0", doc, true},
      // An array holding an object cannot be represented: the element never matches.
      {"1 in .obj_in_array", doc, false},
      {".obj_in_array or 1", doc, false},
  });
}

TEST_CASE("filter: type mixing, booleans and null follow Redis", "[filter]") {
  const char* doc = R"({"name": "Alice", "year": 1980, "s": "1980", "e": "", "z": null, "b": true, "f": false})";
  check_cases({
      {".name == 0", doc, true},  // a non-numeric string converts to 0
      {".name > 0", doc, false},
      {".name < 1", doc, true},
      {".year == \"1980\"", doc, true},
      {".s == 1980", doc, true},
      {".s > 1000", doc, true},
      {".s + 1 == 1981", doc, true},
      {".s == \"1980\"", doc, true},
      {".s == \"1980.0\"", doc, false},  // two strings compare as bytes
      {"\"b\" > \"a\"", doc, false},     // ordering is numeric only: both are 0
      {".z == null", doc, true},
      {".z != null", doc, false},
      {".z == 0", doc, false},  // null equals only null
      {".z < 1", doc, true},    // but orders as 0
      {".z", doc, false},
      {"!.z", doc, true},
      {".b", doc, true},
      {".b == true", doc, true},
      {".b == 1", doc, true},
      {".b + .b == 2", doc, true},
      {".f == false", doc, true},
      {".f", doc, false},
      {".e", doc, false},  // empty string is false
      {".name", doc, true},
      {"true", doc, true},
      {"false", doc, false},
      {"null", doc, false},
      {"'' == \"\"", doc, true},
  });
}

TEST_CASE("filter: numbers", "[filter]") {
  check_cases({
      {"1e3 == 1000", "{}", true},
      {"1.5e-3 < 0.01", "{}", true},
      {"2.5E+2 == 250", "{}", true},
      {".x == -150", R"({"x": -1.5e2})", true},
      {".x == 0.1", R"({"x": 0.1})", true},
      {".x == 7.5", R"({"x": 7.50})", true},
      {".id == 12345678901234567", R"({"id": 12345678901234567})", true},
      {".id > 9007199254740992", R"({"id": 1e300})", true},
      {".x / 0 > 1e308", R"({"x": 1})", true},
      {".x > 1e308", R"({"x": 1e999})", true},  // beyond double range: infinity, as strtod
      {".x == 0", R"({"x": 1e-999})", true},
      {".x % 0", R"({"x": 1})", true},  // NaN is not 0, so it is true (as in Redis)
      {".x == .x", R"({"x": -0})", true},
  });
}

TEST_CASE("filter: field names and keys", "[filter]") {
  check_cases({
      {".release-date == 2020", R"({"release-date": 2020})", true},
      {".a_b == 1", R"({"a_b": 1})", true},
      {".2x == 1", R"({"2x": 1})", true},
      {".year-1 > 0", R"({"year": 1980})", false},  // '.year-1' names the field "year-1"
      {".year - 1 == 1979", R"({"year": 1980})", true},
      {".year == 1980", R"({"ye\u0061r": 1980})", true},  // keys compare after unescaping
      {".year == 1", R"({"year": 1, "year": 2})", true},   // first occurrence wins
      {".Year == 1", R"({"year": 1})", false},            // case-sensitive
  });
}

TEST_CASE("filter: missing fields and malformed attributes never match", "[filter]") {
  const char* alice = R"({"age": 25, "name": "Alice"})";
  check_cases({
      {".age == 25 or .missing", alice, false},  // every field is read first, as in Redis
      {"not .missing", alice, false},
      {".missing == null", alice, false},
      {".age == 25", "", false},
      {".age == 25", "   ", false},
      {".age == 25", "invalid json", false},
      {".age == 25", "[1, 2]", false},
      {".age == 25", "\"str\"", false},
      {".age == 25", "42", false},
      {".age == 25", "null", false},
      {".age == 25", R"({"age": 25)", false},
      {".age == 25", R"({"age": 25,})", false},
      {".age == 25", R"({"age": 25} x)", false},
      {".age == 25", R"({"age": 25}})", false},
      {".age == 25", R"({"age" 25})", false},
      {".age == 25", R"({age: 25})", false},
      {".age == 25", R"({"age": 25x})", false},
      {".age == 25", R"({"age": +25})", false},
      {".age == 25", R"({"a": {"b": [1, 2}, "age": 25})", false},  // broken value we skip
      {".age == 25", R"({"a": "unterminated, "age": 25})", false},
      {".age == 25", "  {\"age\" : 25 }\n", true},
      {".age == 25", "{\"age\":25,\"x\":{\"y\":[1,{\"z\":\"}\"}]}}", true},
      {"1", "", false},
      {"1", "{}", true},
      {"1", "invalid", false},
      {"0", "{}", false},
  });
}

TEST_CASE("filter: nested objects are skipped, and cannot be read", "[filter]") {
  const char* doc = R"({"movie": {"genre": "drama", "year": 1980}, "year": 1980})";
  check_cases({
      {".year == 1980", doc, true},
      {".movie", doc, false},
      {".movie or .year", doc, false},
      {".movie == 0", doc, false},
  });
  const auto nested = Filter::parse(".movie.genre == \"drama\"");
  REQUIRE_FALSE(nested.has_value());
  CHECK(nested.status().message() ==
        "filter: column 1: nested fields are not supported: '.movie.genre' (only top-level fields such as "
        "'.movie' can be selected)");
}

TEST_CASE("filter: string escapes in attributes and expressions", "[filter]") {
  check_cases({
      {".s == \"caf\u00e9\"", R"({"s": "caf\u00e9"})", true},  // JSON escape vs raw UTF-8
      {R"(.s == "caf\u00e9")", R"({"s": "café"})", true},     // expression escape vs raw UTF-8
      {R"(.s == "caf\u00E9")", R"({"s": "caf\u00e9"})", true},
      {".e == \"\xF0\x9F\x98\x80\"", R"({"e": "\ud83d\ude00"})", true},  // surrogate pair
      {R"(.e == "\ud83d\ude00")", "{\"e\": \"\xF0\x9F\x98\x80\"}", true},
      {R"(.t == "a\tb\/c")", R"({"t": "a\tb/c"})", true},
      {R"(.q == 'it\'s')", R"({"q": "it's"})", true},
      {R"("\\" in .p)", R"({"p": "C:\\dir"})", true},
      {R"(.bad == "x")", R"({"bad": "\x"})", false},  // invalid escape in a field we read
      {R"(.ok == 1)", R"({"bad": "\x", "ok": 1})", true},
      {R"(.s == "a\"b")", R"({"s": "a\"b"})", true},
      {".long == \"" + std::string(600, 'x') + "\\n\"",
       "{\"long\": \"" + std::string(600, 'x') + "\\n\"}", true},  // beyond the inline scratch
  });
}

TEST_CASE("filter: syntax errors are bad_input with a column", "[filter]") {
  struct ErrorCase {
    std::string expression;
    std::string message;  // the whole message after "filter: "
  };
  const std::vector<ErrorCase> cases = {
      {"", "column 1: expected a value, got end of expression"},
      {"   ", "column 4: expected a value, got end of expression"},
      {".year > 1 and", "column 14: expected a value after 'and', got end of expression"},
      {"= 5", "column 1: unknown operator '=' (did you mean '=='?)"},
      {".a = 5", "column 4: unknown operator '=' (did you mean '=='?)"},
      {".a & .b", "column 4: unknown operator '&' (did you mean '&&'?)"},
      {".a | .b", "column 4: unknown operator '|' (did you mean '||'?)"},
      {".a ^ 2", "column 4: unknown operator '^' (powers are written '**')"},
      {"(.a > 1", "column 8: expected ')' to close the '(' at column 1, got end of expression"},
      {".a > 1)", "column 7: unexpected ')' without a matching '('"},
      {"()", "column 2: expected a value after '(', got ')'"},
      {"\"abc", "column 1: unterminated string"},
      {".a == 'x", "column 7: unterminated string"},
      {R"(.a == "x\q")", "column 9: unknown escape '\\q' in string (known: \\\" \\' \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)"},
      {R"("\u12")", "column 2: expected 4 hex digits after '\\u'"},
      {R"("\ud800")", "column 2: unpaired surrogate '\\ud800'"},
      {".", "column 1: expected a field name after '.' (fields are written .name with letters, digits, '_' or '-')"},
      {".a > .", "column 6: expected a field name after '.' (fields are written .name with letters, digits, '_' or '-')"},
      {".a .b", "column 4: expected an operator or end of expression, got '.b'"},
      {"1 2 +", "column 3: expected an operator or end of expression, got '2'"},
      {".x not in [1]",
       "column 4: expected an operator or end of expression, got 'not' ('not' is a prefix operator: write 'not (.a in "
       "[1, 2])')"},
      {"year > 1", "column 1: unknown word 'year' (fields start with a dot, as in '.year'; strings are quoted)"},
      {".a AND .b", "column 4: unknown word 'AND' (keywords are lowercase: 'and')"},
      {"notnull", "column 1: unknown word 'notnull' (fields start with a dot, as in '.notnull'; strings are quoted)"},
      {"[1, .a]", "column 5: expected a number, string, true, false or null in the array, got '.a'"},
      {"[1 2]", "column 4: expected ',' or ']' in the array opened at column 1, got '2'"},
      {"[1, 2", "column 6: expected ']' to close the '[' at column 1, got end of expression"},
      {"[[1]]", "column 2: nested arrays are not supported in expressions"},
      {"1e", "column 1: invalid number '1e'"},
      {"2else", "column 1: invalid number '2else'"},
      {"1e999", "column 1: number out of range '1e999'"},
      {".a > -", "column 6: expected a value after '>', got '-' (a minus sign only negates a number literal: write 0 - x)"},
      {"- .a", "column 1: expected a value, got '-' (a minus sign only negates a number literal: write 0 - x)"},
      {".a * * 2", "column 6: expected a value after '*', got '*'"},
      {"1 +", "column 4: expected a value after '+', got end of expression"},
      {"* 2", "column 1: expected a value, got '*'"},
      {"!", "column 2: expected a value after '!', got end of expression"},
      {"not", "column 4: expected a value after 'not', got end of expression"},
      {".a == 1 and or .b", "column 13: expected a value after 'and', got 'or'"},
      {"@", "column 1: unexpected character '@'"},
      {".a == 1 # comment", "column 9: unexpected character '#'"},
      {"\x01", "column 1: unexpected character byte 0x01"},
      {"(1, 2)", "column 3: expected ')' to close the '(' at column 1, got ','"},
  };
  for (const ErrorCase& c : cases) {
    const auto filter = Filter::parse(c.expression);
    INFO("expression: " << c.expression);
    REQUIRE_FALSE(filter.has_value());
    CHECK(filter.status().code() == ErrorCode::kBadInput);
    CHECK(filter.status().message() == "filter: " + c.message);
  }
}

TEST_CASE("filter: limits on depth and on the number of fields", "[filter]") {
  const std::string deep_parens = std::string(300, '(') + "1" + std::string(300, ')');
  const auto parens = Filter::parse(deep_parens);
  REQUIRE_FALSE(parens.has_value());
  CHECK(parens.status().message() == "filter: column 257: expression nests deeper than 256 levels");

  std::string chain = ".a";
  for (int i = 0; i < 300; ++i) chain += " + .a";
  const auto long_chain = Filter::parse(chain);
  REQUIRE_FALSE(long_chain.has_value());
  CHECK(long_chain.status().message().find("expression nests deeper than 256 levels") != std::string::npos);

  std::string nots(300, '!');
  CHECK_FALSE(Filter::parse(nots + "1").has_value());
  CHECK(eval(std::string(200, '!') + "1", "{}"));  // an even count of negations is the identity

  std::string constant_chain = "1";
  for (int i = 0; i < 300; ++i) constant_chain += " + 1";
  CHECK(eval(constant_chain + " == 301", "{}"));  // folded as it is parsed, so never deep

  std::string many;
  std::string doc = "{";
  for (int i = 0; i < 64; ++i) {
    many += (i ? " + .f" : ".f") + std::to_string(i);
    doc += (i ? ",\"f" : "\"f") + std::to_string(i) + "\":1";
  }
  doc += "}";
  CHECK(eval(many + " == 64", doc));
  const auto too_many = Filter::parse(many + " + .f64");
  REQUIRE_FALSE(too_many.has_value());
  CHECK(too_many.status().message().find("more than 64 distinct fields") != std::string::npos);
}

TEST_CASE("filter: accessors, copies and fields()", "[filter]") {
  const Filter f = must_parse(".b > 1 and .a == .b or \"x\" in .c");
  CHECK(f.expression() == ".b > 1 and .a == .b or \"x\" in .c");
  CHECK(f.fields() == std::vector<std::string>{"b", "a", "c"});
  Filter copy = f;
  CHECK(copy.expression() == f.expression());
  Filter moved = std::move(copy);
  CHECK(moved.matches(R"({"a": 2, "b": 2, "c": []})"));
  copy = moved;
  CHECK(copy.matches(R"({"a": 2, "b": 2, "c": []})"));
  CHECK(must_parse("1 + 2").fields().empty());
}

TEST_CASE("filter: one Filter used from several threads", "[filter]") {
  const Filter filter = must_parse(".year > 1950 and .genre == \"drama\" or \"x\\n\" in .tags");
  std::vector<std::string> docs;
  std::vector<bool> expected;
  for (int i = 0; i < 400; ++i) {
    docs.push_back("{\"year\":" + std::to_string(1900 + i % 100) + ",\"genre\":\"" + (i % 3 ? "drama" : "comedy") +
                   "\",\"tags\":[\"a\\n\",\"" + (i % 7 ? "y" : "x\\n") + "\"]}");
    expected.push_back(filter.matches(docs.back()));
  }
  std::vector<int> mismatches(2, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      const Filter local = filter;
      for (int round = 0; round < 50; ++round) {
        for (std::size_t i = 0; i < docs.size(); ++i) {
          if (local.matches(docs[i]) != expected[i]) ++mismatches[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(mismatches == std::vector<int>{0, 0});
}

TEST_CASE("normalize_attributes: minifies valid objects", "[filter]") {
  const auto same = [](const std::string& in, const std::string& out) {
    const auto normalized = normalize_attributes(in);
    INFO("input: " << in << "\nerror: " << normalized.status().message());
    REQUIRE(normalized.has_value());
    CHECK(*normalized == out);
  };
  same("", "");
  same("  \n\t", "");
  same("{}", "{}");
  same(" { } ", "{}");
  same(R"(  { "a" : 1 , "b" : [ 1 , 2.50 , -3e2 ] , "c" : { "d" : "x y" } , "e" : [ ] }  )",
       R"({"a":1,"b":[1,2.50,-3e2],"c":{"d":"x y"},"e":[]})");
  same(R"({"s": "a\"b\u00e9\\ \/ \n"})", R"({"s":"a\"b\u00e9\\ \/ \n"})");
  same("{\"s\": \"caf\xC3\xA9 \xF0\x9F\x98\x80\"}", "{\"s\":\"caf\xC3\xA9 \xF0\x9F\x98\x80\"}");
  same(R"({"t": true, "f": false, "n": null})", R"({"t":true,"f":false,"n":null})");
  same(R"({"a": {"x": 1, "x": 2}})", R"({"a":{"x":1,"x":2}})");  // only top-level keys must be unique
}

TEST_CASE("normalize_attributes: rejects what is not a JSON object", "[filter]") {
  const auto rejects = [](const std::string& in, const std::string& message) {
    const auto normalized = normalize_attributes(in);
    INFO("input: " << in);
    REQUIRE_FALSE(normalized.has_value());
    CHECK(normalized.status().code() == ErrorCode::kBadInput);
    CHECK(normalized.status().message() == message);
  };
  rejects("[1]", "attributes: expected a JSON object, got array");
  rejects("\"x\"", "attributes: expected a JSON object, got string");
  rejects(" 12 ", "attributes: expected a JSON object, got number");
  rejects("true", "attributes: expected a JSON object, got boolean");
  rejects("null", "attributes: expected a JSON object, got null");
  rejects("invalid json", "attributes: column 1: expected a JSON value, got 'i'");
  rejects(R"({"a":1,})", "attributes: column 8: expected a string key, got '}'");
  rejects(R"({"a" 1})", "attributes: column 6: expected ':' after the key, got '1'");
  rejects(R"({"a":1 "b":2})", "attributes: column 8: expected ',' or '}' after a value, got '\"'");
  rejects(R"({"a":[1,2})", "attributes: column 10: expected ',' or ']' after a value, got '}'");
  rejects(R"({"a":1} x)", "attributes: column 9: unexpected 'x' after the JSON object");
  rejects(R"({"a":1,"b":2,"a":3})", "attributes: duplicate key \"a\"");
  rejects(R"({"a":1,"\u0061":3})", "attributes: duplicate key \"a\"");
  rejects(R"({"a":"\u00"})", "attributes: column 7: expected 4 hex digits after '\\u'");
  rejects(R"({"a":"\x"})", "attributes: column 7: invalid escape '\\x'");
  rejects("{\"a\":\"\x01\"}", "attributes: column 7: control character in a string (write it as an escape such as \\n or \\u0001)");
  rejects("{\"a\":\"\xff\"}", "attributes: column 7: invalid UTF-8 in a string");
  rejects("{\"a\":\"\xC0\xAF\"}", "attributes: column 7: invalid UTF-8 in a string");      // overlong
  rejects("{\"a\":\"\xED\xA0\x80\"}", "attributes: column 7: invalid UTF-8 in a string");  // surrogate
  rejects(R"({"a":"x)", "attributes: column 6: unterminated string");
  rejects(R"({"a":01})", "attributes: column 7: expected ',' or '}' after a value, got '1'");
  rejects(R"({"a":-})", "attributes: column 6: invalid number");
  rejects(R"({"a":1.})", "attributes: column 6: invalid number");
  rejects(R"({"a":tru})", "attributes: column 6: expected a JSON value, got 't'");
  rejects(R"({"a":})", "attributes: column 6: expected a JSON value, got '}'");
  rejects("{", "attributes: column 2: expected a string key, got end of input");
  std::string deep = "{\"a\":" + std::string(64, '[') + std::string(64, ']') + "}";
  rejects(deep, "attributes: column 69: attributes nest deeper than 64 levels");
  std::string ok = "{\"a\":" + std::string(63, '[') + std::string(63, ']') + "}";
  CHECK(normalize_attributes(ok).has_value());
}

namespace {

// The oracle: a model of attribute values and a direct reading of Redis's rules for a subset of
// expressions, written without looking at the implementation's code paths.
struct ModelValue {
  enum Kind { kMissing, kNumber, kBool, kString, kNull, kArray, kObject } kind = kMissing;
  double number = 0;
  std::string text;
};

double model_to_number(const ModelValue& v) {
  switch (v.kind) {
    case ModelValue::kNumber: return v.number;
    case ModelValue::kBool: return v.number;
    case ModelValue::kString: {
      if (v.text.empty()) return 0;
      char* end = nullptr;
      const double d = std::strtod(v.text.c_str(), &end);
      return *end == '\0' ? d : 0;
    }
    default: return 0;
  }
}

bool model_equal(const ModelValue& a, const ModelValue& b) {
  const bool a_num = a.kind == ModelValue::kNumber || a.kind == ModelValue::kBool;
  const bool b_num = b.kind == ModelValue::kNumber || b.kind == ModelValue::kBool;
  if (a.kind == ModelValue::kString && b.kind == ModelValue::kString) return a.text == b.text;
  if (a_num && b_num) return a.number == b.number;
  if (a.kind == ModelValue::kNull || b.kind == ModelValue::kNull) return a.kind == b.kind;
  return model_to_number(a) == model_to_number(b);
}

ModelValue model_number(double d) {
  ModelValue v;
  v.kind = ModelValue::kNumber;
  v.number = d;
  return v;
}

ModelValue model_string(std::string s) {
  ModelValue v;
  v.kind = ModelValue::kString;
  v.text = std::move(s);
  return v;
}

std::string json_of(const ModelValue& v) {
  switch (v.kind) {
    case ModelValue::kNumber: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.number);
      return buf;
    }
    case ModelValue::kBool: return v.number != 0 ? "true" : "false";
    case ModelValue::kString: return "\"" + v.text + "\"";
    case ModelValue::kNull: return "null";
    case ModelValue::kArray: return "[1, \"drama\"]";
    case ModelValue::kObject: return "{\"nested\": {\"year\": 1}}";
    default: return "";
  }
}

}  // namespace

TEST_CASE("filter: randomized against an independent oracle", "[filter]") {
  std::mt19937_64 rng(20250611);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  const std::vector<std::string> genres = {"drama", "comedy", "action", "", "1985", "Drama"};
  const std::vector<std::string> spaces = {"", " ", "\n  ", "\t"};

  const auto random_value = [&](bool numeric) {
    ModelValue v;
    const int roll = uniform(0, 99);
    if (roll < 10) {
      v.kind = ModelValue::kMissing;
    } else if (roll < 14) {
      v.kind = ModelValue::kNull;
    } else if (roll < 18) {
      v.kind = ModelValue::kBool;
      v.number = uniform(0, 1);
    } else if (roll < 21) {
      v.kind = ModelValue::kArray;
    } else if (roll < 24) {
      v.kind = ModelValue::kObject;
    } else if (numeric == (roll < 80)) {
      v = model_number(uniform(0, 3) == 0 ? uniform(0, 100) / 10.0 : uniform(1940, 2000));
    } else {
      v = model_string(genres[static_cast<std::size_t>(uniform(0, static_cast<int>(genres.size()) - 1))]);
    }
    return v;
  };

  int matched = 0;
  int total = 0;
  for (int iteration = 0; iteration < 4000; ++iteration) {
    const ModelValue year = random_value(true);
    const ModelValue genre = random_value(false);
    const ModelValue rating = random_value(true);

    // Attribute JSON in random field order and spacing, with an unrelated nested field.
    std::vector<std::pair<std::string, std::string>> members;
    if (year.kind != ModelValue::kMissing) members.push_back({"year", json_of(year)});
    if (genre.kind != ModelValue::kMissing) members.push_back({"genre", json_of(genre)});
    if (rating.kind != ModelValue::kMissing) members.push_back({"rating", json_of(rating)});
    if (uniform(0, 1)) members.push_back({"other", R"({"year": 1, "genre": "drama", "list": [1, {"a": "]"}]})"});
    std::shuffle(members.begin(), members.end(), rng);
    const auto sp = [&] { return spaces[static_cast<std::size_t>(uniform(0, 3))]; };
    std::string doc = sp() + "{";
    for (std::size_t i = 0; i < members.size(); ++i) {
      if (i) doc += sp() + ",";
      doc += sp() + "\"" + members[i].first + "\"" + sp() + ":" + sp() + members[i].second;
    }
    doc += sp() + "}" + sp();

    const int n = uniform(1940, 2000);
    const double r = uniform(0, 100) / 10.0;
    const std::string g = genres[static_cast<std::size_t>(uniform(0, static_cast<int>(genres.size()) - 1))];
    const std::string g2 = genres[static_cast<std::size_t>(uniform(0, static_cast<int>(genres.size()) - 1))];
    char rating_text[32];
    std::snprintf(rating_text, sizeof rating_text, "%.1f", r);

    std::string expression;
    bool expected = false;
    const auto usable = [](const ModelValue& v) { return v.kind != ModelValue::kMissing && v.kind != ModelValue::kObject; };
    switch (uniform(0, 4)) {
      case 0:
        expression = ".year > " + std::to_string(n) + " and .genre == \"" + g + "\"";
        expected = usable(year) && usable(genre) && model_to_number(year) > n && model_equal(genre, model_string(g));
        break;
      case 1:
        expression = ".year <= " + std::to_string(n) + " || .genre != '" + g + "'";
        expected = usable(year) && usable(genre) &&
                   (model_to_number(year) <= n || !model_equal(genre, model_string(g)));
        break;
      case 2:
        expression = "not (.year == " + std::to_string(n) + ")";
        expected = usable(year) && !model_equal(year, model_number(n));
        break;
      case 3:
        expression = ".genre in [\"" + g + "\", \"" + g2 + "\"]";
        expected = usable(genre) && (model_equal(genre, model_string(g)) || model_equal(genre, model_string(g2)));
        break;
      default:
        expression = ".rating >= " + std::string(rating_text) + " && .year < " + std::to_string(n);
        expected = usable(rating) && usable(year) && model_to_number(rating) >= std::strtod(rating_text, nullptr) &&
                   model_to_number(year) < n;
        break;
    }
    const Filter filter = must_parse(expression);
    INFO("expression: " << expression << "\nattributes: " << doc);
    REQUIRE(filter.matches(doc) == expected);

    // Normalizing attributes must not change what they match.
    const auto normalized = normalize_attributes(doc);
    REQUIRE(normalized.has_value());
    REQUIRE(filter.matches(*normalized) == expected);
    matched += expected ? 1 : 0;
    ++total;
  }
  // The generator must exercise both outcomes in earnest.
  CHECK(matched > total / 10);
  CHECK(matched < total * 9 / 10);
}

TEST_CASE("filter: random token soup and damaged JSON never crash", "[filter]") {
  std::mt19937_64 rng(7);
  // Mostly values and operators in turn, so that many expressions parse; sometimes anything.
  const std::vector<std::string> values = {".year", ".genre", ".tags", "1", "-2", "3.5", "1e3", "\"drama\"", "'x'",
                                           "\"a\\\"b\"", "true", "false", "null", "[1, 'a']", "[]", "(.year", "!",
                                           "not ", "(1)"};
  const std::vector<std::string> operators = {" and ", " or ", "&&", "||", " in ", "==", "!=", ">", ">=", "<",
                                              "<=", "+", "-", "*", "/", "%", "**", ")"};
  const std::vector<std::string> noise = {" ", "[", "]", ",", "(", ")", "=", "&", "|", ".", "\"", "@", "\\", "\x80",
                                          "-", "not", "in"};
  const std::vector<std::string> docs = {
      R"({"year": 1980, "genre": "drama", "tags": ["x", "drama"]})", R"({"year": "1980", "genre": null})", "{}", "",
      R"({"tags": [[1], 2, "y\n"], "year": -1e5, "genre": "\u0064rama"})"};
  int parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string expression;
    const int length = std::uniform_int_distribution<int>(0, 12)(rng);
    for (int j = 0; j < length; ++j) {
      const auto& pool = std::uniform_int_distribution<int>(0, 9)(rng) == 0 ? noise : (j % 2 ? operators : values);
      expression += pool[std::uniform_int_distribution<std::size_t>(0, pool.size() - 1)(rng)];
      if (std::uniform_int_distribution<int>(0, 2)(rng) == 0) expression += ' ';
    }
    const auto filter = Filter::parse(expression);
    if (!filter.has_value()) {
      INFO("expression: " << expression);
      REQUIRE(filter.status().code() == ErrorCode::kBadInput);
      REQUIRE(filter.status().message().rfind("filter: column ", 0) == 0);
      continue;
    }
    ++parsed;
    for (const std::string& doc : docs) (void)filter->matches(doc);
  }
  CHECK(parsed > 2000);

  // Damaged attributes: random cuts and byte flips of a valid document.
  const Filter filter = must_parse(".year > 1 or \"x\" in .tags or .genre == \"drama\"");
  const std::string base = R"({"year": 1980, "genre": "dr\"ama", "tags": ["x", {"a": [1, "]"]}], "n": null})";
  for (int i = 0; i < 20000; ++i) {
    std::string doc = base;
    const int edits = std::uniform_int_distribution<int>(1, 3)(rng);
    for (int e = 0; e < edits; ++e) {
      const std::size_t at = std::uniform_int_distribution<std::size_t>(0, doc.size() - 1)(rng);
      switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
        case 0: doc.resize(at); break;
        case 1: doc[at] = "{}[]\",:\\ 0x"[std::uniform_int_distribution<int>(0, 11)(rng)]; break;
        default: doc.erase(at, 1); break;
      }
      if (doc.empty()) break;
    }
    const bool raw = filter.matches(doc);
    const auto normalized = normalize_attributes(doc);
    if (normalized.has_value()) {
      INFO("attributes: " << doc);
      REQUIRE(filter.matches(*normalized) == raw);
    } else {
      REQUIRE(normalized.status().message().rfind("attributes: ", 0) == 0);
    }
  }
}

TEST_CASE("filter: the branch program agrees with the expression tree", "[filter]") {
  // matches() runs the and/or/not skeleton compiled to jumps, with comparisons of a field and a
  // literal done in place; evaluate() walks the tree. Random boolean structure over every kind of
  // leaf (both operand orders, in, bare fields, arithmetic) must give the same answer both ways.
  std::mt19937_64 rng(99);
  const auto pick = [&](std::initializer_list<const char*> options) {
    return std::string(*(options.begin() + std::uniform_int_distribution<std::size_t>(0, options.size() - 1)(rng)));
  };
  std::function<std::string(int)> expression = [&](int depth) -> std::string {
    const int roll = std::uniform_int_distribution<int>(0, depth > 3 ? 5 : 9)(rng);
    switch (roll) {
      case 0: return pick({".a", ".b", ".s", ".n", "1", "0", "''"});
      case 1: return pick({".a", ".b"}) + " " + pick({">", ">=", "<", "<=", "==", "!="}) + " " + pick({"1", "2.5", "'2'", "null"});
      case 2: return pick({"1", "2.5", "'x'", "null"}) + " " + pick({">", ">=", "<", "<=", "==", "!="}) + " " + pick({".a", ".s"});
      case 3: return pick({".a", ".s", ".t"}) + " in " + pick({"[1, 'x', null]", "'xyz'", "[]", "[2.5]"});
      case 4: return pick({"'x' in .t", "1 in .t", ".a + 1 > .b", ".a * .b == 2", ".s == .t", "(.a > 1) == 1"});
      case 5: return pick({".s == 'x'", ".s != 'xy'", ".n == null", ".n != null"});
      case 6: return pick({"!", "not "}) + "(" + expression(depth + 1) + ")";
      case 7: return "(" + expression(depth + 1) + ") and (" + expression(depth + 1) + ")";
      case 8: return "(" + expression(depth + 1) + ") or (" + expression(depth + 1) + ")";
      default: return expression(depth + 1) + pick({" && ", " || "}) + expression(depth + 1);
    }
  };
  const std::vector<std::string> docs = {
      R"({"a": 1, "b": 2, "s": "x", "t": ["x", 1], "n": null})", R"({"a": 2.5, "b": 0, "s": "", "t": "xyz", "n": 0})",
      R"({"a": "2", "b": true, "s": "xy", "t": [], "n": null})", R"({"a": null, "b": false, "s": "2", "t": [2.5], "n": 1})",
  };
  int disagreements = 0;
  int true_count = 0;
  for (int i = 0; i < 3000; ++i) {
    const std::string text = expression(0);
    const Filter filter = must_parse(text);
    std::string error;
    const auto program = semcache::detail::compile_filter(text, error);
    REQUIRE(program != nullptr);
    for (const std::string& doc : docs) {
      semcache::detail::Scratch scratch;
      std::vector<semcache::detail::Value> slots(semcache::detail::kMaxFilterFields);
      bool tree = false;
      if (semcache::detail::extract_fields(doc, program->field_keys, slots.data(), scratch)) {
        tree = semcache::detail::is_truthy(semcache::detail::evaluate(*program, program->root, slots.data(), scratch));
      }
      true_count += tree ? 1 : 0;
      if (filter.matches(doc) != tree) {
        ++disagreements;
        UNSCOPED_INFO("expression: " << text << "\nattributes: " << doc << "\ntree says " << tree);
      }
    }
  }
  CHECK(disagreements == 0);
  CHECK(true_count > 3000 * 4 / 5);  // both answers well represented among the 12000 checks
  CHECK(true_count < 12000 - 3000 * 4 / 5);
}

// Found by fuzzing: an integer of more than 15 digits overflowed the fast path's accumulator
// (undefined behaviour, caught by UBSan) before the slow path parsed it.
TEST_CASE("filter: integers longer than 15 digits compare as numbers", "[filter]") {
  CHECK(eval(".n > 1e19", R"({"n": 12345678901234567890})"));
  CHECK_FALSE(eval(".n < 1e18", R"({"n": 999999999999999999999})"));
  CHECK(eval(".n == 1234567890123456", R"({"n": 1234567890123456})"));
}
