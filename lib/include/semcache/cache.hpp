#pragma once
// The LLM response cache: exact and semantic lookups over a Store (in-memory or Redis), with
// namespaces that carry the model identity, per-tenant isolation, TTLs, invalidation,
// statistics and a change log that lets processes sharing one Redis share one cache.
//
//   auto cache = Cache::open(store, options, make_hash_embedder());
//   CacheRequest request{.model = "gpt-4o-mini", .tenant = "acme", .canonical = canonical_request(r),
//                        .text = r.prompt};
//   LookupResult found = cache->lookup(request);
//   if (!found.hit()) { /* call the model */ (void)cache->store(request, response); }
//
// Namespaces. Every request names its model (with its version, e.g. "gpt-4o-mini@2024-07-18");
// the namespace is CacheOptions::name + the model, so a model change never serves an answer of
// another model, and a namespace can be dropped at once. Keys (the prefix defaults to
// "semcache"; name and model are percent-encoded for '%', ':', '{' and '}'):
//   PREFIX:NAME:MODEL:e:TENANT:ID     an entry (record), TENANT = 16 hex digits of the tenant's
//                                     hash, ID = 32 hex digits of hash(tenant, canonical request)
//   PREFIX:{NAME:MODEL}:log           the namespace's change log (hash tag: one cluster slot)
//   PREFIX:{NAME:MODEL}:snap          the manifest of the namespace's newest vector-set snapshot;
//   PREFIX:{NAME:MODEL}:snap:ID:N     its chunks (same hash tag)
// Entries spread over the keyspace; the bookkeeping of one namespace shares a hash tag.
//
// Entries hold the canonical request, the embedded text, the response, model, tenant, created
// time, hit count, free attributes (JSON object) and, when stored for semantic lookups, the
// vector and the embedder identity. An exact hit requires the same tenant, model and canonical
// request (compared byte for byte, not only by hash). A semantic hit searches the namespace's
// in-process vector set under a hard filter on the tenant, takes candidates whose cosine
// distance is <= threshold closest first, fetches them from the store (one round trip), and
// returns the first that still exists and belongs to the request's tenant and model; a
// candidate that expired from the store is removed from the vector set.
//
// Sharing. The store is the source of truth. A namespace's vector set is rebuilt from the
// store when the namespace is first used (warm() does it ahead of time), then kept current
// through the change log: each semantic store appends an event, deletions and drops append
// theirs, and a follower applies other writers' events (a background thread when
// follow_interval > 0, and sync() on demand). A new process joins a large cache quickly by
// loading the namespace's newest snapshot (published on command or every snapshot_interval)
// and replaying the change log from the position it covers; a corrupt, mismatching or stale
// snapshot is refused and the set is rebuilt (NamespaceStats says which happened, how long it
// took, and why a snapshot was refused).
//
// Failures. A store that is down or slow makes lookups return kError (counted; callers treat it
// as a miss) within the store's timeout, and stores return unavailable and count as dropped.
// Thread model: every method may be called from many threads at once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/embedder.hpp"
#include "semcache/latency_histogram.hpp"
#include "semcache/metric.hpp"
#include "semcache/status.hpp"
#include "semcache/store.hpp"

