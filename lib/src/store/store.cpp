// The parts of the Store interface that do not depend on an implementation: field lookup in a
// record (a linear search: records hold a handful of fields, so a map would cost more than it
// saves) and read(), a batch that only reads.

#include "semcache/store.hpp"

#include <utility>

namespace semcache {

const std::string* find_field(const Record& record, std::string_view field) {
  for (const auto& [name, value] : record) {
    if (name == field) return &value;
  }
  return nullptr;
}

Expected<std::vector<std::optional<Record>>> Store::read(std::span<const std::string> keys) {
  StoreBatch batch;
  batch.reads.assign(keys.begin(), keys.end());
  auto result = execute(batch);
  if (!result) return result.status();
  return std::move(result->records);
}

}  // namespace semcache
