// NamespaceIndex: one namespace's vector set, rebuilt from the store and kept current through
// the namespace's change log.
//
// Snapshot (first use, or warm(), when the context allows it): load the namespace's newest
// snapshot (namespace_snapshot.cpp checks it and refuses a corrupt, mismatching or stale one),
// install it with the cursor at the log position it covers, and follow the log from there. A
// refused snapshot is remembered (stats().snapshot_refused) and the rebuild below runs instead;
// a store failure while loading fails like a rebuild would.
//
// Publishing a snapshot needs a log position P such that the set holds the effect of every
// event up to P. The cursor is such a position for other writers' events (they are applied in
// log order, under log_mutex_), but this Cache's own events are applied by the writer thread
// after its store batch returned, so an own add appended before P could still be missing from
// the set. Local writes therefore hold local_write() (shared) from their batch to their local
// apply, and publish_snapshot() takes it exclusively, with log_mutex_, just long enough to read
// the cursor and take the set pointer; serialising runs after, concurrently with everything
// (VectorSet::save_to_memory takes the set exclusively). Events applied after P and before the
// copy are in the snapshot and replayed again by its loaders: harmless, events are idempotent.
// Own deletions and drops are not gated: a snapshot may then still hold an entry deleted just
// before P, which a loader drops the first time a lookup finds its record gone (as expiry).
//
// Rebuild (first use, or warm(), without a usable snapshot): read the log's last id FIRST, then
// scan the namespace's entry prefix and read the records in batches, adding those whose
// identity (field e) is ours into a fresh vector set, install it, and follow the log from the
// remembered id. Anything written
// while the scan ran is either seen by the scan or replayed from the log; replaying is safe
// because events are idempotent (an add of a present id replaces it, a del of an absent id does
// nothing, a drop of an empty set is empty). Reading the last id after the scan instead would
// lose the events in between. A rebuild that fails (store down) leaves the namespace not
// ready; the next use tries again, but threads that were already waiting for the failed
// attempt return its error instead of each trying (and timing out) in turn.
//
// Following: log_read after the cursor in chunks; this Cache's own events (same writer id) are
// skipped because their effect was applied locally when the store succeeded. Events from a
// version we cannot decode are skipped (a newer writer must not stop an older follower); the
// cursor still moves past them. An add event names its entry, and the vector is read from the
// entry's record (one read per 256 adds of a chunk; entry_record.cpp): an entry deleted or
// expired by then has nothing to add, and a later del or drop event in the chunk still
// applies after it, since the events of a chunk are applied in order.
//
// A gap: after reading a chunk, the log's oldest entry is newer than the position read from,
// so events after it may be gone (a follower that fell behind more than change_log_max_length
// events, a drop, which trims the log to itself, or a log deleted or evicted and started
// again). Applying what is left would silently miss them; the namespace is loaded again
// instead (snapshot or rebuild, as on first use) while the old set keeps serving lookups, then
// the log is followed from the loaded position with this Cache's own events applied too: an
// own write whose local apply went to the old set after the reload read the store has its
// event after that position, and events are idempotent. A position of "0-0" (the log was
// empty at the load) is not checked: every entry is after it, and whether older ones were
// trimmed meanwhile cannot be told; that takes more than change_log_max_length events before
// the first follow (the background follower runs every follow_interval).
//
// Expired entries (gone from the store when a lookup fetched them) are queued and removed from
// the set in batches (expire_local): one graph removal scans every link list, so removing
// them one by one on the lookup path stalled lookups under eviction (10 ms each at 20,000
// vectors, measured by the soak). expired_mutex_ guards the queue and is never held across a
// removal or together with another lock. An entry stored again (by this Cache or, through the
// log, another process) leaves the queue; expired_removal_mutex_, held across each removal of
// queued entries and by the add of an entry that was queued, keeps a removal that had already
// taken the id from undoing that add.
//
// Locking. init_mutex_ serialises loads and clear_local(), so a local drop can never be
// overwritten by a rebuild that installs its set afterwards. follow_mutex_ makes one follower
// at a time check for a gap and read the log; log_mutex_ guards the cursor (held across
// log_read round trips, which only the follower, sync() and publishing perform; lookups never
// take either). set_mutex_ only guards the shared_ptr: searches copy the pointer and run
// without any namespace lock (VectorSet is itself thread-safe), and a drop swaps in an empty
// set while running searches finish on the old one.

