#pragma once
// One cache namespace (options.name + model) inside a Cache: its keys, its in-process vector
// set (semantic modes), the change-log cursor that keeps the set current, and its counters.
// See namespace_index.cpp for the rebuild and the locking.

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cache/entry_record.hpp"
#include "semcache/cache.hpp"
#include "semcache/latency_histogram.hpp"
#include "semcache/status.hpp"
#include "semcache/store.hpp"
#include "semcache/vector_set.hpp"

namespace semcache::detail {

struct NamespaceCounters {
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<std::uint64_t> exact_hits{0};
  std::atomic<std::uint64_t> semantic_hits{0};
  std::atomic<std::uint64_t> misses{0};
  std::atomic<std::uint64_t> errors{0};
  std::atomic<std::uint64_t> stores{0};
  std::atomic<std::uint64_t> dropped_stores{0};
  std::atomic<std::uint64_t> expired_candidates{0};
  std::atomic<std::uint64_t> invalidated{0};
  std::atomic<std::uint64_t> followed_changes{0};
  std::atomic<std::uint64_t> log_resyncs{0};

  // A store dropped or a lookup failed, counted with why: the first why is kept (first_error).
  void drop_store(std::string_view why) {
    dropped_stores.fetch_add(1, std::memory_order_relaxed);
    note(why);
  }
  void fail_lookup(std::string_view why) {
    errors.fetch_add(1, std::memory_order_relaxed);
    note(why);
  }
  std::string first_error() const {
    std::lock_guard lock(error_mutex_);
    return first_error_;
  }

 private:
  void note(std::string_view why) {
    std::lock_guard lock(error_mutex_);
    if (first_error_.empty()) first_error_ = why;
  }
  mutable std::mutex error_mutex_;
  std::string first_error_;
};

// What a namespace needs to know about its Cache to rebuild and follow.
struct VectorContext {
  VectorSetOptions set_options;  // dim, cosine, quantization, m, ef_construction
  std::string identity;          // records and add events with another identity are ignored
  std::uint64_t writer = 0;      // this Cache's events are skipped when following
  bool use_snapshots = true;     // ensure_ready() tries the namespace's snapshot before a rebuild
};

struct PublishResult;  // namespace_snapshot.hpp

class NamespaceIndex {
 public:
  // `vectors` null: exact mode, no vector set (rebuild and follow do nothing).
  NamespaceIndex(NamespaceKeys keys, const VectorContext* vectors);

  const NamespaceKeys& keys() const { return keys_; }
  NamespaceCounters& counters() { return counters_; }
  const NamespaceCounters& counters() const { return counters_; }

  // Makes the vector set ready if that has not succeeded yet: from the namespace's snapshot
  // (when the context allows it and the snapshot is not refused), else by a rebuild from the
  // entries; then follows the log.
  Status ensure_ready(Store& store);
  // Publishes the ready set as the namespace's newest snapshot (namespace_snapshot.hpp).
  // With `only_if_changed`, does nothing (nullopt) when the set covers the same log position
  // as this index's last publish. invalid_argument when the index is not ready (exact mode).
  Expected<std::optional<PublishResult>> publish_snapshot(Store& store, bool only_if_changed);
  // Held (shared) by a local write from its store batch until its add_local/remove_local, so
  // that publish_snapshot() can pick a log position all of this Cache's own events up to which
  // are in the set: it takes the gate exclusively for that moment.
  std::shared_lock<std::shared_mutex> local_write() { return std::shared_lock(local_write_gate_); }
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  // Applies other writers' change-log events appended after the cursor (no-op until ready).
  // When the log no longer holds every event after the cursor, loads the set again instead
  // (snapshot or rebuild, as ensure_ready) and follows from the position that covers.
  Status follow(Store& store);

