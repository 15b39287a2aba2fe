// Threshold tuning (`semcache tune`, see threshold_tuning.hpp): a tuning sample from labelled
// pairs or from a prompt log, and the exact scan that picks the threshold.
//
// The log sample. Requests are read in log order (PromptLogReader, constant memory per line)
// and their vectors kept: the log's own `embedding`, or the embedder's, batch_texts texts per
// embed() call. The first vector fixes the dimension; a vector of another size is bad input.
// Every vector is normalised once, so a distance is 1 - dot (clamped to [0, 2]) and a zero
// vector, flagged, is at distance 1 from everything, as the cosine kernels define it.
//
// The nearest-earlier search is exact brute force, which is what makes the tuning exact: the
// requests are regrouped by scope (tenant, model) into one contiguous array, keeping log
// order within a scope, and each request is compared with every earlier request of its scope.
// The work is split into units of kQueryBlock consecutive requests of one scope; a unit walks
// the earlier requests in tiles of kTile vectors and compares every request of the block with
// a tile while it is in cache (a block and a tile of 256-dimension vectors are 32 and 64 KiB),
// so memory traffic is cut by the block size. Units are taken from an atomic counter by
// `threads` threads; each request belongs to one unit and walks its candidates in ascending
// order with a strict '<', so the nearest (the earliest one on a tie) does not depend on the
// number of threads. An HNSW index (vector_set.hpp) would scale further but would make the
// sample approximate; at O(n^2 / scopes) a log of 20,000 requests takes about a second.
//
// The misses-only simulation (simulate_cache) replays the log per scope, in log order, keeping
// the list of stored (missed) requests. It leans on the nearest-earlier search: a request whose
// nearest earlier request is beyond the threshold is a miss without any search, and one whose
// nearest earlier request is stored is served by it (no stored request can be nearer, and on a
// tie it is the earliest, as the scan would take). Only a request whose nearest earlier one was
// itself a hit scans the stored list, so a simulation costs a fraction of the first search.
// Scopes are independent and run on the sample's threads.
//
// The scan. Candidates are sorted by distance once; every distinct distance is a threshold
// where the counts change. The Wilson upper bound grows with the false hits, so the thresholds
// within the target are a prefix of that order, but the scan does not rely on it: it checks
// each one and keeps the one with the most hits (the first, so the smallest, on a tie). For a
// log, the result is then simulated and, if needed, lowered by bisection over the distinct
// distances below it (about log2(n) simulations).

#include "semcache/threshold_tuning.hpp"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cmath>
#include <filesystem>
#include <limits>
#include <system_error>
#include <thread>
#include <unordered_map>

#include <fmt/format.h>

#include "semcache/json_writer.hpp"
#include "semcache/machine.hpp"
#include "vector/distance.hpp"
#include "harness/ratio.hpp"

