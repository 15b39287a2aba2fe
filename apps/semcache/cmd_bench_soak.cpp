// semcache bench soak: lookups and stores from several threads against a capped Redis for a
// bounded time, sampling every second the throughput, the p99 lookup latency of that second,
// the process's resident memory, the in-process index size and the server's memory and
// evictions; then a verdict: once the cache is at its size cap, the process's memory must stay
// flat (issue 6, item 5). scripts/soak starts the capped Redis and runs this.
//
// The cap. The cache's size cap is the Redis server's maxmemory (with an eviction policy such
// as allkeys-lru): the run refuses a Redis without one. "At the cap" is the first second in
// which Redis had evicted keys. The workload's key universe is larger than what the cap holds
// (2 x --entries prompts, each with 3 paraphrases, plus --fresh-share of prompts never seen
// again), so Redis evicts for the whole run and the cache keeps storing what it misses.
//
// Flat. The memory that counts is the process's resident set (/proc/self/statm). It is judged
// over the window from the later of "at the cap" and the middle of the run to the end: the
// growth is the median of the window's last three samples minus the median of its first three
// (medians: one sample can catch an allocator's momentary peak). Flat means growth below
// --max-growth-percent of the window's starting RSS AND below --max-growth-mb. Exit 1 when the
// memory is not flat or the cap was never reached early enough to judge (at least 5 samples
// in the window); 3 when Redis fails.
//
// Why the figures beside RSS: "indexed" (vectors in the process's vector sets) and the
// namespace's change log in Redis ("change_log_entries", "change_log_bytes") are the two
// structures that can grow with traffic rather than with the cap, so a failing verdict (or a
// hit rate that sinks as the log takes the cap's memory from the entries) comes with the
// figure that explains it.
//
// The workload, per request: a fresh prompt with probability --fresh-share (a vector never
// used before); else prompt i of the universe, drawn with a hot head (i = U * u^2 for uniform
// u), as itself or (--paraphrase-share) as one of its 3 paraphrases (a small perturbation of
// its vector, under its own canonical text). A lookup that misses or fails is followed by a
// store of a --value-bytes response, as an application does after calling its model.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "cli.hpp"
#include "semcache/cache.hpp"
#include "semcache/json_writer.hpp"
#include "semcache/latency_histogram.hpp"
#include "semcache/machine.hpp"
#include "semcache/redis_store.hpp"
#include "semcache/redis_url.hpp"
#include "store/redis_connection.hpp"

namespace semcache::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kSoakModel = "soak-model";
constexpr std::size_t kParaphrases = 3;
constexpr std::size_t kWindowMinSamples = 5;

struct SoakArgs {
  std::string redis;
  double seconds = 30;
  std::size_t threads = 4;
  std::size_t entries = 20000;
  std::size_t dim = 64;
  std::size_t value_bytes = 512;
  double fresh_share = 0.0;
  double paraphrase_share = 0.3;
  double threshold = 0.1;
  std::uint64_t seed = 1;
  double max_growth_percent = 5;
  double max_growth_mb = 8;
  std::string json_out;
};

// One second of the run.
struct Sample {
  double t = 0;                       // seconds since the start, at the end of this second
  std::uint64_t lookups = 0;          // in this second
  std::uint64_t hits = 0;
  std::uint64_t errors = 0;
  std::uint64_t stores = 0;
  LatencySummary lookup_us;
  std::uint64_t rss_bytes = 0;
  std::uint64_t indexed = 0;
  std::int64_t redis_used_memory = -1;
  std::int64_t redis_evicted_keys = -1;
  std::int64_t redis_keys = -1;
  std::int64_t change_log_entries = -1;
  std::int64_t change_log_bytes = -1;  // MEMORY USAGE of the log (Redis's estimate)
};

// What a worker did since the sampler last looked; guarded by its own mutex (the sampler takes
// it once a second, so it is all but uncontended).
struct WorkerState {
  std::mutex mutex;
  LatencyHistogram lookup_ns;
  std::uint64_t lookups = 0, hits = 0, errors = 0, stores = 0;
};

