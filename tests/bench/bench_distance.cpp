// Micro-benchmarks of the distance kernels: every kernel at every SIMD level, at the embedding
// sizes semcache meets (100, 384, 768 and 1536 components).
//
// Names read kernel/level/dim, e.g. dot_i8/avx512vnni/384. For hamming_bin, dim is the number of
// bits of the binary code, so it reads ceil(dim / 8) bytes per vector, which is what a binary
// index of that dimension compares. Levels this CPU lacks are registered anyway and reported as
// skipped, so runs on different machines list the same benchmarks and compare line by line.
//
// One pair of vectors is compared over and over, so this measures the kernel with its inputs in
// L1: the upper bound a search can reach, not what it reaches when neighbours come from DRAM.
// The context block of the JSON output records the level kernels() picked (after SEMCACHE_SIMD).

#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "vector/distance.hpp"

namespace {

using semcache::detail::DistanceKernels;
using semcache::detail::kernels;
using semcache::detail::kernels_for;
using semcache::detail::simd_level_name;
using semcache::detail::SimdLevel;

constexpr std::int64_t kDims[] = {100, 384, 768, 1536};
constexpr SimdLevel kLevels[] = {SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512,
                                 SimdLevel::kAvx512Vnni};
constexpr std::uint32_t kSeed = 42;

template <class Element>
std::vector<Element> random_vector(std::size_t n, std::mt19937& rng) {
  std::vector<Element> v(n);
  if constexpr (std::is_floating_point_v<Element>) {
    std::normal_distribution<Element> dist(0.0f, 1.0f);
    for (Element& x : v) x = dist(rng);
  } else if constexpr (std::is_signed_v<Element>) {
    std::uniform_int_distribution<int> dist(-127, 127);
    for (Element& x : v) x = static_cast<Element>(dist(rng));
  } else {
    std::uniform_int_distribution<int> dist(0, 255);
    for (Element& x : v) x = static_cast<Element>(dist(rng));
  }
  return v;
}

template <class Element, class Result>
using Kernel = Result (*DistanceKernels::*)(const Element*, const Element*, std::size_t);

template <class Element, class Result>
void run_kernel(benchmark::State& state, SimdLevel level, Kernel<Element, Result> kernel,
                bool binary) {
  const DistanceKernels* table = kernels_for(level);
  if (table == nullptr) {
    state.SkipWithError("this CPU does not support this SIMD level");
    return;
  }
  const auto dim = static_cast<std::size_t>(state.range(0));
  const std::size_t n = binary ? (dim + 7) / 8 : dim;
  std::mt19937 rng(kSeed);
  const auto a = random_vector<Element>(n, rng);
  const auto b = random_vector<Element>(n, rng);
  const auto fn = table->*kernel;
  for (auto _ : state) {
    const Element* pa = a.data();
    const Element* pb = b.data();
    benchmark::DoNotOptimize(pa);
    benchmark::DoNotOptimize(pb);
    benchmark::DoNotOptimize(fn(pa, pb, n));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(2 * n * sizeof(Element)));
}

template <class Element, class Result>
void register_kernel(const char* name, Kernel<Element, Result> kernel, bool binary = false) {
  for (const SimdLevel level : kLevels) {
    const std::string full_name = std::string(name) + "/" + simd_level_name(level);
    auto* bench = benchmark::RegisterBenchmark(full_name.c_str(), [=](benchmark::State& state) {
      run_kernel(state, level, kernel, binary);
    });
    for (const std::int64_t dim : kDims) bench->Arg(dim);
    bench->ArgName("dim");
  }
}

const bool kRegistered = [] {
  register_kernel("dot_f32", &DistanceKernels::dot_f32);
  register_kernel("l2sq_f32", &DistanceKernels::l2sq_f32);
  register_kernel("cosine_f32", &DistanceKernels::cosine_f32);
  register_kernel("dot_i8", &DistanceKernels::dot_i8);
  register_kernel("l2sq_i8", &DistanceKernels::l2sq_i8);
  register_kernel("cosine_i8", &DistanceKernels::cosine_i8);
  register_kernel("hamming_bin", &DistanceKernels::hamming_bin, true);
  benchmark::AddCustomContext("semcache_simd_level", simd_level_name(kernels().level));
  return true;
}();

}  // namespace
