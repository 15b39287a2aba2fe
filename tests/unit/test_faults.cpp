// Fault tests: the cache on a real redis-server (redis_server.hpp) that is killed, restarted
// empty, stalled past the timeouts, filled past maxmemory (evicting or refusing writes), a
// read-only replica, replaced by a closed port or by a server that never answers, or whose
// password changes under a running process.
//
// Each TEST_CASE names the promise it checks. The promises, from cache.hpp and store.hpp:
//   - bounded latency: while Redis is unhealthy every lookup and store returns within the
//     configured timeout plus a margin (kMargin: scheduling on a loaded 2-core machine, not
//     a performance claim);
//   - no crash, no hang (a Watchdog aborts a test body that overruns its budget);
//   - counters that match what happened: the cache's lookups = exact + semantic hits + misses
//     + errors, equal to what the test's own threads saw; stores + dropped stores = the
//     store() calls; and the store's own counters equal what an ObservedStore wrapped around
//     it counted (fault_fixtures.hpp), timeouts included;
//   - recovery without restarting the process: hits again once Redis is back;
//   - no wrong answer ever: every hit carries the request's tenant and model (exact hits the
//     same canonical request), its response is the one stored for it, and the entry exists in
//     Redis when it is served.
// Faults are real: SIGKILL, CLIENT PAUSE, DEBUG SLEEP (needs --enable-debug-command on Redis
// 7), maxmemory with allkeys-lru or noeviction, --replicaof, CONFIG SET requirepass + CLIENT KILL.

#include <catch2/catch.hpp>

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cache/entry_record.hpp"
#include "fault_fixtures.hpp"
#include "redis_server.hpp"
#include "semcache/cache.hpp"
#include "semcache/redis_store.hpp"
#include "store/redis_connection.hpp"

using namespace semcache;
using namespace std::chrono_literals;

// Requests name only the fields a test uses (see test_cache.cpp).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kTimeout = 200ms;  // connect and command timeout of the store under test
constexpr auto kMargin = 1s;      // what a loaded machine may add to a timeout
constexpr std::size_t kDim = 16;

RedisStoreOptions fault_store_options() {
  RedisStoreOptions options;
  options.connect_timeout = kTimeout;
  options.command_timeout = kTimeout;
  options.pool_size = 4;
  options.initial_backoff = 20ms;
  options.max_backoff = 200ms;
  return options;
}

CacheOptions fault_cache_options(CacheMode mode) {
  CacheOptions options;
  options.mode = mode;
  options.dim = kDim;
  options.quantization = Quantization::kF32;
  options.threshold = 0.05;
  options.follow_interval = 0ms;
  return options;
}

std::unique_ptr<Cache> open_cache(std::shared_ptr<Store> store, const CacheOptions& options) {
  auto cache = Cache::open(std::move(store), options);
  INFO(cache.status().message());
  REQUIRE(cache);
  return std::move(cache.value());
}

using testing::ObservedStore;

// A Redis store used only through an ObservedStore, so the two can be compared at the end.
struct ObservedRedis {
  std::shared_ptr<ObservedStore> observed;
  explicit ObservedRedis(const std::string& url, RedisStoreOptions options = fault_store_options()) {
    auto store = open_redis_store(url, options);
    INFO(store.status().message());
    REQUIRE(store);
    observed = std::make_shared<ObservedStore>(*store);
  }
};

// Random unit vectors, each at cosine distance > 4 * threshold from every other, so that a
// query equal (or very near) to vector i can only ever match entry i.
std::vector<std::vector<float>> distinct_vectors(std::size_t n, unsigned seed, double min_distance = 0.2) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<std::vector<float>> out;
  while (out.size() < n) {
    std::vector<float> v(kDim);
    double norm = 0;
    for (float& x : v) {
      x = normal(rng);
      norm += double(x) * x;
    }
    for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
    const bool far = std::all_of(out.begin(), out.end(), [&](const std::vector<float>& other) {
      double dot = 0;
      for (std::size_t i = 0; i < kDim; ++i) dot += double(v[i]) * other[i];
      return 1.0 - dot > min_distance;
    });
    if (far) out.push_back(std::move(v));
  }
  return out;
}

// `v` moved by a small random step (cosine distance well under 0.01): a paraphrase.
std::vector<float> near(const std::vector<float>& v, std::mt19937& rng) {
  std::normal_distribution<float> noise(0.0f, 0.01f);
  std::vector<float> out = v;
  for (float& x : out) x += noise(rng);
  return out;
}

std::string response_for(std::string_view tenant, std::string_view model, std::string_view canonical) {
  return std::string(tenant) + "|" + std::string(model) + "|" + std::string(canonical);
}

std::string entry_key(std::string_view model, std::string_view tenant, std::string_view canonical) {
  return detail::namespace_keys("semcache", "default", model).entry_prefix + detail::entry_id(tenant, canonical);
}

// What the test's own threads saw; compared with the cache's statistics at the end.
struct Tally {
  std::atomic<std::uint64_t> lookups{0}, exact{0}, semantic{0}, misses{0}, errors{0};
  std::atomic<std::uint64_t> stores{0}, dropped{0};
  std::atomic<std::uint64_t> wrong{0};  // hits that fail the oracle
  std::atomic<std::uint64_t> late{0};   // calls slower than the timeout + margin
  std::atomic<std::int64_t> slowest_ns{0};

