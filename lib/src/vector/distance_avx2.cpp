// AVX2 + FMA kernels (Haswell, Zen 1 and later).
//
// Every function carries its own target attribute instead of the file being built with -mavx2.
// The library must run on any x86-64, and with a file-wide flag every inline function this file
// instantiates from a shared header (std::, our own) would be compiled with AVX2 too, and the
// linker may keep that copy for the whole program, to run before dispatch has checked the CPU.
// With the attribute only these kernels use AVX2, reached through kAvx2Kernels, which dispatch
// hands out after cpu_supports.
//
// f32: four independent 8-lane FMA accumulators (32 floats per iteration) hide the FMA latency;
// one load pair per FMA makes the loop load-bound beyond that, so more accumulators buy nothing.
// The last n % 8 floats go through vmaskmovps, which neither reads nor faults past the mask, so
// tails are exact and never touch memory beyond a + n.
//
// int8 dot: there is no signed x signed byte multiply, so vpmaddubsw (unsigned x signed) is fed
// |a| and sign(a) * b, whose products equal a * b. vpmaddubsw adds adjacent products into int16
// with saturation; the inputs are in [-127, 127] (the quantiser never emits -128), so each pair
// sums to at most 2 * 127 * 127 = 32258 < 32767 and never saturates. -128 would break it twice:
// vpsignb cannot negate it and 2 * 128 * 128 = 32768 saturates. vpmaddwd with ones then widens
// the pairs to int32 lanes, each holding at most 4 * 16129 per step.
//
// int8 l2: (a - b) spans [-254, 254], too wide for a byte operand of vpmaddubsw, so |a - b| is
// formed as max - min (exact as an unsigned byte), zero-extended to int16 and squared with
// vpmaddwd (pairs up to 2 * 254^2 = 129032, fine in int32).
//
// int8 tails: AVX2 has no byte-granular masked load. For n >= 32 the last block is loaded so
// that it ends exactly at a + n, and the lanes an earlier block already counted are zeroed with
// a mask from a sliding window (zero lanes contribute nothing to any of the sums). Inputs shorter
// than one register, which no embedding model produces, go to the scalar kernel.
//
// Hamming: 64-bit popcnt over 8-byte words, four counters; the last n % 8 bytes come from an
// overlapping word shifted right past the bytes already counted. The vpshufb nibble-table method
// was measured too: up to ~100 bytes popcnt is faster (48 bytes: 3.0 vs 9.9 ns on Zen 4, the
// table needing a scalar tail), and only at 192 bytes did the table pull ahead (6.4 vs 8.4 ns).

#include <immintrin.h>

#include <array>
#include <cstring>

#include "vector/distance.hpp"

#define SEMCACHE_TARGET_AVX2 __attribute__((target("avx2,fma")))
#define SEMCACHE_TARGET_POPCNT __attribute__((target("popcnt")))

namespace semcache::detail {

float cosine_distance_from_sums(double dot, double norm_a_sq, double norm_b_sq);

namespace {

constexpr std::size_t kF32Lanes = 8;
constexpr std::size_t kI8Lanes = 32;

// A window of N set lanes followed by N clear ones (or the reverse); loading a register's worth
// from the right offset gives a mask with any number of leading (or trailing) lanes set.
template <class Lane, std::size_t kLanes, bool kSetFirst>
constexpr std::array<Lane, 2 * kLanes> make_mask_window() {
  std::array<Lane, 2 * kLanes> window{};
  for (std::size_t i = 0; i < 2 * kLanes; ++i)
    window[i] = static_cast<Lane>((i < kLanes) == kSetFirst ? -1 : 0);
  return window;
}

alignas(64) constexpr auto kF32HeadWindow = make_mask_window<std::int32_t, kF32Lanes, true>();
alignas(64) constexpr auto kI8TailWindow = make_mask_window<std::int8_t, kI8Lanes, false>();

// The first `lanes` of 8 int32 lanes set, for vmaskmovps.
SEMCACHE_TARGET_AVX2 inline __m256i f32_head_mask(std::size_t lanes) {
  return _mm256_loadu_si256(
      reinterpret_cast<const __m256i*>(kF32HeadWindow.data() + kF32Lanes - lanes));
}

// The last `lanes` of 32 byte lanes set.
SEMCACHE_TARGET_AVX2 inline __m256i i8_tail_mask(std::size_t lanes) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(kI8TailWindow.data() + lanes));
}