namespace semcache {

namespace {

constexpr std::size_t kQueryBlock = 32;
constexpr std::size_t kTile = 64;
constexpr std::uint32_t kNoGroup = 0;

using detail::ratio;

// The requests of a log as the search needs them.
struct LogVectors {
  std::size_t dim = 0;
  std::vector<float> vectors;            // request i at [i * dim, (i + 1) * dim)
  std::vector<std::uint32_t> scope;      // request -> scope id
  std::vector<std::uint32_t> group;      // request -> group id (kNoGroup: none)
};

// Reads the log into `out`, embedding what needs it.
Status read_log(const std::string& path, Embedder& embedder, const LogTuningOptions& options,
                const std::function<void(const TuningProgress&)>& progress, LogVectors& out, TuningSample& sample) {
  auto reader = PromptLogReader::open(path, options.log);
  if (!reader) return reader.status();
  PromptLogReader& log = **reader;
  std::error_code size_error;
  const auto file_bytes = std::filesystem::file_size(path, size_error);
  const std::uint64_t total_bytes = size_error ? 0 : static_cast<std::uint64_t>(file_bytes);
  std::unordered_map<std::string, std::uint32_t> scope_ids;
  std::unordered_map<std::string, std::uint32_t> group_ids;
  std::vector<std::string> pending_texts;
  std::vector<std::size_t> pending_rows;   // request index of each pending text
  std::size_t pending_first_line = 0;
  std::size_t last_line = 0;
  bool any_precomputed = false;
  const auto flush = [&]() -> Status {
    if (pending_texts.empty()) return Status::ok();
    std::vector<std::string_view> views(pending_texts.begin(), pending_texts.end());
    std::vector<float> vectors(views.size() * out.dim);
    if (Status st = embedder.embed(views, vectors); !st) {
      return st.with_context(fmt::format("{}:{}-{}: embedding the prompts", path, pending_first_line, last_line));
    }
    for (std::size_t k = 0; k < pending_rows.size(); ++k) {
      std::copy_n(vectors.begin() + static_cast<std::ptrdiff_t>(k * out.dim), out.dim,
                  out.vectors.begin() + static_cast<std::ptrdiff_t>(pending_rows[k] * out.dim));
    }
    sample.embedded += pending_rows.size();
    pending_texts.clear();
    pending_rows.clear();
    return Status::ok();
  };

  PromptRecord record;
  bool any_group = false;
  while (options.limit == 0 || out.scope.size() < options.limit) {
    auto more = log.next(record);
    if (!more) return more.status();
    if (!*more) break;
    last_line = record.line;
    if (out.dim == 0) out.dim = record.embedding.empty() ? embedder.dim() : record.embedding.size();
    const std::size_t vector_size = record.embedding.empty() ? embedder.dim() : record.embedding.size();
    if (vector_size != out.dim) {
      const std::string message =
          record.embedding.empty()
              ? fmt::format("{}:{}: no \"embedding\", and the embedder's vectors ({} dimensions) do not match the "
                            "log's ({}, from its first vector)",
                            path, record.line, embedder.dim(), out.dim)
              : fmt::format("{}:{}: \"embedding\" has {} dimensions, expected {} (the log's first vector)", path,
                            record.line, record.embedding.size(), out.dim);
      if (!options.log.skip_bad_lines) return Status::bad_input(message);
      ++sample.skipped_lines;
      if (sample.skipped_messages.size() < PromptLogReader::kMaxSkippedMessages) sample.skipped_messages.push_back(message);
      continue;
    }
    const std::size_t row = out.scope.size();
    const std::string scope_key = record.tenant + '\x1f' + record.model;
    out.scope.push_back(scope_ids.try_emplace(scope_key, static_cast<std::uint32_t>(scope_ids.size())).first->second);
    std::uint32_t group = kNoGroup;
    if (!record.group.empty()) {
      any_group = true;
      group = group_ids.try_emplace(record.group, static_cast<std::uint32_t>(group_ids.size() + 1)).first->second;
    }
    out.group.push_back(group);
    out.vectors.resize((row + 1) * out.dim);
    if (!record.embedding.empty()) {
      any_precomputed = true;
      std::copy(record.embedding.begin(), record.embedding.end(), out.vectors.begin() + static_cast<std::ptrdiff_t>(row * out.dim));
    } else {
      if (pending_texts.empty()) pending_first_line = record.line;
      pending_texts.push_back(request_text(record));
      pending_rows.push_back(row);
      if (pending_texts.size() >= std::max<std::size_t>(1, options.batch_texts)) {
        if (Status st = flush(); !st) return st;
        if (progress) progress({"embed", log.bytes_read(), total_bytes});
      }
    }
  }
  if (Status st = flush(); !st) return st;
  sample.lines = log.lines_read();
  sample.skipped_lines += log.skipped();
  for (const std::string& m : log.skipped_messages()) {
    if (sample.skipped_messages.size() < PromptLogReader::kMaxSkippedMessages) sample.skipped_messages.push_back(m);
  }
  if (out.scope.empty()) return Status::bad_input(fmt::format("{}: no requests in {} lines", path, sample.lines));
  if (!any_group) {
    return Status::bad_input(fmt::format(
        "{}: no request has a \"group\" field, so no hit can be judged; tune --log needs a log whose \"group\" marks "
        "prompts that deserve the same answer (or use --pairs)",
        path));
  }
  sample.embedder = any_precomputed && sample.embedded == 0 ? "precomputed"
                    : any_precomputed ? embedder.identity() + " + precomputed"
                                      : embedder.identity();
  sample.dim = out.dim;
  return Status::ok();
}

// Normalises each vector in place; returns which ones are all zeros.
std::vector<bool> normalise(std::vector<float>& vectors, std::size_t dim) {
  const std::size_t n = dim > 0 ? vectors.size() / dim : 0;
  std::vector<bool> zero(n, false);
  const auto& k = detail::kernels();
  for (std::size_t i = 0; i < n; ++i) {
    float* v = vectors.data() + i * dim;
    const double norm = std::sqrt(static_cast<double>(k.dot_f32(v, v, dim)));
    if (norm == 0 || !std::isfinite(norm)) {
      zero[i] = true;
      continue;
    }
    for (std::size_t j = 0; j < dim; ++j) v[j] = static_cast<float>(v[j] / norm);
  }
  return zero;
}

struct Nearest {
  double distance = std::numeric_limits<double>::infinity();
  std::size_t index = 0;                  // into the packed (scope-ordered) array
  bool found = false;
};

// Runs work(report) on `threads` threads (0: the hardware's), the calling thread with report =
// true, at most `units` of them.
template <typename Work>
void run_threads(std::size_t threads, std::size_t units, const Work& work) {
  const std::size_t thread_count = std::max<std::size_t>(1, threads > 0 ? threads : std::thread::hardware_concurrency());
  std::vector<std::thread> helpers;
  for (std::size_t t = 1; t < std::min(thread_count, units); ++t) helpers.emplace_back(work, false);
  work(true);
  for (std::thread& t : helpers) t.join();
}

}  // namespace

namespace detail {

// A log's vectors regrouped by scope (tenant, model): packed[p] is request packed_to_row[p],
// scopes are contiguous ranges, log order within each; vectors normalised, zero ones flagged.
struct LogIndex {
  std::size_t dim = 0;
  std::size_t threads = 0;
  std::vector<float> packed;
  std::vector<char> zero;                 // char, not vector<bool>: read from many threads
  std::vector<std::uint32_t> group;       // per packed position
  std::vector<std::size_t> packed_to_row;
  std::vector<std::pair<std::size_t, std::size_t>> scopes;  // [begin, end) in packed
  std::vector<Nearest> nearest;           // per packed position: its nearest earlier request

