// semcache bench cache: the latency of a semantic lookup with precomputed embeddings next to a
// plain Redis GET, on the same server, in the same run (the budget of issue 3: a lookup over
// 100,000 cached 384-dimensional entries within GET's p50 + 150 us and GET's p99 + 300 us).
//
// How it measures. The entries are clustered unit vectors (generate_vectors), stored through
// a semantic-only Cache on Redis under a namespace of their own, so the run never touches
// anyone's data and drops what it wrote at the end. Lookups then run one at a time on one
// thread, each paired with a GET of a 200-byte string through its own connection, the two
// alternating which goes first so that neither always runs on a warmer socket or cache line;
// so both histograms see the same server, network and machine load at the same moments, and
// their difference is what the semantic layer adds (search, candidate records larger than a
// GET's value, bookkeeping). Queries are near-duplicates of stored entries (a random
// perturbation of relative size --noise: most hit, and a hit should be the entry perturbed)
// and a share of fresh vectors from the same topics (mostly misses), because a cache sees
// both and a miss ends its search differently from a hit. The first --warmup pairs are not
// recorded (connection set-up, page faults, CPU frequency).
//
// The GET goes through the library's internal RedisConnection (lib/src/store), the same
// hiredis code the Redis store uses, so the baseline is the cheapest round trip our own client
// makes, not one from a different client library.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <limits>
#include <mutex>
#include <random>
#include <thread>

#include <fmt/format.h>
#include <unistd.h>

#include "cli.hpp"
#include "progress.hpp"
#include "semcache/cache.hpp"
#include "semcache/dataset.hpp"
#include "semcache/json_writer.hpp"
#include "semcache/latency_histogram.hpp"
#include "semcache/machine.hpp"
#include "semcache/redis_store.hpp"
#include "semcache/redis_url.hpp"
#include "store/redis_connection.hpp"