  void timed(Clock::time_point start, std::chrono::nanoseconds bound) {
    const auto took = Clock::now() - start;
    if (took > bound) late.fetch_add(1);
    std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(took).count();
    std::int64_t seen = slowest_ns.load();
    while (ns > seen && !slowest_ns.compare_exchange_weak(seen, ns)) {
    }
  }
  void count(const LookupResult& r) {
    lookups.fetch_add(1);
    switch (r.outcome) {
      case LookupOutcome::kExactHit: exact.fetch_add(1); break;
      case LookupOutcome::kSemanticHit: semantic.fetch_add(1); break;
      case LookupOutcome::kMiss: misses.fetch_add(1); break;
      case LookupOutcome::kError: errors.fetch_add(1); break;
    }
  }
  void count_store(const Status& st) { (st ? stores : dropped).fetch_add(1); }
};

// The cache's statistics, summed over its namespaces, against the tally.
void check_stats_match(const Cache& cache, const Tally& tally) {
  NamespaceStats sum;
  for (const NamespaceStats& s : cache.stats()) {
    CHECK(s.lookups == s.exact_hits + s.semantic_hits + s.misses + s.errors);
    sum.lookups += s.lookups;
    sum.exact_hits += s.exact_hits;
    sum.semantic_hits += s.semantic_hits;
    sum.misses += s.misses;
    sum.errors += s.errors;
    sum.stores += s.stores;
    sum.dropped_stores += s.dropped_stores;
  }
  CHECK(sum.lookups == tally.lookups.load());
  CHECK(sum.exact_hits == tally.exact.load());
  CHECK(sum.semantic_hits == tally.semantic.load());
  CHECK(sum.misses == tally.misses.load());
  CHECK(sum.errors == tally.errors.load());
  CHECK(sum.stores == tally.stores.load());
  CHECK(sum.dropped_stores == tally.dropped.load());
}

// The oracle of a hit in these tests: the request's tenant and model, the response stored for
// that entry's canonical request, and for an exact hit the request's own canonical request.
bool hit_is_right(const LookupResult& r, const CacheRequest& request) {
  if (!r.hit()) return true;
  if (r.entry.tenant != request.tenant || r.entry.model != request.model) return false;
  if (r.outcome == LookupOutcome::kExactHit && r.entry.canonical != request.canonical) return false;
  return r.entry.response == response_for(r.entry.tenant, r.entry.model, r.entry.canonical);
}

Expected<std::optional<Record>> read_direct(Store& store, const std::string& key) {
  auto records = store.read(std::vector<std::string>{key});
  if (!records) return records.status();
  return std::move((*records)[0]);
}

// Retries `lookup` until it is not an error (the store reconnecting), at most 5 s; every
// attempt is counted in `tally` when one is given.
LookupResult until_answered(Cache& cache, const CacheRequest& request, Tally* tally = nullptr) {
  const auto deadline = Clock::now() + 5s;
  while (true) {
    LookupResult r = cache.lookup(request);
    if (tally) tally->count(r);
    if (r.outcome != LookupOutcome::kError || Clock::now() >= deadline) return r;
    std::this_thread::sleep_for(20ms);
  }
}

std::size_t stats_of_indexed(const Cache& cache) {
  std::size_t indexed = 0;
  for (const NamespaceStats& s : cache.stats()) indexed += s.indexed;
  return indexed;
}

void kill_hard(testing::RedisServer& server) {
  REQUIRE(server.running());
  ::kill(server.pid(), SIGKILL);
  server.stop();  // reaps it
}

}  // namespace