  double distance(std::size_t a, std::size_t b, float (*dot)(const float*, const float*, std::size_t)) const {
    if (zero[a] || zero[b]) return 1.0;
    return std::clamp(1.0 - static_cast<double>(dot(packed.data() + a * dim, packed.data() + b * dim, dim)), 0.0, 2.0);
  }
};

}  // namespace detail

namespace {

detail::LogIndex build_index(const LogVectors& log, std::size_t threads) {
  detail::LogIndex index;
  const std::size_t n = log.scope.size();
  const std::size_t dim = log.dim;
  index.dim = dim;
  index.threads = threads;
  index.packed_to_row.resize(n);
  for (std::size_t i = 0; i < n; ++i) index.packed_to_row[i] = i;
  std::stable_sort(index.packed_to_row.begin(), index.packed_to_row.end(),
                   [&](std::size_t a, std::size_t b) { return log.scope[a] < log.scope[b]; });
  index.packed.resize(n * dim);
  index.group.resize(n);
  for (std::size_t p = 0; p < n; ++p) {
    const std::size_t row = index.packed_to_row[p];
    std::copy_n(log.vectors.begin() + static_cast<std::ptrdiff_t>(row * dim), dim,
                index.packed.begin() + static_cast<std::ptrdiff_t>(p * dim));
    index.group[p] = log.group[row];
  }
  const std::vector<bool> zero = normalise(index.packed, dim);
  index.zero.assign(zero.begin(), zero.end());
  for (std::size_t begin = 0; begin < n;) {
    std::size_t end = begin;
    while (end < n && log.scope[index.packed_to_row[end]] == log.scope[index.packed_to_row[begin]]) ++end;
    index.scopes.emplace_back(begin, end);
    begin = end;
  }
  return index;
}

// The nearest earlier request of each request (by packed position) within its scope, by exact
// blocked search.
std::vector<Nearest> nearest_earlier(const detail::LogIndex& index,
                                     const std::function<void(const TuningProgress&)>& progress,
                                     std::uint64_t& distances_computed) {
  const std::size_t n = index.group.size();
  struct Unit {
    std::size_t scope_begin, query_begin, query_end;
  };
  std::vector<Unit> units;
  for (const auto& [begin, end] : index.scopes) {
    for (std::size_t q = begin + 1; q < end; q += kQueryBlock) units.push_back({begin, q, std::min(end, q + kQueryBlock)});
  }
  std::vector<Nearest> nearest(n);
  std::atomic<std::size_t> next_unit{0};
  std::atomic<std::uint64_t> done{0};
  std::atomic<std::uint64_t> computed{0};
  const auto dot = detail::kernels().dot_f32;
  run_threads(index.threads, units.size(), [&](bool report) {
    std::uint64_t my_computed = 0;
    for (std::size_t u = next_unit++; u < units.size(); u = next_unit++) {
      const Unit& unit = units[u];
      for (std::size_t tile = unit.scope_begin; tile < unit.query_end - 1; tile += kTile) {
        const std::size_t tile_end = std::min(tile + kTile, unit.query_end - 1);
        for (std::size_t q = unit.query_begin; q < unit.query_end; ++q) {
          Nearest& best = nearest[q];
          const std::size_t end = std::min(tile_end, q);
          for (std::size_t c = tile; c < end; ++c) {
            const double d = index.distance(q, c, dot);
            if (d < best.distance) best = {d, c, true};
          }
          my_computed += end > tile ? end - tile : 0;
        }
      }
      done += unit.query_end - unit.query_begin;
      if (report && progress) progress({"search", done.load(), n});
    }
    computed += my_computed;
  });
  if (progress) progress({"search", n, n});
  distances_computed = computed.load();
  return nearest;
}

// Candidates sorted by distance with running counts, to read the counts at any threshold.
class SortedCandidates {
 public:
  explicit SortedCandidates(const TuningSample& sample) : sample_(&sample), sorted_(sample.candidates) {
    std::sort(sorted_.begin(), sorted_.end(),
              [](const TuningCandidate& a, const TuningCandidate& b) { return a.distance < b.distance; });
    hits_before_.push_back(0);
    false_before_.push_back(0);
    for (const TuningCandidate& c : sorted_) {
      hits_before_.push_back(hits_before_.back() + (c.counts_as_hit ? 1 : 0));
      false_before_.push_back(false_before_.back() + (c.false_hit ? 1 : 0));
    }
  }

