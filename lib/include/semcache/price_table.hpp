#pragma once
// What a model's tokens cost, to turn a replay's saved tokens into money.
//
// File format (--prices FILE), JSON, US dollars per million tokens:
//   {"gpt-4o-mini": {"input": 0.15, "output": 0.60},
//    "my-finetune": {"input": 1.0,  "output": 2.0},
//    "*":           {"input": 0.5,  "output": 1.5}}      optional: any other model
// A model is priced by the entry of its exact name, else of its longest prefix among the
// entries ("gpt-4o-mini-2024-07-18" and "gpt-4o-mini@2024-07-18" take "gpt-4o-mini"),
// else by "*". The built-in defaults (defaults(), listed in the README) are list prices of
// common models on the date in kDefaultPricesDate and have no "*".

#include <map>
#include <string>
#include <string_view>

#include "semcache/status.hpp"

namespace semcache {

inline constexpr std::string_view kDefaultPricesDate = "2026-11";

struct ModelPrice {
  double input_usd_per_mtok = 0;
  double output_usd_per_mtok = 0;
};

class PriceTable {
 public:
  static PriceTable defaults();
  // bad_input naming the source and what is wrong: prices.json: "gpt-4o": field "input" must be
  // a non-negative number, got string.
  static Expected<PriceTable> parse(std::string_view json, std::string_view source);
  static Expected<PriceTable> load(const std::string& path);

  // nullptr when the model has no price.
  const ModelPrice* find(std::string_view model) const;
  const std::map<std::string, ModelPrice, std::less<>>& entries() const { return entries_; }
  const std::string& source() const { return source_; }  // "built-in defaults" or the path

 private:
  std::map<std::string, ModelPrice, std::less<>> entries_;
  std::string source_;
};

}  // namespace semcache
