// The scalar reference kernels.
//
// These loops are the oracle every SIMD kernel is tested against and the fallback when the CPU,
// or SEMCACHE_SIMD=scalar, rules the others out. They favour being obviously right over being
// fast: one accumulator, left to right, no tricks. The compiler may vectorise the integer loops
// (integer addition is associative); it may not reorder the float ones without -ffast-math, so
// the f32 results here are the plain sequential sums that the SIMD kernels reassociate.
//
// Accumulators: f32 in float, the same precision the SIMD kernels keep in their lanes; int8 in
// int32, exact for the lengths listed in distance.hpp. Cosine combines its three sums in double
// in cosine_distance_from_sums(), which every level calls so that the zero-vector rule and the
// clamp to [0, 2] live in one place: the product of two squared norms can overflow or underflow
// a float long before either norm does, and a rounded cosine can land a hair outside [-1, 1].

#include <algorithm>
#include <bit>
#include <cmath>

#include "vector/distance.hpp"

namespace semcache::detail {

float cosine_distance_from_sums(double dot, double norm_a_sq, double norm_b_sq) {
  if (norm_a_sq == 0.0 || norm_b_sq == 0.0) return 1.0f;
  const double distance = 1.0 - dot / std::sqrt(norm_a_sq * norm_b_sq);
  return static_cast<float>(std::clamp(distance, 0.0, 2.0));
}

namespace {

float dot_f32(const float* a, const float* b, std::size_t n) {
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

float l2sq_f32(const float* a, const float* b, std::size_t n) {
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    const float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

float cosine_f32(const float* a, const float* b, std::size_t n) {
  float dot = 0.0f;
  float norm_a_sq = 0.0f;
  float norm_b_sq = 0.0f;
  for (std::size_t i = 0; i < n; ++i) {
    dot += a[i] * b[i];
    norm_a_sq += a[i] * a[i];
    norm_b_sq += b[i] * b[i];
  }
  return cosine_distance_from_sums(dot, norm_a_sq, norm_b_sq);
}

std::int32_t dot_i8(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
  std::int32_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) sum += std::int32_t{a[i]} * std::int32_t{b[i]};
  return sum;
}

std::int32_t l2sq_i8(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
  std::int32_t sum = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::int32_t d = std::int32_t{a[i]} - std::int32_t{b[i]};
    sum += d * d;
  }
  return sum;
}

float cosine_i8(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
  std::int32_t dot = 0;
  std::int32_t norm_a_sq = 0;
  std::int32_t norm_b_sq = 0;
  for (std::size_t i = 0; i < n; ++i) {
    dot += std::int32_t{a[i]} * std::int32_t{b[i]};
    norm_a_sq += std::int32_t{a[i]} * std::int32_t{a[i]};
    norm_b_sq += std::int32_t{b[i]} * std::int32_t{b[i]};
  }
  return cosine_distance_from_sums(dot, norm_a_sq, norm_b_sq);
}

std::uint32_t hamming_bin(const std::uint8_t* a, const std::uint8_t* b, std::size_t n_bytes) {
  std::uint32_t bits = 0;
  for (std::size_t i = 0; i < n_bytes; ++i) {
    bits += static_cast<std::uint32_t>(std::popcount(static_cast<std::uint8_t>(a[i] ^ b[i])));
  }
  return bits;
}

float dot_f32_i8(const float* a, const std::int8_t* b, std::size_t n) {
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) sum += a[i] * static_cast<float>(b[i]);
  return sum;
}

}  // namespace

const DistanceKernels kScalarKernels = {
    .level = SimdLevel::kScalar,
    .dot_f32 = dot_f32,
    .l2sq_f32 = l2sq_f32,
    .cosine_f32 = cosine_f32,
    .dot_i8 = dot_i8,
    .l2sq_i8 = l2sq_i8,
    .cosine_i8 = cosine_i8,
    .hamming_bin = hamming_bin,
    .dot_f32_i8 = dot_f32_i8,
};

}  // namespace semcache::detail
