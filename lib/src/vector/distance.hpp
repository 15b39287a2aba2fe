#pragma once
// Distance kernels: one scalar reference and one implementation per instruction set, chosen once
// at run time (see distance_dispatch.cpp). Every SIMD kernel is tested against the scalar one.
//
// Conventions shared by every implementation:
//   - n is the number of components (for binary: the number of BYTES), any value >= 0,
//     not necessarily a multiple of the SIMD width; pointers need no particular alignment.
//   - int8 inputs hold values in [-127, 127] (the quantiser never produces -128).
//   - cosine_* returns 1 - cos(a, b); when either vector is all zeros it returns 1.
//   - f32 results may differ from the scalar kernel by floating-point reassociation only
//     (SIMD kernels also fuse multiply and add, one rounding instead of two).
//   - int8 results are exact integers, equal at every level, while they fit in int32: for
//     n <= 133144 in dot_i8 and cosine_i8 (127 * 127 * n), n <= 33286 in l2sq_i8 (254 * 254 * n).
//   - cosine_* clamps to [0, 2]; every level finishes it with the same code
//     (cosine_distance_from_sums in distance_scalar.cpp).

#include <cstddef>
#include <cstdint>

namespace semcache::detail {

enum class SimdLevel { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3 };

struct DistanceKernels {
  SimdLevel level;
  float (*dot_f32)(const float* a, const float* b, std::size_t n);
  float (*l2sq_f32)(const float* a, const float* b, std::size_t n);
  float (*cosine_f32)(const float* a, const float* b, std::size_t n);
  std::int32_t (*dot_i8)(const std::int8_t* a, const std::int8_t* b, std::size_t n);
  std::int32_t (*l2sq_i8)(const std::int8_t* a, const std::int8_t* b, std::size_t n);
  float (*cosine_i8)(const std::int8_t* a, const std::int8_t* b, std::size_t n);
  std::uint32_t (*hamming_bin)(const std::uint8_t* a, const std::uint8_t* b, std::size_t n_bytes);
  // Asymmetric dot product of a float query with an int8 code (the code's scale applied by the
  // caller): re-ranks int8 search candidates without quantising the query.
  float (*dot_f32_i8)(const float* a, const std::int8_t* b, std::size_t n);
};

// The fastest kernels this CPU runs, chosen on first call (thread-safe) and fixed afterwards.
// The environment variable SEMCACHE_SIMD=scalar|avx2|avx512|avx512vnni caps the level (for
// comparisons and for tests on machines without a given instruction set).
const DistanceKernels& kernels();

// The kernels of one level; nullptr when this CPU cannot run that level.
const DistanceKernels* kernels_for(SimdLevel level);

bool cpu_supports(SimdLevel level);
const char* simd_level_name(SimdLevel level);

// The per-level tables, defined in distance_<level>.cpp.
extern const DistanceKernels kScalarKernels;
extern const DistanceKernels kAvx2Kernels;
extern const DistanceKernels kAvx512Kernels;
extern const DistanceKernels kAvx512VnniKernels;

}  // namespace semcache::detail