TEST_CASE("faults: Redis killed twice and restarted under concurrent lookups and stores: bounded latency, "
          "balanced counters, no wrong hit, recovery",
          "[faults][redis][concurrency]") {
  testing::Watchdog watchdog(60s, "faults: kill and restart under load");
  testing::RedisServer server;
  ObservedRedis redis(server.url());
  CacheOptions options = fault_cache_options(CacheMode::kBoth);
  options.follow_interval = 20ms;  // the follower runs through the faults too
  auto cache = open_cache(redis.observed, options);

  // 2 tenants x 2 models x 24 prompts; lookups are the prompt itself (exact hits) or a
  // paraphrase with its own canonical text (semantic hits).
  const std::vector<std::string> tenants = {"acme", "globex"};
  const std::vector<std::string> models = {"m@1", "m@2"};
  const auto vectors = distinct_vectors(24, 7);
  const auto bound = kTimeout + kMargin;

  Tally tally;
  std::atomic<bool> stop{false};
  std::atomic<std::int64_t> last_restart_ns{std::numeric_limits<std::int64_t>::max()};
  std::atomic<std::uint64_t> hits_after_last_restart{0};
  std::vector<std::thread> workers;
  for (unsigned t = 0; t < 4; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937 rng(100 + t);
      while (!stop.load()) {
        const std::size_t i = rng() % vectors.size();
        const std::string& tenant = tenants[rng() % tenants.size()];
        const std::string& model = models[rng() % models.size()];
        const bool paraphrase = rng() % 3 == 0;
        const std::string canonical = "prompt " + std::to_string(i) + (paraphrase ? " (paraphrased)" : "");
        const std::vector<float> vector = paraphrase ? near(vectors[i], rng) : vectors[i];
        const CacheRequest request{.model = model, .tenant = tenant, .canonical = canonical, .embedding = vector};
        const auto start = Clock::now();
        const LookupResult r = cache->lookup(request);
        tally.timed(start, bound);
        tally.count(r);
        if (!hit_is_right(r, request)) tally.wrong.fetch_add(1);
        if (r.hit() && start.time_since_epoch().count() > last_restart_ns.load()) hits_after_last_restart.fetch_add(1);
        if (!r.hit()) {
          const auto store_start = Clock::now();
          const Status st = cache->store(request, response_for(tenant, model, canonical));
          tally.timed(store_start, bound);
          tally.count_store(st);
        }
      }
    });
  }

  std::this_thread::sleep_for(400ms);
  const std::uint64_t hits_before = tally.exact.load() + tally.semantic.load();
  kill_hard(server);
  std::this_thread::sleep_for(300ms);
  server.restart();
  std::this_thread::sleep_for(500ms);
  kill_hard(server);
  std::this_thread::sleep_for(300ms);
  server.restart();
  last_restart_ns.store(Clock::now().time_since_epoch().count());
  const auto deadline = Clock::now() + 10s;
  while (hits_after_last_restart.load() < 20 && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  stop.store(true);
  for (auto& worker : workers) worker.join();

  INFO("lookups " << tally.lookups << ", exact " << tally.exact << ", semantic " << tally.semantic << ", misses "
                  << tally.misses << ", errors " << tally.errors << ", stores " << tally.stores << ", dropped "
                  << tally.dropped << ", slowest call " << tally.slowest_ns / 1000000 << " ms");
  CHECK(hits_before > 0);
  CHECK(tally.errors > 0);  // the faults were seen
  CHECK(tally.dropped > 0);
  CHECK(tally.late == 0);
  CHECK(tally.wrong == 0);
  CHECK(hits_after_last_restart >= 20);  // recovered, in the same process
  check_stats_match(*cache, tally);
  const StoreCounters counted = redis.observed->counters();
  CHECK(counted.reconnects >= 2);
  cache.reset();  // its last batch (queued increments) goes out now; then nothing runs
  check_counters_match(redis.observed->counters(), redis.observed->observed());
}

