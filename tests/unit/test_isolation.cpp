// Isolation property tests: random multi-tenant, multi-model traffic (fixed seeds) against a
// reference model of what the cache must hold, in exact, semantic and both modes, on the
// in-memory store and on a real redis-server.
//
// The traffic is built to tempt a leak: the same prompts (same canonical text, same vector)
// are stored under every tenant and model; paraphrases are near-duplicates (cosine distance
// about 0.001) under other canonical texts; tenants and models differ in ways a careless key
// scheme would merge ("", "acme", "acme:x", "{acme}"; "gpt:1", "gpt%3A1", "gpt@1"); and
// tenants are invalidated, in one model or in all, while traffic goes on. Two Cache objects
// share the store (two processes on one Redis): each store and invalidation goes through one of
// them at random, and a lookup first sync()s its cache, so the change log is part of what is
// tested.
//
// The reference model maps (model, tenant, canonical) to the response last stored. After every
// lookup:
//   - a hit carries the request's tenant and model (the property), its entry is in the model
//     with that very response (nothing invalidated or overwritten is served), an exact hit has
//     the request's canonical text, and a semantic hit is a paraphrase of the same prompt
//     within the threshold;
//   - exact mode: a hit exactly when the model holds the request; both mode: an exact hit
//     whenever it does;
//   - a lookup whose prompt is cached only under other tenants or models (a "temptation")
//     misses; there are many of those, or the test would prove nothing.
// Invalidations return the number of entries the model drops, and the cache's statistics
// equal the counts the test kept.

#include <catch2/catch.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "redis_server.hpp"
#include "semcache/cache.hpp"
#include "semcache/memory_store.hpp"
#include "semcache/redis_store.hpp"

using namespace semcache;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kDim = 16;
constexpr std::size_t kPrompts = 20;
constexpr std::size_t kVariants = 3;  // variant 0 is the prompt, 1.. its paraphrases
constexpr int kSteps = 2000;
constexpr double kThreshold = 0.05;

const std::vector<std::string> kTenants = {"acme", "globex", "", "acme:x", "{acme}"};
const std::vector<std::string> kModels = {"gpt:1", "gpt%3A1", "gpt@1"};

// The prompts: unit vectors far apart (cosine distance > 0.3 from each other), and for each
// its paraphrases, each a small fixed step away.
struct Corpus {
  std::vector<std::vector<std::vector<float>>> vectors;  // [prompt][variant]
  std::vector<std::vector<std::string>> canonicals;      // [prompt][variant]

  explicit Corpus(unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    auto unit = [](std::vector<float> v) {
      double norm = 0;
      for (float x : v) norm += double(x) * x;
      for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
      return v;
    };
    while (vectors.size() < kPrompts) {
      std::vector<float> base(kDim);
      for (float& x : base) x = normal(rng);
      base = unit(base);
      bool far = true;
      for (const auto& other : vectors) {
        double dot = 0;
        for (std::size_t i = 0; i < kDim; ++i) dot += double(base[i]) * other[0][i];
        far = far && 1.0 - dot > 0.3;
      }
      if (!far) continue;
      const std::size_t p = vectors.size();
      vectors.emplace_back();
      canonicals.emplace_back();
      for (std::size_t v = 0; v < kVariants; ++v) {
        std::vector<float> variant = base;
        if (v > 0) {
          std::normal_distribution<float> noise(0.0f, 0.01f);
          for (float& x : variant) x += noise(rng);
        }
        vectors[p].push_back(unit(variant));
        canonicals[p].push_back("prompt " + std::to_string(p) + (v == 0 ? "" : " said another way #" + std::to_string(v)));
      }
    }
  }
};

using ModelKey = std::tuple<std::string, std::string, std::string>;  // model, tenant, canonical

struct Held {
  std::string response;
  std::size_t prompt = 0;
};

// Per model: what the test counted, to compare with NamespaceStats.
struct Counts {
  std::uint64_t lookups = 0, exact = 0, semantic = 0, misses = 0, stores = 0;
};

