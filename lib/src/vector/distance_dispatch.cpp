// Choosing the distance kernels.
//
// The choice is made once, on the first call to kernels(), and kept in a function-local static:
// C++ guarantees that initialisation runs exactly once even when threads race to it, and every
// later call is a load of an already-built reference. Callers that sit in a hot loop (the HNSW
// search) should still copy the function pointers they need once, when the index is built, as
// hnswlib does, rather than go through kernels() per distance.
//
// cpu_supports uses __builtin_cpu_supports, which reads CPUID once (libgcc caches it) and, for the
// AVX and AVX-512 bits, also checks XGETBV that the OS saves the wider registers, so a level is
// reported only when its instructions both exist and are usable. Each level checks every feature
// its table's target attributes name (AVX2 also needs POPCNT for Hamming), and every level
// includes the one below, so a CPU never gets a table it can only partly run.
//
// SEMCACHE_SIMD caps the level: the best supported level not above the cap wins. A value that
// names no level is ignored rather than read as "scalar", since the library cannot report it;
// whoever reports figures should print simd_level_name(kernels().level), the level actually used
// (bench_distance.cpp puts it in the benchmark context).

#include <cstdlib>
#include <cstring>

#include "vector/distance.hpp"

namespace semcache::detail {
namespace {

constexpr SimdLevel kLevelsBestFirst[] = {SimdLevel::kAvx512Vnni, SimdLevel::kAvx512,
                                          SimdLevel::kAvx2, SimdLevel::kScalar};

const DistanceKernels& table_for(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar: return kScalarKernels;
    case SimdLevel::kAvx2: return kAvx2Kernels;
    case SimdLevel::kAvx512: return kAvx512Kernels;
    case SimdLevel::kAvx512Vnni: return kAvx512VnniKernels;
  }
  return kScalarKernels;
}

SimdLevel level_cap_from_environment() {
  const char* value = std::getenv("SEMCACHE_SIMD");
  if (value == nullptr) return SimdLevel::kAvx512Vnni;
  for (const SimdLevel level : kLevelsBestFirst) {
    if (std::strcmp(value, simd_level_name(level)) == 0) return level;
  }
  return SimdLevel::kAvx512Vnni;
}

const DistanceKernels& choose_kernels() {
  const SimdLevel cap = level_cap_from_environment();
  for (const SimdLevel level : kLevelsBestFirst) {
    if (level <= cap && cpu_supports(level)) return table_for(level);
  }
  return kScalarKernels;
}

}  // namespace

bool cpu_supports(SimdLevel level) {
  __builtin_cpu_init();
  switch (level) {
    case SimdLevel::kScalar: return true;
    case SimdLevel::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
             __builtin_cpu_supports("popcnt");
    case SimdLevel::kAvx512:
      return cpu_supports(SimdLevel::kAvx2) && __builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512dq");
    case SimdLevel::kAvx512Vnni:
      return cpu_supports(SimdLevel::kAvx512) && __builtin_cpu_supports("avx512vnni");
  }
  return false;
}

const DistanceKernels* kernels_for(SimdLevel level) {
  return cpu_supports(level) ? &table_for(level) : nullptr;
}

const DistanceKernels& kernels() {
  static const DistanceKernels& chosen = choose_kernels();
  return chosen;
}

const char* simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::kScalar: return "scalar";
    case SimdLevel::kAvx2: return "avx2";
    case SimdLevel::kAvx512: return "avx512";
    case SimdLevel::kAvx512Vnni: return "avx512vnni";
  }
  return "unknown";
}

}  // namespace semcache::detail
