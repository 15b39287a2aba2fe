#pragma once
// StoreCounters kept as relaxed atomics (statistics, not synchronisation), shared by the
// stores: the bookkeeping of one execute() is the same everywhere.

#include <atomic>
#include <cstdint>

#include "semcache/store.hpp"

namespace semcache::detail {

inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) {
  counter.fetch_add(by, std::memory_order_relaxed);
}

struct AtomicStoreCounters {
  std::atomic<std::uint64_t> batches{0};
  std::atomic<std::uint64_t> failed_batches{0};
  std::atomic<std::uint64_t> records_read{0};
  std::atomic<std::uint64_t> failed_reads{0};
  std::atomic<std::uint64_t> records_written{0};
  std::atomic<std::uint64_t> dropped_writes{0};
  std::atomic<std::uint64_t> round_trips{0};
  std::atomic<std::uint64_t> connects{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> timeouts{0};
  std::atomic<std::uint64_t> evictions{0};
  std::atomic<std::uint64_t> expirations{0};

  // One execute() of `batch` and what it returned: on success the writes the server refused
  // count as dropped; on failure every write counts as dropped and every read as failed
  // (nothing is known about which happened).
  void count_batch(const StoreBatch& batch, const Expected<StoreBatchResult>& result) {
    bump(batches);
    if (result) {
      const std::size_t refused = result->refused_writes.size();
      bump(records_written, batch.writes.size() - refused);
      bump(dropped_writes, refused);
      bump(records_read, batch.reads.size());
    } else {
      bump(failed_batches);
      bump(dropped_writes, batch.writes.size());
      bump(failed_reads, batch.reads.size());
    }
  }

  StoreCounters snapshot() const {
    auto get = [](const std::atomic<std::uint64_t>& counter) { return counter.load(std::memory_order_relaxed); };
    StoreCounters out;
    out.batches = get(batches);
    out.failed_batches = get(failed_batches);
    out.records_read = get(records_read);
    out.failed_reads = get(failed_reads);
    out.records_written = get(records_written);
    out.dropped_writes = get(dropped_writes);
    out.round_trips = get(round_trips);
    out.connects = get(connects);
    out.reconnects = get(reconnects);
    out.connect_failures = get(connect_failures);
    out.timeouts = get(timeouts);
    out.evictions = get(evictions);
    out.expirations = get(expirations);
    return out;
  }
};

}  // namespace semcache::detail