namespace semcache {

enum class CacheMode { kExact, kSemantic, kBoth };
std::string_view to_string(CacheMode mode);
Expected<CacheMode> parse_cache_mode(std::string_view text);  // "exact" | "semantic" | "both"

struct CacheOptions {
  std::string prefix = "semcache";     // first part of every key; no '{' or '}'
  std::string name = "default";        // the application's namespace; the model is added per request
  CacheMode mode = CacheMode::kBoth;
  double threshold = 0.1;              // cosine distance (1 - similarity), 0..2
  std::chrono::milliseconds ttl{0};    // entries expire this long after they are stored; 0: never
  std::size_t ef = 32;                 // HNSW candidate list size for semantic search
  std::size_t candidates = 4;          // semantic candidates fetched per lookup (closest first)
  Quantization quantization = Quantization::kInt8;
  std::size_t m = 16;
  std::size_t ef_construction = 100;
  // How often the background follower reads the change logs; 0: no thread (call sync()).
  std::chrono::milliseconds follow_interval{100};
  std::size_t change_log_max_length = 1'000'000;  // entries kept per namespace log (approximate)
  // Without an embedder, semantic lookups need CacheRequest::embedding, and these say what the
  // vectors are (their identity namespaces the vector set like an embedder's would).
  std::size_t dim = 0;
  std::string vector_identity = "precomputed";
  // Warm start: a namespace's vector set is loaded from its newest snapshot in the store (then
  // the change log is replayed from the position it covers) before falling back to a rebuild
  // from the entries. false: always rebuild.
  bool use_snapshots = true;
  // > 0: the background thread publishes a snapshot of every ready namespace this often (only
  // when its set covers a newer log position than its last publish); 0: only on command
  // (publish_snapshot).
  std::chrono::milliseconds snapshot_interval{0};
};

// One request as the cache sees it. The views must stay valid during the call.
struct CacheRequest {
  std::string_view model;               // required: the model identity
  std::string_view tenant;              // "" is a tenant like any other
  std::string_view canonical;           // the exact key's text: canonical_request() of the record
  std::string_view text;                // the text to embed (prompt, or the conversation's text)
  std::span<const float> embedding;     // precomputed vector; empty: the embedder embeds `text`
};

struct CacheEntry {
  std::string key;                      // its key in the store
  std::string model;
  std::string tenant;
  std::string canonical;
  std::string text;
  std::string response;
  std::string attributes_json;          // "" when none
  std::int64_t created_ms = 0;          // Unix epoch milliseconds
  std::int64_t hits = 0;                // hits served before this one
};

enum class LookupOutcome { kMiss, kExactHit, kSemanticHit, kError };

struct LookupResult {
  LookupOutcome outcome = LookupOutcome::kMiss;
  CacheEntry entry;                     // set on a hit
  float distance = 0;                   // semantic hit: cosine distance to the entry's vector
  std::string error;                    // kError: what failed (Redis down, timeout, ...)
  // Where the time went, in nanoseconds (the work report of one lookup).
  std::uint64_t total_ns = 0;
  std::uint64_t embed_ns = 0;
  std::uint64_t search_ns = 0;
  std::uint64_t store_ns = 0;
  std::size_t candidates_tried = 0;     // semantic candidates fetched
  std::size_t expired_candidates = 0;   // of those, gone from the store (removed from the index)

  bool hit() const { return outcome == LookupOutcome::kExactHit || outcome == LookupOutcome::kSemanticHit; }
};

struct NamespaceStats {
  std::string model;
  std::string key;                      // "NAME:MODEL" as in the keys
  std::uint64_t lookups = 0;
  std::uint64_t exact_hits = 0;
  std::uint64_t semantic_hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t errors = 0;             // lookups that failed (store down): served as misses
  std::uint64_t stores = 0;
  std::uint64_t dropped_stores = 0;     // stores lost to a store failure
  std::string first_error;              // why the first failed lookup or dropped store failed
                                        // ("" while none did)
  std::uint64_t expired_candidates = 0;
  std::uint64_t invalidated = 0;        // entries deleted by invalidate_*()
  std::uint64_t followed_changes = 0;   // other writers' change-log events applied
  std::uint64_t log_resyncs = 0;        // vector set loaded again because the change log no
                                        // longer held every event after its position (trimmed
                                        // past it, or deleted and started again)
  std::size_t indexed = 0;              // vectors in the in-process vector set now
  std::string warm_start;               // how the vector set became ready: "snapshot", "rebuild",
                                        // or "" (not yet, or exact mode)
  double warm_start_ms = 0;             // how long that took, the change-log replay included
  std::string snapshot_refused;         // why the namespace's snapshot was not used ("" when it
                                        // was, or when there was none)
  LatencyHistogram lookup_latency_ns;
};

// A namespace's snapshot in the store: its manifest (the newest), as published or as read back.
struct SnapshotInfo {
  std::string model;
  std::string id;                       // "SEQUENCE-TOKEN"
  std::uint64_t sequence = 0;
  std::string log_id;                   // the change-log position it covers
  std::uint64_t chunks = 0;
  std::uint64_t bytes = 0;              // payload size
  std::uint64_t elements = 0;           // vectors in the set
  std::int64_t created_ms = 0;          // Unix epoch milliseconds
  std::string identity;                 // vector identity it was built for
  std::uint64_t removed_chunks = 0;     // publish only: chunks of older snapshots deleted
  double publish_ms = 0;                // publish only: serialising and writing it
};

// What a store holds for one cache name, namespace by namespace: an operator's view
// (describe_namespaces scans every key of the name, so it costs a pass over the keyspace).
struct StoredNamespace {
  std::string model;
  std::uint64_t entries = 0;
  std::size_t dim = 0;                  // of one vector entry (0: none seen)
  std::string vector_identity;          // of that entry: what a Cache must use to index them
  std::string log_last_id;              // the change log's newest id ("0-0": empty)
  std::optional<SnapshotInfo> snapshot; // the newest snapshot's manifest
  std::string snapshot_error;           // why the manifest could not be read (malformed)
};
Expected<std::vector<StoredNamespace>> describe_namespaces(Store& store, std::string_view prefix,
                                                           std::string_view name);

class Cache {
 public:
  // `embedder` may be null: then semantic lookups need precomputed embeddings of options.dim.
  // invalid_argument for bad options (threshold outside 0..2, a prefix with braces, semantic
  // mode with neither an embedder nor a dim).
  static Expected<std::unique_ptr<Cache>> open(std::shared_ptr<Store> store, const CacheOptions& options,
                                               std::shared_ptr<Embedder> embedder = nullptr);
  ~Cache();
  Cache(const Cache&) = delete;
  Cache& operator=(const Cache&) = delete;