SEMCACHE_TARGET_AVX2 inline __m256i load_i8(const std::int8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}

SEMCACHE_TARGET_AVX2 inline float horizontal_sum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

SEMCACHE_TARGET_AVX2 inline std::int32_t horizontal_sum(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
  return _mm_cvtsi128_si32(s);
}

SEMCACHE_TARGET_AVX2 float dot_f32(const float* a, const float* b, std::size_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps();
  __m256 acc3 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 4 * kF32Lanes <= n; i += 4 * kF32Lanes) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + kF32Lanes <= n; i += kF32Lanes) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    const __m256i mask = f32_head_mask(n - i);
    acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask), acc1);
  }
  return horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

SEMCACHE_TARGET_AVX2 float l2sq_f32(const float* a, const float* b, std::size_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps();
  __m256 acc3 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 4 * kF32Lanes <= n; i += 4 * kF32Lanes) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    const __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
    const __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
    acc2 = _mm256_fmadd_ps(d2, d2, acc2);
    acc3 = _mm256_fmadd_ps(d3, d3, acc3);
  }
  for (; i + kF32Lanes <= n; i += kF32Lanes) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc0 = _mm256_fmadd_ps(d, d, acc0);
  }
  if (i < n) {
    const __m256i mask = f32_head_mask(n - i);
    const __m256 d =
        _mm256_sub_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask));
    acc1 = _mm256_fmadd_ps(d, d, acc1);
  }
  return horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

SEMCACHE_TARGET_AVX2 float cosine_f32(const float* a, const float* b, std::size_t n) {
  __m256 dot0 = _mm256_setzero_ps();
  __m256 dot1 = _mm256_setzero_ps();
  __m256 norm_a0 = _mm256_setzero_ps();
  __m256 norm_a1 = _mm256_setzero_ps();
  __m256 norm_b0 = _mm256_setzero_ps();
  __m256 norm_b1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 2 * kF32Lanes <= n; i += 2 * kF32Lanes) {
    const __m256 a0 = _mm256_loadu_ps(a + i);
    const __m256 b0 = _mm256_loadu_ps(b + i);
    const __m256 a1 = _mm256_loadu_ps(a + i + 8);
    const __m256 b1 = _mm256_loadu_ps(b + i + 8);
    dot0 = _mm256_fmadd_ps(a0, b0, dot0);
    dot1 = _mm256_fmadd_ps(a1, b1, dot1);
    norm_a0 = _mm256_fmadd_ps(a0, a0, norm_a0);
    norm_a1 = _mm256_fmadd_ps(a1, a1, norm_a1);
    norm_b0 = _mm256_fmadd_ps(b0, b0, norm_b0);
    norm_b1 = _mm256_fmadd_ps(b1, b1, norm_b1);
  }
  if (i + kF32Lanes <= n) {
    const __m256 a0 = _mm256_loadu_ps(a + i);
    const __m256 b0 = _mm256_loadu_ps(b + i);
    dot0 = _mm256_fmadd_ps(a0, b0, dot0);
    norm_a0 = _mm256_fmadd_ps(a0, a0, norm_a0);
    norm_b0 = _mm256_fmadd_ps(b0, b0, norm_b0);
    i += kF32Lanes;
  }
  if (i < n) {
    const __m256i mask = f32_head_mask(n - i);
    const __m256 a1 = _mm256_maskload_ps(a + i, mask);
    const __m256 b1 = _mm256_maskload_ps(b + i, mask);
    dot1 = _mm256_fmadd_ps(a1, b1, dot1);
    norm_a1 = _mm256_fmadd_ps(a1, a1, norm_a1);
    norm_b1 = _mm256_fmadd_ps(b1, b1, norm_b1);
  }
  return cosine_distance_from_sums(horizontal_sum(_mm256_add_ps(dot0, dot1)),
                                   horizontal_sum(_mm256_add_ps(norm_a0, norm_a1)),
                                   horizontal_sum(_mm256_add_ps(norm_b0, norm_b1)));
}