  const std::vector<TuningCandidate>& sorted() const { return sorted_; }

  // The point of serving sorted()[0, served).
  TuningPoint point(double threshold, std::size_t served, double target) const {
    TuningPoint p;
    p.threshold = threshold;
    p.served = served;
    p.hits = hits_before_[served];
    p.false_hits = false_before_[served];
    p.hit_rate = ratio(p.hits, sample_->hit_trials);
    p.false_hit_rate = ratio(p.false_hits, sample_->items);
    p.hit_rate_ci95 = wilson_interval(p.hits, sample_->hit_trials);
    p.false_hit_rate_ci95 = wilson_interval(p.false_hits, sample_->items);
    p.within_target = p.false_hit_rate_ci95.high <= target;
    return p;
  }

  TuningPoint at(double threshold, double target) const {
    const auto end = std::upper_bound(sorted_.begin(), sorted_.end(), threshold,
                                      [](double t, const TuningCandidate& c) { return t < c.distance; });
    return point(threshold, static_cast<std::size_t>(end - sorted_.begin()), target);
  }

 private:
  const TuningSample* sample_;
  std::vector<TuningCandidate> sorted_;
  std::vector<std::uint64_t> hits_before_;   // [i]: over sorted_[0, i)
  std::vector<std::uint64_t> false_before_;
};

void write_interval(JsonWriter& out, std::string_view name, Interval ci) {
  out.key(name).begin_object();
  out.key("low").value(ci.low);
  out.key("high").value(ci.high);
  out.end_object();
}

// A point; with `simulated`, also the misses-only cache's figures at the same threshold.
void write_point(JsonWriter& out, const TuningPoint& p, const TuningPoint* simulated = nullptr) {
  out.begin_object();
  out.key("threshold").value(p.threshold);
  out.key("similarity").value(1.0 - p.threshold);
  out.key("served").value(p.served);
  out.key("hits").value(p.hits);
  out.key("false_hits").value(p.false_hits);
  out.key("hit_rate").value(p.hit_rate);
  write_interval(out, "hit_rate_ci95", p.hit_rate_ci95);
  out.key("false_hit_rate").value(p.false_hit_rate);
  write_interval(out, "false_hit_rate_ci95", p.false_hit_rate_ci95);
  out.key("within_target").value(p.within_target);
  if (simulated != nullptr) {
    out.key("simulated").begin_object();
    out.key("hits").value(simulated->hits);
    out.key("false_hits").value(simulated->false_hits);
    out.key("hit_rate").value(simulated->hit_rate);
    out.key("false_hit_rate").value(simulated->false_hit_rate);
    write_interval(out, "false_hit_rate_ci95", simulated->false_hit_rate_ci95);
    out.key("within_target").value(simulated->within_target);
    out.end_object();
  }
  out.end_object();
}

}  // namespace

std::string_view to_string(TuningSource source) { return source == TuningSource::kPairs ? "pairs" : "log"; }

TuningSample tuning_sample_from_pairs(const PairDistances& pairs) {
  TuningSample s;
  s.source = TuningSource::kPairs;
  s.path = pairs.path;
  s.embedder = pairs.embedder;
  s.dim = pairs.dim;
  s.lines = pairs.lines;
  s.skipped_lines = pairs.skipped_lines;
  s.skipped_messages = pairs.skipped_messages;
  s.items = pairs.pairs.size();
  s.candidates.reserve(pairs.pairs.size());
  for (const ScoredPair& p : pairs.pairs) {
    s.candidates.push_back({p.distance, p.positive, !p.positive});
    s.hit_trials += p.positive ? 1 : 0;
  }
  return s;
}

Expected<TuningSample> tuning_sample_from_log(const std::string& path, Embedder& embedder, const LogTuningOptions& options,
                                              const std::function<void(const TuningProgress&)>& progress) {
  TuningSample sample;
  sample.source = TuningSource::kLog;
  sample.path = path;
  LogVectors log;
  if (Status st = read_log(path, embedder, options, progress, log, sample); !st) return st;
  auto index = std::make_shared<detail::LogIndex>(build_index(log, options.threads));
  log = LogVectors();  // the index holds its own copy of the vectors
  index->nearest = nearest_earlier(*index, progress, sample.distances_computed);
  const std::vector<Nearest>& nearest = index->nearest;
  const std::size_t n = index->group.size();
  sample.items = n;
  sample.hit_trials = n;
  sample.scopes = index->scopes.size();
  for (std::size_t p = 0; p < n; ++p) {
    if (!nearest[p].found) continue;
    const std::uint32_t request_group = index->group[p];
    const std::uint32_t candidate_group = index->group[nearest[p].index];
    const bool judged = request_group != kNoGroup && candidate_group != kNoGroup;
    sample.judged += judged ? 1 : 0;
    sample.candidates.push_back({nearest[p].distance, true, judged && request_group != candidate_group});
  }
  sample.log_index = std::move(index);
  return sample;
}

TuningPoint simulate_cache(const TuningSample& sample, double threshold, double max_false_hit_rate) {
  assert(sample.log_index != nullptr && "simulate_cache: a log sample only");
  const detail::LogIndex& index = *sample.log_index;
  std::atomic<std::size_t> next_scope{0};
  std::atomic<std::uint64_t> served{0}, false_hits{0};
  const auto dot = detail::kernels().dot_f32;
  run_threads(index.threads, index.scopes.size(), [&](bool) {
    std::uint64_t my_served = 0, my_false = 0;
    std::vector<std::size_t> stored;  // packed positions of this scope's cached (missed) requests
    std::vector<char> is_stored;       // per position in the scope
    for (std::size_t s = next_scope++; s < index.scopes.size(); s = next_scope++) {
      const auto [begin, end] = index.scopes[s];
      stored.clear();
      is_stored.assign(end - begin, 0);
      for (std::size_t p = begin; p < end; ++p) {
        // The nearest earlier request bounds the nearest stored one: beyond the threshold it is a
        // miss; stored, it is the nearest stored one (the earliest on a tie, as the scan takes).
        // Only when it was itself a hit are the stored requests scanned.
        const Nearest& near = index.nearest[p];
        double best = std::numeric_limits<double>::infinity();
        std::size_t from = 0;
        if (near.found && near.distance <= threshold) {
          if (is_stored[near.index - begin] != 0) {
            best = near.distance;
            from = near.index;
          } else {
            for (std::size_t c : stored) {
              const double d = index.distance(p, c, dot);
              if (d < best) {
                best = d;
                from = c;
              }
            }
          }
        }
        if (best <= threshold) {
          ++my_served;
          const std::uint32_t a = index.group[p], b = index.group[from];
          my_false += a != kNoGroup && b != kNoGroup && a != b ? 1 : 0;
        } else {
          stored.push_back(p);
          is_stored[p - begin] = 1;
        }
      }
    }
    served += my_served;
    false_hits += my_false;
  });
  TuningPoint point;
  point.threshold = threshold;
  point.served = served.load();
  point.hits = point.served;
  point.false_hits = false_hits.load();
  point.hit_rate = ratio(point.hits, sample.hit_trials);
  point.false_hit_rate = ratio(point.false_hits, sample.items);
  point.hit_rate_ci95 = wilson_interval(point.hits, sample.hit_trials);
  point.false_hit_rate_ci95 = wilson_interval(point.false_hits, sample.items);
  point.within_target = point.false_hit_rate_ci95.high <= max_false_hit_rate;
  return point;
}

TuningResult tune_threshold(const TuningSample& sample, double max_false_hit_rate, std::span<const double> thresholds) {
  const SortedCandidates sorted(sample);
  TuningResult r;
  r.max_false_hit_rate = max_false_hit_rate;
  r.bound_without_false_hits = wilson_interval(0, sample.items).high;
  const std::vector<TuningCandidate>& s = sorted.sorted();
  std::vector<double> distinct;  // the thresholds where the counts change, ascending
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i + 1 < s.size() && s[i + 1].distance == s[i].distance) continue;
    distinct.push_back(s[i].distance);
    const TuningPoint p = sorted.point(s[i].distance, i + 1, max_false_hit_rate);
    if (p.within_target && (!r.found || p.hits > r.recommended.hits)) {
      r.found = true;
      r.recommended = p;
    }
  }
  r.thresholds_scanned = distinct.size();
  for (double t : thresholds) r.per_threshold.push_back(sorted.at(t, max_false_hit_rate));
  for (int i = 0; i <= 200; ++i) r.curve.push_back(sorted.at(i / 200.0, max_false_hit_rate));
  if (sample.log_index == nullptr) return r;

  // A log: check the recommendation on a cache that stores only misses, and lower it by
  // bisection over the distinct distances below it until that cache keeps the bound too.
  r.simulated = true;
  r.nearest_earlier_found = r.found;
  r.nearest_earlier = r.recommended;
  const auto simulate = [&](double t) {
    ++r.simulations;
    return simulate_cache(sample, t, max_false_hit_rate);
  };
  if (r.found) {
    const TuningPoint at_first = simulate(r.recommended.threshold);
    if (at_first.within_target) {
      r.recommended = at_first;
    } else {
      // distinct[lo] keeps the bound (lo = -1: serving nothing), distinct[hi] does not.
      std::ptrdiff_t lo = -1;
      auto hi = static_cast<std::ptrdiff_t>(std::lower_bound(distinct.begin(), distinct.end(), r.recommended.threshold) -
                                            distinct.begin());
      TuningPoint best;
      while (hi - lo > 1) {
        const std::ptrdiff_t mid = lo + (hi - lo) / 2;
        const TuningPoint p = simulate(distinct[static_cast<std::size_t>(mid)]);
        if (p.within_target) {
          lo = mid;
          best = p;
        } else {
          hi = mid;
        }
      }
      r.found = lo >= 0;
      r.recommended = best;
    }
  }
  for (double t : thresholds) r.per_threshold_simulated.push_back(simulate_cache(sample, t, max_false_hit_rate));
  return r;
}