std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::vector<float> random_unit(std::mt19937_64& rng, std::size_t dim) {
  std::normal_distribution<float> normal;
  std::vector<float> v(dim);
  double norm = 0;
  for (float& x : v) {
    x = normal(rng);
    norm += double(x) * x;
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

// "name:value" of an INFO reply, -1 when absent.
std::int64_t info_number(const std::string& info, std::string_view name) {
  const std::string needle = std::string(name) + ":";
  std::size_t at = 0;
  while ((at = info.find(needle, at)) != std::string::npos) {
    if (at == 0 || info[at - 1] == '\n') return std::atoll(info.c_str() + at + needle.size());
    at += needle.size();
  }
  return -1;
}

// The server-side figures of a sample, through a connection of the soak's own.
void sample_redis(detail::RedisConnection& connection, const std::string& log_key, Sample& sample) {
  if (auto info = connection.command({"INFO", "memory"}); info && info->is_string()) {
    sample.redis_used_memory = info_number(info->str, "used_memory");
  }
  if (auto info = connection.command({"INFO", "stats"}); info && info->is_string()) {
    sample.redis_evicted_keys = info_number(info->str, "evicted_keys");
  }
  if (auto keys = connection.command({"DBSIZE"}); keys && keys->is_integer()) sample.redis_keys = keys->integer;
  if (auto length = connection.command({"XLEN", log_key}); length && length->is_integer()) {
    sample.change_log_entries = length->integer;
  }
  if (auto bytes = connection.command({"MEMORY", "USAGE", log_key}); bytes && bytes->is_integer()) {
    sample.change_log_bytes = bytes->integer;
  }
}

std::uint64_t median3(std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  return std::max(std::min(a, b), std::min(std::max(a, b), c));
}

struct Verdict {
  bool cap_reached = false;
  double cap_reached_at = -1;         // t of the first sample with evictions
  std::size_t window_first = 0;       // index of the window's first sample
  std::size_t window_samples = 0;
  std::uint64_t rss_start = 0, rss_end = 0;
  double growth_mb = 0, growth_percent = 0;
  // Beside the verdict, not part of it: the least-squares slope of RSS over the window,
  // projected to an hour, and the index size at both ends (what a slow leak would show first).
  double growth_mb_per_hour = 0;
  std::uint64_t indexed_start = 0, indexed_end = 0;
  bool flat = false;
  std::string reason;
};

Verdict judge(const std::vector<Sample>& samples, const SoakArgs& args) {
  Verdict v;
  std::size_t cap_index = samples.size();
  for (std::size_t i = 0; i < samples.size(); ++i) {
    if (samples[i].redis_evicted_keys > 0) {
      cap_index = i;
      break;
    }
  }
  v.cap_reached = cap_index < samples.size();
  if (v.cap_reached) v.cap_reached_at = samples[cap_index].t;
  v.window_first = std::max(cap_index, samples.size() / 2);
  v.window_samples = v.window_first < samples.size() ? samples.size() - v.window_first : 0;
  if (!v.cap_reached) {
    v.reason = "the cache never reached its size cap (Redis evicted nothing): run longer or lower maxmemory";
    return v;
  }
  if (v.window_samples < kWindowMinSamples) {
    v.reason = fmt::format("only {} samples after the cap was reached at {:.0f} s (need {}): run longer",
                           v.window_samples, v.cap_reached_at, kWindowMinSamples);
    return v;
  }
  const std::size_t f = v.window_first, l = samples.size() - 1;
  v.rss_start = median3(samples[f].rss_bytes, samples[f + 1].rss_bytes, samples[f + 2].rss_bytes);
  v.rss_end = median3(samples[l - 2].rss_bytes, samples[l - 1].rss_bytes, samples[l].rss_bytes);
  v.indexed_start = samples[f].indexed;
  v.indexed_end = samples[l].indexed;
  double mean_t = 0, mean_rss = 0;
  for (std::size_t i = f; i <= l; ++i) {
    mean_t += samples[i].t;
    mean_rss += static_cast<double>(samples[i].rss_bytes);
  }
  mean_t /= static_cast<double>(v.window_samples);
  mean_rss /= static_cast<double>(v.window_samples);
  double covariance = 0, variance = 0;
  for (std::size_t i = f; i <= l; ++i) {
    covariance += (samples[i].t - mean_t) * (static_cast<double>(samples[i].rss_bytes) - mean_rss);
    variance += (samples[i].t - mean_t) * (samples[i].t - mean_t);
  }
  v.growth_mb_per_hour = variance > 0 ? covariance / variance * 3600.0 / (1024.0 * 1024.0) : 0.0;
  const double growth = static_cast<double>(v.rss_end) - static_cast<double>(v.rss_start);
  v.growth_mb = growth / (1024.0 * 1024.0);
  v.growth_percent = 100.0 * growth / static_cast<double>(v.rss_start);
  v.flat = v.growth_mb < args.max_growth_mb && v.growth_percent < args.max_growth_percent;
  v.reason = v.flat ? fmt::format("RSS grew {:.2f} MB ({:.2f}%) from {:.0f} s to the end: within {} MB and {}%",
                                  v.growth_mb, v.growth_percent, samples[f].t, args.max_growth_mb,
                                  args.max_growth_percent)
                    : fmt::format("RSS grew {:.2f} MB ({:.2f}%) from {:.0f} s to the end: over the limit of {} MB "
                                  "or {}%",
                                  v.growth_mb, v.growth_percent, samples[f].t, args.max_growth_mb,
                                  args.max_growth_percent);
  return v;
}

std::string to_json(const SoakArgs& args, const std::string& store_name, std::int64_t maxmemory,
                    const std::string& policy, const std::vector<Sample>& samples, const LatencyHistogram& all_ns,
                    const Sample& totals, const NamespaceStats& stats, double seconds, const Verdict& verdict) {
  JsonWriter out;
  out.begin_object();
  out.key("kind").value("soak");
  out.key("tool").value("semcache");
  out.key("semcache_version").value(version());
  out.key("params").begin_object();
  out.key("redis").value(store_name);
  out.key("redis_maxmemory_bytes").value(maxmemory);
  out.key("redis_maxmemory_policy").value(policy);
  out.key("seconds").value(args.seconds);
  out.key("threads").value(static_cast<std::uint64_t>(args.threads));
  out.key("entries").value(static_cast<std::uint64_t>(args.entries));
  out.key("dim").value(static_cast<std::uint64_t>(args.dim));
  out.key("value_bytes").value(static_cast<std::uint64_t>(args.value_bytes));
  out.key("fresh_share").value(args.fresh_share);
  out.key("paraphrase_share").value(args.paraphrase_share);
  out.key("threshold").value(args.threshold);
  out.key("seed").value(args.seed);
  out.key("max_growth_percent").value(args.max_growth_percent);
  out.key("max_growth_mb").value(args.max_growth_mb);
  out.end_object();
  out.key("machine");
  write_json(out, machine_info());
  out.key("seconds").value(seconds);
  out.key("lookups").value(totals.lookups);
  out.key("hits").value(totals.hits);
  out.key("hit_rate").value(totals.lookups == 0 ? 0.0 : double(totals.hits) / double(totals.lookups));
  out.key("errors").value(totals.errors);
  out.key("stores").value(totals.stores);
  out.key("dropped_stores").value(stats.dropped_stores);
  out.key("expired_candidates").value(stats.expired_candidates);
  out.key("throughput_rps").value(seconds > 0 ? double(totals.lookups) / seconds : 0.0);
  out.key("latency_us").begin_object();
  out.key("lookup");
  write_latency_summary(out, all_ns.summary(1000.0));
  out.end_object();
  out.key("samples").begin_array();
  for (const Sample& s : samples) {
    out.begin_object();
    out.key("t").value(s.t);
    out.key("lookups_per_second").value(s.lookups);
    out.key("hit_rate").value(s.lookups == 0 ? 0.0 : double(s.hits) / double(s.lookups));
    out.key("errors").value(s.errors);
    out.key("stores").value(s.stores);
    out.key("p50_us").value(s.lookup_us.p50);
    out.key("p99_us").value(s.lookup_us.p99);
    out.key("rss_bytes").value(s.rss_bytes);
    out.key("indexed").value(s.indexed);
    out.key("redis_used_memory").value(s.redis_used_memory);
    out.key("redis_evicted_keys").value(s.redis_evicted_keys);
    out.key("redis_keys").value(s.redis_keys);
    out.key("change_log_entries").value(s.change_log_entries);
    out.key("change_log_bytes").value(s.change_log_bytes);
    out.end_object();
  }
  out.end_array();
  out.key("memory").begin_object();
  out.key("cap_reached").value(verdict.cap_reached);
  out.key("cap_reached_at_s").value(verdict.cap_reached_at);
  out.key("window_samples").value(static_cast<std::uint64_t>(verdict.window_samples));
  out.key("rss_start_bytes").value(verdict.rss_start);
  out.key("rss_end_bytes").value(verdict.rss_end);
  out.key("growth_mb").value(verdict.growth_mb);
  out.key("growth_percent").value(verdict.growth_percent);
  out.key("growth_mb_per_hour").value(verdict.growth_mb_per_hour);
  out.key("indexed_start").value(verdict.indexed_start);
  out.key("indexed_end").value(verdict.indexed_end);
  out.key("flat").value(verdict.flat);
  out.end_object();
  out.key("verdict").value(verdict.flat ? "pass" : "fail");
  out.key("reason").value(verdict.reason);
  out.end_object();
  return out.str() + "\n";
}

int run_soak(const SoakArgs& args) {
  auto url = parse_redis_url(args.redis);
  if (!url) return fail(url.status());
  RedisStoreOptions store_options;
  store_options.pool_size = args.threads + 2;  // the workers, the follower, and slack
  store_options.command_timeout = std::chrono::milliseconds(2000);
  auto store = open_redis_store(args.redis, store_options);
  if (!store) return fail(store.status());
  auto admin = detail::RedisConnection::connect(*url);
  if (!admin) return fail(admin.status());
  std::int64_t maxmemory = 0;
  std::string policy;
  if (auto reply = admin->command({"CONFIG", "GET", "maxmemory"});
      reply && reply->is_array() && reply->elements.size() == 2) {
    maxmemory = std::atoll(reply->elements[1].str.c_str());
  }
  if (auto reply = admin->command({"CONFIG", "GET", "maxmemory-policy"});
      reply && reply->is_array() && reply->elements.size() == 2) {
    policy = reply->elements[1].str;
  }
  if (maxmemory <= 0 || policy.find("allkeys") != 0) {
    return fail(Status::invalid_argument(
        (*store)->describe() + ": bench soak needs a capped Redis (maxmemory > 0 and an allkeys-* eviction "
                               "policy), got maxmemory " + std::to_string(maxmemory) + " and policy '" + policy +
        "': scripts/soak starts one"));
  }

  // A namespace of its own, dropped at the end.
  CacheOptions options;
  options.name = fmt::format("soak-{}-{}", ::getpid(),
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
  options.mode = CacheMode::kBoth;
  options.threshold = args.threshold;
  options.dim = args.dim;
  auto opened = Cache::open(*store, options);
  if (!opened) return fail(opened.status());
  Cache& cache = **opened;
  const std::string log_key = options.prefix + ":{" + options.name + ":" + std::string(kSoakModel) + "}:log";

  // The universe: 2 x entries prompts, each with kParaphrases paraphrases (vector + a small
  // step, renormalised), generated before the clock starts.
  const std::size_t universe = 2 * args.entries;
  std::vector<float> vectors(universe * (1 + kParaphrases) * args.dim);
  {
    std::mt19937_64 rng(args.seed);
    std::normal_distribution<float> step(0.0f, 0.2f / std::sqrt(static_cast<float>(args.dim)));
    for (std::size_t i = 0; i < universe; ++i) {
      const std::vector<float> base = random_unit(rng, args.dim);
      for (std::size_t p = 0; p <= kParaphrases; ++p) {
        float* row = vectors.data() + (i * (1 + kParaphrases) + p) * args.dim;
        double norm = 0;
        for (std::size_t d = 0; d < args.dim; ++d) {
          row[d] = base[d] + (p == 0 ? 0.0f : step(rng));
          norm += double(row[d]) * row[d];
        }
        for (std::size_t d = 0; d < args.dim; ++d) row[d] = static_cast<float>(row[d] / std::sqrt(norm));
      }
    }
  }
  const std::string response(args.value_bytes, 'r');

  fmt::print("bench soak: {} s, {} threads, {} prompts x {} paraphrases + {:.0f}% fresh, {} dims, {} B responses "
             "on {} (maxmemory {} MB, {})\n",
             args.seconds, args.threads, universe, kParaphrases, args.fresh_share * 100, args.dim, args.value_bytes,
             (*store)->describe(), maxmemory / (1024 * 1024), policy);

  std::vector<std::unique_ptr<WorkerState>> states;
  for (std::size_t t = 0; t < args.threads; ++t) states.push_back(std::make_unique<WorkerState>());
  std::atomic<bool> stop{false};
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < args.threads; ++t) {
    workers.emplace_back([&, t] {
      WorkerState& state = *states[t];
      std::mt19937_64 rng(args.seed * 7919 + t);
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      std::uint64_t fresh_serial = 0;
      std::string canonical;
      std::vector<float> fresh;
      while (!stop.load(std::memory_order_relaxed)) {
        std::span<const float> embedding;
        if (uniform(rng) < args.fresh_share) {
          canonical = fmt::format("fresh {} {}", t, fresh_serial++);
          fresh = random_unit(rng, args.dim);
          embedding = fresh;
        } else {
          const double u = uniform(rng);
          const auto i = std::min(universe - 1, static_cast<std::size_t>(static_cast<double>(universe) * u * u));
          const std::size_t p = uniform(rng) < args.paraphrase_share ? 1 + rng() % kParaphrases : 0;
          canonical = fmt::format("prompt {} #{}", i, p);
          embedding = std::span<const float>(vectors.data() + (i * (1 + kParaphrases) + p) * args.dim, args.dim);
        }
        const CacheRequest request{
            .model = kSoakModel, .tenant = "soak", .canonical = canonical, .text = canonical, .embedding = embedding};
        const LookupResult result = cache.lookup(request);
        bool stored = false;
        if (!result.hit()) stored = static_cast<bool>(cache.store(request, response));
        std::lock_guard lock(state.mutex);
        state.lookup_ns.record(result.total_ns);
        state.lookups += 1;
        state.hits += result.hit() ? 1 : 0;
        state.errors += result.outcome == LookupOutcome::kError ? 1 : 0;
        state.stores += stored ? 1 : 0;
      }
    });
  }

  // The sampler: once a second, until the time is up.
  std::vector<Sample> samples;
  LatencyHistogram all_ns;
  Sample totals;
  const auto duration = std::chrono::duration<double>(args.seconds);
  for (auto next = start + std::chrono::seconds(1); next <= start + duration; next += std::chrono::seconds(1)) {
    std::this_thread::sleep_until(next);
    Sample s;
    LatencyHistogram second_ns;
    for (auto& state : states) {
      std::lock_guard lock(state->mutex);
      second_ns.merge(state->lookup_ns);
      state->lookup_ns.clear();
      s.lookups += std::exchange(state->lookups, 0);
      s.hits += std::exchange(state->hits, 0);
      s.errors += std::exchange(state->errors, 0);
      s.stores += std::exchange(state->stores, 0);
    }
    s.t = std::chrono::duration<double>(Clock::now() - start).count();
    s.lookup_us = second_ns.summary(1000.0);
    s.rss_bytes = resident_bytes();
    for (const NamespaceStats& ns : cache.stats()) s.indexed += ns.indexed;
    sample_redis(*admin, log_key, s);
    all_ns.merge(second_ns);
    totals.lookups += s.lookups;
    totals.hits += s.hits;
    totals.errors += s.errors;
    totals.stores += s.stores;
    fmt::print("{:5.0f} s {:8} lookups/s  hit {:5.1f}%  p99 {:8.0f} us  RSS {:7.1f} MB  indexed {:8}  "
               "redis {:6.1f} MB, {:8} evicted, log {:8} ({:.1f} MB){}\n",
               s.t, s.lookups, s.lookups == 0 ? 0.0 : 100.0 * double(s.hits) / double(s.lookups), s.lookup_us.p99,
               double(s.rss_bytes) / (1024.0 * 1024.0), s.indexed, double(s.redis_used_memory) / (1024.0 * 1024.0),
               s.redis_evicted_keys, s.change_log_entries, double(s.change_log_bytes) / (1024.0 * 1024.0), s.errors > 0 ? fmt::format("  {} errors", s.errors) : "");
    std::fflush(stdout);
    samples.push_back(s);
  }
  stop.store(true);
  for (auto& worker : workers) worker.join();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // Whatever the workers did after the last sample is left out: every figure covers the sampled seconds.

  NamespaceStats stats;
  for (const NamespaceStats& ns : cache.stats()) {
    stats.dropped_stores += ns.dropped_stores;
    stats.expired_candidates += ns.expired_candidates;
  }
  const Verdict verdict = judge(samples, args);
  (void)cache.invalidate_namespace(kSoakModel);  // best effort: the soak's Redis is its own anyway

  fmt::print("{} lookups in {:.1f} s ({:.0f}/s), hit rate {:.1f}%, {} errors, lookup p99 {:.0f} us\n", totals.lookups,
             seconds, double(totals.lookups) / seconds,
             totals.lookups == 0 ? 0.0 : 100.0 * double(totals.hits) / double(totals.lookups), totals.errors,
             all_ns.summary(1000.0).p99);
  fmt::print("memory: {}: {}\n", verdict.flat ? "FLAT" : "NOT FLAT", verdict.reason);
  if (verdict.window_samples >= kWindowMinSamples) {
    fmt::print("        (trend over the window: {:+.1f} MB/hour; vectors indexed in the process {} -> {})\n",
               verdict.growth_mb_per_hour, verdict.indexed_start, verdict.indexed_end);
  }
  if (!args.json_out.empty()) {
    const std::string json = to_json(args, (*store)->describe(), maxmemory, policy, samples, all_ns, totals, stats,
                                     seconds, verdict);
    if (Status st = write_text_file(args.json_out, json); !st) return fail(st);
    fmt::print("wrote {}\n", args.json_out);
  }
  return verdict.flat ? 0 : 1;
}

}  // namespace

void add_bench_soak_command(CLI::App& bench, Command& run) {
  auto args = std::make_shared<SoakArgs>();
  CLI::App* soak = bench.add_subcommand(
      "soak",
      "Run lookups and stores from --threads threads against a capped Redis (maxmemory with an allkeys-* "
      "policy) for --seconds, sampling throughput, p99 lookup latency and the process's RSS every second; "
      "exit 1 unless the memory stays flat once Redis evicts (growth over the later of the cap and the second "
      "half below --max-growth-percent and --max-growth-mb). scripts/soak starts the Redis.");
  soak->add_option("--redis", args->redis, "Redis URL: redis://[user:password@]host:port[/db]")->required();
  soak->add_option("--seconds", args->seconds, "How long to run")->capture_default_str()->check(CLI::Range(1.0, 86400.0));
  soak->add_option("--threads", args->threads, "Threads doing lookups and stores")->capture_default_str()->check(CLI::Range(1, 256));
  soak->add_option("--entries", args->entries, "Prompts the cap is sized for; the universe is twice as many")
      ->capture_default_str()->check(CLI::PositiveNumber);
  soak->add_option("--dim", args->dim, "Vector dimensions")->capture_default_str()->check(CLI::Range(2, 4096));
  soak->add_option("--value-bytes", args->value_bytes, "Bytes of each stored response")->capture_default_str()->check(CLI::Range(1, 1 << 24));
  soak->add_option("--fresh-share", args->fresh_share, "Share of requests with a prompt never seen before")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  soak->add_option("--paraphrase-share", args->paraphrase_share, "Share of repeated prompts asked as a paraphrase")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  soak->add_option("--threshold", args->threshold, "Cosine distance threshold of a semantic hit")
      ->capture_default_str()->check(CLI::Range(0.0, 2.0));
  soak->add_option("--seed", args->seed, "Seed of the workload")->capture_default_str();
  soak->add_option("--max-growth-percent", args->max_growth_percent, "RSS growth allowed once at the cap, in %")
      ->capture_default_str()->check(CLI::PositiveNumber);
  soak->add_option("--max-growth-mb", args->max_growth_mb, "RSS growth allowed once at the cap, in MB")
      ->capture_default_str()->check(CLI::PositiveNumber);
  soak->add_option("--json", args->json_out, "Write the result JSON to this file");
  soak->callback([&run, args] { run = [args] { return run_soak(*args); }; });
}

}  // namespace semcache::cli
