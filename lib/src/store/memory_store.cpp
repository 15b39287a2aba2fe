// MemoryStore: records and logs in this process, with the semantics of the Redis store.
//
// One keyspace, as in Redis: a key holds either a record or a log (a stream). A record write
// replaces whatever the key held and resets the record's counter; appending to a record, or
// reading or incrementing a log, fails the batch with bad_input "WRONGTYPE", as Redis would.
// A write with no fields leaves the key absent. An increment of a missing record does nothing
// (the Redis store leaves a stray count there, which reads as no record: same results).
//
// Locking: 16 shards chosen by the key's hash, each a mutex over its map and its LRU list, so
// threads touching different keys rarely contend. Each operation of a batch takes only its
// key's shard lock, once; a record write is therefore atomic, the batch is not (the same
// contract as Redis). The user's clock (MemoryStoreOptions::now_ms) is called without locks
// and must be thread-safe.
//
// TTL: an expired record is removed when touched (read, increment, delete, scan, append) and
// counted in `expirations`; each shard also sweeps its expired records once it has taken as
// many writes as it holds entries (at least kMinSweepWrites), so the cost is amortised O(1)
// per write and expired records cannot pile up unseen. Logs never expire.
//
// Eviction: every record carries the tick of its last use (write, read, increment) from one
// global atomic counter; each shard's LRU list is in tick order, oldest first. When a batch
// leaves the store over max_records or max_bytes (keys + fields + values of the records),
// the victim is the shard front with the smallest tick: exact global LRU when one thread
// runs, approximate (but always under the cap once the batch returns) under concurrency. The
// rejected alternative, a per-shard share of the cap, would evict recently used records of a
// busy shard while idle shards keep stale ones. A record larger than max_bytes on its own is
// evicted too (last, being the most recently used). Logs are not counted and never evicted:
// they are trimmed by their own max_length.
//
// Log ids are "ms-seq" with ms from the clock; when the clock has not advanced past the last
// id (or went back), the id keeps the last ms and increments seq, so ids strictly increase
// within a log. Trimming keeps exactly max_length entries (Redis's "~" keeps at least that).

#include "semcache/memory_store.hpp"

#include "store/printable.hpp"
#include "store/store_counters.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <deque>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace semcache {
namespace {

using detail::bump;

constexpr std::size_t kShardCount = 16;
constexpr std::size_t kMinSweepWrites = 256;


struct LogId {
  std::uint64_t ms = 0;
  std::uint64_t seq = 0;
  auto operator<=>(const LogId&) const = default;
};

std::string format_id(LogId id) { return std::to_string(id.ms) + "-" + std::to_string(id.seq); }

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// "ms-seq", or "ms" meaning "ms-0" (as XRANGE reads a start id).
std::optional<LogId> parse_id(std::string_view text) {
  const std::size_t dash = text.find('-');
  const auto ms = parse_u64(text.substr(0, dash));
  if (!ms) return std::nullopt;
  if (dash == std::string_view::npos) return LogId{*ms, 0};
  const auto seq = parse_u64(text.substr(dash + 1));
  if (!seq) return std::nullopt;
  return LogId{*ms, *seq};
}

Status wrong_type(std::string_view key, std::string_view holds, std::string_view wanted) {
  return Status::bad_input("memory store: key '" + detail::printable_key(key) + "' holds a " + std::string(holds) + ", not a " +
                           std::string(wanted) + " (WRONGTYPE)");
}

std::size_t record_bytes(std::string_view key, const Record& record) {
  std::size_t bytes = key.size();
  for (const auto& [field, value] : record) bytes += field.size() + value.size();
  return bytes;
}

struct StoredLogEntry {
  LogId id;
  std::string payload;
};

struct Log {
  std::deque<StoredLogEntry> entries;
  LogId last;  // the newest id ever assigned (kept when trimming)
};

struct LruNode {
  std::uint64_t tick;
  const std::string* key;  // the map's key: unordered_map nodes do not move
};

struct Entry {
  Record record;                     // records only
  std::int64_t counter = 0;          // records only
  std::unique_ptr<Log> log;          // non-null: the key holds a log
  std::int64_t expires_at_ms = 0;    // 0: never
  std::size_t bytes = 0;             // records: key + fields + values
  std::list<LruNode>::iterator lru;  // records only
};

// Lets the maps be searched with a string_view, without building a std::string per lookup.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const { return std::hash<std::string_view>{}(key); }
};