std::string tune_result_json(const TuningResult& r, const TuningSample& sample, const TuneJsonParams& params) {
  const bool pairs = sample.source == TuningSource::kPairs;
  JsonWriter out;
  out.begin_object();
  out.key("kind").value("tune");
  out.key("tool").value("semcache");
  out.key("semcache_version").value(version());
  out.key("params").begin_object();
  out.key("source").value(to_string(sample.source));
  out.key(pairs ? "pairs_file" : "log").value(sample.path);
  out.key("embedder").value(sample.embedder);
  out.key("dim").value(static_cast<std::uint64_t>(sample.dim));
  out.key("max_false_hit_rate").value(r.max_false_hit_rate);
  out.key("confidence").value(0.95);
  out.key("limit").value(static_cast<std::uint64_t>(params.limit));
  out.key("on_error").value(params.skip_bad_lines ? "skip" : "fail");
  out.key("hit_rate").value(pairs ? "accepted positives / positives" : "served requests / requests");
  out.key("false_hit_rate").value(pairs ? "accepted negatives / all pairs"
                                        : "requests served from another group / requests");
  out.key("candidate").value(pairs ? "text_b of each pair"
                                   : "the nearest earlier request of the same tenant and model (exact search)");
  out.end_object();
  out.key("machine");
  write_json(out, machine_info());
  out.key("lines").value(sample.lines);
  out.key("skipped_lines").value(sample.skipped_lines);
  out.key("skipped_messages").begin_array();
  for (const std::string& message : sample.skipped_messages) out.value(message);
  out.end_array();
  out.key(pairs ? "pairs" : "requests").value(sample.items);
  if (pairs) {
    out.key("positives").value(sample.hit_trials);
  } else {
    out.key("scopes").value(sample.scopes);
    out.key("requests_with_candidate").value(static_cast<std::uint64_t>(sample.candidates.size()));
    out.key("judged").value(sample.judged);
    out.key("embedded").value(sample.embedded);
    out.key("distances_computed").value(sample.distances_computed);
  }
  out.key("thresholds_scanned").value(r.thresholds_scanned);
  out.key("bound_without_false_hits").value(r.bound_without_false_hits);
  if (r.found) {
    const TuningPoint& p = r.recommended;
    out.key("threshold").value(p.threshold);
    out.key("similarity").value(1.0 - p.threshold);
    out.key("expected_hit_rate").value(p.hit_rate);
    write_interval(out, "expected_hit_rate_ci95", p.hit_rate_ci95);
    out.key("expected_false_hit_rate").value(p.false_hit_rate);
    out.key("expected_false_hit_rate_upper").value(p.false_hit_rate_ci95.high);
    write_interval(out, "expected_false_hit_rate_ci95", p.false_hit_rate_ci95);
    out.key("hits").value(p.hits);
    out.key("false_hits").value(p.false_hits);
  } else {
    out.key("threshold").null();
    out.key("similarity").null();
    out.key("expected_hit_rate").null();
    out.key("expected_false_hit_rate").null();
    out.key("expected_false_hit_rate_upper").null();
  }
  if (r.simulated) {
    out.key("recommendation").value("checked by a misses-only cache simulation (exact search), lowered until it keeps the bound");
    out.key("simulations").value(r.simulations);
    out.key("nearest_earlier");
    if (r.nearest_earlier_found) {
      write_point(out, r.nearest_earlier);
    } else {
      out.null();
    }
  }
  out.key("per_threshold").begin_array();
  for (std::size_t i = 0; i < r.per_threshold.size(); ++i) {
    write_point(out, r.per_threshold[i], r.simulated ? &r.per_threshold_simulated[i] : nullptr);
  }
  out.end_array();
  out.key("curve").begin_array();
  for (const TuningPoint& p : r.curve) write_point(out, p);
  out.end_array();
  out.end_object();
  return out.str();
}

}  // namespace semcache