// Sum over pairs of 4 of a * b, as 8 int32 lanes.
SEMCACHE_TARGET_AVX2 inline __m256i dot_i8_step(__m256i va, __m256i vb) {
  const __m256i pairs = _mm256_maddubs_epi16(_mm256_abs_epi8(va), _mm256_sign_epi8(vb, va));
  return _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
}

// Sum over groups of 4 of (a - b)^2, as 8 int32 lanes.
SEMCACHE_TARGET_AVX2 inline __m256i l2sq_i8_step(__m256i va, __m256i vb) {
  const __m256i diff = _mm256_sub_epi8(_mm256_max_epi8(va, vb), _mm256_min_epi8(va, vb));
  const __m256i zero = _mm256_setzero_si256();
  const __m256i lo = _mm256_unpacklo_epi8(diff, zero);
  const __m256i hi = _mm256_unpackhi_epi8(diff, zero);
  return _mm256_add_epi32(_mm256_madd_epi16(lo, lo), _mm256_madd_epi16(hi, hi));
}

SEMCACHE_TARGET_AVX2 std::int32_t dot_i8(const std::int8_t* a, const std::int8_t* b,
                                         std::size_t n) {
  if (n < kI8Lanes) return kScalarKernels.dot_i8(a, b, n);
  __m256i acc0 = _mm256_setzero_si256();
  __m256i acc1 = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 2 * kI8Lanes <= n; i += 2 * kI8Lanes) {
    acc0 = _mm256_add_epi32(acc0, dot_i8_step(load_i8(a + i), load_i8(b + i)));
    acc1 = _mm256_add_epi32(acc1, dot_i8_step(load_i8(a + i + 32), load_i8(b + i + 32)));
  }
  if (i + kI8Lanes <= n) {
    acc0 = _mm256_add_epi32(acc0, dot_i8_step(load_i8(a + i), load_i8(b + i)));
    i += kI8Lanes;
  }
  if (i < n) {
    const __m256i va = _mm256_and_si256(load_i8(a + n - kI8Lanes), i8_tail_mask(n - i));
    acc1 = _mm256_add_epi32(acc1, dot_i8_step(va, load_i8(b + n - kI8Lanes)));
  }
  return horizontal_sum(_mm256_add_epi32(acc0, acc1));
}

SEMCACHE_TARGET_AVX2 std::int32_t l2sq_i8(const std::int8_t* a, const std::int8_t* b,
                                          std::size_t n) {
  if (n < kI8Lanes) return kScalarKernels.l2sq_i8(a, b, n);
  __m256i acc0 = _mm256_setzero_si256();
  __m256i acc1 = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + 2 * kI8Lanes <= n; i += 2 * kI8Lanes) {
    acc0 = _mm256_add_epi32(acc0, l2sq_i8_step(load_i8(a + i), load_i8(b + i)));
    acc1 = _mm256_add_epi32(acc1, l2sq_i8_step(load_i8(a + i + 32), load_i8(b + i + 32)));
  }
  if (i + kI8Lanes <= n) {
    acc0 = _mm256_add_epi32(acc0, l2sq_i8_step(load_i8(a + i), load_i8(b + i)));
    i += kI8Lanes;
  }
  if (i < n) {
    const __m256i keep = i8_tail_mask(n - i);
    const __m256i va = _mm256_and_si256(load_i8(a + n - kI8Lanes), keep);
    const __m256i vb = _mm256_and_si256(load_i8(b + n - kI8Lanes), keep);
    acc1 = _mm256_add_epi32(acc1, l2sq_i8_step(va, vb));
  }
  return horizontal_sum(_mm256_add_epi32(acc0, acc1));
}

// Adds a.b, |a|^2 and |b|^2 over 32 bytes to three sets of 8 int32 lanes; |a| fits a signed
// byte, so it can be either operand of vpmaddubsw.
SEMCACHE_TARGET_AVX2 inline void cosine_i8_step(__m256i va, __m256i vb, __m256i& dot,
                                                __m256i& norm_a, __m256i& norm_b) {
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i abs_a = _mm256_abs_epi8(va);
  const __m256i abs_b = _mm256_abs_epi8(vb);
  const __m256i dot_pairs = _mm256_maddubs_epi16(abs_a, _mm256_sign_epi8(vb, va));
  dot = _mm256_add_epi32(dot, _mm256_madd_epi16(dot_pairs, ones));
  norm_a = _mm256_add_epi32(norm_a, _mm256_madd_epi16(_mm256_maddubs_epi16(abs_a, abs_a), ones));
  norm_b = _mm256_add_epi32(norm_b, _mm256_madd_epi16(_mm256_maddubs_epi16(abs_b, abs_b), ones));
}