using EntryMap = std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>>;

struct Shard {
  std::mutex mutex;
  EntryMap entries;
  std::list<LruNode> lru;  // records, least recently used first
  std::size_t writes_since_sweep = 0;
};


class MemoryStore final : public Store {
 public:
  explicit MemoryStore(MemoryStoreOptions options) : options_(std::move(options)) {}

  Expected<StoreBatchResult> execute(const StoreBatch& batch) override {
    StoreBatchResult applied;
    Status st = apply(batch, applied);
    if (options_.max_records != 0 || options_.max_bytes != 0) enforce_caps();
    auto result = st ? Expected<StoreBatchResult>(std::move(applied)) : Expected<StoreBatchResult>(std::move(st));
    counters_.count_batch(batch, result);
    return result;
  }

  Status scan(std::string_view prefix, std::size_t batch_size,
              const std::function<Status(std::span<const std::string> keys)>& on_keys) override {
    if (batch_size == 0) return Status::invalid_argument("memory store: scan batch size must be > 0");
    const std::int64_t now = now_ms();
    std::vector<std::string> pending;
    for (Shard& shard : shards_) {
      {
        std::lock_guard lock(shard.mutex);
        for (auto it = shard.entries.begin(); it != shard.entries.end();) {
          if (expired(it->second, now)) {
            it = erase(shard, it);
            bump(counters_.expirations);
            continue;
          }
          if (std::string_view(it->first).starts_with(prefix)) pending.push_back(it->first);
          ++it;
        }
      }
      // Deliver full batches without holding a lock: on_keys may call back into the store.
      std::size_t at = 0;
      for (; pending.size() - at >= batch_size; at += batch_size) {
        if (Status st = on_keys(std::span<const std::string>(pending).subspan(at, batch_size)); !st) return st;
      }
      pending.erase(pending.begin(), pending.begin() + static_cast<std::ptrdiff_t>(at));
    }
    if (!pending.empty()) return on_keys(pending);
    return Status::ok();
  }

  Expected<std::vector<LogEntry>> log_read(std::string_view key, std::string_view after_id,
                                           std::size_t count) override {
    const auto after = parse_id(after_id);
    if (!after) {
      return Status::invalid_argument("memory store: log_read of '" + detail::printable_key(key) + "': after id '" +
                                      detail::printable_key(after_id) + "' is not of the form ms-seq");
    }
    std::vector<LogEntry> out;
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.entries.find(key);
    if (it == shard.entries.end() || count == 0) return out;
    if (!it->second.log) return wrong_type(key, "record", "log");
    const auto& entries = it->second.log->entries;
    auto from = std::upper_bound(entries.begin(), entries.end(), *after,
                                 [](const LogId& id, const StoredLogEntry& entry) { return id < entry.id; });
    for (; from != entries.end() && out.size() < count; ++from) out.push_back({format_id(from->id), from->payload});
    return out;
  }

  Expected<std::string> log_last_id(std::string_view key) override {
    Shard& shard = shard_for(key);
    std::lock_guard lock(shard.mutex);
    const auto it = shard.entries.find(key);
    if (it == shard.entries.end()) return std::string("0-0");
    if (!it->second.log) return wrong_type(key, "record", "log");
    const auto& entries = it->second.log->entries;
    return entries.empty() ? std::string("0-0") : format_id(entries.back().id);
  }

  StoreCounters counters() const override { return counters_.snapshot(); }

  std::string describe() const override { return "memory"; }

 private:
  using Iterator = EntryMap::iterator;

