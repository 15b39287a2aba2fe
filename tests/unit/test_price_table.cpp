// Tests for semcache/price_table.hpp: the built-in list prices, parsing of a prices file (good
// and malformed, each error message checked), loading from disk, and the exact / longest-prefix /
// "*" lookup order.

#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <utility>

#include "semcache/price_table.hpp"

namespace {

using semcache::ErrorCode;
using semcache::PriceTable;

PriceTable must_parse(std::string_view json) {
  auto table = PriceTable::parse(json, "prices.json");
  INFO(table.status().message());
  REQUIRE(table.has_value());
  return std::move(table).value();
}

}  // namespace

TEST_CASE("price table: defaults hold the list prices and no fall-back", "[price_table]") {
  const PriceTable table = PriceTable::defaults();
  CHECK(table.source() == "built-in defaults");
  CHECK(table.entries().size() == 16);
  CHECK_FALSE(table.entries().contains("*"));
  const std::pair<std::string_view, semcache::ModelPrice> expected[] = {
      {"gpt-4o-mini", {0.15, 0.60}},        {"gpt-4o", {2.50, 10.00}},          {"gpt-4.1", {2.00, 8.00}},
      {"gpt-4.1-mini", {0.40, 1.60}},       {"gpt-4.1-nano", {0.10, 0.40}},     {"o3-mini", {1.10, 4.40}},
      {"gpt-3.5-turbo", {0.50, 1.50}},      {"claude-3-5-haiku", {0.80, 4.00}}, {"claude-3-5-sonnet", {3.00, 15.00}},
      {"claude-3-7-sonnet", {3.00, 15.00}}, {"claude-3-haiku", {0.25, 1.25}},   {"claude-3-opus", {15.00, 75.00}},
      {"gemini-1.5-flash", {0.075, 0.30}},  {"gemini-1.5-pro", {1.25, 5.00}},   {"gemini-2.0-flash", {0.10, 0.40}},
      {"llama-3.1-8b", {0.05, 0.08}},
  };
  for (const auto& [model, price] : expected) {
    INFO(model);
    const semcache::ModelPrice* found = table.find(model);
    REQUIRE(found != nullptr);
    CHECK(found->input_usd_per_mtok == price.input_usd_per_mtok);
    CHECK(found->output_usd_per_mtok == price.output_usd_per_mtok);
  }
  CHECK(table.find("some-local-model") == nullptr);
}

TEST_CASE("price table: find takes the exact name, else the longest prefix, else \"*\"", "[price_table]") {
  const PriceTable defaults = PriceTable::defaults();
  CHECK(defaults.find("gpt-4o-mini-2024-07-18") == defaults.find("gpt-4o-mini"));
  CHECK(defaults.find("gpt-4o-mini@2024-07-18") == defaults.find("gpt-4o-mini"));
  CHECK(defaults.find("gpt-4o-2024-08-06") == defaults.find("gpt-4o"));
  CHECK(defaults.find("gpt-4.1-nano-2025-04-14") == defaults.find("gpt-4.1-nano"));
  CHECK(defaults.find("claude-3-5-sonnet-20241022") == defaults.find("claude-3-5-sonnet"));
  CHECK(defaults.find("gpt-4") == nullptr);  // a prefix of entries, but no entry is its prefix
  CHECK(defaults.find("") == nullptr);

  const PriceTable table = must_parse(R"({"a": {"input": 1, "output": 2}, "ab": {"input": 3, "output": 4},
                                          "*": {"input": 5, "output": 6}})");
  CHECK(table.find("a")->input_usd_per_mtok == 1);
  CHECK(table.find("abc")->input_usd_per_mtok == 3);
  CHECK(table.find("ax")->input_usd_per_mtok == 1);
  CHECK(table.find("b")->input_usd_per_mtok == 5);
  CHECK(table.find("")->input_usd_per_mtok == 5);
  CHECK(table.find("*")->output_usd_per_mtok == 6);
  // "*" is only the fall-back, never a prefix.
  const PriceTable star_prefix = must_parse(R"({"*": {"input": 5, "output": 6}, "*x": {"input": 7, "output": 8}})");
  CHECK(star_prefix.find("*xy")->input_usd_per_mtok == 7);
}

TEST_CASE("price table: parse reads numbers of every JSON spelling", "[price_table]") {
  const PriceTable table = must_parse(R"( {"m1": {"output": 2.5e1, "input": 0},
                                           "m2": {"input": 18446744073709551615, "output": 0.001}} )");
  CHECK(table.source() == "prices.json");
  REQUIRE(table.entries().size() == 2);
  CHECK(table.find("m1")->input_usd_per_mtok == 0);
  CHECK(table.find("m1")->output_usd_per_mtok == 25);
  CHECK(table.find("m2")->input_usd_per_mtok == Approx(1.8446744073709552e19));
  CHECK(table.find("m2")->output_usd_per_mtok == 0.001);
  CHECK(must_parse("{}").entries().empty());
}

