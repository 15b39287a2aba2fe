#pragma once
// Replay of a prompt log against the caches (`semcache replay`): for each request in log
// order, look up; a hit is counted (and, when the log carries `group`, judged: a hit whose
// entry came from another group is a false hit); a miss takes the logged response as the
// model's answer and stores it. Each threshold of `thresholds` is replayed on its own, empty
// cache state (its own namespace name), exactly as if run separately.
//
// Pacing: kMax is a closed loop (each worker sends its next request when the previous one is
// answered; with one worker, exact mode pipelines `batch_size` requests per round trip and
// the outcomes are still exactly those of the sequential order); kRecorded is an open loop
// that starts request i at t0 + (ts_i - ts_0) / speed, and measures its latency from that
// intended start, so a stall delays and counts every request behind it (no coordinated
// omission).
//
// Figures: lookup latency is the cache lookup; end-to-end latency is what the user would have
// waited: the lookup for a hit, the lookup + the logged latency_ms + the store for a miss
// (the model's time is taken from the log, not slept). Saved tokens and money count hits only,
// from the logged token counts and the price table.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "semcache/cache.hpp"
#include "semcache/embedder.hpp"
#include "semcache/latency_histogram.hpp"
#include "semcache/price_table.hpp"
#include "semcache/prompt_log.hpp"
#include "semcache/redis_store.hpp"
#include "semcache/statistics.hpp"
#include "semcache/status.hpp"
#include "semcache/store.hpp"

namespace semcache {

enum class Pace { kMax, kRecorded };

struct ReplayOptions {
  PromptLogOptions log;                 // field remapping, --on-error skip
  std::string redis_url;                // empty: the embedded in-memory store
  RedisStoreOptions redis;
  CacheMode mode = CacheMode::kBoth;
  std::vector<double> thresholds{0.1};  // one replay each
  std::string embedder = "hash";        // make_embedder() spec, for records without a precomputed embedding
  EmbedderOptions embedder_options;
  bool embedding_cache = false;         // embed through an EmbeddingCache on the same store
  Pace pace = Pace::kMax;
  double speed = 1.0;                   // kRecorded: divides the log's inter-arrival times
  std::size_t concurrency = 1;          // workers
  std::size_t batch_size = 256;         // pace max, exact mode: requests per pipelined batch
  std::chrono::milliseconds ttl{0};     // entry TTL; 0: none
  std::size_t ef = 32;
  std::size_t candidates = 4;
  std::string prefix = "semcache";
  std::string name;                     // namespace name; empty: "replay-<random hex>"
  bool keep = false;                    // keep the entries after the replay (else dropped)
  std::size_t limit = 0;                // replay only the first N requests; 0: all
  std::optional<PriceTable> prices;     // nullopt: PriceTable::defaults()
  bool prices_required = false;         // a model without a price is an error (--prices given)
  std::size_t timeline_points = 100;    // hit rate over the replay, in this many windows
  // Replay every threshold this many times, each on a fresh namespace: the result reports the
  // repetition with the median throughput, and every repetition's timing (compare's noise).
  std::size_t repeat = 1;
  std::string decisions_path;           // non-empty: write one JSON line per decision (tests)
};

// Pace max in exact mode replays in pipelined batches (Cache::WriteBehind: one round trip per
// batch, carrying the previous batch's writes): each worker owns the requests of its share of
// the keys, in log order, so outcomes are exactly those of one request at a time.
bool replays_in_batches(const ReplayOptions& options);

struct TimelinePoint {
  std::uint64_t requests = 0;           // requests replayed at the end of the window
  double ts = 0;                        // the log's ts of the window's last request (0: none)
  double hit_rate = 0;                  // hits / requests within the window
};

// What one repetition of a replay measured (ReplayOptions::repeat > 1).
struct ReplayRepetition {
  double seconds = 0;
  double throughput_rps = 0;
  double hit_rate = 0;
  double false_hit_rate = 0;
  std::uint64_t errors = 0;
  LatencySummary lookup_us;
  LatencySummary end_to_end_us;
};

// What a Redis Cluster store did during one replay (ClusterStats over the run): which node
// answered how many commands, and the redirections the cluster sent.
struct ReplayClusterFigures {
  std::vector<std::pair<std::string, std::uint64_t>> node_commands;  // "host:port", commands; sorted by node
  std::uint64_t moved = 0;              // MOVED replies followed (a slot that had moved)
  std::uint64_t asked = 0;              // ASK replies followed (a slot in migration)
  std::uint64_t try_again = 0;          // TRYAGAIN replies retried
  std::uint64_t slot_map_loads = 0;
};

// The figures of one replay (one threshold), with DESIGN.md's names.
struct ReplayFigures {
  double threshold = 0;
  std::uint64_t requests = 0;
  std::uint64_t exact_hits = 0;
  std::uint64_t semantic_hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t errors = 0;             // lookups that failed (served as misses); requests = hits + misses + errors
  std::uint64_t dropped_stores = 0;
  std::string first_store_error;        // why the first failed lookup or dropped store failed ("" if none)
  bool has_groups = false;              // the log carries ground truth
  std::uint64_t judged_hits = 0;        // hits where the request and the entry both have a group
  std::uint64_t false_hits = 0;
  std::uint64_t prompt_tokens_saved = 0;
  std::uint64_t completion_tokens_saved = 0;
  double cost_saved_usd = 0;
  std::uint64_t unpriced_hits = 0;      // hits on models without a price (saved tokens, no money)
  double seconds = 0;                   // wall time of this replay
  LatencyHistogram lookup_ns;
  LatencyHistogram end_to_end_ns;
  // Where lookup time went, summed over lookups: embedding, the vector search, store round trips.
  std::uint64_t embed_ns = 0;
  std::uint64_t search_ns = 0;
  std::uint64_t store_ns = 0;
  std::vector<TimelinePoint> timeline;
  StoreCounters store;                  // the store's counters over this replay
  std::optional<ReplayClusterFigures> cluster;  // a redis+cluster:// store only
  // repeat > 1: every repetition in order; the figures above are the median-throughput one's.
  std::vector<ReplayRepetition> repeats;

