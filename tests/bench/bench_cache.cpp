// Google Benchmark: one cache lookup on the embedded store (no network, so the cache's own work
// is what is timed): exact hits and misses, and semantic lookups with precomputed 384-dimension
// embeddings over 20,000 entries (int8 HNSW, ef 32, tenant pre-filter). The Redis round trip
// is measured beside a plain GET by `semcache bench cache` (scripts/bench-redis).

#include <benchmark/benchmark.h>

#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "semcache/cache.hpp"
#include "semcache/memory_store.hpp"

namespace {

using namespace semcache;

constexpr std::size_t kEntries = 20000;
constexpr std::size_t kDim = 384;

struct Fixture {
  std::unique_ptr<Cache> cache;
  std::vector<std::string> canonical;
  std::vector<std::vector<float>> vectors;
};

std::vector<float> unit_vector(std::mt19937_64& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kDim);
  double norm = 0;
  for (float& x : v) {
    x = normal(rng);
    norm += static_cast<double>(x) * x;
  }
  for (float& x : v) x = static_cast<float>(x / std::sqrt(norm));
  return v;
}

Fixture& fixture() {
  static Fixture f = [] {
    Fixture out;
    CacheOptions options;
    options.dim = kDim;
    options.follow_interval = std::chrono::milliseconds(0);
    out.cache = std::move(Cache::open(make_memory_store(), options).value());
    std::mt19937_64 rng(1);
    for (std::size_t i = 0; i < kEntries; ++i) {
      out.canonical.push_back("{\"model\":\"m\",\"prompt\":\"question number " + std::to_string(i) + "\"}");
      out.vectors.push_back(unit_vector(rng));
      CacheRequest request{.model = "m", .tenant = "t", .canonical = out.canonical.back(), .text = {}, .embedding = out.vectors.back()};
      if (!out.cache->store(request, "an answer of about a hundred bytes, which is what a short cached response looks like")) {
        std::abort();
      }
    }
    return out;
  }();
  return f;
}

void BM_CacheLookup(benchmark::State& state) {
  Fixture& f = fixture();
  const int kind = static_cast<int>(state.range(0));  // 0 exact hit, 1 miss, 2 semantic hit
  std::mt19937_64 rng(7);
  std::size_t hits = 0;
  std::size_t i = 0;
  const std::string missing = "{\"model\":\"m\",\"prompt\":\"a question nobody asked\"}";
  std::vector<float> near(kDim);
  for (auto _ : state) {
    const std::size_t at = i++ % kEntries;
    CacheRequest request{.model = "m", .tenant = "t", .canonical = f.canonical[at], .text = {}, .embedding = f.vectors[at]};
    if (kind == 1) {
      request.canonical = missing;
      request.embedding = {};
      state.PauseTiming();
      near = unit_vector(rng);
      state.ResumeTiming();
      request.embedding = near;
    } else if (kind == 2) {
      request.canonical = missing;  // not the stored text: only the vector can find it
    }
    const LookupResult result = f.cache->lookup(request);
    hits += result.hit() ? 1 : 0;
  }
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_CacheLookup)->ArgName("exact_hit0_miss1_semantic2")->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond);

}  // namespace
