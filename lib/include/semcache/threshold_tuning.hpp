#pragma once
// Threshold tuning (`semcache tune`): the cosine-distance threshold that serves the most hits
// while the false-hit rate stays under a target with 95% confidence.
//
// A tuning sample is a list of items (lookups), each with at most one candidate: the cached
// prompt it would be served from, at some cosine distance. At threshold t an item is served
// its candidate's answer when distance <= t. Two sources:
//  - labelled pairs (pair_eval.hpp): each pair is an item and text_b its candidate. The hit
//    rate is the recall (accepted positives / positives: how many of the lookups that deserve
//    a hit get one); the false-hit rate is accepted negatives / all pairs.
//  - a prompt log with `group` fields (prompt_log.hpp): each request is an item, and its
//    candidate is its nearest EARLIER request of the same tenant and model (exact cosine
//    search over everything before it; the first request of a tenant and model has none).
//    The hit rate is served requests / requests, the false-hit rate is served requests whose
//    candidate has another group / requests, as in replay (a request or candidate without a
//    group is served but not judged). This is the cache's outcome when every earlier request
//    is cached. A real cache (and replay, replay.hpp) stores only misses: a request whose
//    nearest earlier prompt was itself a hit finds a stored neighbour further away, which is
//    more often another group's, so at one threshold it serves a little less and is wrong a
//    little more often (on `gen prompts --n 20000 --groups 3000`, hash embedder, at 0.1:
//    hit rate 44.6% vs replay's 44.2%, false-hit rate 1.59% vs replay's 1.79%). Therefore
//    the recommendation for a log is checked by simulate_cache(), a cache that stores only
//    misses (exact search, no HNSW, no Redis), and lowered until that cache keeps the bound.
//    Replay can still differ a little: its index holds int8-quantised vectors, so near the
//    threshold it may serve an entry whose exact distance is just beyond it, and since a hit
//    is not stored, that choice carries over to later paraphrases of the same prompt (on a
//    4,000-request generated log at the recommended threshold: simulated hit rate 40.35%,
//    false-hit rate 2.45%; replay 40.5% and 3.1%). Confirm with `semcache replay`.
// In both, the false-hit rate divides by all items: the share of lookups served a wrong answer.
//
// The recommendation is exact: every distinct candidate distance is a threshold where the
// counts change, and all of them are scanned (not a grid). Among the thresholds whose
// Wilson 95% upper bound of the false-hit rate is <= the target, it is the one with the most
// hits, the smallest such threshold on a tie (fewest false hits). Any threshold from it up to
// (not including) the next distinct distance gives the same counts on this sample; the
// recommended one is the conservative end. For a log, that threshold is then simulated with a
// misses-only cache; if its bound is above the target, the largest distinct distance below it
// whose simulated bound holds is found by bisection (a few simulations; the simulated false-hit
// rate grows with the threshold in practice, though not by construction), and the figures
// reported for the recommendation are the simulated ones: what a replay with exact search sees.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/embedder.hpp"
#include "semcache/pair_eval.hpp"
#include "semcache/prompt_log.hpp"
#include "semcache/statistics.hpp"
#include "semcache/status.hpp"