TEST_CASE("faults: a Redis stalled past the command timeout (CLIENT PAUSE, DEBUG SLEEP) gives errors within the "
          "timeout, counted as timeouts, then recovers",
          "[faults][redis][concurrency]") {
  testing::Watchdog watchdog(60s, "faults: stalled Redis");
  testing::RedisServer server({"--enable-debug-command", "yes"});
  ObservedRedis redis(server.url());
  CacheOptions options = fault_cache_options(CacheMode::kBoth);
  options.follow_interval = 50ms;
  auto cache = open_cache(redis.observed, options);
  const auto vectors = distinct_vectors(20, 3);
  std::vector<std::string> canonicals;
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    canonicals.push_back("prompt " + std::to_string(i));
    REQUIRE(cache->store({.model = "m", .tenant = "t", .canonical = canonicals[i], .embedding = vectors[i]},
                         response_for("t", "m", canonicals[i])));
  }
  auto request = [&](std::size_t i) {
    return CacheRequest{.model = "m", .tenant = "t", .canonical = canonicals[i], .embedding = vectors[i]};
  };
  Tally tally;
  tally.stores.store(vectors.size());
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const LookupResult r = cache->lookup(request(i));
    tally.count(r);
    REQUIRE(r.outcome == LookupOutcome::kExactHit);
  }

  std::string stall = GENERATE(as<std::string>{}, "CLIENT PAUSE 2000 ALL", "DEBUG SLEEP 2");
  INFO("stall: " << stall);
  constexpr auto kStall = 2000ms;
  std::thread sleeper;
  const auto stall_start = Clock::now();
  auto url = parse_redis_url(server.url());
  REQUIRE(url);
  if (stall == "DEBUG SLEEP 2") {
    // DEBUG SLEEP blocks its own connection for the whole stall: it runs on a thread, on a
    // connection with a long timeout.
    auto admin = detail::RedisConnection::connect(*url, {5000ms, 5000ms});
    REQUIRE(admin);
    sleeper = std::thread([connection = std::move(*admin)]() mutable { (void)connection.command({"DEBUG", "SLEEP", "2"}); });
  } else {
    const detail::Reply ok = testing::admin_command(server.url(), {"CLIENT", "PAUSE", "2000", "ALL"});
    REQUIRE(ok.str == "OK");
  }
  // The stall has begun when a new connection's handshake (a PING) goes unanswered.
  while (detail::RedisConnection::connect(*url, {100ms, 100ms}) && Clock::now() < stall_start + 1s) {
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(Clock::now() < stall_start + 1s);

  // Until shortly before the stall ends, two threads look up and store: every call fails, in time.
  const auto bound = kTimeout + kMargin;
  std::atomic<std::uint64_t> unexplained{0};  // errors that name neither a timeout nor the backoff
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      for (int n = 0; Clock::now() < stall_start + kStall - 600ms; ++n) {
        const std::size_t i = rng() % vectors.size();
        const auto start = Clock::now();
        const LookupResult r = cache->lookup(request(i));
        tally.timed(start, bound);
        tally.count(r);
        if (r.outcome == LookupOutcome::kError && r.error.find("timed out") == std::string::npos &&
            r.error.find("reconnecting in") == std::string::npos) {
          unexplained.fetch_add(1);
        }
        if (n % 4 == 0) {
          const auto store_start = Clock::now();
          tally.count_store(cache->store(request(i), response_for("t", "m", canonicals[i])));
          tally.timed(store_start, bound);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const std::uint64_t stalled_lookups = tally.lookups - vectors.size();
  INFO("during the stall: " << stalled_lookups << " lookups, " << tally.errors << " errors, slowest call "
                            << tally.slowest_ns / 1000000 << " ms");
  CHECK(stalled_lookups > 0);
  CHECK(tally.errors == stalled_lookups);  // no lookup could be answered
  CHECK(tally.stores == vectors.size());   // nor any store
  CHECK(tally.dropped > 0);
  CHECK(tally.late == 0);
  CHECK(unexplained == 0);
  CHECK(redis.observed->counters().timeouts > 0);

  // Nothing was lost: once the stall is over, every entry hits again in the same process.
  for (std::size_t i = 0; i < vectors.size(); ++i) {
    const LookupResult r = until_answered(*cache, request(i), &tally);
    CHECK(r.outcome == LookupOutcome::kExactHit);
  }
  if (sleeper.joinable()) sleeper.join();
  check_stats_match(*cache, tally);
  cache.reset();
  check_counters_match(redis.observed->counters(), redis.observed->observed());
}

TEST_CASE("faults: Redis evicting entries under maxmemory (allkeys-lru) never causes a wrong answer, an evicted "
          "candidate leaves the vector set and the next candidate is served",
          "[faults][redis]") {
  testing::Watchdog watchdog(90s, "faults: maxmemory eviction");
  testing::RedisServer server({"--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"});
  ObservedRedis redis(server.url());
  auto cache = open_cache(redis.observed, fault_cache_options(CacheMode::kSemantic));

  // 1,000 prompts, each stored twice: as itself and as a paraphrase ("twin", at cosine
  // distance ~0.001, far closer than any other prompt). 2,000 entries of ~2 KB: about twice
  // what 3 MB holds beside Redis's own ~1 MB, so Redis evicts about half, at random (LRU
  // sampling). A query equal to the prompt's own vector has exactly these two candidates.
  constexpr std::size_t kPrompts = 1000;
  const auto vectors = distinct_vectors(kPrompts, 11, 0.12);
  std::mt19937 rng(5);
  std::vector<std::vector<float>> twins;
  for (const auto& v : vectors) twins.push_back(near(v, rng));
  const std::string padding(2000, 'x');
  auto canonical = [](std::size_t i, bool twin) { return "prompt " + std::to_string(i) + (twin ? " twin" : ""); };
  auto response = [&](const std::string& c) { return response_for("t", "m", c) + "|" + padding; };
  for (std::size_t i = 0; i < kPrompts; ++i) {
    for (bool twin : {false, true}) {
      const std::string c = canonical(i, twin);
      const Status st = cache->store({.model = "m", .tenant = "t", .canonical = c, .embedding = twin ? twins[i] : vectors[i]},
                                     response(c));
      INFO(st.message());
      REQUIRE(st);
    }
  }
  const detail::Reply info = testing::admin_command(server.url(), {"INFO", "stats"});
  const long long evicted = testing::info_field(info.str, "evicted_keys");
  INFO("Redis evicted " << evicted << " keys");
  REQUIRE(evicted > 0);
  REQUIRE(stats_of_indexed(*cache) == 2 * kPrompts);

  auto absent = [&](const std::string& c) {
    auto stored = read_direct(*redis.observed, entry_key("m", "t", c));
    REQUIRE(stored);
    return !stored->has_value();
  };
  std::uint64_t hits = 0, twin_hits = 0, misses = 0, expired_sum = 0, search_misses = 0;
  std::vector<bool> dropped(kPrompts);  // both of the prompt's entries left the index
  for (std::size_t i = 0; i < kPrompts; ++i) {
    INFO("prompt " << i);
    const LookupResult r = cache->lookup({.model = "m", .tenant = "t", .canonical = "query", .embedding = vectors[i]});
    REQUIRE(r.outcome != LookupOutcome::kError);
    CHECK(r.candidates_tried <= 2);
    CHECK(r.expired_candidates <= r.candidates_tried);
    expired_sum += r.expired_candidates;
    if (r.candidates_tried < 2) ++search_misses;  // HNSW is approximate; counted, never wrong
    if (r.hit()) {
      // One of the prompt's own two entries, with its own response: never anything else.
      ++hits;
      const bool twin = r.entry.canonical == canonical(i, true);
      CHECK((twin || r.entry.canonical == canonical(i, false)));
      CHECK(r.entry.response == response(r.entry.canonical));
      CHECK(r.entry.key == entry_key("m", "t", r.entry.canonical));
      // The twin is served only when the closer original was an evicted candidate (or, rarely,
      // not found by the search): the next candidate after an eviction.
      if (twin && r.candidates_tried == 2) {
        ++twin_hits;
        CHECK(r.expired_candidates == 1);
        CHECK(absent(canonical(i, false)));
      }
    } else {
      // A miss: every candidate was evicted, is gone from Redis for good (nothing rewrites
      // it) and left the vector set.
      ++misses;
      CHECK(r.expired_candidates == r.candidates_tried);
      if (r.candidates_tried == 2) {
        CHECK(absent(canonical(i, false)));
        CHECK(absent(canonical(i, true)));
        dropped[i] = true;
      }
    }
  }
  INFO("hits " << hits << " (" << twin_hits << " on the twin after an eviction), misses " << misses
               << ", expired candidates " << expired_sum << ", searches that returned fewer than 2 candidates "
               << search_misses);
  CHECK(hits > 0);
  CHECK(twin_hits > 0);
  CHECK(misses > 0);
  CHECK(search_misses <= kPrompts / 100);
  CHECK(stats_of_indexed(*cache) == 2 * kPrompts - expired_sum);
  std::uint64_t expired_stat = 0;
  for (const NamespaceStats& s : cache->stats()) {
    CHECK(s.lookups == s.semantic_hits + s.misses);
    CHECK(s.semantic_hits == hits);
    expired_stat += s.expired_candidates;
  }
  CHECK(expired_stat == expired_sum);

  // A process opened now rebuilds from what Redis still holds (Redis may evict a few more while
  // the rebuild reads: its replies count towards maxmemory). Lookups of the prompts whose two
  // entries were dropped no longer find a candidate in the first process.
  std::size_t surviving = 0;
  Status scanned = redis.observed->scan(detail::namespace_keys("semcache", "default", "m").entry_prefix, 256,
                                        [&](std::span<const std::string> keys) {
                                          surviving += keys.size();
                                          return Status::ok();
                                        });
  REQUIRE(scanned);
  auto fresh = open_cache(redis.observed, fault_cache_options(CacheMode::kSemantic));
  REQUIRE(fresh->warm("m"));
  CHECK(stats_of_indexed(*fresh) <= surviving);
  CHECK(stats_of_indexed(*fresh) > 0);
  std::uint64_t tried_again = 0;
  for (std::size_t i = 0; i < kPrompts; ++i) {
    if (!dropped[i]) continue;
    const LookupResult r = cache->lookup({.model = "m", .tenant = "t", .canonical = "query", .embedding = vectors[i]});
    tried_again += r.candidates_tried;
  }
  CHECK(tried_again == 0);
  cache.reset();
  fresh.reset();
  check_counters_match(redis.observed->counters(), redis.observed->observed());
}

TEST_CASE("faults: a Redis full under noeviction still serves its hits, and the writes and hit counts it refuses are "
          "dropped and counted, never a lookup error",
          "[faults][redis]") {
  testing::Watchdog watchdog(90s, "faults: noeviction");
  testing::RedisServer server({"--maxmemory", "2mb", "--maxmemory-policy", "noeviction"});
  ObservedRedis redis(server.url());
  auto cache = open_cache(redis.observed, fault_cache_options(CacheMode::kExact));
  auto write_behind = cache->write_behind();
  constexpr std::size_t kBatch = 32, kMaxBatches = 100;
  std::vector<std::string> prompts;  // what the requests' views point at
  for (std::size_t i = 0; i < kBatch * kMaxBatches; ++i) prompts.push_back("prompt " + std::to_string(i));
  const std::string padding(4000, 'x');
  auto request = [&](std::size_t i) { return CacheRequest{.model = "m", .tenant = "t", .canonical = prompts.at(i)}; };
  auto response = [&](std::size_t i) { return response_for("t", "m", prompts.at(i)) + "|" + padding; };
  // Each batch carries the previous batch's writes (write-behind) and a batch's requests are
  // all new, so every lookup here is a miss that stores.
  auto replay = [&](std::size_t first, std::size_t count) {
    std::vector<CacheRequest> requests;
    std::vector<std::string> texts;
    for (std::size_t i = first; i < first + count; ++i) {
      requests.push_back(request(i));
      texts.push_back(response(i));
    }
    std::vector<std::string_view> responses(texts.begin(), texts.end());
    return write_behind.lookup_or_store(requests, responses, {});
  };
  auto stats = [&] {
    const auto all = cache->stats();
    REQUIRE(all.size() == 1);
    return all.front();
  };

  // Fill until Redis refuses writes: 2 MB hold a few hundred of these 4 KB entries beside
  // Redis's own ~1 MB.
  std::size_t sent = 0;
  do {
    REQUIRE(sent < kMaxBatches * kBatch);
    for (const LookupResult& r : replay(sent, kBatch)) {
      INFO(r.error);
      REQUIRE(r.outcome == LookupOutcome::kMiss);
    }
    sent += kBatch;
  } while (stats().dropped_stores == 0);
  const NamespaceStats full = stats();
  INFO("stored " << full.stores << ", dropped " << full.dropped_stores << " after " << sent << " requests");
  REQUIRE(full.stores > kBatch);
  REQUIRE(full.errors == 0);

  // The first batch's entries are hits though the same round trip carries writes Redis refuses
  // (the last batch's, held), and so are they again with the refused hit counts of this batch.
  for (int round = 0; round < 2; ++round) {
    INFO("round " << round);
    for (const LookupResult& r : replay(0, kBatch)) {
      INFO(r.error);
      REQUIRE(r.outcome == LookupOutcome::kExactHit);
      CHECK(r.entry.response == response(std::stoul(r.entry.canonical.substr(7))));
    }
  }
  // One at a time too (the queued hit count rides with the next lookup's read, and is refused).
  for (std::size_t i = 0; i < 3; ++i) {
    const LookupResult r = cache->lookup(request(i));
    INFO(r.error);
    CHECK(r.outcome == LookupOutcome::kExactHit);
  }
  const Status flushed = write_behind.flush();
  CHECK(flushed);  // the last replay() hit only: nothing was held

  // Redis did refuse: OOM errors; every entry counted as stored is in Redis, none counted as
  // dropped is, and the cache's and the store's counters agree with what the test saw.
  const detail::Reply errors = testing::admin_command(server.url(), {"INFO", "errorstats"});
  INFO(errors.str);
  CHECK(errors.str.find("errorstat_OOM:count=") != std::string::npos);
  const NamespaceStats end = stats();
  CHECK(end.errors == 0);
  INFO(end.first_error);
  CHECK(end.first_error.find("OOM command not allowed") != std::string::npos);
  CHECK(end.lookups == end.exact_hits + end.misses);
  CHECK(end.exact_hits == 2 * kBatch + 3);
  CHECK(end.stores + end.dropped_stores == sent);
  std::size_t in_redis = 0;
  for (std::size_t i = 0; i < sent; ++i) {
    auto stored = read_direct(*redis.observed, entry_key("m", "t", prompts[i]));
    REQUIRE(stored);
    if (stored->has_value()) ++in_redis;
  }
  CHECK(in_redis == end.stores);
  cache.reset();
  check_counters_match(redis.observed->counters(), redis.observed->observed());
}

TEST_CASE("faults: a cache on a read-only replica serves the primary's entries as hits and drops its own stores",
          "[faults][redis]") {
  testing::Watchdog watchdog(60s, "faults: read-only replica");
  testing::RedisServer primary;
  testing::RedisServer replica({"--replicaof", "127.0.0.1", std::to_string(primary.port())});
  constexpr std::size_t kStored = 50;
  std::vector<std::string> prompts, texts;  // what the requests' views point at
  for (std::size_t i = 0; i < 2 * kStored; ++i) {
    prompts.push_back("prompt " + std::to_string(i));
    texts.push_back(response_for("t", "m", prompts.back()));
  }
  std::vector<CacheRequest> requests;
  for (const std::string& prompt : prompts) requests.push_back({.model = "m", .tenant = "t", .canonical = prompt});
  {
    ObservedRedis writer(primary.url());
    auto cache = open_cache(writer.observed, fault_cache_options(CacheMode::kExact));
    for (std::size_t i = 0; i < kStored; ++i) REQUIRE(cache->store(requests[i], texts[i]));
  }
  const auto deadline = Clock::now() + 20s;
  while (testing::admin_command(replica.url(), {"DBSIZE"}).integer < static_cast<long long>(kStored)) {
    REQUIRE(Clock::now() < deadline);  // the replica syncs from the primary
    std::this_thread::sleep_for(50ms);
  }

  // Twice every prompt: the stored half hits, the other half misses and stores. The second
  // round trip carries the first one's writes and hit counts, which the replica refuses
  // (READONLY) while it answers the reads; the last writes go alone and fail.
  ObservedRedis reader(replica.url());
  auto cache = open_cache(reader.observed, fault_cache_options(CacheMode::kExact));
  auto write_behind = cache->write_behind();
  const std::vector<std::string_view> responses(texts.begin(), texts.end());
  for (int round = 0; round < 2; ++round) {
    const std::vector<LookupResult> results = write_behind.lookup_or_store(requests, responses, {});
    REQUIRE(results.size() == requests.size());
    for (std::size_t i = 0; i < results.size(); ++i) {
      INFO("round " << round << ", request " << i << ": " << results[i].error);
      CHECK(results[i].outcome == (i < kStored ? LookupOutcome::kExactHit : LookupOutcome::kMiss));
    }
  }
  CHECK_FALSE(write_behind.flush());
  const NamespaceStats stats = cache->stats().front();
  CHECK(stats.errors == 0);
  CHECK(stats.exact_hits == 2 * kStored);
  CHECK(stats.stores == 0);
  CHECK(stats.dropped_stores == 2 * kStored);
  INFO(stats.first_error);
  CHECK(stats.first_error.find("READONLY") != std::string::npos);
  CHECK(testing::admin_command(primary.url(), {"DBSIZE"}).integer == static_cast<long long>(kStored));
  cache.reset();
  check_counters_match(reader.observed->counters(), reader.observed->observed());
}

TEST_CASE("faults: a closed port and a server that never answers give bounded errors, counted, and never a hang",
          "[faults][redis][concurrency]") {
  testing::Watchdog watchdog(60s, "faults: refused and silent servers");
  // "refused": nothing listens on the port. "silent": a server accepts and never replies.
  const std::string kind = GENERATE(as<std::string>{}, "refused", "silent");
  INFO("server: " << kind);
  std::unique_ptr<testing::SilentServer> silent;
  std::string url;
  if (kind == "silent") {
    silent = std::make_unique<testing::SilentServer>();
    url = silent->url();
  } else {
    url = "redis://127.0.0.1:" + std::to_string(testing::find_free_port());
  }
  const RedisStoreOptions options = fault_store_options();
  const auto bound = options.connect_timeout + options.command_timeout + kMargin;

  // open() with require_connection fails, in time, saying why.
  const auto open_start = Clock::now();
  auto refused_open = open_redis_store(url, options);
  CHECK(Clock::now() - open_start < bound);
  REQUIRE_FALSE(refused_open);
  CHECK(refused_open.status().code() == ErrorCode::kUnavailable);
  CHECK(refused_open.status().message().find(kind == "silent" ? "timed out" : "refused") != std::string::npos);

  // Without it, the store opens and every call fails in time: lookups are errors, stores dropped,
  // also for namespaces whose vector set cannot be built (semantic mode).
  RedisStoreOptions lenient = options;
  lenient.require_connection = false;
  ObservedRedis redis(url, lenient);
  auto both = open_cache(redis.observed, fault_cache_options(CacheMode::kBoth));
  auto semantic = open_cache(redis.observed, fault_cache_options(CacheMode::kSemantic));
  const auto vectors = distinct_vectors(8, 1);
  Tally tally_both;
  Tally tally_semantic;
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (std::size_t n = 0; n < 8; ++n) {
        const std::string canonical = "prompt " + std::to_string(n);
        Cache& cache = (n + t) % 2 == 0 ? *both : *semantic;
        Tally& tally = &cache == both.get() ? tally_both : tally_semantic;
        const std::string model = "m" + std::to_string(n % 2);
        const CacheRequest request{.model = model, .tenant = "t", .canonical = canonical,
                                   .embedding = vectors[n]};
        auto start = Clock::now();
        const LookupResult r = cache.lookup(request);
        tally.timed(start, bound);
        tally.count(r);
        if (r.outcome != LookupOutcome::kError || r.error.empty()) tally.wrong.fetch_add(1);
        start = Clock::now();
        const Status st = cache.store(request, "answer");
        tally.timed(start, bound);
        tally.count_store(st);
        if (st || st.code() != ErrorCode::kUnavailable) tally.wrong.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (Tally* tally : {&tally_both, &tally_semantic}) {
    INFO("slowest call " << tally->slowest_ns / 1000000 << " ms");
    CHECK(tally->late == 0);
    CHECK(tally->wrong == 0);
    CHECK(tally->errors == tally->lookups);
    CHECK(tally->dropped == tally->lookups);
  }
  check_stats_match(*both, tally_both);
  check_stats_match(*semantic, tally_semantic);
  const StoreCounters counted = redis.observed->counters();
  CHECK(counted.connect_failures >= 1);
  CHECK(counted.connects == 0);
  if (kind == "silent") {
    CHECK(counted.timeouts >= 1);
    CHECK(silent->accepted() >= 1);
  } else {
    CHECK(counted.timeouts == 0);
  }
  both.reset();
  semantic.reset();
  check_counters_match(redis.observed->counters(), redis.observed->observed());
}

TEST_CASE("faults: a Redis restarted empty under a process with a warm vector set never serves an entry that no "
          "longer exists",
          "[faults][redis]") {
  testing::Watchdog watchdog(60s, "faults: restarted empty");
  testing::RedisServer server;
  ObservedRedis redis_a(server.url());
  auto a = open_cache(redis_a.observed, fault_cache_options(CacheMode::kSemantic));
  constexpr std::size_t kEntries = 60;
  const auto vectors = distinct_vectors(kEntries, 21);
  auto canonical = [](std::size_t i) { return "prompt " + std::to_string(i); };
  for (std::size_t i = 0; i < kEntries; ++i) {
    REQUIRE(a->store({.model = "m", .tenant = "t", .canonical = canonical(i), .embedding = vectors[i]},
                     "old " + canonical(i)));
  }
  std::mt19937 rng(9);
  for (std::size_t i = 0; i < kEntries; ++i) {
    const LookupResult r = a->lookup({.model = "m", .tenant = "t", .canonical = "q", .embedding = near(vectors[i], rng)});
    REQUIRE(r.outcome == LookupOutcome::kSemanticHit);
  }
  REQUIRE(stats_of_indexed(*a) == kEntries);

  server.restart();  // same port, no data

  // Another process writes new answers for the even prompts into the empty Redis before A
  // looks anything up; A follows the new change log.
  ObservedRedis redis_b(server.url());
  auto b = open_cache(redis_b.observed, fault_cache_options(CacheMode::kSemantic));
  for (std::size_t i = 0; i < kEntries; i += 2) {
    REQUIRE(b->store({.model = "m", .tenant = "t", .canonical = canonical(i), .embedding = vectors[i]},
                     "new " + canonical(i)));
  }
  // A's first calls may meet its broken pooled connections and the reconnect backoff.
  const auto deadline = Clock::now() + 5s;
  Status synced = a->sync();
  while (!synced && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    synced = a->sync();
  }
  REQUIRE(synced);

  // Every hit is an entry Redis holds now (read back directly), with its new answer; the odd
  // prompts, gone with the old Redis, miss and leave A's vector set.
  for (int pass = 0; pass < 2; ++pass) {
    for (std::size_t i = 0; i < kEntries; ++i) {
      INFO("pass " << pass << ", prompt " << i);
      const std::vector<float> paraphrase = near(vectors[i], rng);
      const CacheRequest query{.model = "m", .tenant = "t", .canonical = "q", .embedding = paraphrase};
      const LookupResult r = until_answered(*a, query);
      REQUIRE(r.outcome != LookupOutcome::kError);
      if (r.hit()) {
        auto stored = read_direct(*redis_a.observed, r.entry.key);
        REQUIRE(stored);
        REQUIRE(stored->has_value());
        CHECK(*find_field(**stored, detail::field::kResponse) == r.entry.response);
      }
      if (i % 2 == 0) {
        CHECK(r.outcome == LookupOutcome::kSemanticHit);
        CHECK(r.entry.response == "new " + canonical(i));
      } else {
        CHECK(r.outcome == LookupOutcome::kMiss);
        CHECK(r.expired_candidates == (pass == 0 ? 1u : 0u));
      }
    }
  }
  CHECK(stats_of_indexed(*a) == kEntries / 2);
}

TEST_CASE("faults: a wrong or rotated password gives a clear error that never shows the password, and the "
          "process recovers when the password is right again",
          "[faults][redis]") {
  testing::Watchdog watchdog(60s, "faults: passwords");
  const std::string first = "first-Pa55word-q7";
  const std::string second = "second-Pa55word-z9";
  testing::RedisServer server({"--requirepass", first});
  auto no_secret = [&](const std::string& text) {
    INFO(text);
    CHECK(text.find(first) == std::string::npos);
    CHECK(text.find(second) == std::string::npos);
    CHECK(text.find("Pa55word") == std::string::npos);
  };

  SECTION("a wrong password from the start: every lookup is an error that says AUTH failed") {
    RedisStoreOptions options = fault_store_options();
    options.require_connection = false;
    ObservedRedis redis(server.url(":" + second + "@"), options);
    no_secret(redis.observed->describe());
    auto cache = open_cache(redis.observed, fault_cache_options(CacheMode::kBoth));
    const auto vectors = distinct_vectors(1, 2);
    const CacheRequest request{.model = "m", .tenant = "t", .canonical = "c", .embedding = vectors[0]};
    for (int i = 0; i < 5; ++i) {
      const LookupResult r = cache->lookup(request);
      REQUIRE(r.outcome == LookupOutcome::kError);
      no_secret(r.error);
      // The first attempts name the refusal; those during the backoff repeat it.
      CHECK(r.error.find("AUTH failed") != std::string::npos);
      const Status st = cache->store(request, "answer");
      CHECK(st.code() == ErrorCode::kUnavailable);
      no_secret(st.message());
      std::this_thread::sleep_for(30ms);
    }
  }

  SECTION("the password rotated under a running process, then rotated back") {
    ObservedRedis redis(server.url(":" + first + "@"));
    auto cache = open_cache(redis.observed, fault_cache_options(CacheMode::kBoth));
    const auto vectors = distinct_vectors(4, 2);
    const std::vector<std::string> canonicals = {"c0", "c1", "c2", "c3"};
    auto request = [&](std::size_t i) {
      return CacheRequest{.model = "m", .tenant = "t", .canonical = canonicals[i], .embedding = vectors[i]};
    };
    for (std::size_t i = 0; i < vectors.size(); ++i) REQUIRE(cache->store(request(i), "answer"));

    // The new password, and every other client disconnected: the cache must reconnect.
    const std::string as_first = server.url(":" + first + "@");
    CHECK(testing::admin_command(as_first, {"CONFIG", "SET", "requirepass", second}).str == "OK");
    CHECK(testing::admin_command(server.url(":" + second + "@"), {"CLIENT", "KILL", "TYPE", "normal"}).is_integer());
    std::size_t auth_errors = 0;
    for (std::size_t i = 0; i < 6; ++i) {
      const auto start = Clock::now();
      const LookupResult r = cache->lookup(request(i % vectors.size()));
      CHECK(Clock::now() - start < kTimeout + kTimeout + kMargin);
      REQUIRE(r.outcome == LookupOutcome::kError);
      no_secret(r.error);
      if (r.error.find("AUTH failed") != std::string::npos) ++auth_errors;
      std::this_thread::sleep_for(30ms);
    }
    CHECK(auth_errors > 0);
    no_secret(redis.observed->describe());

    CHECK(testing::admin_command(server.url(":" + second + "@"), {"CONFIG", "SET", "requirepass", first}).str ==
          "OK");
    for (std::size_t i = 0; i < vectors.size(); ++i) {
      const LookupResult r = until_answered(*cache, request(i));
      CHECK(r.outcome == LookupOutcome::kExactHit);
    }
  }
}
