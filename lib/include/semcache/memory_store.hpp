#pragma once
// The embedded store: records and logs in this process's memory, so every command runs on a
// machine with no server. Records expire after their TTL (checked when touched, and swept as
// the store fills); when a size cap is set, the least recently used records are evicted to stay
// under it. Logs are kept whole up to their max_length. Thread-safe (sharded locks).
//
// Several caches in one process may share one MemoryStore (through the shared_ptr), which is
// how tests model two processes sharing one Redis without a server.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

#include "semcache/store.hpp"

namespace semcache {

struct MemoryStoreOptions {
  std::size_t max_records = 0;   // 0: no cap on the number of records
  std::size_t max_bytes = 0;     // 0: no cap; else keys + fields + values of all records
  // The clock for TTLs, in milliseconds; tests replace it to expire records without sleeping.
  std::function<std::int64_t()> now_ms;  // empty: std::chrono::steady_clock
};

std::shared_ptr<Store> make_memory_store(const MemoryStoreOptions& options = {});

}  // namespace semcache
