// Google Benchmark: HNSW search of the vector set at a few sizes, quantisations and ef values,
// one query at a time on one thread (the `semcache bench recall` setting), and batch removal.
// The set is built once per configuration from the project's generator and reused across
// iterations.
// Counters: distances and nodes visited per query, so a change in speed can be told apart from
// a change in work.

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <tuple>

#include "semcache/dataset.hpp"
#include "semcache/vector_set.hpp"

namespace {

using namespace semcache;

struct Fixture {
  GeneratedVectors data;
  std::unique_ptr<VectorSet> set;
};

Fixture& fixture(std::size_t n, std::size_t dim, Quantization quantization) {
  static std::map<std::tuple<std::size_t, std::size_t, int>, std::unique_ptr<Fixture>> cache;
  auto& slot = cache[{n, dim, static_cast<int>(quantization)}];
  if (!slot) {
    slot = std::make_unique<Fixture>();
    GenerateVectorsOptions g;
    g.n = n;
    g.dim = dim;
    g.clusters = n / 50;
    g.queries = 1000;
    g.seed = 1;
    slot->data = std::move(generate_vectors(g).value());
    VectorSetOptions o;
    o.dim = dim;
    o.quantization = quantization;
    slot->set = std::move(VectorSet::create(o).value());
    std::vector<std::string> ids(n);
    for (std::size_t i = 0; i < n; ++i) ids[i] = std::to_string(i);
    (void)slot->set->add_batch(ids, slot->data.base.data, {}, 2);
  }
  return *slot;
}

void BM_Search(benchmark::State& state, Quantization quantization) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto dim = static_cast<std::size_t>(state.range(1));
  Fixture& f = fixture(n, dim, quantization);
  SearchOptions options;
  options.k = 10;
  options.ef = static_cast<std::size_t>(state.range(2));
  SearchStats stats;
  std::size_t q = 0;
  for (auto _ : state) {
    auto hits = f.set->search({f.data.queries.row(q), dim}, options, &stats);
    benchmark::DoNotOptimize(hits);
    q = (q + 1) % f.data.queries.rows;
  }
  const auto iterations = static_cast<double>(state.iterations());
  state.counters["distances"] = static_cast<double>(stats.distances_computed) / iterations;
  state.counters["visited"] = static_cast<double>(stats.nodes_visited) / iterations;
  state.counters["qps"] = benchmark::Counter(iterations, benchmark::Counter::kIsRate);
}

void search_args(benchmark::internal::Benchmark* b) {
  for (long n : {10000L, 100000L}) {
    for (long ef : {16L, 64L, 128L}) b->Args({n, 384, ef});
  }
}

BENCHMARK_CAPTURE(BM_Search, int8, Quantization::kInt8)->Apply(search_args)->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(BM_Search, f32, Quantization::kF32)->Apply(search_args)->Unit(benchmark::kMicrosecond);

// remove_batch of 256 elements from a set of N (the cache removes expired entries 256 at a
// time: NamespaceIndex::kExpiredBatch); they are added back, untimed, for the next iteration.
void BM_RemoveBatch(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  const auto dim = static_cast<std::size_t>(state.range(1));
  Fixture& f = fixture(n, dim, Quantization::kInt8);
  constexpr std::size_t kBatch = 256;
  std::size_t first = 0;
  for (auto _ : state) {
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < kBatch; ++i) ids.push_back(std::to_string((first + i * 7919) % n));
    if (f.set->remove_batch(ids) != kBatch) state.SkipWithError("remove_batch removed fewer elements");
    state.PauseTiming();
    for (const std::string& id : ids) {
      const std::size_t row = std::stoul(id);
      (void)f.set->add(id, {f.data.base.row(row), dim});
    }
    first = (first + kBatch) % n;
    state.ResumeTiming();
  }
  state.counters["removed_per_s"] = benchmark::Counter(static_cast<double>(state.iterations() * kBatch),
                                                       benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RemoveBatch)->Args({20000, 64})->Args({100000, 384})->Unit(benchmark::kMillisecond);

}  // namespace