namespace semcache::cli {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kP50BudgetUs = 150;
constexpr double kP99BudgetUs = 300;
constexpr std::size_t kValueBytes = 200;
constexpr std::string_view kCacheBenchModel = "bench-model";

struct BenchCacheArgs {
  std::string redis;
  std::size_t entries = 100000;
  std::size_t dim = 384;
  std::size_t clusters = 2000;
  std::size_t lookups = 20000;
  std::size_t warmup = 1000;
  double fresh_share = 0.2;
  double noise = 0.2;
  std::uint64_t seed = 1;
  double threshold = 0.1;
  std::size_t ef = 32;
  std::string quant = "int8";
  std::size_t m = 16;
  std::size_t ef_construction = 100;
  std::size_t threads = 0;
  std::string json_out;
};

// The lookups to run: rows of a matrix, and for each the stored entry it perturbs (-1: fresh).
struct Queries {
  FloatMatrix vectors;
  std::vector<std::int64_t> source;
};

std::string bench_request_text(std::size_t entry) { return fmt::format("bench request {}", entry); }

// A response of kValueBytes bytes that names its entry.
std::string response_of(std::size_t entry) {
  std::string response = fmt::format("response to bench request {}: ", entry);
  response.resize(kValueBytes, 'r');
  return response;
}

std::size_t fresh_count(const BenchCacheArgs& args) {
  return static_cast<std::size_t>(std::llround(args.fresh_share * static_cast<double>(args.warmup + args.lookups)));
}

Queries make_queries(const BenchCacheArgs& args, const GeneratedVectors& data) {
  Queries queries;
  queries.vectors.dim = args.dim;
  queries.vectors.rows = args.warmup + args.lookups;
  queries.vectors.data.resize(queries.vectors.rows * args.dim);
  std::mt19937_64 rng(args.seed ^ 0x9e3779b97f4a7c15ULL);
  // Exactly fresh_count() fresh queries, at random positions.
  std::vector<bool> fresh(queries.vectors.rows, false);
  std::fill_n(fresh.begin(), std::min(fresh_count(args), fresh.size()), true);
  std::shuffle(fresh.begin(), fresh.end(), rng);
  std::uniform_int_distribution<std::size_t> pick(0, data.base.rows - 1);
  std::normal_distribution<double> gaussian(0.0, 1.0);
  std::vector<double> direction(args.dim);
  std::vector<double> perturbed(args.dim);
  std::size_t next_fresh = 0;
  for (std::size_t q = 0; q < queries.vectors.rows; ++q) {
    float* out = queries.vectors.data.data() + q * args.dim;
    if (fresh[q]) {
      std::copy_n(data.queries.row(next_fresh++), args.dim, out);
      queries.source.push_back(-1);
      continue;
    }
    // base + noise * (a random unit direction), normalised: cosine to the base ~ 1/sqrt(1 + noise^2).
    const std::size_t entry = pick(rng);
    double direction_norm = 0;
    for (double& x : direction) {
      x = gaussian(rng);
      direction_norm += x * x;
    }
    direction_norm = std::sqrt(direction_norm);
    double norm = 0;
    for (std::size_t d = 0; d < args.dim; ++d) {
      perturbed[d] = data.base.row(entry)[d] + args.noise * direction[d] / direction_norm;
      norm += perturbed[d] * perturbed[d];
    }
    norm = std::sqrt(norm);
    for (std::size_t d = 0; d < args.dim; ++d) out[d] = static_cast<float>(perturbed[d] / norm);
    queries.source.push_back(static_cast<std::int64_t>(entry));
  }
  return queries;
}

// Stores every base vector with `threads` threads (a store is one round trip, so several in
// flight fill Redis faster); the first error stops the fill.
Status fill_cache(Cache& cache, const FloatMatrix& base, std::size_t threads) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::atomic<bool> failed{false};
  Status first_error;
  std::mutex error_mutex;
  std::vector<std::thread> workers;
  for (std::size_t t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      while (!failed.load(std::memory_order_relaxed)) {
        const std::size_t entry = next.fetch_add(1);
        if (entry >= base.rows) return;
        const std::string canonical = bench_request_text(entry);
        const CacheRequest request{.model = kCacheBenchModel,
                                   .tenant = "",
                                   .canonical = canonical,
                                   .text = canonical,
                                   .embedding = std::span<const float>(base.row(entry), base.dim)};
        if (Status status = cache.store(request, response_of(entry)); !status) {
          const std::lock_guard lock(error_mutex);
          if (!failed.exchange(true)) first_error = status.with_context(fmt::format("storing entry {}", entry));
          return;
        }
        done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  ProgressBar bar("fill");
  while (done.load() < base.rows && !failed.load()) {
    bar.update("fill", done.load(), base.rows);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (auto& worker : workers) worker.join();
  bar.update("fill", done.load(), base.rows);
  bar.finish();
  return first_error;
}

struct Measured {
  LatencyHistogram lookup_ns;
  LatencyHistogram get_ns;
  std::uint64_t near_lookups = 0, near_hits = 0, near_hits_on_source = 0;
  std::uint64_t fresh_lookups = 0, fresh_hits = 0;
  std::uint64_t errors = 0;
  std::string first_error;
  std::uint64_t total_ns = 0, search_ns = 0, store_ns = 0;
  std::size_t candidates_tried = 0;
};

Expected<Measured> measure(Cache& cache, detail::RedisConnection& connection, const std::string& get_key,
                           const Queries& queries, std::size_t warmup) {
  Measured m;
  ProgressBar bar("lookups");
  const std::size_t total = queries.vectors.rows;
  for (std::size_t q = 0; q < total; ++q) {
    const bool recorded = q >= warmup;
    const CacheRequest request{.model = kCacheBenchModel,
                               .tenant = "",
                               .canonical = "bench query",
                               .text = "bench query",
                               .embedding = std::span<const float>(queries.vectors.row(q), queries.vectors.dim)};
    LookupResult result;
    std::uint64_t lookup_ns = 0;
    std::uint64_t get_ns = 0;
    for (int turn = 0; turn < 2; ++turn) {
      if ((turn == 0) == (q % 2 == 0)) {
        const auto start = Clock::now();
        result = cache.lookup(request);
        lookup_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
      } else {
        const auto start = Clock::now();
        auto reply = connection.command({"GET", get_key});
        get_ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
        if (!reply) return reply.status().with_context("GET " + get_key);
        if (!reply->is_string() || reply->str.size() != kValueBytes) {
          return connection.unexpected_reply(*reply, "GET " + get_key, fmt::format("a {}-byte string", kValueBytes));
        }
      }
    }
    bar.update(recorded ? "lookups" : "warm-up", recorded ? q - warmup + 1 : q + 1, recorded ? total - warmup : warmup);
    if (!recorded) continue;
    m.lookup_ns.record(lookup_ns);
    m.get_ns.record(get_ns);
    if (result.outcome == LookupOutcome::kError) {
      if (m.errors++ == 0) m.first_error = result.error;
      continue;
    }
    m.total_ns += result.total_ns;
    m.search_ns += result.search_ns;
    m.store_ns += result.store_ns;
    m.candidates_tried += result.candidates_tried;
    const std::int64_t source = queries.source[q];
    if (source < 0) {
      ++m.fresh_lookups;
      m.fresh_hits += result.hit() ? 1 : 0;
    } else {
      ++m.near_lookups;
      m.near_hits += result.hit() ? 1 : 0;
      if (result.hit() && result.entry.canonical == bench_request_text(static_cast<std::size_t>(source))) ++m.near_hits_on_source;
    }
  }
  bar.finish();
  return m;
}

// The 1-minute load average (NaN where /proc is not there): a tail latency measured on a
// machine whose cores are busy with other work says more about that work than about the cache.
double load_average() {
  std::ifstream in("/proc/loadavg");
  double load = std::numeric_limits<double>::quiet_NaN();
  in >> load;
  return load;
}

double ratio(std::uint64_t part, std::uint64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / static_cast<double>(whole);
}

std::string to_json(const BenchCacheArgs& args, const std::string& store_name, double fill_seconds, const Measured& m,
                    const LatencySummary& lookup, const LatencySummary& get, double load_before, double load_after) {
  JsonWriter out;
  out.begin_object();
  out.key("kind").value("bench_cache");
  out.key("tool").value("semcache");
  out.key("semcache_version").value(version());
  out.key("params").begin_object();
  out.key("redis").value(store_name);
  out.key("entries").value(static_cast<std::uint64_t>(args.entries));
  out.key("dim").value(static_cast<std::uint64_t>(args.dim));
  out.key("clusters").value(static_cast<std::uint64_t>(args.clusters));
  out.key("lookups").value(static_cast<std::uint64_t>(args.lookups));
  out.key("warmup").value(static_cast<std::uint64_t>(args.warmup));
  out.key("fresh_share").value(args.fresh_share);
  out.key("noise").value(args.noise);
  out.key("seed").value(args.seed);
  out.key("threshold").value(args.threshold);
  out.key("ef").value(static_cast<std::uint64_t>(args.ef));
  out.key("quant").value(args.quant);
  out.key("m").value(static_cast<std::uint64_t>(args.m));
  out.key("ef_construction").value(static_cast<std::uint64_t>(args.ef_construction));
  out.key("value_bytes").value(static_cast<std::uint64_t>(kValueBytes));
  out.end_object();
  out.key("machine");
  write_json(out, machine_info());
  out.key("load_average_1m").begin_object();
  out.key("before_lookups").value(load_before);
  out.key("after_lookups").value(load_after);
  out.end_object();
  out.key("fill").begin_object();
  out.key("seconds").value(fill_seconds);
  out.key("entries_per_second").value(static_cast<double>(args.entries) / fill_seconds);
  out.end_object();
  out.key("latency_us").begin_object();
  out.key("lookup");
  write_latency_summary(out, lookup);
  out.key("get");
  write_latency_summary(out, get);
  out.key("difference").begin_object();
  out.key("p50").value(lookup.p50 - get.p50);
  out.key("p90").value(lookup.p90 - get.p90);
  out.key("p99").value(lookup.p99 - get.p99);
  out.key("p999").value(lookup.p999 - get.p999);
  out.end_object();
  out.end_object();
  out.key("budget_us").begin_object();
  out.key("p50").value(kP50BudgetUs);
  out.key("p99").value(kP99BudgetUs);
  out.key("p50_met").value(lookup.p50 - get.p50 <= kP50BudgetUs);
  out.key("p99_met").value(lookup.p99 - get.p99 <= kP99BudgetUs);
  out.end_object();
  const std::uint64_t answered = m.near_lookups + m.fresh_lookups;
  out.key("lookups").value(answered + m.errors);
  out.key("hits").value(m.near_hits + m.fresh_hits);
  out.key("hit_rate").value(ratio(m.near_hits + m.fresh_hits, answered + m.errors));
  out.key("near_duplicate").begin_object();
  out.key("lookups").value(m.near_lookups);
  out.key("hits").value(m.near_hits);
  out.key("hits_on_source").value(m.near_hits_on_source);
  out.key("hit_rate").value(ratio(m.near_hits, m.near_lookups));
  out.end_object();
  out.key("fresh").begin_object();
  out.key("lookups").value(m.fresh_lookups);
  out.key("hits").value(m.fresh_hits);
  out.key("hit_rate").value(ratio(m.fresh_hits, m.fresh_lookups));
  out.end_object();
  out.key("errors").value(m.errors);
  out.key("time_share").begin_object();
  out.key("search").value(ratio(m.search_ns, m.total_ns));
  out.key("store").value(ratio(m.store_ns, m.total_ns));
  out.key("other").value(std::max(0.0, 1.0 - ratio(m.search_ns + m.store_ns, m.total_ns)));
  out.end_object();
  out.key("mean_us").begin_object();
  out.key("search").value(static_cast<double>(m.search_ns) / 1e3 / static_cast<double>(std::max<std::uint64_t>(answered, 1)));
  out.key("store").value(static_cast<double>(m.store_ns) / 1e3 / static_cast<double>(std::max<std::uint64_t>(answered, 1)));
  out.end_object();
  out.key("candidates_per_lookup").value(static_cast<double>(m.candidates_tried) /
                                         static_cast<double>(std::max<std::uint64_t>(answered, 1)));
  out.end_object();
  return out.str() + "\n";
}

int run_bench_cache(BenchCacheArgs& args) {
  if (args.threads == 0) args.threads = std::max(1u, std::thread::hardware_concurrency());
  auto url = parse_redis_url(args.redis);
  if (!url) return fail(url.status());
  auto store = open_redis_store(args.redis);
  if (!store) return fail(store.status());
  auto connection = detail::RedisConnection::connect(*url);
  if (!connection) return fail(connection.status());

  GenerateVectorsOptions generate;
  generate.n = args.entries;
  generate.dim = args.dim;
  generate.clusters = std::min(args.clusters, args.entries);
  generate.queries = std::max<std::size_t>(fresh_count(args), 1);
  generate.seed = args.seed;
  auto data = generate_vectors(generate);
  if (!data) return fail(data.status());
  const Queries queries = make_queries(args, *data);

  // A namespace no one else uses: the run's entries never mix with real ones, and go at the end.
  CacheOptions options;
  options.name = fmt::format("bench-cache-{}-{}", ::getpid(),
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch()).count());
  options.mode = CacheMode::kSemantic;
  options.threshold = args.threshold;
  options.ef = args.ef;
  options.quantization = *parse_quantization(args.quant);
  options.m = args.m;
  options.ef_construction = args.ef_construction;
  options.dim = args.dim;
  auto cache = Cache::open(*store, options);
  if (!cache) return fail(cache.status());
  const std::string get_key = options.prefix + ":" + options.name + ":get-baseline";

  fmt::print("bench cache: {} entries x {} dims ({} topics) on {}, semantic lookups with precomputed vectors\n",
             args.entries, args.dim, generate.clusters, (*store)->describe());
  const auto fill_start = Clock::now();
  Status status = fill_cache(**cache, data->base, args.threads);
  const double fill_seconds = std::chrono::duration<double>(Clock::now() - fill_start).count();
  Expected<Measured> measured = Status::internal("not measured");
  double load_before = 0;
  double load_after = 0;
  if (status) {
    fmt::print("fill: {:.1f}s with {} threads ({:.0f} entries/s)\n", fill_seconds, args.threads,
               static_cast<double>(args.entries) / fill_seconds);
    auto set = connection->command({"SET", get_key, std::string(kValueBytes, 'g')});
    if (!set) {
      status = set.status();
    } else if (set->is_error()) {
      status = connection->error_status(*set, "SET " + get_key);
    } else {
      load_before = load_average();
      measured = measure(**cache, *connection, get_key, queries, args.warmup);
      load_after = load_average();
      if (!measured) status = measured.status();
    }
  }
  // Clean up whatever happened above; report the first failure. Dropping the namespace leaves
  // its change log (other processes learn of the drop from it, and it still holds every add
  // event); no other process uses this namespace, so once the cache is closed the log goes too.
  auto dropped = (*cache)->invalidate_namespace(kCacheBenchModel);
  cache->reset();
  const std::string log_key = fmt::format("{}:{{{}:{}}}:log", options.prefix, options.name, kCacheBenchModel);
  auto deleted = connection->command({"DEL", get_key, log_key});
  if (!status) return fail(status);
  if (!dropped) return fail(dropped.status().with_context("dropping the bench namespace " + options.name));
  if (!deleted) return fail(deleted.status());

  const Measured& m = *measured;
  const LatencySummary lookup = m.lookup_ns.summary(1000.0);
  const LatencySummary get = m.get_ns.summary(1000.0);
  fmt::print("\n{} lookups, each paired with a GET of a {}-byte string ({} warm-up pairs not counted)\n\n",
             args.lookups, kValueBytes, args.warmup);
  fmt::print("{:<12} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "us", "p50", "p90", "p99", "p99.9", "max", "mean");
  for (const auto& [name, s] : {std::pair{"lookup", lookup}, std::pair{"GET", get}}) {
    fmt::print("{:<12} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f}\n", name, s.p50, s.p90, s.p99, s.p999, s.max,
               s.mean);
  }
  fmt::print("{:<12} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f}\n", "difference", lookup.p50 - get.p50, lookup.p90 - get.p90,
             lookup.p99 - get.p99, lookup.p999 - get.p999);
  const bool p50_met = lookup.p50 - get.p50 <= kP50BudgetUs;
  const bool p99_met = lookup.p99 - get.p99 <= kP99BudgetUs;
  fmt::print("\nbudget: p50 within GET + {:.0f} us: {}; p99 within GET + {:.0f} us: {}\n", kP50BudgetUs,
             p50_met ? "met" : "NOT met", kP99BudgetUs, p99_met ? "met" : "NOT met");
  const std::uint64_t answered = m.near_lookups + m.fresh_lookups;
  fmt::print("hit rate {:.1f}%: near-duplicates {}/{} ({} on the perturbed entry), fresh vectors {}/{}\n",
             100 * ratio(m.near_hits + m.fresh_hits, answered + m.errors), m.near_hits, m.near_lookups,
             m.near_hits_on_source, m.fresh_hits, m.fresh_lookups);
  fmt::print("lookup time (library's own clock): search {:.0f}%, store {:.0f}%, other {:.0f}%; {:.2f} candidates fetched per lookup\n",
             100 * ratio(m.search_ns, m.total_ns), 100 * ratio(m.store_ns, m.total_ns),
             100 * std::max(0.0, 1.0 - ratio(m.search_ns + m.store_ns, m.total_ns)),
             static_cast<double>(m.candidates_tried) / static_cast<double>(std::max<std::uint64_t>(answered, 1)));
  const double cores = static_cast<double>(std::thread::hardware_concurrency());
  if (std::max(load_before, load_after) > cores) {
    fmt::print("note: load average {:.1f} -> {:.1f} on {} cores: other processes competed for the CPU, which shows in the tails\n",
               load_before, load_after, cores);
  }
  if (m.errors > 0) fmt::print("errors: {} lookups failed (first: {})\n", m.errors, m.first_error);
  fmt::print("dropped the bench namespace ({} entries deleted)\n", *dropped);
  if (!args.json_out.empty()) {
    if (Status st = write_text_file(args.json_out, to_json(args, (*store)->describe(), fill_seconds, m, lookup, get, load_before, load_after)); !st) {
      return fail(st);
    }
    fmt::print("wrote {}\n", args.json_out);
  }
  return m.errors > 0 ? 3 : 0;
}

}  // namespace

void add_bench_cache_command(CLI::App& bench, Command& run) {
  auto args = std::make_shared<BenchCacheArgs>();
  CLI::App* cache = bench.add_subcommand(
      "cache",
      "Fill a semantic cache on Redis with --entries clustered vectors (a namespace of its own, dropped at the "
      "end), then time --lookups semantic lookups with precomputed vectors one at a time, each paired with a "
      "plain GET on the same server, and report both latency distributions, their difference against the "
      "budget (p50 + 150 us, p99 + 300 us), hit rate and where the lookup time went.");
  cache->add_option("--redis", args->redis, "Redis URL: redis://[user:password@]host:port[/db]")->required();
  cache->add_option("--entries", args->entries, "Cached entries")->capture_default_str()->check(CLI::PositiveNumber);
  cache->add_option("--dim", args->dim, "Vector dimensions")->capture_default_str()->check(CLI::Range(2, 4096));
  cache->add_option("--clusters", args->clusters, "Topics of the generated vectors")->capture_default_str()->check(CLI::PositiveNumber);
  cache->add_option("--lookups", args->lookups, "Timed lookups (each paired with a GET)")->capture_default_str()->check(CLI::PositiveNumber);
  cache->add_option("--warmup", args->warmup, "Lookup/GET pairs run first and not counted")->capture_default_str();
  cache->add_option("--fresh-share", args->fresh_share, "Share of lookups with fresh vectors (mostly misses)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  cache->add_option("--noise", args->noise, "Relative size of the perturbation of near-duplicate queries")
      ->capture_default_str()->check(CLI::Range(0.0, 10.0));
  cache->add_option("--seed", args->seed, "Seed for the vectors and the queries")->capture_default_str();
  cache->add_option("--threshold", args->threshold, "Cosine distance threshold of a semantic hit")
      ->capture_default_str()->check(CLI::Range(0.0, 2.0));
  cache->add_option("--ef", args->ef, "HNSW candidate list size for the search")->capture_default_str()->check(CLI::Range(1, 10000));
  cache->add_option("--quant", args->quant, "Vector storage in the index: int8|f32|bin")->capture_default_str()->check(quantization_names());
  cache->add_option("--m", args->m, "HNSW links per node")->capture_default_str()->check(CLI::Range(2, 128));
  cache->add_option("--ef-construction", args->ef_construction, "HNSW candidate list while filling")
      ->capture_default_str()->check(CLI::Range(1, 10000));
  cache->add_option("--threads", args->threads, "Threads storing entries during the fill (0 = all cores)")->capture_default_str();
  cache->add_option("--json", args->json_out, "Write the result JSON to this file");
  cache->callback([&run, args] { run = [args] { return run_bench_cache(*args); }; });
}

}  // namespace semcache::cli