#include "cache/namespace_index.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <utility>

#include "cache/namespace_snapshot.hpp"

namespace semcache::detail {
namespace {

constexpr std::size_t kReadBatch = 256;
constexpr std::size_t kLogChunk = 1024;
// A follow() that finds the log trimmed past the position it just loaded this many times gives
// up until the next one (the log is shorter than what is appended during a load).
constexpr int kMaxReloadsPerFollow = 3;
// Every entry id is "TENANT16HEX:ID32HEX".
constexpr std::size_t kEntryIdLength = 16 + 1 + 32;

// add_batch() refuses the whole batch for one bad row, so a record some other writer filled
// with a zero or non-finite vector must not reach it (it would stall every rebuild).
bool indexable(const std::vector<float>& vector) {
  bool nonzero = false;
  for (float x : vector) {
    if (!std::isfinite(x)) return false;
    nonzero = nonzero || x != 0.0f;
  }
  return nonzero;
}

// The vector a record holds for the set of `context`: nullopt when the record has none, of
// another identity or size, or one the set cannot index.
std::optional<std::vector<float>> indexable_vector(const Record& record, const VectorContext& context) {
  const std::string* identity = find_field(record, field::kIdentity);
  const std::string* vector_bytes = find_field(record, field::kVector);
  if (identity == nullptr || vector_bytes == nullptr || *identity != context.identity) return std::nullopt;
  auto vector = decode_vector(*vector_bytes, context.set_options.dim);
  if (!vector || !indexable(*vector)) return std::nullopt;
  return vector;
}

}  // namespace

NamespaceIndex::NamespaceIndex(NamespaceKeys keys, const VectorContext* vectors)
    : keys_(std::move(keys)), context_(vectors) {}

std::shared_ptr<VectorSet> NamespaceIndex::vectors() const {
  std::lock_guard lock(set_mutex_);
  return set_;
}

void NamespaceIndex::reset_set() {
  // The options were validated when the Cache opened, so create() cannot fail here; should it
  // ever, the namespace keeps no set and semantic lookups miss rather than serve stale vectors.
  auto created = VectorSet::create(context_->set_options);
  std::shared_ptr<VectorSet> fresh;
  if (created) fresh = std::move(created.value());
  {
    std::lock_guard lock(set_mutex_);
    set_ = std::move(fresh);
  }
  std::lock_guard lock(expired_mutex_);
  expired_.clear();  // they were in the old set
}

Status NamespaceIndex::ensure_ready(Store& store) {
  if (context_ == nullptr || ready()) return Status::ok();
  const std::uint64_t attempts_seen = rebuild_attempts_.load(std::memory_order_acquire);
  std::unique_lock init(init_mutex_);
  if (ready()) return Status::ok();
  // Another thread failed a rebuild while this one waited: share its error rather than queue
  // up for one more store timeout each (a lookup must fail within about one timeout).
  if (rebuild_attempts_.load(std::memory_order_relaxed) != attempts_seen) return last_rebuild_error_;
  rebuild_attempts_.fetch_add(1, std::memory_order_release);
  const auto start = std::chrono::steady_clock::now();
  if (Status loaded = load(store); !loaded) {
    last_rebuild_error_ = loaded;
    return loaded;
  }
  init.unlock();
  Status followed = follow(store);
  std::lock_guard warm(warm_mutex_);
  warm_start_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return followed;
}

Status NamespaceIndex::load(Store& store) {
  if (context_->use_snapshots) {
    auto tried = load_from_snapshot(store);
    if (!tried) return tried.status();
    if (*tried) return Status::ok();
  }
  Status built = rebuild(store);
  if (built) {
    std::lock_guard warm(warm_mutex_);
    from_snapshot_ = false;
  }
  return built;
}

Expected<bool> NamespaceIndex::load_from_snapshot(Store& store) {
  auto loaded = load_snapshot(store, keys_, *context_);
  if (!loaded) {
    const ErrorCode code = loaded.status().code();
    if (code == ErrorCode::kUnavailable) {  // the store is down: a rebuild would fail the same way
      return loaded.status().with_context("loading the snapshot of namespace " + keys_.key);
    }
    std::lock_guard warm(warm_mutex_);
    snapshot_refused_ = code == ErrorCode::kNotFound ? std::string() : loaded.status().message();
    return false;
  }
  {
    std::lock_guard warm(warm_mutex_);
    snapshot_refused_.clear();
    from_snapshot_ = true;
  }
  install(std::shared_ptr<VectorSet>(std::move(loaded->set)), loaded->manifest.log_id);
  return true;
}

void NamespaceIndex::install(std::shared_ptr<VectorSet> set, std::string cursor) {
  {
    std::lock_guard log_lock(log_mutex_);
    cursor_ = std::move(cursor);
  }
  {
    std::lock_guard lock(set_mutex_);
    set_ = std::move(set);
  }
  ready_.store(true, std::memory_order_release);
}

Expected<std::optional<PublishResult>> NamespaceIndex::publish_snapshot(Store& store, bool only_if_changed) {
  if (context_ == nullptr || !ready()) {
    return Status::invalid_argument("namespace " + keys_.key + " has no ready vector set to snapshot");
  }
  std::lock_guard publishing(publish_mutex_);
  // Move the cursor to the log's end first: it lags behind this Cache's own events until a
  // follow passes them, and the closer the covered position is to the end, the less a loader
  // replays (and the less likely a trim makes the snapshot stale).
  if (Status followed = follow(store); !followed) return followed;
  std::string position;
  std::shared_ptr<VectorSet> set;
  {
    std::lock_guard log_lock(log_mutex_);
    std::unique_lock gate(local_write_gate_);
    position = cursor_;
    set = vectors();
  }
  if (!set) return Status::internal("namespace " + keys_.key + " lost its vector set");
  if (only_if_changed && position == last_published_cursor_) return std::optional<PublishResult>();
  const std::string payload = set->save_to_memory();
  auto published = detail::publish_snapshot(store, keys_, *context_, payload, position, set->size());
  if (!published) return published.status();
  last_published_cursor_ = position;
  return std::optional<PublishResult>(std::move(published.value()));
}

Status NamespaceIndex::rebuild(Store& store) {
  auto last_id = store.log_last_id(keys_.log_key);
  if (!last_id) return last_id.status().with_context("rebuilding namespace " + keys_.key);

  std::vector<std::string> keys;
  Status scanned = store.scan(keys_.entry_prefix, kReadBatch, [&](std::span<const std::string> batch) {
    keys.insert(keys.end(), batch.begin(), batch.end());
    return Status::ok();
  });
  if (!scanned) return scanned.with_context("rebuilding namespace " + keys_.key);

  auto created = VectorSet::create(context_->set_options);
  if (!created) return created.status();
  std::shared_ptr<VectorSet> set = std::move(created.value());

  const std::vector<std::string> no_attributes;
  Status read = read_vectors(store, keys, [&](const std::vector<std::string>& ids, const std::vector<float>& rows) {
    return ids.empty() ? Status::ok() : set->add_batch(ids, rows, no_attributes, 1);
  });
  if (!read) return read.with_context("rebuilding namespace " + keys_.key);

  install(std::move(set), *last_id);
  return Status::ok();
}

Status NamespaceIndex::read_vectors(Store& store, std::span<const std::string> keys, const OnVectors& on_vectors) {
  std::vector<std::string> ids;
  std::vector<float> rows;
  for (std::size_t start = 0; start < keys.size(); start += kReadBatch) {
    const std::size_t count = std::min(kReadBatch, keys.size() - start);
    auto records = store.read(keys.subspan(start, count));
    if (!records) return records.status();
    ids.clear();
    rows.clear();
    for (std::size_t i = 0; i < count; ++i) {
      const auto& record = (*records)[i];
      if (!record) continue;  // expired or deleted since
      const std::string_view id = std::string_view(keys[start + i]).substr(keys_.entry_prefix.size());
      if (id.size() != kEntryIdLength) continue;
      auto vector = indexable_vector(*record, *context_);
      if (!vector) continue;
      ids.emplace_back(id);
      rows.insert(rows.end(), vector->begin(), vector->end());
    }
    if (Status st = on_vectors(ids, rows); !st) return st;
  }
  return Status::ok();
}

Status NamespaceIndex::follow(Store& store) {
  if (context_ == nullptr || !ready()) return Status::ok();
  remove_expired();
  std::lock_guard following(follow_mutex_);
  for (int reloads = 0;; ++reloads) {
    auto complete = read_log(store, replay_own_events_);
    if (!complete) return complete.status().with_context("following namespace " + keys_.key);
    if (*complete) {
      replay_own_events_ = false;
      return Status::ok();
    }
    if (reloads == kMaxReloadsPerFollow) {
      return Status::unavailable("following namespace " + keys_.key + ": the change log was trimmed past " +
                                 "the loaded position " + std::to_string(reloads) +
                                 " times in a row (change_log_max_length too small for the write rate?)");
    }
    {
      std::lock_guard init(init_mutex_);
      if (Status loaded = load(store); !loaded) return loaded.with_context("reloading namespace " + keys_.key);
    }
    counters_.log_resyncs.fetch_add(1, std::memory_order_relaxed);
    replay_own_events_ = true;  // until a read reaches the log's end
  }
}

Expected<bool> NamespaceIndex::read_log(Store& store, bool own_events) {
  std::lock_guard lock(log_mutex_);
  while (true) {
    const std::string from = cursor_;
    auto entries = store.log_read(keys_.log_key, from, kLogChunk);
    if (!entries) return entries.status();
    if (entries->empty()) return true;  // a log trimmed past `from` would have entries after it
    // Checked after the read: a log only loses entries from its head, so when `from` is still
    // there now, nothing after it had gone when the entries were read.
    auto gap = trimmed_past(store, from);
    if (!gap) return gap.status();
    if (*gap) return false;
    std::vector<ChangeEvent> events;
    for (const LogEntry& entry : *entries) {
      auto event = decode_event(entry.payload);
      if (!event || (event->writer == context_->writer && !own_events)) continue;
      events.push_back(std::move(*event));
    }
    auto vectors = entry_vectors(store, events);
    if (!vectors) return vectors.status();
    for (const ChangeEvent& event : events) {
      if (apply(event, *vectors) && event.writer != context_->writer) {
        counters_.followed_changes.fetch_add(1, std::memory_order_relaxed);
      }
    }
    cursor_ = entries->back().id;
    if (entries->size() < kLogChunk) return true;
  }
}

Expected<bool> NamespaceIndex::trimmed_past(Store& store, std::string_view position) {
  if (position == "0-0") return false;
  auto oldest = store.log_read(keys_.log_key, "0-0", 1);
  if (!oldest) return oldest.status();
  if (oldest->empty()) return false;
  const auto at = parse_log_id(position);
  const auto first = parse_log_id(oldest->front().id);
  return at && first && *at < *first;
}

Expected<NamespaceIndex::EntryVectors> NamespaceIndex::entry_vectors(Store& store,
                                                                     std::span<const ChangeEvent> events) {
  std::vector<std::string> keys;
  for (const ChangeEvent& event : events) {
    if (event.kind == EventKind::kAdd && event.vector_bytes.empty() && event.identity == context_->identity &&
        event.ids.size() == 1 && event.ids.front().size() == kEntryIdLength) {
      keys.push_back(keys_.entry_prefix + event.ids.front());
    }
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  EntryVectors found;
  const std::size_t dim = context_->set_options.dim;
  Status read = read_vectors(store, keys, [&](const std::vector<std::string>& ids, const std::vector<float>& rows) {
    for (std::size_t i = 0; i < ids.size(); ++i) {
      found.emplace(ids[i], std::vector<float>(rows.begin() + static_cast<std::ptrdiff_t>(i * dim),
                                               rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim)));
    }
    return Status::ok();
  });
  if (!read) return read;
  return found;
}

Status NamespaceIndex::apply(const ChangeEvent& event, const EntryVectors& entry_vectors) {
  switch (event.kind) {
    case EventKind::kAdd: {
      if (event.ids.size() != 1 || event.ids.front().size() != kEntryIdLength) {
        return Status::bad_input("change-log add event without a valid entry id");
      }
      if (event.identity != context_->identity) return Status::ok();  // another embedder's vectors
      if (event.vector_bytes.empty()) {
        auto found = entry_vectors.find(event.ids.front());
        if (found != entry_vectors.end()) add_local(event.ids.front(), found->second);
        return Status::ok();
      }
      auto vector = decode_vector(event.vector_bytes, context_->set_options.dim);
      if (!vector) return Status::bad_input("change-log add event: vector of the wrong size");
      add_local(event.ids.front(), *vector);
      return Status::ok();
    }
    case EventKind::kDel:
      remove_local(event.ids);
      return Status::ok();
    case EventKind::kDrop:
      reset_set();
      return Status::ok();
  }
  return Status::internal("change-log event of unknown kind");
}

void NamespaceIndex::add_local(std::string_view id, std::span<const float> vector) {
  std::shared_ptr<VectorSet> set = vectors();
  if (!set) return;
  // An entry stored anew after a lookup found it gone must not be taken out by the queued
  // removal: it leaves the queue, and a removal that has already taken it (ids stay queued
  // until their removal is done) finishes before the add.
  bool was_queued = false;
  {
    std::lock_guard lock(expired_mutex_);
    was_queued = !expired_.empty() && expired_.erase(std::string(id)) > 0;
  }
  std::unique_lock removal(expired_removal_mutex_, std::defer_lock);
  if (was_queued) removal.lock();
  // A vector the set refuses (a zero vector: no direction for the cosine metric) just stays
  // out of the index; its entry still serves exact lookups.
  (void)set->add(id, vector);
}

void NamespaceIndex::remove_local(std::span<const std::string> ids) {
  std::shared_ptr<VectorSet> set = vectors();
  if (set && !ids.empty()) set->remove_batch(ids);
}

void NamespaceIndex::expire_local(std::span<const std::string> ids) {
  bool full = false;
  {
    std::lock_guard lock(expired_mutex_);
    expired_.insert(ids.begin(), ids.end());
    full = expired_.size() >= kExpiredBatch;
  }
  if (full) remove_expired();
}

bool NamespaceIndex::is_expired(const std::string& id) const {
  std::lock_guard lock(expired_mutex_);
  return !expired_.empty() && expired_.count(id) > 0;
}

void NamespaceIndex::remove_expired() {
  std::lock_guard removing(expired_removal_mutex_);
  std::vector<std::string> ids;
  {
    std::lock_guard lock(expired_mutex_);
    ids.assign(expired_.begin(), expired_.end());
  }
  if (ids.empty()) return;
  remove_local(ids);
  std::lock_guard lock(expired_mutex_);
  for (const std::string& id : ids) expired_.erase(id);
}

void NamespaceIndex::clear_local() {
  if (context_ == nullptr) return;
  std::lock_guard init(init_mutex_);
  reset_set();
}

std::size_t NamespaceIndex::indexed() const {
  std::shared_ptr<VectorSet> set = vectors();
  if (!set) return 0;
  std::lock_guard lock(expired_mutex_);
  const std::size_t size = set->size();
  return size > expired_.size() ? size - expired_.size() : 0;  // queued expirations do not count
}

void NamespaceIndex::record_latency(std::uint64_t ns) {
  std::lock_guard lock(latency_mutex_);
  latency_.record(ns);
}

NamespaceStats NamespaceIndex::stats() const {
  NamespaceStats out;
  out.model = keys_.model;
  out.key = keys_.key;
  out.lookups = counters_.lookups.load();
  out.exact_hits = counters_.exact_hits.load();
  out.semantic_hits = counters_.semantic_hits.load();
  out.misses = counters_.misses.load();
  out.errors = counters_.errors.load();
  out.stores = counters_.stores.load();
  out.dropped_stores = counters_.dropped_stores.load();
  out.first_error = counters_.first_error();
  out.expired_candidates = counters_.expired_candidates.load();
  out.invalidated = counters_.invalidated.load();
  out.followed_changes = counters_.followed_changes.load();
  out.log_resyncs = counters_.log_resyncs.load();
  out.indexed = indexed();
  {
    std::lock_guard warm(warm_mutex_);
    out.warm_start = !ready() ? "" : from_snapshot_ ? "snapshot" : "rebuild";
    out.warm_start_ms = warm_start_ms_;
    out.snapshot_refused = snapshot_refused_;
  }
  std::lock_guard lock(latency_mutex_);
  out.lookup_latency_ns = latency_;
  return out;
}

}  // namespace semcache::detail