  std::int64_t now_ms() const {
    if (options_.now_ms) return options_.now_ms();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  Shard& shard_for(std::string_view key) { return shards_[KeyHash{}(key) % kShardCount]; }

  static bool expired(const Entry& entry, std::int64_t now) {
    return entry.expires_at_ms != 0 && now >= entry.expires_at_ms;
  }

  // The entries below run under the shard's lock.

  Iterator erase(Shard& shard, Iterator it) {
    if (!it->second.log) {
      shard.lru.erase(it->second.lru);
      record_count_.fetch_sub(1, std::memory_order_relaxed);
      record_bytes_.fetch_sub(it->second.bytes, std::memory_order_relaxed);
    }
    return shard.entries.erase(it);
  }

  // The key's entry, or end() when it is missing or expired (an expired one is removed).
  Iterator find_live(Shard& shard, std::string_view key, std::int64_t now) {
    auto it = shard.entries.find(key);
    if (it != shard.entries.end() && expired(it->second, now)) {
      erase(shard, it);
      bump(counters_.expirations);
      return shard.entries.end();
    }
    return it;
  }

  void touch(Shard& shard, Entry& entry) {
    entry.lru->tick = tick_.fetch_add(1, std::memory_order_relaxed);
    shard.lru.splice(shard.lru.end(), shard.lru, entry.lru);
  }

  void sweep(Shard& shard, std::int64_t now) {
    shard.writes_since_sweep = 0;
    for (auto it = shard.entries.begin(); it != shard.entries.end();) {
      if (expired(it->second, now)) {
        it = erase(shard, it);
        bump(counters_.expirations);
      } else {
        ++it;
      }
    }
  }

  // Like Redis, every mutation is applied or refused on its own; a refusal fails a batch
  // without reads and is StoreBatchResult::refused in a batch with reads.
  Status apply(const StoreBatch& batch, StoreBatchResult& result) {
    const std::int64_t now = now_ms();
    Status refused;
    auto refuse = [&refused](Status st) {
      if (refused && !st) refused = std::move(st);
    };
    for (const RecordWrite& write : batch.writes) apply_write(write, now);
    for (const CounterIncrement& increment : batch.increments) refuse(apply_increment(increment, now));
    for (const std::string& key : batch.deletes) {
      Shard& shard = shard_for(key);
      std::lock_guard lock(shard.mutex);
      if (auto it = find_live(shard, key, now); it != shard.entries.end()) {
        erase(shard, it);
        ++result.deleted;
      }
    }
    result.appended_ids.reserve(batch.appends.size());
    for (const LogAppend& append : batch.appends) {
      if (auto id = apply_append(append, now)) {
        result.appended_ids.push_back(std::move(*id));
      } else {
        refuse(id.status());
      }
    }
    if (!refused) {
      if (batch.reads.empty()) return refused;
      result.refused = std::move(refused);
    }
    result.records.reserve(batch.reads.size());
    result.counters.reserve(batch.reads.size());
    for (const std::string& key : batch.reads) {
      Shard& shard = shard_for(key);
      std::lock_guard lock(shard.mutex);
      auto it = find_live(shard, key, now);
      if (it == shard.entries.end() || it->second.log) {  // a log is no record (as Redis's MGET says)
        result.records.emplace_back();
        result.counters.push_back(0);
        continue;
      }
      touch(shard, it->second);
      result.records.emplace_back(it->second.record);
      result.counters.push_back(it->second.counter);
    }
    return Status::ok();
  }

  void apply_write(const RecordWrite& write, std::int64_t now) {
    // HSET semantics for a repeated field: the last value wins.
    Record record;
    record.reserve(write.fields.size());
    for (const auto& field : write.fields) {
      auto same = std::find_if(record.begin(), record.end(), [&](const auto& kv) { return kv.first == field.first; });
      if (same != record.end()) {
        same->second = field.second;
      } else {
        record.push_back(field);
      }
    }
    const std::size_t bytes = record_bytes(write.key, record);

    Shard& shard = shard_for(write.key);
    std::lock_guard lock(shard.mutex);
    if (auto old = shard.entries.find(write.key); old != shard.entries.end()) erase(shard, old);
    if (record.empty()) return;
    auto [it, inserted] = shard.entries.try_emplace(write.key);
    Entry& entry = it->second;
    entry.record = std::move(record);
    entry.expires_at_ms = write.ttl.count() > 0 ? now + write.ttl.count() : 0;
    entry.bytes = bytes;
    entry.lru = shard.lru.insert(shard.lru.end(), LruNode{tick_.fetch_add(1, std::memory_order_relaxed), &it->first});
    record_count_.fetch_add(1, std::memory_order_relaxed);
    record_bytes_.fetch_add(bytes, std::memory_order_relaxed);
    if (++shard.writes_since_sweep >= std::max(kMinSweepWrites, shard.entries.size())) sweep(shard, now);
  }

  Status apply_increment(const CounterIncrement& increment, std::int64_t now) {
    Shard& shard = shard_for(increment.key);
    std::lock_guard lock(shard.mutex);
    auto it = find_live(shard, increment.key, now);
    if (it == shard.entries.end()) return Status::ok();  // never recreate a missing record
    Entry& entry = it->second;
    if (entry.log) return wrong_type(increment.key, "log", "record");
    touch(shard, entry);
    if (entry.counter == std::numeric_limits<std::int64_t>::max()) {
      return Status::bad_input("memory store: increment of the counter of '" + detail::printable_key(increment.key) +
                               "' would overflow");
    }
    ++entry.counter;
    return Status::ok();
  }

  Expected<std::string> apply_append(const LogAppend& append, std::int64_t now) {
    Shard& shard = shard_for(append.key);
    std::lock_guard lock(shard.mutex);
    auto it = find_live(shard, append.key, now);
    if (it == shard.entries.end()) {
      it = shard.entries.try_emplace(append.key).first;
      it->second.log = std::make_unique<Log>();
    } else if (!it->second.log) {
      return wrong_type(append.key, "record", "log");
    }
    Log& log = *it->second.log;
    const auto ms = static_cast<std::uint64_t>(std::max<std::int64_t>(now, 0));
    log.last = ms > log.last.ms ? LogId{ms, 0} : LogId{log.last.ms, log.last.seq + 1};
    log.entries.push_back({log.last, append.payload});
    if (append.max_length > 0) {
      while (log.entries.size() > append.max_length) log.entries.pop_front();
    }
    return format_id(log.last);
  }

  bool over_cap() const {
    return (options_.max_records != 0 && record_count_.load(std::memory_order_relaxed) > options_.max_records) ||
           (options_.max_bytes != 0 && record_bytes_.load(std::memory_order_relaxed) > options_.max_bytes);
  }

  // Evicts least recently used records (across shards, by tick) until under the caps. Locks
  // one shard at a time, so it cannot deadlock with a batch.
  void enforce_caps() {
    const std::int64_t now = now_ms();
    while (over_cap()) {
      std::size_t victim = kShardCount;
      std::uint64_t oldest = std::numeric_limits<std::uint64_t>::max();
      for (std::size_t i = 0; i < kShardCount; ++i) {
        std::lock_guard lock(shards_[i].mutex);
        if (!shards_[i].lru.empty() && shards_[i].lru.front().tick < oldest) {
          oldest = shards_[i].lru.front().tick;
          victim = i;
        }
      }
      if (victim == kShardCount) return;
      Shard& shard = shards_[victim];
      std::lock_guard lock(shard.mutex);
      if (shard.lru.empty() || shard.lru.front().tick != oldest) continue;  // used meanwhile: look again
      auto it = shard.entries.find(*shard.lru.front().key);
      bump(expired(it->second, now) ? counters_.expirations : counters_.evictions);
      erase(shard, it);
    }
  }

  const MemoryStoreOptions options_;
  std::array<Shard, kShardCount> shards_;
  std::atomic<std::uint64_t> tick_{0};
  std::atomic<std::size_t> record_count_{0};
  std::atomic<std::size_t> record_bytes_{0};
  detail::AtomicStoreCounters counters_;
};

}  // namespace

std::shared_ptr<Store> make_memory_store(const MemoryStoreOptions& options) {
  return std::make_shared<MemoryStore>(options);
}

}  // namespace semcache