  std::uint64_t hits() const { return exact_hits + semantic_hits; }
  double hit_rate() const;              // hits / requests
  double false_hit_rate() const;        // false hits / requests
  double precision() const;             // (judged hits - false hits) / judged hits
  Interval false_hit_rate_interval() const;  // Wilson 95%
  double throughput_rps() const;
};

struct ReplayResult {
  std::string log_path;
  std::uint64_t lines = 0;              // lines read (blank and skipped ones included)
  std::uint64_t skipped_lines = 0;      // --on-error skip
  std::vector<std::string> skipped_messages;
  std::string store;                    // "memory" or the redacted Redis URL
  std::string embedder;                 // identity used ("" in exact mode)
  std::size_t dim = 0;
  std::vector<std::string> unpriced_models;
  std::vector<ReplayFigures> runs;      // one per threshold, in the order given
};

struct ReplayProgress {
  std::size_t run = 0;                  // index of the threshold being replayed
  std::size_t runs = 0;
  std::uint64_t requests = 0;           // done in this run
  std::uint64_t bytes_read = 0;
};

// Bad input (a malformed line without skip, a wrong-dimension embedding, an unpriced model with
// prices_required) is bad_input naming the file and line; an unreachable Redis at the start is
// unavailable. Redis failing during the replay is not an error: it is counted (errors, dropped
// stores) and the replay goes on, reconnecting when Redis is back.
Expected<ReplayResult> run_replay(const std::string& log_path, const ReplayOptions& options,
                                  const std::function<void(const ReplayProgress&)>& progress = {});

// The result JSON of DESIGN.md ("kind": "replay"): the first run's figures at top level, and
// per_threshold[] with every run's (always written, one entry per threshold).
std::string replay_result_json(const ReplayResult& result, const ReplayOptions& options);

}  // namespace semcache