SEMCACHE_TARGET_AVX2 float cosine_i8(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
  if (n < kI8Lanes) return kScalarKernels.cosine_i8(a, b, n);
  __m256i dot = _mm256_setzero_si256();
  __m256i norm_a = _mm256_setzero_si256();
  __m256i norm_b = _mm256_setzero_si256();
  std::size_t i = 0;
  for (; i + kI8Lanes <= n; i += kI8Lanes) {
    cosine_i8_step(load_i8(a + i), load_i8(b + i), dot, norm_a, norm_b);
  }
  if (i < n) {
    const __m256i keep = i8_tail_mask(n - i);
    cosine_i8_step(_mm256_and_si256(load_i8(a + n - kI8Lanes), keep),
                   _mm256_and_si256(load_i8(b + n - kI8Lanes), keep), dot, norm_a, norm_b);
  }
  return cosine_distance_from_sums(horizontal_sum(dot), horizontal_sum(norm_a),
                                   horizontal_sum(norm_b));
}

inline std::uint64_t load_u64(const std::uint8_t* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof(word));
  return word;
}

SEMCACHE_TARGET_POPCNT std::uint32_t hamming_bin(const std::uint8_t* a, const std::uint8_t* b,
                                                 std::size_t n_bytes) {
  std::uint64_t count0 = 0;
  std::uint64_t count1 = 0;
  std::uint64_t count2 = 0;
  std::uint64_t count3 = 0;
  std::size_t i = 0;
  for (; i + 32 <= n_bytes; i += 32) {
    count0 += _mm_popcnt_u64(load_u64(a + i) ^ load_u64(b + i));
    count1 += _mm_popcnt_u64(load_u64(a + i + 8) ^ load_u64(b + i + 8));
    count2 += _mm_popcnt_u64(load_u64(a + i + 16) ^ load_u64(b + i + 16));
    count3 += _mm_popcnt_u64(load_u64(a + i + 24) ^ load_u64(b + i + 24));
  }
  for (; i + 8 <= n_bytes; i += 8) count0 += _mm_popcnt_u64(load_u64(a + i) ^ load_u64(b + i));
  if (i < n_bytes) {
    if (n_bytes >= 8) {
      const std::size_t seen_bytes = 8 - (n_bytes - i);
      const std::uint64_t word = load_u64(a + n_bytes - 8) ^ load_u64(b + n_bytes - 8);
      count1 += _mm_popcnt_u64(word >> (8 * seen_bytes));
    } else {
      for (; i < n_bytes; ++i) count1 += _mm_popcnt_u32(static_cast<std::uint32_t>(a[i] ^ b[i]));
    }
  }
  return static_cast<std::uint32_t>(count0 + count1 + count2 + count3);
}

// Eight int8 lanes widened to int32, converted to float and multiplied into the query; the
// last n % 8 lanes go through the scalar loop (a re-rank touches only ef candidates).
SEMCACHE_TARGET_AVX2 float dot_f32_i8(const float* a, const std::int8_t* b, std::size_t n) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes));
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(bytes, 8)));
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), lo, acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), hi, acc1);
  }
  const __m256 acc = _mm256_add_ps(acc0, acc1);
  __m128 sum4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
  sum4 = _mm_add_ps(sum4, _mm_movehl_ps(sum4, sum4));
  sum4 = _mm_add_ss(sum4, _mm_shuffle_ps(sum4, sum4, 1));
  float sum = _mm_cvtss_f32(sum4);
  for (; i < n; ++i) sum += a[i] * static_cast<float>(b[i]);
  return sum;
}

}  // namespace

const DistanceKernels kAvx2Kernels = {
    .level = SimdLevel::kAvx2,
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
