#pragma once
// One-line store calls for the store tests (test_store.cpp, test_cluster_store.cpp): each
// REQUIREs that the call succeeded, with the store's message when it did not.

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

#include "semcache/store.hpp"

namespace semcache::testing {

inline StoreBatchResult run(Store& store, const StoreBatch& batch) {
  auto result = store.execute(batch);
  INFO(result.status().message());
  REQUIRE(result);
  return std::move(*result);
}

inline std::optional<Record> read_one(Store& store, const std::string& key) {
  StoreBatch batch;
  batch.reads.push_back(key);
  auto result = run(store, batch);
  REQUIRE(result.records.size() == 1);
  return std::move(result.records[0]);
}

inline void write_one(Store& store, const std::string& key, Record fields,
                      std::chrono::milliseconds ttl = std::chrono::milliseconds(0)) {
  StoreBatch batch;
  batch.writes.push_back({key, std::move(fields), ttl});
  run(store, batch);
}

}  // namespace semcache::testing
