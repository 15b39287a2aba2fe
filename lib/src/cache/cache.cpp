// Cache: the facade over namespaces (NamespaceIndex), the record layout (entry_record) and the
// Store. The header states the contract; this is how it is met.
//
// Round trips. An exact lookup is ONE store batch: the read of the entry with its counter (the
// hit count). A semantic lookup searches the local vector set, then reads all candidates under
// the threshold in ONE batch. A hit's increment is deferred (queued in pending_ and sent with
// the next batch this Cache executes, by the follower, by sync(), by invalidation or by the
// destructor; a batch sends its increments before its reads, so this Cache's next lookup sees
// them), so a hit costs no extra trip, and a miss increments nothing: on Redis an increment of
// a missing entry would leave a stray count behind. Hit counts are best effort: queued
// increments travel with whatever batch comes next and are lost if that batch fails. A store
// is ONE batch: the record (with its TTL), in semantic modes the change-log add event, and the
// queued increments; the vector joins the local set only after the batch succeeded, so the
// index never holds an entry the store refused.
//
// Exact hits compare tenant, model and canonical request byte for byte (the 128-bit id only
// finds the record). Semantic hits compare tenant and model; the tenant is also a hard filter
// inside the vector search, so another tenant's vectors never even become candidates.
//
// Distances: a candidate qualifies when distance <= threshold + kDistanceSlack. The slack
// (1e-6) absorbs float rounding of 1 - cos for identical directions, so threshold 0 means
// "the same direction"; it is far below any threshold anyone would tune.
//
// lookup_or_store() in exact mode reads every distinct key of the batch in one trip, decides
// the outcomes in order against what it read plus what earlier misses of the same batch
// stored (a repeat of a stored miss is a hit on that local entry, with the hit counts the
// sequential calls would give), then sends the misses' writes and the hits' increments in one
// more trip; through a WriteBehind those are held and go in front of the next batch's reads
// instead (the store applies them first, so the outcomes do not change). Semantic modes run
// the sequential calls (correct before fast).
//
// Invalidation deletes in batches of 256 keys, each batch carrying its del event (ids), and
// ends a namespace drop with one drop event. Events are appended in every mode: a process in
// exact mode may share the store with semantic ones, whose indexes must learn of deletions.
//
// Snapshots: publish_snapshot() and the background thread (every snapshot_interval) hand the
// work to NamespaceIndex::publish_snapshot(); a semantic store holds the namespace's
// local_write() gate from its batch to its local add, so a snapshot never covers the store's
// log event without its vector (namespace_index.cpp).
//
// Locking. No lock is held across a store round trip except inside NamespaceIndex (rebuild,
// following: see namespace_index.cpp) and the shared local_write() gate of a store. namespaces_mutex_ guards the model -> namespace map;
// pending_mutex_ the queued increments. Counters
// are atomics; each namespace guards its latency histogram. The follower thread waits on a
// condition variable so the destructor stops it at once.

#include "semcache/cache.hpp"

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <unordered_map>

#include "cache/entry_record.hpp"
#include "cache/namespace_index.hpp"
#include "cache/namespace_snapshot.hpp"
#include "semcache/filter.hpp"
#include "semcache/json_writer.hpp"
#include "semcache/vector_set.hpp"

namespace semcache {
namespace {

using detail::ChangeEvent;
using detail::EventKind;
using detail::NamespaceIndex;
using Clock = std::chrono::steady_clock;

constexpr float kDistanceSlack = 1e-6f;
constexpr std::size_t kBatchSize = 256;

std::uint64_t elapsed_ns(Clock::time_point since) {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - since).count());
}

std::int64_t now_epoch_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool is_zero(std::span<const float> vector) {
  return std::all_of(vector.begin(), vector.end(), [](float v) { return v == 0.0f; });
}

std::uint64_t random_writer_id() {
  std::random_device device;
  std::uint64_t id = (static_cast<std::uint64_t>(device()) << 32) ^ device();
  id ^= static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  return id;
}