TEST_CASE("price table: malformed prices are bad_input naming the source, model and field", "[price_table]") {
  const std::pair<std::string_view, std::string> cases[] = {
      {R"({"gpt-4o": {"input": "2.5", "output": 10}})",
       R"(prices.json: "gpt-4o": field "input" must be a non-negative number, got string)"},
      {R"({"gpt-4o": {"input": 2.5, "output": -1}})",
       R"(prices.json: "gpt-4o": field "output" must be a non-negative number, got -1)"},
      {R"({"gpt-4o": {"input": -0.5, "output": 1}})",
       R"(prices.json: "gpt-4o": field "input" must be a non-negative number, got -0.5)"},
      {R"({"gpt-4o": {"input": null, "output": 1}})",
       R"(prices.json: "gpt-4o": field "input" must be a non-negative number, got null)"},
      {R"({"gpt-4o": {"input": [1], "output": 1}})",
       R"(prices.json: "gpt-4o": field "input" must be a non-negative number, got array)"},
      {R"({"gpt-4o": {"input": 1, "output": true}})",
       R"(prices.json: "gpt-4o": field "output" must be a non-negative number, got boolean)"},
      {R"({"gpt-4o": {"input": 1}})", R"(prices.json: "gpt-4o": missing field "output")"},
      {R"({"gpt-4o": {"output": 1}})", R"(prices.json: "gpt-4o": missing field "input")"},
      {R"({"gpt-4o": {}})", R"(prices.json: "gpt-4o": missing field "input")"},
      {R"({"gpt-4o": {"input": 1, "output": 2, "cached_input": 0.5}})",
       R"(prices.json: "gpt-4o": unknown field "cached_input" (expected "input" and "output"))"},
      {R"({"gpt-4o": {"input": 1, "input": 2, "output": 2}})", R"(prices.json: "gpt-4o": field "input" is given twice)"},
      {R"({"gpt-4o": {"input": 1, "output": 2}, "gpt-4o": {"input": 1, "output": 2}})",
       R"(prices.json: "gpt-4o" is listed twice)"},
      {R"({"gpt-4o": 2.5})", R"(prices.json: "gpt-4o": must be an object {"input": N, "output": N}, got number)"},
      {R"({"": {"input": 1, "output": 2}})", R"(prices.json: a model name must not be empty)"},
      {R"([{"input": 1, "output": 2}])",
       R"(prices.json: the top level must be an object of model name -> {"input": N, "output": N}, got array)"},
      {R"("gpt-4o")",
       R"(prices.json: the top level must be an object of model name -> {"input": N, "output": N}, got string)"},
  };
  for (const auto& [json, message] : cases) {
    INFO("json: " << json);
    auto table = PriceTable::parse(json, "prices.json");
    REQUIRE_FALSE(table.has_value());
    CHECK(table.status().code() == ErrorCode::kBadInput);
    CHECK(table.status().message() == message);
  }
  for (const std::string_view json : {"", "{", R"({"gpt-4o": {"input": 1, "output": 2},})", "{} {}", "{\"a\": 1e999}"}) {
    INFO("json: " << json);
    auto table = PriceTable::parse(json, "prices.json");
    REQUIRE_FALSE(table.has_value());
    CHECK(table.status().code() == ErrorCode::kBadInput);
    CHECK(table.status().message().starts_with("prices.json: not valid JSON: "));
  }
}

TEST_CASE("price table: load reads a file and names a missing one", "[price_table]") {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("semcache_price_table_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "prices.json").string();
  {
    std::ofstream out(path);
    out << R"({"my-finetune": {"input": 1.0, "output": 2.0}, "*": {"input": 0.5, "output": 1.5}})" << '\n';
  }
  auto table = PriceTable::load(path);
  INFO(table.status().message());
  REQUIRE(table.has_value());
  CHECK(table->source() == path);
  CHECK(table->find("my-finetune-v2")->output_usd_per_mtok == 2.0);
  CHECK(table->find("gpt-4o")->input_usd_per_mtok == 0.5);

  {
    std::ofstream out(path);
    out << R"({"m": {"input": "cheap", "output": 1}})";
  }
  auto bad = PriceTable::load(path);
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.status().code() == ErrorCode::kBadInput);
  CHECK(bad.status().message() == path + R"(: "m": field "input" must be a non-negative number, got string)");

  const std::string missing = (dir / "no-such-prices.json").string();
  auto none = PriceTable::load(missing);
  REQUIRE_FALSE(none.has_value());
  CHECK(none.status().code() == ErrorCode::kNotFound);
  CHECK(none.status().message().find(missing) != std::string::npos);
  std::filesystem::remove_all(dir);
}