  // Exact lookup first (modes exact, both), then semantic (semantic, both). Never fails: a
  // broken store or embedder gives kError with the reason. A request without a model, or an
  // embedding of the wrong dimension, is kError too (nothing is looked up).
  LookupResult lookup(const CacheRequest& request);

  // Stores the model's answer for the request (replacing an entry of the same request).
  // unavailable when the store failed (counted as dropped); invalid_argument for bad
  // attributes (not a JSON object) or an embedding of the wrong dimension.
  Status store(const CacheRequest& request, std::string_view response, std::string_view attributes_json = {});

  // Replays requests in order: for each, lookup(); on a miss or an error, store(responses[i],
  // attributes[i]) (attributes may be empty: none). The outcomes are exactly those of the
  // sequential calls; in exact mode the whole batch costs one or two store round trips.
  std::vector<LookupResult> lookup_or_store(std::span<const CacheRequest> requests,
                                            std::span<const std::string_view> responses,
                                            std::span<const std::string_view> attributes = {});

  // lookup_or_store() for a stream of batches from one caller, with write-behind: a batch's
  // writes (the misses' entries, the hits' counts) are held and go to the store in the round
  // trip of the next batch's reads, which the store applies after them. The outcomes stay
  // those of the sequential calls while an exact batch costs one round trip instead of two.
  // The price: held entries reach the store, and other processes, only with the next batch or
  // flush(), and their stores or dropped stores are counted then; a held write the store
  // refuses (say an increment of a counter some other program overwrote) fails the next
  // batch's lookups with it. One thread at a time per WriteBehind; the Cache must outlive it;
  // its destructor flushes. Semantic modes hold nothing: their batches run as lookup_or_store().
  class WriteBehind {
   public:
    ~WriteBehind();
    WriteBehind(WriteBehind&& other) noexcept;
    WriteBehind& operator=(WriteBehind&&) = delete;
    WriteBehind(const WriteBehind&) = delete;
    WriteBehind& operator=(const WriteBehind&) = delete;

    std::vector<LookupResult> lookup_or_store(std::span<const CacheRequest> requests,
                                              std::span<const std::string_view> responses,
                                              std::span<const std::string_view> attributes = {});
    // Sends the held writes now; unavailable when the store failed (they are counted dropped).
    Status flush();

   private:
    friend class Cache;
    struct Held;
    explicit WriteBehind(Cache& cache);
    Cache* cache_;
    std::unique_ptr<Held> held_;
  };
  WriteBehind write_behind();

  // Invalidation; each returns the number of entries deleted and tells other processes
  // through the change logs. An empty model means every namespace of this cache's name.
  Expected<std::uint64_t> invalidate_namespace(std::string_view model);
  Expected<std::uint64_t> invalidate_tenant(std::string_view model, std::string_view tenant);
  // Entries whose attributes have `field` (a top-level name: letters, digits, '_') equal to
  // the string `value`.
  Expected<std::uint64_t> invalidate_attribute(std::string_view model, std::string_view field,
                                               std::string_view value);

  // Makes the namespace's vector set ready now (from its snapshot, else by a rebuild), if not
  // yet done.
  Status warm(std::string_view model);

  // Snapshots (semantic modes). publish_snapshot() makes the namespace ready (warm) and
  // publishes its vector set as the namespace's newest snapshot, removing all but the newest
  // two; publish_snapshots() does it for every namespace this Cache has made ready.
  // invalid_argument in exact mode; unavailable when the store failed.
  Expected<SnapshotInfo> publish_snapshot(std::string_view model);
  Expected<std::vector<SnapshotInfo>> publish_snapshots();
  // The namespace's newest snapshot manifest, nullopt when it has none (corrupt: malformed).
  Expected<std::optional<SnapshotInfo>> snapshot_info(std::string_view model);
  // Applies every change-log event other writers appended so far, in every namespace in use.
  Status sync();

  std::vector<NamespaceStats> stats() const;
  const CacheOptions& options() const;
  Store& backing_store() const;

 private:
  struct Impl;
  explicit Cache(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace semcache