  // The current vector set (null in exact mode). Searches keep the returned pointer alive, so
  // a concurrent clear() swaps in a new set without waiting for them.
  std::shared_ptr<VectorSet> vectors() const;
  // Local changes made by this Cache (its own events are not followed back).
  void add_local(std::string_view id, std::span<const float> vector);
  void remove_local(std::span<const std::string> ids);
  void clear_local();
  // Entries a lookup found gone from the store (expired, evicted). A removal from the HNSW graph
  // scans every link list under the set's exclusive lock (about 10 ms at 20,000 vectors), so
  // they are removed in batches of kExpiredBatch (one scan each), on the lookup that fills a
  // batch or at the next follow(); until then lookups skip them (is_expired).
  static constexpr std::size_t kExpiredBatch = 256;
  void expire_local(std::span<const std::string> ids);
  bool is_expired(const std::string& id) const;
  std::size_t indexed() const;

  void record_latency(std::uint64_t ns);
  NamespaceStats stats() const;

 private:
  // With init_mutex_ held: installs a set from the snapshot (when the context allows it and
  // it is not refused), else rebuilt from the entries.
  Status load(Store& store);
  Status rebuild(Store& store);  // with init_mutex_ held
  // With init_mutex_ held: true when installed; false when there is none or it was refused (the
  // reason is kept for stats()); an error when the store failed.
  Expected<bool> load_from_snapshot(Store& store);
  // With follow_mutex_ held: applies the events after the cursor, this Cache's own events too
  // when `own_events` (after a reload, which may have missed own writes made meanwhile); false
  // when the log was trimmed past the position it read from (the rest is not applied).
  Expected<bool> read_log(Store& store, bool own_events);
  // True when the log's oldest entry is newer than `position` (never for "0-0").
  Expected<bool> trimmed_past(Store& store, std::string_view position);
  void install(std::shared_ptr<VectorSet> set, std::string cursor);
  // Entry id -> vector, read from the records of the entries whose add events carry no vector
  // (an entry deleted or expired since, or without a usable vector, is not in the map).
  using EntryVectors = std::unordered_map<std::string, std::vector<float>>;
  Expected<EntryVectors> entry_vectors(Store& store, std::span<const ChangeEvent> events);
  Status apply(const ChangeEvent& event, const EntryVectors& entry_vectors);
  // Reads the entry records of `keys` kReadBatch at a time and gives each read's ids and vectors
  // (rows of dim floats) of the records that hold a vector this set can index (records gone
  // since, of another identity or malformed are left out): the rebuild and entry_vectors().
  using OnVectors = std::function<Status(const std::vector<std::string>& ids, const std::vector<float>& rows)>;
  Status read_vectors(Store& store, std::span<const std::string> keys, const OnVectors& on_vectors);
  void reset_set();

  const NamespaceKeys keys_;
  const VectorContext* const context_;
  NamespaceCounters counters_;
  std::atomic<bool> ready_{false};

  // Lock order (outermost first): publish_mutex_, follow_mutex_, init_mutex_, log_mutex_,
  // local_write_gate_, set_mutex_.
  std::mutex follow_mutex_;        // held while following: one follower at a time
  bool replay_own_events_ = false; // a reload happened and no read has reached the log's end
                                   // since (guarded by follow_mutex_)
  std::mutex init_mutex_;          // held for the whole rebuild, and by clear_local()
  std::atomic<std::uint64_t> rebuild_attempts_{0};
  Status last_rebuild_error_;      // of the last failed rebuild (guarded by init_mutex_)
  std::mutex log_mutex_;           // held while reading the log and moving the cursor
  std::string cursor_ = "0-0";     // last log id applied (guarded by log_mutex_)
  mutable std::mutex set_mutex_;   // guards the pointer set_ only (never held across work)
  std::shared_ptr<VectorSet> set_;
  std::shared_mutex local_write_gate_;  // see local_write()
  std::mutex publish_mutex_;            // one publish at a time per namespace
  std::string last_published_cursor_;   // guarded by publish_mutex_

  // How the set became ready (guarded by init_mutex_ while written; read through stats()).
  mutable std::mutex warm_mutex_;
  bool from_snapshot_ = false;
  double warm_start_ms_ = 0;
  std::string snapshot_refused_;
  mutable std::mutex latency_mutex_;
  LatencyHistogram latency_;

  mutable std::mutex expired_mutex_;     // guards expired_ (never held across a removal)
  std::unordered_set<std::string> expired_;
  std::mutex expired_removal_mutex_;     // held by remove_expired() and by the add of a queued id
  void remove_expired();                 // removes the queued ones from the set
};

}  // namespace semcache::detail
