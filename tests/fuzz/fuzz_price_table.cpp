// Fuzz target: PriceTable::parse() (lib/src/harness/price_table.cpp), the --prices file.
//
// Invariants checked on every input that parses:
//   - every entry has a non-empty name and finite, non-negative prices;
//   - the table written back as JSON (names escaped, prices in round-trip precision) parses
//     to the very same entries;
//   - find() returns an entry's own price for its exact name, some price for any longer name
//     it prefixes (the longest-prefix rule can only find a longer match), and for "" only the
//     "*" entry, if there is one.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "semcache/price_table.hpp"

namespace {

using semcache::fuzz::printable;

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", c);
      out += escape;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", value);
  return text;
}

std::string to_json(const semcache::PriceTable& table) {
  std::string out = "{";
  for (const auto& [name, price] : table.entries()) {
    if (out.size() > 1) out += ",";
    out += json_string(name) + ":{\"input\":" + number(price.input_usd_per_mtok) +
           ",\"output\":" + number(price.output_usd_per_mtok) + "}";
  }
  return out + "}";
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parsed = semcache::PriceTable::parse(semcache::fuzz::as_text(data, size), "prices.json");
  if (!parsed) {
    FUZZ_CHECK(parsed.status().message().starts_with("prices.json: "),
               "error does not name its source: " + parsed.status().message());
    return 0;
  }
  const semcache::PriceTable& table = *parsed;
  for (const auto& [name, price] : table.entries()) {
    FUZZ_CHECK(!name.empty(), "an entry has an empty name");
    FUZZ_CHECK(std::isfinite(price.input_usd_per_mtok) && price.input_usd_per_mtok >= 0 &&
                   std::isfinite(price.output_usd_per_mtok) && price.output_usd_per_mtok >= 0,
               "\"" + printable(name) + "\" has price " + number(price.input_usd_per_mtok) + " / " +
                   number(price.output_usd_per_mtok));
    FUZZ_CHECK(table.find(name) == &price, "find(\"" + printable(name) + "\") is not its own entry");
    if (name != "*") {
      FUZZ_CHECK(table.find(name + "-suffix") != nullptr, "find() misses a name that \"" + printable(name) + "\" prefixes");
    }
  }
  const auto star = table.entries().find("*");
  const semcache::ModelPrice* fallback = star == table.entries().end() ? nullptr : &star->second;
  FUZZ_CHECK(table.find("") == fallback, "find(\"\") is not the \"*\" entry");

  const std::string written = to_json(table);
  const auto again = semcache::PriceTable::parse(written, "rewritten");
  FUZZ_CHECK(again.has_value(), "the table written back does not parse: " + again.status().message() + "\n  " +
                                    printable(written));
  FUZZ_CHECK(again->entries().size() == table.entries().size(), "round trip changed the entry count");
  for (const auto& [name, price] : table.entries()) {
    const auto other = again->entries().find(name);
    FUZZ_CHECK(other != again->entries().end() && other->second.input_usd_per_mtok == price.input_usd_per_mtok &&
                   other->second.output_usd_per_mtok == price.output_usd_per_mtok,
               "round trip changed \"" + printable(name) + "\"");
  }
  return 0;
}