bool valid_field_name(std::string_view field) {
  if (field.empty()) return false;
  return std::all_of(field.begin(), field.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

LookupResult error_result(std::string message) {
  LookupResult result;
  result.outcome = LookupOutcome::kError;
  result.error = std::move(message);
  return result;
}

// lookup_or_store()'s argument check: empty when the sizes fit, else every request's error.
std::vector<LookupResult> mismatched_sizes(std::span<const CacheRequest> requests,
                                           std::span<const std::string_view> responses,
                                           std::span<const std::string_view> attributes) {
  std::vector<LookupResult> results;
  if (responses.size() == requests.size() && (attributes.empty() || attributes.size() == requests.size())) {
    return results;
  }
  results.resize(requests.size());
  for (auto& result : results) {
    result = error_result("cache lookup_or_store: " + std::to_string(requests.size()) +
                          " requests need as many responses (got " + std::to_string(responses.size()) +
                          ") and attributes (got " + std::to_string(attributes.size()) + ", or none)");
  }
  return results;
}

}  // namespace

std::string_view to_string(CacheMode mode) {
  switch (mode) {
    case CacheMode::kExact: return "exact";
    case CacheMode::kSemantic: return "semantic";
    case CacheMode::kBoth: return "both";
  }
  return "unknown";
}

Expected<CacheMode> parse_cache_mode(std::string_view text) {
  if (text == "exact") return CacheMode::kExact;
  if (text == "semantic") return CacheMode::kSemantic;
  if (text == "both") return CacheMode::kBoth;
  return Status::invalid_argument("cache mode: expected exact, semantic or both, got '" + std::string(text) + "'");
}

// What a WriteBehind holds between batches: the writes and increments of the last batch, and
// the namespace of each write (whose stores or dropped stores are counted once it is sent).
struct Cache::WriteBehind::Held {
  StoreBatch batch;
  std::vector<std::shared_ptr<NamespaceIndex>> stored_in;

  bool empty() const { return batch.empty(); }
  // Counts the held writes, sent as the first writes of a batch, as stored or dropped (all
  // dropped when the batch failed; those the store refused when it succeeded), and forgets them.
  void settle(const Expected<StoreBatchResult>& sent) {
    std::vector<bool> dropped(stored_in.size(), !sent.has_value());
    if (sent) {
      for (std::size_t i : sent->refused_writes) {
        if (i < dropped.size()) dropped[i] = true;
      }
    }
    const std::string why = sent ? sent->refused.message() : sent.status().message();
    for (std::size_t i = 0; i < stored_in.size(); ++i) {
      auto& counters = stored_in[i]->counters();
      if (dropped[i]) {
        counters.drop_store(why);
      } else {
        counters.stores.fetch_add(1, std::memory_order_relaxed);
      }
    }
    stored_in.clear();
  }
};

struct Cache::Impl {
  std::shared_ptr<Store> store;
  CacheOptions options;
  std::shared_ptr<Embedder> embedder;
  bool exact = false;
  bool semantic = false;
  detail::VectorContext vectors;  // used when semantic

  mutable std::mutex namespaces_mutex;
  std::map<std::string, std::shared_ptr<NamespaceIndex>, std::less<>> namespaces;

  std::mutex pending_mutex;
  std::vector<CounterIncrement> pending;


  std::mutex follower_mutex;
  std::condition_variable follower_wake;
  bool stopping = false;
  std::thread follower;

  std::shared_ptr<NamespaceIndex> namespace_for(std::string_view model) {
    std::lock_guard lock(namespaces_mutex);
    auto it = namespaces.find(model);
    if (it != namespaces.end()) return it->second;
    auto created = std::make_shared<NamespaceIndex>(detail::namespace_keys(options.prefix, options.name, model),
                                                    semantic ? &vectors : nullptr);
    namespaces.emplace(std::string(model), created);
    return created;
  }

  std::vector<std::shared_ptr<NamespaceIndex>> all_namespaces() const {
    std::lock_guard lock(namespaces_mutex);
    std::vector<std::shared_ptr<NamespaceIndex>> out;
    out.reserve(namespaces.size());
    for (const auto& [model, ns] : namespaces) out.push_back(ns);
    return out;
  }

  // Executes a batch with the queued hit increments riding along.
  Expected<StoreBatchResult> execute(StoreBatch& batch) {
    {
      std::lock_guard lock(pending_mutex);
      if (!pending.empty()) {
        batch.increments.insert(batch.increments.end(), std::make_move_iterator(pending.begin()),
                                std::make_move_iterator(pending.end()));
        pending.clear();
      }
    }
    if (batch.empty()) return StoreBatchResult{};
    return store->execute(batch);
  }

  void defer_increment(std::string key) {
    std::lock_guard lock(pending_mutex);
    pending.push_back(CounterIncrement{std::move(key), options.ttl});
  }

  // The request's vector: its precomputed embedding or the embedder's output for its text.
  Expected<std::vector<float>> vector_for(const CacheRequest& request, std::uint64_t* embed_ns) {
    const std::size_t dim = vectors.set_options.dim;
    if (!request.embedding.empty()) {
      if (request.embedding.size() != dim) {
        return Status::invalid_argument("cache: embedding has " + std::to_string(request.embedding.size()) +
                                        " components, expected " + std::to_string(dim));
      }
      for (std::size_t i = 0; i < dim; ++i) {
        if (!std::isfinite(request.embedding[i])) {
          return Status::invalid_argument("cache: embedding component " + std::to_string(i) +
                                          " is not a finite number");
        }
      }
      return std::vector<float>(request.embedding.begin(), request.embedding.end());
    }
    if (!embedder) {
      return Status::invalid_argument("cache: the request has no embedding and the cache has no embedder");
    }
    const auto start = Clock::now();
    std::vector<float> out(dim);
    const std::string_view text = request.text;
    Status st = embedder->embed(std::span<const std::string_view>(&text, 1), out);
    if (embed_ns) *embed_ns = elapsed_ns(start);
    if (!st) return st.with_context("cache: embedding the request");
    return out;
  }

  // Exact lookup; returns true when `result` is final (hit or error).
  // The hit is counted by an increment queued for the next batch (this Cache's queued
  // increments go ahead of its reads, so its own next lookup already sees it).
  bool exact_lookup(NamespaceIndex& ns, const CacheRequest& request, LookupResult& result) {
    std::string key = ns.keys().entry_prefix;
    detail::append_entry_id(key, request.tenant, request.canonical);
    StoreBatch batch;
    batch.reads.push_back(key);
    const auto start = Clock::now();
    auto done = execute(batch);
    result.store_ns += elapsed_ns(start);
    if (!done) {
      result.outcome = LookupOutcome::kError;
      result.error = done.status().message();
      return true;
    }
    const auto& record = done->records.front();
    if (!record || !detail::record_matches_exactly(*record, request)) return false;
    auto entry = detail::entry_from_record(key, *record, done->counters.front());
    if (!entry) return false;
    result.outcome = LookupOutcome::kExactHit;
    result.entry = std::move(*entry);
    defer_increment(std::move(key));
    return true;
  }

  void semantic_lookup(NamespaceIndex& ns, const CacheRequest& request, LookupResult& result) {
    if (Status st = ns.ensure_ready(*store); !st) {
      result.outcome = LookupOutcome::kError;
      result.error = st.message();
      return;
    }
    auto query = vector_for(request, &result.embed_ns);
    if (!query) {
      result.outcome = LookupOutcome::kError;
      result.error = query.status().message();
      return;
    }
    if (is_zero(*query)) return;  // no direction: nothing is similar to it
    std::shared_ptr<VectorSet> set = ns.vectors();
    if (!set || set->size() == 0) return;

    // The tenant is a hard pre-filter: only its entries' ids start with its prefix.
    const std::string tenant_prefix = detail::tenant_id_prefix(detail::tenant_hex(request.tenant));
    SearchOptions search;
    search.k = options.candidates;
    search.ef = options.ef;
    search.id_prefix = tenant_prefix;
    const auto search_start = Clock::now();
    auto hits = set->search(*query, search);
    result.search_ns = elapsed_ns(search_start);
    if (!hits) {
      result.outcome = LookupOutcome::kError;
      result.error = hits.status().message();
      return;
    }
    std::vector<SearchHit> close;
    for (SearchHit& hit : *hits) {
      if (hit.distance <= static_cast<float>(options.threshold) + kDistanceSlack && !ns.is_expired(hit.id)) {
        close.push_back(std::move(hit));
      }
    }
    if (close.empty()) return;

    StoreBatch batch;
    for (const SearchHit& hit : close) batch.reads.push_back(ns.keys().entry_prefix + hit.id);
    result.candidates_tried = close.size();
    const auto store_start = Clock::now();
    auto done = execute(batch);
    result.store_ns += elapsed_ns(store_start);
    if (!done) {
      result.outcome = LookupOutcome::kError;
      result.error = done.status().message();
      return;
    }
    std::vector<std::string> expired;
    for (std::size_t i = 0; i < close.size(); ++i) {
      const auto& record = done->records[i];
      if (!record) {
        expired.push_back(close[i].id);
        continue;
      }
      if (result.hit() || !detail::record_matches(*record, request.tenant, request.model)) continue;
      auto entry = detail::entry_from_record(batch.reads[i], *record, done->counters[i]);
      if (!entry) continue;
      result.outcome = LookupOutcome::kSemanticHit;
      result.entry = std::move(*entry);
      result.distance = close[i].distance;
      defer_increment(batch.reads[i]);
    }
    if (!expired.empty()) {
      ns.expire_local(expired);
      result.expired_candidates = expired.size();
      ns.counters().expired_candidates.fetch_add(expired.size(), std::memory_order_relaxed);
    }
  }

  void count_lookup(NamespaceIndex& ns, const LookupResult& result) {
    auto& counters = ns.counters();
    counters.lookups.fetch_add(1, std::memory_order_relaxed);
    switch (result.outcome) {
      case LookupOutcome::kMiss: counters.misses.fetch_add(1, std::memory_order_relaxed); break;
      case LookupOutcome::kExactHit: counters.exact_hits.fetch_add(1, std::memory_order_relaxed); break;
      case LookupOutcome::kSemanticHit: counters.semantic_hits.fetch_add(1, std::memory_order_relaxed); break;
      case LookupOutcome::kError: counters.fail_lookup(result.error); break;
    }
    ns.record_latency(result.total_ns);
  }

  LookupResult lookup(const CacheRequest& request) {
    const auto start = Clock::now();
    if (request.model.empty()) return error_result("cache lookup: the request has no model");
    std::shared_ptr<NamespaceIndex> ns = namespace_for(request.model);
    LookupResult result;
    if (semantic && !request.embedding.empty() && request.embedding.size() != vectors.set_options.dim) {
      result = error_result("cache lookup: embedding has " + std::to_string(request.embedding.size()) +
                            " components, expected " + std::to_string(vectors.set_options.dim));
    } else {
      const bool done = exact && exact_lookup(*ns, request, result);
      if (!done && semantic) semantic_lookup(*ns, request, result);
    }
    result.total_ns = elapsed_ns(start);
    count_lookup(*ns, result);
    return result;
  }

  Expected<std::string> normalized_attributes(std::string_view attributes_json) {
    if (attributes_json.empty()) return std::string();
    auto normalized = normalize_attributes(attributes_json);
    if (!normalized) return Status::invalid_argument("cache store: " + normalized.status().message());
    return std::move(normalized.value());
  }

  Status store_entry(const CacheRequest& request, std::string_view response, std::string_view attributes_json) {
    if (request.model.empty()) return Status::invalid_argument("cache store: the request has no model");
    auto attributes = normalized_attributes(attributes_json);
    if (!attributes) return attributes.status();
    std::shared_ptr<NamespaceIndex> ns = namespace_for(request.model);

    std::vector<float> vector;
    if (semantic) {
      auto computed = vector_for(request, nullptr);
      if (!computed) {
        if (computed.status().code() == ErrorCode::kInvalidArgument) return computed.status();
        ns->counters().drop_store(computed.status().message());
        return computed.status();
      }
      if (Status st = ns->ensure_ready(*store); !st) {
        ns->counters().drop_store(st.message());
        return Status::unavailable("cache store: " + st.message());
      }
      // A zero vector has no direction to search by: the entry serves exact lookups only.
      if (!is_zero(*computed)) vector = std::move(computed.value());
    }

    const std::string id = detail::entry_id(request.tenant, request.canonical);
    StoreBatch batch;
    batch.writes.push_back(RecordWrite{
        ns->keys().entry_prefix + id,
        detail::make_entry_record(request, response, *attributes, now_epoch_ms(), vector, vectors.identity),
        options.ttl});
    if (!vector.empty()) {
      ChangeEvent event;
      event.kind = EventKind::kAdd;
      event.writer = vectors.writer;
      event.ids.push_back(id);
      event.identity = vectors.identity;  // the vector itself is read from the entry by followers
      batch.appends.push_back(
          LogAppend{ns->keys().log_key, detail::encode_event(event), options.change_log_max_length});
    }
    // From the batch to the local add, so a snapshot never covers our event without our vector.
    auto gate = ns->local_write();
    auto done = execute(batch);
    if (!done) {
      ns->counters().drop_store(done.status().message());
      return Status::unavailable("cache store: " + done.status().message());
    }
    if (!vector.empty()) ns->add_local(id, vector);
    ns->counters().stores.fetch_add(1, std::memory_order_relaxed);
    return Status::ok();
  }

  // `held` (may be null): the writes of the caller's previous batch go out with this batch's
  // reads, and this batch's writes are held instead of sent.
  std::vector<LookupResult> exact_lookup_or_store(std::span<const CacheRequest> requests,
                                                  std::span<const std::string_view> responses,
                                                  std::span<const std::string_view> attributes,
                                                  WriteBehind::Held* held);

  // Entry ids to invalidate, grouped by model.
  using IdGroups = std::map<std::string, std::vector<std::string>>;
  Expected<IdGroups> collect_ids(std::string_view model, const std::string& tenant_hex);
  Expected<std::uint64_t> invalidate(std::string_view model, const std::string& tenant_hex, const Filter* filter,
                                     bool drop);

  Status sync() {
    Status first = Status::ok();
    StoreBatch flush;
    if (auto done = execute(flush); !done) first = done.status();
    for (const auto& ns : all_namespaces()) {
      if (Status st = ns->follow(*store); !st && first) first = st;
    }
    return first;
  }

  // The background thread: follows every follow_interval and publishes snapshots every
  // snapshot_interval (whichever are > 0; it wakes at the shorter).
  void follow_loop() {
    using std::chrono::milliseconds;
    const milliseconds follow = options.follow_interval, snapshot = options.snapshot_interval;
    const milliseconds tick = follow.count() > 0 && (snapshot.count() == 0 || follow < snapshot) ? follow : snapshot;
    auto next_follow = Clock::now() + follow;
    auto next_snapshot = Clock::now() + snapshot;
    std::unique_lock lock(follower_mutex);
    while (!stopping) {
      follower_wake.wait_for(lock, tick, [this] { return stopping; });
      if (stopping) break;
      lock.unlock();
      if (follow.count() > 0 && Clock::now() >= next_follow) {
        (void)sync();  // failures are retried on the next tick
        next_follow = Clock::now() + follow;
      }
      if (snapshot.count() > 0 && Clock::now() >= next_snapshot) {
        for (const auto& ns : all_namespaces()) {
          if (ns->ready()) (void)ns->publish_snapshot(*store, true);  // retried next interval
        }
        next_snapshot = Clock::now() + snapshot;
      }
      lock.lock();
    }
  }

  Expected<SnapshotInfo> publish(NamespaceIndex& ns) {
    const auto start = Clock::now();
    auto published = ns.publish_snapshot(*store, false);
    if (!published) return published.status();
    SnapshotInfo info = detail::to_snapshot_info(ns.keys().model, (*published)->manifest);
    info.removed_chunks = (*published)->removed_chunks;
    info.publish_ms = static_cast<double>(elapsed_ns(start)) / 1e6;
    return info;
  }
};

std::vector<LookupResult> Cache::Impl::exact_lookup_or_store(std::span<const CacheRequest> requests,
                                                             std::span<const std::string_view> responses,
                                                             std::span<const std::string_view> attributes,
                                                             WriteBehind::Held* held) {
  const auto start = Clock::now();
  const std::size_t n = requests.size();
  std::vector<LookupResult> results(n);

  struct KeyState {
    const Record* record = nullptr;  // what the store holds, then what this batch wrote
    std::int64_t hits = 0;           // its hit count before the next hit of this batch
  };
  struct Item {
    std::shared_ptr<NamespaceIndex> ns;  // null: no model, an error with nothing to store
    std::string key;
    KeyState* state = nullptr;
  };
  std::vector<Item> items(n);
  std::unordered_map<std::string_view, KeyState> states;  // keys are views of items[].key
  states.reserve(n);
  StoreBatch reads;
  for (std::size_t i = 0; i < n; ++i) {
    const CacheRequest& request = requests[i];
    if (request.model.empty()) {
      results[i] = error_result("cache lookup: the request has no model");
      continue;
    }
    Item& item = items[i];
    item.ns = i > 0 && items[i - 1].ns && requests[i - 1].model == request.model ? items[i - 1].ns
                                                                                  : namespace_for(request.model);
    item.key.reserve(item.ns->keys().entry_prefix.size() + detail::kEntryIdSize);
    item.key = item.ns->keys().entry_prefix;
    detail::append_entry_id(item.key, request.tenant, request.canonical);
    auto [it, fresh] = states.try_emplace(item.key);
    if (fresh) reads.reads.push_back(item.key);
    item.state = &it->second;
  }

  // The previous batch's held writes go first: the store applies them before the reads.
  if (held != nullptr) {
    reads.writes = std::move(held->batch.writes);
    reads.increments = std::move(held->batch.increments);
    held->batch = StoreBatch{};
  }
  const auto read_start = Clock::now();
  auto read = execute(reads);
  const std::uint64_t read_ns = elapsed_ns(read_start);
  if (held != nullptr) held->settle(read);
  if (read) {
    for (std::size_t r = 0; r < reads.reads.size(); ++r) {
      KeyState& state = states.find(reads.reads[r])->second;
      if (read->records[r]) state.record = &*read->records[r];
      state.hits = read->counters[r];
    }
  }

  StoreBatch writes;
  writes.writes.reserve(n);  // KeyState::record may point into it: no reallocation
  std::vector<std::size_t> written;  // item index of each write
  for (std::size_t i = 0; i < n; ++i) {
    Item& item = items[i];
    if (!item.ns) continue;
    LookupResult& result = results[i];
    result.store_ns = read_ns;
    const CacheRequest& request = requests[i];
    KeyState& state = *item.state;
    if (!read) {
      result.outcome = LookupOutcome::kError;
      result.error = read.status().message();
    } else if (state.record && detail::record_matches_exactly(*state.record, request)) {
      if (auto entry = detail::entry_from_record(item.key, *state.record, state.hits)) {
        ++state.hits;
        result.outcome = LookupOutcome::kExactHit;
        result.entry = std::move(*entry);
        writes.increments.push_back(CounterIncrement{item.key, options.ttl});
        continue;
      }
    }
    // Attributes are checked only here, for a miss that stores them: checking them for hits as
    // well was a tenth of the client's time in an exact replay.
    auto normalized = normalized_attributes(attributes.empty() ? std::string_view() : attributes[i]);
    if (!normalized) continue;  // store() would refuse them
    RecordWrite& write = writes.writes.emplace_back(RecordWrite{
        item.key, detail::make_entry_record(request, responses[i], *normalized, now_epoch_ms(), {}, {}),
        options.ttl});
    written.push_back(i);
    if (read) {
      state.record = &write.fields;
      state.hits = 0;
    }
  }

  if (held != nullptr) {
    held->batch = std::move(writes);
    for (std::size_t i : written) held->stored_in.push_back(items[i].ns);
  } else {
    auto wrote = execute(writes);
    for (std::size_t i : written) {
      auto& counters = items[i].ns->counters();
      if (wrote) {
        counters.stores.fetch_add(1, std::memory_order_relaxed);
      } else {
        counters.drop_store(wrote.status().message());
      }
    }
  }
  const std::uint64_t per_request_ns = n == 0 ? 0 : elapsed_ns(start) / n;
  for (std::size_t i = 0; i < n; ++i) {
    results[i].total_ns = per_request_ns;
    if (items[i].ns) count_lookup(*items[i].ns, results[i]);
  }
  return results;
}

Expected<Cache::Impl::IdGroups> Cache::Impl::collect_ids(std::string_view model, const std::string& tenant_hex) {
  IdGroups groups;
  const std::string tenant_part = tenant_hex.empty() ? std::string() : tenant_hex + ":";
  Status scanned;
  if (!model.empty()) {
    const detail::NamespaceKeys keys = detail::namespace_keys(options.prefix, options.name, model);
    std::vector<std::string>& ids = groups[std::string(model)];
    scanned = store->scan(keys.entry_prefix + tenant_part, kBatchSize, [&](std::span<const std::string> batch) {
      for (const std::string& key : batch) ids.push_back(key.substr(keys.entry_prefix.size()));
      return Status::ok();
    });
  } else {
    // Every model of this name: PREFIX:NAME:MODEL:e:ID, where the encoded MODEL has no ':'.
    const std::string prefix = detail::name_prefix(options.prefix, options.name);
    scanned = store->scan(prefix, kBatchSize, [&](std::span<const std::string> batch) {
      for (const std::string& key : batch) {
        const std::string_view rest = std::string_view(key).substr(prefix.size());
        const std::size_t colon = rest.find(":e:");
        if (colon == std::string_view::npos) continue;
        const std::string_view encoded_model = rest.substr(0, colon);
        const std::string_view id = rest.substr(colon + 3);
        if (encoded_model.find(':') != std::string_view::npos || !id.starts_with(tenant_part)) continue;
        auto decoded = detail::percent_decode(encoded_model);
        if (!decoded || decoded->empty()) continue;
        groups[*decoded].emplace_back(id);
      }
      return Status::ok();
    });
  }
  if (!scanned) return scanned;
  return groups;
}

Expected<std::uint64_t> Cache::Impl::invalidate(std::string_view model, const std::string& tenant_hex,
                                                const Filter* filter, bool drop) {
  // Queued hit increments go first: sent after the deletes, they would leave counters of
  // deleted entries behind (on Redis, counters are keys of their own).
  StoreBatch flush;
  if (auto flushed = execute(flush); !flushed) return flushed.status().with_context("cache invalidate");
  auto collected = collect_ids(model, tenant_hex);
  if (!collected) return collected.status().with_context("cache invalidate");
  IdGroups& groups = *collected;
  if (drop) {
    // Drop events go to every namespace in use too, even one with no entry left in the store.
    for (const auto& ns : all_namespaces()) {
      if (model.empty() || ns->keys().model == model) groups[ns->keys().model];
    }
  }

  std::uint64_t total = 0;
  for (auto& [group_model, ids] : groups) {
    std::shared_ptr<NamespaceIndex> ns = namespace_for(group_model);
    const detail::NamespaceKeys& keys = ns->keys();
    for (std::size_t start = 0; start < ids.size(); start += kBatchSize) {
      const std::size_t count = std::min(kBatchSize, ids.size() - start);
      std::vector<std::string> chosen(ids.begin() + static_cast<std::ptrdiff_t>(start),
                                      ids.begin() + static_cast<std::ptrdiff_t>(start + count));
      StoreBatch batch;
      for (const std::string& id : chosen) batch.deletes.push_back(keys.entry_prefix + id);
      if (filter != nullptr) {
        auto records = store->read(batch.deletes);
        if (!records) return records.status().with_context("cache invalidate");
        std::vector<std::string> matching;
        batch.deletes.clear();
        for (std::size_t i = 0; i < chosen.size(); ++i) {
          const auto& record = (*records)[i];
          if (!record) continue;
          const std::string* attributes = find_field(*record, detail::field::kAttributes);
          if (attributes == nullptr || !filter->matches(*attributes)) continue;
          matching.push_back(chosen[i]);
          batch.deletes.push_back(keys.entry_prefix + chosen[i]);
        }
        chosen = std::move(matching);
        if (chosen.empty()) continue;
      }
      if (!drop) {
        ChangeEvent event;
        event.kind = EventKind::kDel;
        event.writer = vectors.writer;
        event.ids = chosen;
        batch.appends.push_back(LogAppend{keys.log_key, detail::encode_event(event), options.change_log_max_length});
      }
      auto done = store->execute(batch);
      if (!done) return done.status().with_context("cache invalidate");
      total += done->deleted;
      ns->counters().invalidated.fetch_add(done->deleted, std::memory_order_relaxed);
      if (!drop) ns->remove_local(chosen);
    }
    if (drop) {
      ChangeEvent event;
      event.kind = EventKind::kDrop;
      event.writer = vectors.writer;
      // The older events describe entries that no longer exist: the drop trims the log to
      // about itself (Redis trims whole stream nodes, so up to ~100 older events may stay).
      // Deleting the log instead could give the drop an id below a follower's cursor.
      StoreBatch batch;
      batch.appends.push_back(LogAppend{keys.log_key, detail::encode_event(event), 1});
      if (auto done = store->execute(batch); !done) return done.status().with_context("cache invalidate");
      ns->clear_local();
    }
  }
  return total;
}

Expected<std::unique_ptr<Cache>> Cache::open(std::shared_ptr<Store> store, const CacheOptions& options,
                                             std::shared_ptr<Embedder> embedder) {
  if (!store) return Status::invalid_argument("cache: no store");
  if (!(options.threshold >= 0.0 && options.threshold <= 2.0)) {
    return Status::invalid_argument("cache: threshold must be a cosine distance in 0..2, got " +
                                    std::to_string(options.threshold));
  }
  if (options.prefix.empty() || options.prefix.find_first_of("{}") != std::string::npos) {
    return Status::invalid_argument("cache: prefix must be non-empty and contain no '{' or '}', got '" +
                                    options.prefix + "'");
  }
  auto impl = std::make_unique<Impl>();
  impl->store = std::move(store);
  impl->options = options;
  impl->embedder = std::move(embedder);
  impl->exact = options.mode != CacheMode::kSemantic;
  impl->semantic = options.mode != CacheMode::kExact;
  impl->vectors.writer = random_writer_id();
  impl->vectors.use_snapshots = options.use_snapshots;
  if (impl->semantic) {
    std::size_t dim = options.dim;
    if (impl->embedder) {
      if (dim != 0 && dim != impl->embedder->dim()) {
        return Status::invalid_argument("cache: dim " + std::to_string(dim) + " differs from the embedder's " +
                                        std::to_string(impl->embedder->dim()) + " (" + impl->embedder->identity() +
                                        ")");
      }
      dim = impl->embedder->dim();
      impl->vectors.identity = impl->embedder->identity();
    } else {
      if (dim == 0) {
        return Status::invalid_argument("cache: " + std::string(to_string(options.mode)) +
                                        " mode needs an embedder or the dim of precomputed embeddings");
      }
      impl->vectors.identity = options.vector_identity + "/" + std::to_string(dim);
    }
    if (options.candidates == 0) return Status::invalid_argument("cache: candidates must be >= 1");
    impl->vectors.set_options.dim = dim;
    impl->vectors.set_options.metric = Metric::kCosine;
    impl->vectors.set_options.quantization = options.quantization;
    impl->vectors.set_options.m = options.m;
    impl->vectors.set_options.ef_construction = options.ef_construction;
    auto probe = VectorSet::create(impl->vectors.set_options);  // validates dim, m, ef_construction
    if (!probe) return probe.status().with_context("cache");
  }
  Impl* raw = impl.get();
  if (options.follow_interval.count() > 0 || (impl->semantic && options.snapshot_interval.count() > 0)) {
    raw->follower = std::thread([raw] { raw->follow_loop(); });
  }
  return std::unique_ptr<Cache>(new Cache(std::move(impl)));
}

Cache::Cache(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Cache::WriteBehind Cache::write_behind() { return WriteBehind(*this); }

Cache::WriteBehind::WriteBehind(Cache& cache) : cache_(&cache), held_(std::make_unique<Held>()) {}

Cache::WriteBehind::WriteBehind(WriteBehind&& other) noexcept
    : cache_(other.cache_), held_(std::move(other.held_)) {}

Cache::WriteBehind::~WriteBehind() { (void)flush(); }

std::vector<LookupResult> Cache::WriteBehind::lookup_or_store(std::span<const CacheRequest> requests,
                                                              std::span<const std::string_view> responses,
                                                              std::span<const std::string_view> attributes) {
  if (auto errors = mismatched_sizes(requests, responses, attributes); !errors.empty()) return errors;
  if (cache_->impl_->semantic) return cache_->lookup_or_store(requests, responses, attributes);
  return cache_->impl_->exact_lookup_or_store(requests, responses, attributes, held_.get());
}

Status Cache::WriteBehind::flush() {
  if (!held_ || held_->empty()) return Status::ok();
  StoreBatch batch = std::move(held_->batch);
  held_->batch = StoreBatch{};
  auto sent = cache_->impl_->execute(batch);
  held_->settle(sent);
  if (!sent) return Status::unavailable("cache write-behind flush: " + sent.status().message());
  return Status::ok();
}

Cache::~Cache() {
  {
    std::lock_guard lock(impl_->follower_mutex);
    impl_->stopping = true;
  }
  impl_->follower_wake.notify_all();
  if (impl_->follower.joinable()) impl_->follower.join();
  StoreBatch flush;
  (void)impl_->execute(flush);  // the queued hit increments; best effort
}

LookupResult Cache::lookup(const CacheRequest& request) { return impl_->lookup(request); }

Status Cache::store(const CacheRequest& request, std::string_view response, std::string_view attributes_json) {
  return impl_->store_entry(request, response, attributes_json);
}

std::vector<LookupResult> Cache::lookup_or_store(std::span<const CacheRequest> requests,
                                                 std::span<const std::string_view> responses,
                                                 std::span<const std::string_view> attributes) {
  if (auto errors = mismatched_sizes(requests, responses, attributes); !errors.empty()) return errors;
  if (!impl_->semantic) return impl_->exact_lookup_or_store(requests, responses, attributes, nullptr);
  std::vector<LookupResult> results;
  results.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    results.push_back(lookup(requests[i]));
    if (!results.back().hit())
      (void)store(requests[i], responses[i], attributes.empty() ? std::string_view() : attributes[i]);
  }
  return results;
}

Expected<std::uint64_t> Cache::invalidate_namespace(std::string_view model) {
  return impl_->invalidate(model, std::string(), nullptr, true);
}

Expected<std::uint64_t> Cache::invalidate_tenant(std::string_view model, std::string_view tenant) {
  return impl_->invalidate(model, detail::tenant_hex(tenant), nullptr, false);
}

Expected<std::uint64_t> Cache::invalidate_attribute(std::string_view model, std::string_view field,
                                                    std::string_view value) {
  if (!valid_field_name(field)) {
    return Status::invalid_argument("cache invalidate: attribute field '" + std::string(field) +
                                    "' must be a top-level name of letters, digits and '_'");
  }
  auto filter = Filter::parse("." + std::string(field) + " == " + json_escape(value));
  if (!filter) return Status::invalid_argument("cache invalidate: " + filter.status().message());
  return impl_->invalidate(model, std::string(), &filter.value(), false);
}

Status Cache::warm(std::string_view model) {
  if (model.empty()) return Status::invalid_argument("cache warm: no model given");
  return impl_->namespace_for(model)->ensure_ready(*impl_->store);
}

Status Cache::sync() { return impl_->sync(); }

Expected<SnapshotInfo> Cache::publish_snapshot(std::string_view model) {
  if (!impl_->semantic) return Status::invalid_argument("cache snapshot: exact mode keeps no vector set");
  if (model.empty()) return Status::invalid_argument("cache snapshot: no model given");
  std::shared_ptr<NamespaceIndex> ns = impl_->namespace_for(model);
  if (Status st = ns->ensure_ready(*impl_->store); !st) return st.with_context("cache snapshot");
  return impl_->publish(*ns);
}

Expected<std::vector<SnapshotInfo>> Cache::publish_snapshots() {
  if (!impl_->semantic) return Status::invalid_argument("cache snapshot: exact mode keeps no vector set");
  std::vector<SnapshotInfo> out;
  for (const auto& ns : impl_->all_namespaces()) {
    if (!ns->ready()) continue;
    auto info = impl_->publish(*ns);
    if (!info) return info.status();
    out.push_back(std::move(info.value()));
  }
  return out;
}

Expected<std::optional<SnapshotInfo>> Cache::snapshot_info(std::string_view model) {
  if (model.empty()) return Status::invalid_argument("cache snapshot info: no model given");
  const detail::NamespaceKeys keys = detail::namespace_keys(impl_->options.prefix, impl_->options.name, model);
  auto manifest = detail::read_snapshot_manifest(*impl_->store, keys);
  if (!manifest) return manifest.status();
  if (!manifest->has_value()) return std::optional<SnapshotInfo>();
  return std::optional<SnapshotInfo>(detail::to_snapshot_info(std::string(model), **manifest));
}

std::vector<NamespaceStats> Cache::stats() const {
  std::vector<NamespaceStats> out;
  for (const auto& ns : impl_->all_namespaces()) out.push_back(ns->stats());
  return out;
}

const CacheOptions& Cache::options() const { return impl_->options; }

Store& Cache::backing_store() const { return *impl_->store; }

}  // namespace semcache
