// PriceTable: model -> USD per million input and output tokens, to turn saved tokens into money.
//
// A prices file is small (tens of entries) and read once, so it is parsed with simdjson's DOM
// API, which keeps duplicate keys visible (On-Demand would let a second "gpt-4o" silently win)
// and lets every error name the model and the field. The file is strict: an unknown field in
// an entry is refused rather than ignored, because a field we do not implement (say "cached_input")
// would otherwise look honoured while it changes nothing.
//
// find() is a linear scan for the longest prefix: tables are tens of entries and a lookup
// happens once per replayed request, well below anything a trie would buy back. "*" takes part
// only as the fall-back, never as a prefix.

#include "semcache/price_table.hpp"

#include <simdjson.h>

#include <string>

#include "io/mapped_file.hpp"

namespace semcache {

namespace {

std::string json_type_name(simdjson::dom::element_type type) {
  switch (type) {
    case simdjson::dom::element_type::ARRAY: return "array";
    case simdjson::dom::element_type::OBJECT: return "object";
    case simdjson::dom::element_type::INT64:
    case simdjson::dom::element_type::UINT64:
    case simdjson::dom::element_type::DOUBLE: return "number";
    case simdjson::dom::element_type::STRING: return "string";
    case simdjson::dom::element_type::BOOL: return "boolean";
    case simdjson::dom::element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// One field of an entry: a finite number >= 0.
Status read_price(simdjson::dom::element value, std::string_view source, std::string_view model,
                  std::string_view field, double& out) {
  const auto type = value.type();
  const bool is_number = type == simdjson::dom::element_type::INT64 || type == simdjson::dom::element_type::UINT64 ||
                         type == simdjson::dom::element_type::DOUBLE;
  const std::string where = std::string(source) + ": " + quoted(model) + ": field " + quoted(field);
  if (!is_number) return Status::bad_input(where + " must be a non-negative number, got " + json_type_name(type));
  const double number = value.get_double().value_unsafe();
  if (!(number >= 0)) {
    return Status::bad_input(where + " must be a non-negative number, got " + simdjson::minify(value));
  }
  out = number;
  return Status::ok();
}

}  // namespace

PriceTable PriceTable::defaults() {
  PriceTable table;
  table.source_ = "built-in defaults";
  table.entries_ = {
      {"gpt-4o-mini", {0.15, 0.60}},       {"gpt-4o", {2.50, 10.00}},
      {"gpt-4.1", {2.00, 8.00}},           {"gpt-4.1-mini", {0.40, 1.60}},
      {"gpt-4.1-nano", {0.10, 0.40}},      {"o3-mini", {1.10, 4.40}},
      {"gpt-3.5-turbo", {0.50, 1.50}},     {"claude-3-5-haiku", {0.80, 4.00}},
      {"claude-3-5-sonnet", {3.00, 15.00}}, {"claude-3-7-sonnet", {3.00, 15.00}},
      {"claude-3-haiku", {0.25, 1.25}},    {"claude-3-opus", {15.00, 75.00}},
      {"gemini-1.5-flash", {0.075, 0.30}}, {"gemini-1.5-pro", {1.25, 5.00}},
      {"gemini-2.0-flash", {0.10, 0.40}},  {"llama-3.1-8b", {0.05, 0.08}},
  };
  return table;
}

Expected<PriceTable> PriceTable::parse(std::string_view json, std::string_view source) {
  const std::string src(source);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto error = parser.parse(json.data(), json.size()).get(root); error != simdjson::SUCCESS) {
    return Status::bad_input(src + ": not valid JSON: " + simdjson::error_message(error));
  }
  simdjson::dom::object models;
  if (root.get_object().get(models) != simdjson::SUCCESS) {
    return Status::bad_input(src + ": the top level must be an object of model name -> {\"input\": N, \"output\": N}, got " +
                             json_type_name(root.type()));
  }
  PriceTable table;
  table.source_ = src;
  for (const auto [model_key, entry] : models) {
    const std::string_view model = model_key;
    if (model.empty()) return Status::bad_input(src + ": a model name must not be empty");
    if (table.entries_.contains(model)) return Status::bad_input(src + ": " + quoted(model) + " is listed twice");
    simdjson::dom::object fields;
    if (entry.get_object().get(fields) != simdjson::SUCCESS) {
      return Status::bad_input(src + ": " + quoted(model) + ": must be an object {\"input\": N, \"output\": N}, got " +
                               json_type_name(entry.type()));
    }
    ModelPrice price;
    bool has_input = false;
    bool has_output = false;
    for (const auto [field_key, value] : fields) {
      const std::string_view field = field_key;
      bool* seen = field == "input" ? &has_input : field == "output" ? &has_output : nullptr;
      if (seen == nullptr) {
        return Status::bad_input(src + ": " + quoted(model) + ": unknown field " + quoted(field) +
                                 " (expected \"input\" and \"output\")");
      }
      if (*seen) return Status::bad_input(src + ": " + quoted(model) + ": field " + quoted(field) + " is given twice");
      *seen = true;
      double& slot = field == "input" ? price.input_usd_per_mtok : price.output_usd_per_mtok;
      if (Status status = read_price(value, src, model, field, slot); !status) return status;
    }
    if (!has_input || !has_output) {
      return Status::bad_input(src + ": " + quoted(model) + ": missing field " +
                               quoted(has_input ? "output" : "input"));
    }
    table.entries_.emplace(std::string(model), price);
  }
  return table;
}

Expected<PriceTable> PriceTable::load(const std::string& path) {
  auto file = detail::MappedFile::open(path);
  if (!file) return file.status();
  const std::string_view text(reinterpret_cast<const char*>(file->data()), file->size());
  return parse(text, path);
}

const ModelPrice* PriceTable::find(std::string_view model) const {
  if (const auto exact = entries_.find(model); exact != entries_.end()) return &exact->second;
  const ModelPrice* best = nullptr;
  std::size_t best_length = 0;
  for (const auto& [name, price] : entries_) {
    if (name != "*" && name.size() > best_length && model.starts_with(name)) {
      best = &price;
      best_length = name.size();
    }
  }
  if (best != nullptr) return best;
  const auto fallback = entries_.find("*");
  return fallback != entries_.end() ? &fallback->second : nullptr;
}

}  // namespace semcache