void run_traffic(const std::function<std::shared_ptr<Store>()>& connect, CacheMode mode, unsigned seed) {
  INFO("mode " << to_string(mode) << ", seed " << seed);
  CacheOptions options;
  options.mode = mode;
  options.dim = kDim;
  options.threshold = kThreshold;
  options.follow_interval = 0ms;  // sync() before each lookup instead: deterministic
  std::unique_ptr<Cache> caches[2];
  for (auto& cache : caches) {
    auto opened = Cache::open(connect(), options);
    REQUIRE(opened);
    cache = std::move(opened.value());
  }

  const Corpus corpus(seed);
  std::mt19937 rng(seed);
  std::map<ModelKey, Held> held;
  std::map<std::string, Counts> counts;
  std::uint64_t temptations = 0;         // lookups whose prompt only other tenants/models hold
  std::uint64_t expected_semantic = 0;   // lookups whose prompt the model holds (any variant)
  std::uint64_t missed_semantic = 0;     // of those, misses
  std::uint64_t invalidated = 0;
  std::uint64_t version = 0;

  auto pick = [&rng](std::size_t n) { return static_cast<std::size_t>(rng() % n); };
  auto do_store = [&](Cache& cache, const std::string& model, const std::string& tenant, std::size_t p,
                      std::size_t v) {
    const std::string& canonical = corpus.canonicals[p][v];
    const std::string response = tenant + "|" + model + "|" + canonical + "|v" + std::to_string(++version);
    const CacheRequest request{.model = model, .tenant = tenant, .canonical = canonical, .text = {},
                               .embedding = corpus.vectors[p][v]};
    const Status st = cache.store(request, response);
    INFO(st.message());
    REQUIRE(st);
    held[{model, tenant, canonical}] = Held{response, p};
    counts[model].stores += 1;
  };

  for (int step = 0; step < kSteps; ++step) {
    const std::string& model = kModels[pick(kModels.size())];
    const std::string& tenant = kTenants[pick(kTenants.size())];
    const std::size_t p = pick(kPrompts);
    const std::size_t v = pick(kVariants);
    Cache& cache = *caches[pick(2)];
    const unsigned action = rng() % 100;
    INFO("step " << step << ": model '" << model << "', tenant '" << tenant << "', prompt " << p << " variant " << v);

    if (action < 25) {
      do_store(cache, model, tenant, p, v);
      continue;
    }
    if (action < 28) {
      // Invalidate one tenant, in this model or (one time in three) in every model.
      const bool all_models = rng() % 3 == 0;
      auto deleted = cache.invalidate_tenant(all_models ? std::string() : model, tenant);
      INFO(deleted.status().message());
      REQUIRE(deleted);
      std::uint64_t expected = 0;
      for (auto it = held.begin(); it != held.end();) {
        const auto& [m, t, c] = it->first;
        if (t == tenant && (all_models || m == model)) {
          it = held.erase(it);
          ++expected;
        } else {
          ++it;
        }
      }
      CHECK(*deleted == expected);
      invalidated += expected;
      continue;
    }

    // A lookup, after applying what the other cache did.
    REQUIRE(cache.sync());
    const std::string& canonical = corpus.canonicals[p][v];
    const CacheRequest request{.model = model, .tenant = tenant, .canonical = canonical, .text = {},
                               .embedding = corpus.vectors[p][v]};
    const LookupResult r = cache.lookup(request);
    INFO("outcome " << int(r.outcome) << ": " << r.error);
    REQUIRE(r.outcome != LookupOutcome::kError);

    bool own_exact = held.count({model, tenant, canonical}) > 0;
    bool own_prompt = false;      // the model holds this prompt (any variant) for this tenant and model
    bool foreign_prompt = false;  // ... for another tenant or model
    for (const auto& [key, entry] : held) {
      if (entry.prompt != p) continue;
      const bool own = std::get<0>(key) == model && std::get<1>(key) == tenant;
      own_prompt = own_prompt || own;
      foreign_prompt = foreign_prompt || !own;
    }

    Counts& c = counts[model];
    c.lookups += 1;
    if (r.hit()) {
      // The property: never another tenant's or another model's entry.
      REQUIRE(r.entry.tenant == tenant);
      REQUIRE(r.entry.model == model);
      // The entry is current: held by the model with this very response.
      auto found = held.find({model, tenant, r.entry.canonical});
      REQUIRE(found != held.end());
      CHECK(found->second.response == r.entry.response);
      if (r.outcome == LookupOutcome::kExactHit) {
        c.exact += 1;
        CHECK(r.entry.canonical == canonical);
      } else {
        c.semantic += 1;
        CHECK(found->second.prompt == p);
        CHECK(r.distance <= kThreshold + 1e-6);
      }
    } else {
      c.misses += 1;
    }

    if (mode == CacheMode::kExact) CHECK(r.hit() == own_exact);
    if (mode == CacheMode::kBoth && own_exact) CHECK(r.outcome == LookupOutcome::kExactHit);
    if (mode != CacheMode::kExact && own_prompt && !(mode == CacheMode::kBoth && own_exact)) {
      ++expected_semantic;
      if (!r.hit()) ++missed_semantic;
    }
    if (!own_prompt && foreign_prompt) {
      ++temptations;
      CHECK_FALSE(r.hit());
    }
    // On a miss, the application calls its model and stores the answer, most of the time.
    if (!r.hit() && rng() % 4 != 0) do_store(cache, model, tenant, p, v);
  }

  INFO("temptations " << temptations << ", semantic expectations " << expected_semantic << " (missed "
                      << missed_semantic << "), invalidated " << invalidated);
  CHECK(temptations >= 50);
  CHECK(invalidated > 0);
  if (mode != CacheMode::kExact) {
    CHECK(expected_semantic >= 50);
    CHECK(missed_semantic * 100 <= expected_semantic);  // HNSW is approximate; at most 1% missed
  }

  // The statistics of both caches, per model, add up to what the test counted.
  std::map<std::string, NamespaceStats> stats;
  std::uint64_t stats_invalidated = 0;
  for (auto& cache : caches) {
    for (const NamespaceStats& s : cache->stats()) {
      CHECK(s.errors == 0);
      CHECK(s.dropped_stores == 0);
      NamespaceStats& sum = stats[s.model];
      sum.lookups += s.lookups;
      sum.exact_hits += s.exact_hits;
      sum.semantic_hits += s.semantic_hits;
      sum.misses += s.misses;
      sum.stores += s.stores;
      stats_invalidated += s.invalidated;
    }
  }
  CHECK(stats_invalidated == invalidated);
  for (const std::string& model : kModels) {
    INFO("model '" << model << "'");
    const Counts& c = counts[model];
    const NamespaceStats& s = stats[model];
    CHECK(s.lookups == c.lookups);
    CHECK(s.exact_hits == c.exact);
    CHECK(s.semantic_hits == c.semantic);
    CHECK(s.misses == c.misses);
    CHECK(s.stores == c.stores);
  }
}

}  // namespace

TEST_CASE("isolation: random multi-tenant, multi-model traffic never returns another tenant's or model's entry "
          "(memory store)",
          "[isolation]") {
  const CacheMode mode = GENERATE(CacheMode::kExact, CacheMode::kSemantic, CacheMode::kBoth);
  auto store = make_memory_store();
  run_traffic([store] { return store; }, mode, 42);
}

TEST_CASE("isolation: random multi-tenant, multi-model traffic never returns another tenant's or model's entry "
          "(Redis)",
          "[isolation][redis]") {
  const CacheMode mode = GENERATE(CacheMode::kExact, CacheMode::kSemantic, CacheMode::kBoth);
  testing::RedisServer server;
  run_traffic(
      [&server] {
        auto store = open_redis_store(server.url());
        INFO(store.status().message());
        REQUIRE(store);
        return *store;
      },
      mode, 43);
}