namespace semcache {

namespace detail {
struct LogIndex;  // a log's vectors grouped by tenant and model (threshold_tuning.cpp)
}

enum class TuningSource { kPairs, kLog };
std::string_view to_string(TuningSource source);  // "pairs" | "log"

struct TuningCandidate {
  double distance = 0;
  bool counts_as_hit = false;  // pairs: a positive; log: always (every served request is a hit)
  bool false_hit = false;      // pairs: a negative; log: judged, and the groups differ
};

struct TuningSample {
  TuningSource source = TuningSource::kPairs;
  std::string path;
  std::string embedder;                  // identity ("precomputed" when every log vector was)
  std::size_t dim = 0;
  std::uint64_t lines = 0;               // lines read (blank and skipped ones included)
  std::uint64_t skipped_lines = 0;
  std::vector<std::string> skipped_messages;
  std::uint64_t items = 0;               // pairs or requests: the false-hit rate's denominator
  std::uint64_t hit_trials = 0;          // positives or requests: the hit rate's denominator
  std::vector<TuningCandidate> candidates;  // items that have one (a log's first request per scope has none)
  // Log only:
  std::uint64_t scopes = 0;              // distinct (tenant, model)
  std::uint64_t judged = 0;              // requests whose candidate and themselves carry a group
  std::uint64_t embedded = 0;            // requests embedded (the rest brought an `embedding`)
  std::uint64_t distances_computed = 0;  // by the exact nearest-earlier search
  std::shared_ptr<const detail::LogIndex> log_index;  // the vectors, for simulate_cache
};

// The pairs' distances as a sample.
TuningSample tuning_sample_from_pairs(const PairDistances& pairs);

struct LogTuningOptions {
  PromptLogOptions log;                  // field remapping, --on-error skip
  std::size_t limit = 0;                 // only the first N requests; 0: all
  std::size_t threads = 0;               // nearest-earlier search threads; 0: the hardware's
  std::size_t batch_texts = 256;         // texts per embed() call
};

struct TuningProgress {
  std::string_view phase;                // "embed" (bytes of the log) or "search" (requests)
  std::uint64_t done = 0;
  std::uint64_t total = 0;
};

// Reads a prompt log, embeds each request's text (prompt, or the messages' contents joined by
// newlines, as replay does) unless it brings an `embedding`, and finds each request's nearest
// earlier request of the same tenant and model by exact search: O(n^2 / scopes) distances,
// blocked for the cache and spread over threads (about a second for 20,000 requests of 256
// dimensions). Vectors are normalised; a zero vector is at distance 1 from everything. Bad
// lines and vectors of another dimension than the first are bad_input naming file:line (or
// skipped with skip_bad_lines); a log without any `group` is bad_input (nothing to judge).
Expected<TuningSample> tuning_sample_from_log(const std::string& path, Embedder& embedder, const LogTuningOptions& options = {},
                                              const std::function<void(const TuningProgress&)>& progress = {});

struct TuningPoint {
  double threshold = 0;
  std::uint64_t served = 0;              // items served their candidate's answer
  std::uint64_t hits = 0;                // served items that count as hits
  std::uint64_t false_hits = 0;
  double hit_rate = 0;                   // hits / hit_trials
  double false_hit_rate = 0;             // false_hits / items
  Interval hit_rate_ci95;
  Interval false_hit_rate_ci95;          // .high is the bound held under the target
  bool within_target = false;            // false_hit_rate_ci95.high <= max_false_hit_rate
};

struct TuningResult {
  double max_false_hit_rate = 0;
  bool found = false;                    // some threshold meets the target
  TuningPoint recommended;               // valid when found
  std::uint64_t thresholds_scanned = 0;  // distinct candidate distances
  // The bound with no false hit at all: a sample too small to show the target has a bound above it.
  double bound_without_false_hits = 0;
  std::vector<TuningPoint> per_threshold;  // at the thresholds asked for, in that order
  std::vector<TuningPoint> curve;          // at 0, 0.005, ..., 1
  // Log only: `recommended` and per_threshold_simulated come from simulate_cache;
  // nearest_earlier is the every-request-cached recommendation it started from.
  bool simulated = false;
  bool nearest_earlier_found = false;
  TuningPoint nearest_earlier;
  std::uint64_t simulations = 0;           // simulate_cache runs of the bisection
  std::vector<TuningPoint> per_threshold_simulated;
};

// The outcome at `threshold` of a cache in front of the log that stores only misses, as replay
// does: each request, in log order, is served by its nearest STORED earlier request of the same
// tenant and model (exact search) when that is within the threshold, and is stored otherwise.
// O(n * misses / scopes) distances; scopes run on the sample's threads. Log samples only.
TuningPoint simulate_cache(const TuningSample& sample, double threshold, double max_false_hit_rate);

// max_false_hit_rate in (0, 1).
TuningResult tune_threshold(const TuningSample& sample, double max_false_hit_rate, std::span<const double> thresholds);

struct TuneJsonParams {
  std::size_t limit = 0;
  bool skip_bad_lines = false;
};

// The result JSON ("kind": "tune"): params, machine, the sample's counts, threshold (null when
// none meets the target), similarity, expected_hit_rate, expected_false_hit_rate,
// expected_false_hit_rate_upper (the Wilson 95% bound held under the target), their intervals,
// per_threshold[] and curve[] of the points above.
std::string tune_result_json(const TuningResult& result, const TuningSample& sample, const TuneJsonParams& params);

}  // namespace semcache
