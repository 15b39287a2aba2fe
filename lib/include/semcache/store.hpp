#pragma once
// The storage interface under the caches: records (field -> value maps, each with a counter)
// with a TTL, and append-only change logs (Redis streams). Two implementations: the in-memory store
// (memory_store.hpp, the embedded default) and the Redis store (redis_store.hpp).
//
// Every mutation and read of one call travels as one batch: on Redis, one pipelined round
// trip. A store that cannot be reached (down, slow past its timeout, restarting) fails the
// call with Status::unavailable within the configured timeout and counts what was lost
// (StoreCounters); it never blocks longer and never throws. The caches turn such a failure
// into a miss (lookups) or a dropped store (writes).
//
// Keys and values are arbitrary bytes. Thread model: every method may be called from many
// threads at once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "semcache/status.hpp"

namespace semcache {

// A record: its fields in any order (Redis HGETALL order; the in-memory store keeps insertion
// order). Field names are unique.
using Record = std::vector<std::pair<std::string, std::string>>;

// The value of `field`, or nullptr.
const std::string* find_field(const Record& record, std::string_view field);

// Writes a record: replaces the whole record (fields not listed are gone) and resets its
// counter to 0. A record with no fields is no record: the key ends up absent.
struct RecordWrite {
  std::string key;
  Record fields;
  std::chrono::milliseconds ttl{0};    // > 0: the record expires that long after the write
};

// Adds 1 to the counter of a record (a cache entry's hit count) without rewriting its fields.
// The in-memory store counts only records that exist. On Redis the counter is part of the
// record's value, changed in place (redis_store.cpp), so an increment that races with the
// record's expiry or deletion leaves a stray count under the key: it reads as no record, the
// key's next write replaces it, and it expires `ttl` after the increment (ttl > 0: the TTL the
// record was written with; a record of that key is left with its own TTL).
struct CounterIncrement {
  std::string key;
  std::chrono::milliseconds ttl{0};
};

struct LogAppend {
  std::string key;               // the log (a Redis stream)
  std::string payload;           // one opaque entry
  std::size_t max_length = 0;    // > 0: trim the log to about this many entries (XADD MAXLEN ~)
};

struct LogEntry {
  std::string id;       // "milliseconds-sequence", increasing within one log
  std::string payload;
};

// One batch: mutations in this order (writes, increments, deletes, appends), then reads, all
// applied in one round trip. Each record write is atomic (a reader sees the old record or the
// new one, never a mix); the batch as a whole is not a transaction.
struct StoreBatch {
  std::vector<RecordWrite> writes;
  std::vector<CounterIncrement> increments;
  std::vector<std::string> deletes;  // records (and their counters)
  std::vector<LogAppend> appends;
  std::vector<std::string> reads;    // records with their counters, read after the mutations above;
                                     // a key that holds a log (or on Redis any other type) reads
                                     // as no record

  bool empty() const {
    return writes.empty() && increments.empty() && deletes.empty() && appends.empty() && reads.empty();
  }
};

struct StoreBatchResult {
  std::vector<std::optional<Record>> records;  // one per StoreBatch::reads; nullopt: no such record
  std::vector<std::int64_t> counters;          // one per StoreBatch::reads (0 for a missing record)
  std::uint64_t deleted = 0;                   // how many of the deletes held a record or a log
  std::vector<std::string> appended_ids;       // one per StoreBatch::appends
  // A batch with reads can succeed while the server refuses some of its mutations: a Redis at
  // maxmemory under the noeviction policy answers OOM to writes and still serves reads, and a
  // full cache should still serve its hits. Then `refused` is the first refusal and
  // `refused_writes` the index in StoreBatch::writes of each refused write (counted as
  // dropped); a refused increment, delete or append is in `refused` only. Without reads, a
  // refusal fails execute().
  Status refused;
  std::vector<std::size_t> refused_writes;
};

// What the store did and what it lost, since it was opened. Monotonic; safe to read any time.
struct StoreCounters {
  std::uint64_t batches = 0;           // execute() calls
  std::uint64_t failed_batches = 0;    // execute() calls that returned an error
  std::uint64_t records_read = 0;      // read requests answered (found or not)
  std::uint64_t failed_reads = 0;      // read requests lost to a failure
  std::uint64_t records_written = 0;
  std::uint64_t dropped_writes = 0;    // writes lost to a failure
  std::uint64_t round_trips = 0;       // network round trips (0 for the in-memory store)
  std::uint64_t connects = 0;          // successful connects, the first ones included
  std::uint64_t reconnects = 0;        // successful connects after a connection broke
  std::uint64_t connect_failures = 0;
  std::uint64_t timeouts = 0;          // calls that failed because the server did not answer in time
  std::uint64_t evictions = 0;         // records the store evicted to stay under its size cap
  std::uint64_t expirations = 0;       // records found expired (in-memory store only)
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies the batch (see StoreBatch). On failure nothing is known about which mutations
  // happened; the counters record every write of the batch as dropped and every read as failed.
  // A batch whose reads were answered while some mutations were refused succeeds, with the
  // refusals in StoreBatchResult::refused.
  virtual Expected<StoreBatchResult> execute(const StoreBatch& batch) = 0;

  // Calls on_keys with the keys that start with `prefix`, about `batch_size` at a time (each
  // key once even if the store reports it twice; keys written during the scan may be missed).
  // An on_keys error stops the scan and is returned.
  virtual Status scan(std::string_view prefix, std::size_t batch_size,
                      const std::function<Status(std::span<const std::string> keys)>& on_keys) = 0;

  // Up to `count` entries of the log `key` with ids after `after_id` ("0-0": from the start),
  // oldest first. A missing log is empty.
  virtual Expected<std::vector<LogEntry>> log_read(std::string_view key, std::string_view after_id,
                                                   std::size_t count) = 0;
  // The id of the newest entry, "0-0" when the log is empty or missing.
  virtual Expected<std::string> log_last_id(std::string_view key) = 0;

  virtual StoreCounters counters() const = 0;
  // "memory" or the Redis URL with its password redacted: what to print and put in results.
  virtual std::string describe() const = 0;

  // Convenience: a batch of reads only.
  Expected<std::vector<std::optional<Record>>> read(std::span<const std::string> keys);
};

}  // namespace semcache
