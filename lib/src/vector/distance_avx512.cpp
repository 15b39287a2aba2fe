// AVX-512 kernels: kAvx512Kernels (F + BW + VL + DQ, Skylake-SP and later, Zen 4) and
// kAvx512VnniKernels (adds VNNI, Cascade Lake and later, Zen 4).
//
// As in distance_avx2.cpp, every function carries its own target attribute and the file is built
// with the project's default flags; only dispatch, after cpu_supports, hands these out.
//
// Tails use zero-masked loads (vmovdqu8/vmovups with {z}): masked-off lanes read as zero, never
// fault and never touch memory past a + n, and zero lanes contribute nothing to any sum here. So
// there is no scalar tail and no minimum length; an input shorter than one register is one masked
// step. This is the main simplification over AVX2.
//
// f32: four 16-lane FMA accumulators (64 floats per iteration) for dot and l2, two sets of three
// for cosine. On Zen 4 a 512-bit FMA or load issues as two 256-bit halves, so these run at the
// AVX2 kernels' speed there (load-bound for dot and l2, FMA-bound for cosine); the gain is on
// cores with full-width 512-bit units, and in the masked tails.
//
// int8 dot, plain AVX-512: AVX-512 dropped vpsignb, so sign(a) * b is b with the lanes where a is
// negative subtracted from zero (vpmovb2m gives that mask from the sign bits). vpmaddubsw then
// sees |a| (unsigned) times sign(a) * b (signed), the products are exactly a * b, and adjacent
// pairs sum to at most 2 * 127 * 127 = 32258, below the int16 saturation point; vpmaddwd with
// ones widens to int32. Inputs of -128 are outside the contract and would saturate. int8 l2 is
// the AVX2 method at twice the width: |a - b| as max - min, zero-extended, vpmaddwd.
//
// int8 dot, VNNI: vpdpbusd does the same u8 x s8 multiply but sums groups of four straight into
// int32 with no intermediate int16, so nothing can saturate, and it replaces three instructions
// (vpmaddubsw, vpmaddwd, vpaddd) with one. Cosine uses it for the norms too (|a| fits an s8).
// l2 squares |a - b| in [0, 254], which no longer fits a signed byte, so it widens to int16 and
// uses vpdpwssd, the 16-bit VNNI form.
//
// Hamming: both tables use the vpshufb nibble table with vpsadbw rather than vpopcntq. vpopcntq
// (AVX512_VPOPCNTDQ) would need its own CPU check, and adding it to the VNNI level would push
// Cascade Lake, which has VNNI but not VPOPCNTDQ, down to the plain AVX-512 level for its int8
// kernels too, the ones that matter. Binary codes are a few dozen to a few hundred bytes, where
// the gap is small: on the Zen 4 this was written on, 48 and 192 bytes cost 3.4 and 6.3 ns with
// the table, 2.3 and 3.4 ns with vpopcntq, and 3.3 and 9.1 ns with the AVX2 kernel's popcnt.

// GCC 12.1-12.2 (Debian 12 ships 12.2) build "undefined" registers in the AVX-512 headers as
// `__m512i __Y = __Y;`, which -Wuninitialized then reports wherever reductions, casts and
// broadcasts inline (GCC PR 105593, fixed in 12.3). The pragma covers only the header's own lines.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#include "vector/distance.hpp"

#define SEMCACHE_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma")))
#define SEMCACHE_TARGET_AVX512_VNNI \
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,avx512vnni")))

namespace semcache::detail {

float cosine_distance_from_sums(double dot, double norm_a_sq, double norm_b_sq);

namespace {

constexpr std::size_t kF32Lanes = 16;
constexpr std::size_t kI8Lanes = 64;

// The first `lanes` lanes set; lanes < register width.
inline __mmask16 head_mask16(std::size_t lanes) {
  return static_cast<__mmask16>((1u << lanes) - 1u);
}
inline __mmask64 head_mask64(std::size_t lanes) { return (__mmask64{1} << lanes) - 1u; }

SEMCACHE_TARGET_AVX512 float dot_f32(const float* a, const float* b, std::size_t n) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps();
  __m512 acc3 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 4 * kF32Lanes <= n; i += 4 * kF32Lanes) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
    acc2 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32), acc2);
    acc3 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48), acc3);
  }
  for (; i + kF32Lanes <= n; i += kF32Lanes) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  }
  if (i < n) {
    const __mmask16 mask = head_mask16(n - i);
    acc1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i),
                           acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

SEMCACHE_TARGET_AVX512 float l2sq_f32(const float* a, const float* b, std::size_t n) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  __m512 acc2 = _mm512_setzero_ps();
  __m512 acc3 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 4 * kF32Lanes <= n; i += 4 * kF32Lanes) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    const __m512 d2 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 32), _mm512_loadu_ps(b + i + 32));
    const __m512 d3 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 48), _mm512_loadu_ps(b + i + 48));
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
    acc2 = _mm512_fmadd_ps(d2, d2, acc2);
    acc3 = _mm512_fmadd_ps(d3, d3, acc3);
  }
  for (; i + kF32Lanes <= n; i += kF32Lanes) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    acc0 = _mm512_fmadd_ps(d, d, acc0);
  }
  if (i < n) {
    const __mmask16 mask = head_mask16(n - i);
    const __m512 d =
        _mm512_sub_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_maskz_loadu_ps(mask, b + i));
    acc1 = _mm512_fmadd_ps(d, d, acc1);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

SEMCACHE_TARGET_AVX512 float cosine_f32(const float* a, const float* b, std::size_t n) {
  __m512 dot0 = _mm512_setzero_ps();
  __m512 dot1 = _mm512_setzero_ps();
  __m512 norm_a0 = _mm512_setzero_ps();
  __m512 norm_a1 = _mm512_setzero_ps();
  __m512 norm_b0 = _mm512_setzero_ps();
  __m512 norm_b1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 2 * kF32Lanes <= n; i += 2 * kF32Lanes) {
    const __m512 a0 = _mm512_loadu_ps(a + i);
    const __m512 b0 = _mm512_loadu_ps(b + i);
    const __m512 a1 = _mm512_loadu_ps(a + i + 16);
    const __m512 b1 = _mm512_loadu_ps(b + i + 16);
    dot0 = _mm512_fmadd_ps(a0, b0, dot0);
    dot1 = _mm512_fmadd_ps(a1, b1, dot1);
    norm_a0 = _mm512_fmadd_ps(a0, a0, norm_a0);
    norm_a1 = _mm512_fmadd_ps(a1, a1, norm_a1);
    norm_b0 = _mm512_fmadd_ps(b0, b0, norm_b0);
    norm_b1 = _mm512_fmadd_ps(b1, b1, norm_b1);
  }
  if (i + kF32Lanes <= n) {
    const __m512 a0 = _mm512_loadu_ps(a + i);
    const __m512 b0 = _mm512_loadu_ps(b + i);
    dot0 = _mm512_fmadd_ps(a0, b0, dot0);
    norm_a0 = _mm512_fmadd_ps(a0, a0, norm_a0);
    norm_b0 = _mm512_fmadd_ps(b0, b0, norm_b0);
    i += kF32Lanes;
  }
  if (i < n) {
    const __mmask16 mask = head_mask16(n - i);
    const __m512 a1 = _mm512_maskz_loadu_ps(mask, a + i);
    const __m512 b1 = _mm512_maskz_loadu_ps(mask, b + i);
    dot1 = _mm512_fmadd_ps(a1, b1, dot1);
    norm_a1 = _mm512_fmadd_ps(a1, a1, norm_a1);
    norm_b1 = _mm512_fmadd_ps(b1, b1, norm_b1);
  }
  return cosine_distance_from_sums(_mm512_reduce_add_ps(_mm512_add_ps(dot0, dot1)),
                                   _mm512_reduce_add_ps(_mm512_add_ps(norm_a0, norm_a1)),
                                   _mm512_reduce_add_ps(_mm512_add_ps(norm_b0, norm_b1)));
}

SEMCACHE_TARGET_AVX512 inline __m512i load_i8(const std::int8_t* p) {
  return _mm512_loadu_si512(p);
}

SEMCACHE_TARGET_AVX512 inline __m512i load_i8_head(const std::int8_t* p, std::size_t lanes) {
  return _mm512_maskz_loadu_epi8(head_mask64(lanes), p);
}

// b with its lanes negated where a is negative: sign(a) * b wherever a != 0, which is all
// vpmaddubsw/vpdpbusd need since |a| is 0 elsewhere.
SEMCACHE_TARGET_AVX512 inline __m512i negate_where_negative(__m512i vb, __m512i va) {
  return _mm512_mask_sub_epi8(vb, _mm512_movepi8_mask(va), _mm512_setzero_si512(), vb);
}

SEMCACHE_TARGET_AVX512 inline __m512i dot_i8_step(__m512i va, __m512i vb) {
  const __m512i pairs = _mm512_maddubs_epi16(_mm512_abs_epi8(va), negate_where_negative(vb, va));
  return _mm512_madd_epi16(pairs, _mm512_set1_epi16(1));
}

// |a - b| as unsigned bytes, exact for inputs in [-128, 127].
SEMCACHE_TARGET_AVX512 inline __m512i abs_diff_i8(__m512i va, __m512i vb) {
  return _mm512_sub_epi8(_mm512_max_epi8(va, vb), _mm512_min_epi8(va, vb));
}

SEMCACHE_TARGET_AVX512 inline __m512i l2sq_i8_step(__m512i va, __m512i vb) {
  const __m512i diff = abs_diff_i8(va, vb);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i lo = _mm512_unpacklo_epi8(diff, zero);
  const __m512i hi = _mm512_unpackhi_epi8(diff, zero);
  return _mm512_add_epi32(_mm512_madd_epi16(lo, lo), _mm512_madd_epi16(hi, hi));
}

SEMCACHE_TARGET_AVX512 inline void cosine_i8_step(__m512i va, __m512i vb, __m512i& dot,
                                                  __m512i& norm_a, __m512i& norm_b) {
  const __m512i ones = _mm512_set1_epi16(1);
  const __m512i abs_a = _mm512_abs_epi8(va);
  const __m512i abs_b = _mm512_abs_epi8(vb);
  const __m512i dot_pairs = _mm512_maddubs_epi16(abs_a, negate_where_negative(vb, va));
  dot = _mm512_add_epi32(dot, _mm512_madd_epi16(dot_pairs, ones));
  norm_a = _mm512_add_epi32(norm_a, _mm512_madd_epi16(_mm512_maddubs_epi16(abs_a, abs_a), ones));
  norm_b = _mm512_add_epi32(norm_b, _mm512_madd_epi16(_mm512_maddubs_epi16(abs_b, abs_b), ones));
}

SEMCACHE_TARGET_AVX512 std::int32_t dot_i8(const std::int8_t* a, const std::int8_t* b,
                                           std::size_t n) {
  __m512i acc0 = _mm512_setzero_si512();
  __m512i acc1 = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 2 * kI8Lanes <= n; i += 2 * kI8Lanes) {
    acc0 = _mm512_add_epi32(acc0, dot_i8_step(load_i8(a + i), load_i8(b + i)));
    acc1 = _mm512_add_epi32(acc1, dot_i8_step(load_i8(a + i + 64), load_i8(b + i + 64)));
  }
  if (i + kI8Lanes <= n) {
    acc0 = _mm512_add_epi32(acc0, dot_i8_step(load_i8(a + i), load_i8(b + i)));
    i += kI8Lanes;
  }
  if (i < n) {
    acc1 =
        _mm512_add_epi32(acc1, dot_i8_step(load_i8_head(a + i, n - i), load_i8_head(b + i, n - i)));
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
}

SEMCACHE_TARGET_AVX512 std::int32_t l2sq_i8(const std::int8_t* a, const std::int8_t* b,
                                            std::size_t n) {
  __m512i acc0 = _mm512_setzero_si512();
  __m512i acc1 = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 2 * kI8Lanes <= n; i += 2 * kI8Lanes) {
    acc0 = _mm512_add_epi32(acc0, l2sq_i8_step(load_i8(a + i), load_i8(b + i)));
    acc1 = _mm512_add_epi32(acc1, l2sq_i8_step(load_i8(a + i + 64), load_i8(b + i + 64)));
  }
  if (i + kI8Lanes <= n) {
    acc0 = _mm512_add_epi32(acc0, l2sq_i8_step(load_i8(a + i), load_i8(b + i)));
    i += kI8Lanes;
  }
  if (i < n) {
    acc1 = _mm512_add_epi32(acc1,
                            l2sq_i8_step(load_i8_head(a + i, n - i), load_i8_head(b + i, n - i)));
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
}

SEMCACHE_TARGET_AVX512 float cosine_i8(const std::int8_t* a, const std::int8_t* b, std::size_t n) {
  __m512i dot = _mm512_setzero_si512();
  __m512i norm_a = _mm512_setzero_si512();
  __m512i norm_b = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + kI8Lanes <= n; i += kI8Lanes) {
    cosine_i8_step(load_i8(a + i), load_i8(b + i), dot, norm_a, norm_b);
  }
  if (i < n) {
    cosine_i8_step(load_i8_head(a + i, n - i), load_i8_head(b + i, n - i), dot, norm_a, norm_b);
  }
  return cosine_distance_from_sums(_mm512_reduce_add_epi32(dot), _mm512_reduce_add_epi32(norm_a),
                                   _mm512_reduce_add_epi32(norm_b));
}

// Popcount of a ^ b per byte through a 16-entry nibble table, summed into 8 uint64 lanes.
SEMCACHE_TARGET_AVX512 inline __m512i hamming_step(__m512i va, __m512i vb) {
  const __m512i table =
      _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4));
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
  const __m512i x = _mm512_xor_si512(va, vb);
  const __m512i lo = _mm512_and_si512(x, low_nibbles);
  const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), low_nibbles);
  const __m512i bytes =
      _mm512_add_epi8(_mm512_shuffle_epi8(table, lo), _mm512_shuffle_epi8(table, hi));
  return _mm512_sad_epu8(bytes, _mm512_setzero_si512());
}

SEMCACHE_TARGET_AVX512 std::uint32_t hamming_bin(const std::uint8_t* a, const std::uint8_t* b,
                                                 std::size_t n_bytes) {
  __m512i acc0 = _mm512_setzero_si512();
  __m512i acc1 = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 2 * 64 <= n_bytes; i += 2 * 64) {
    acc0 =
        _mm512_add_epi64(acc0, hamming_step(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i)));
    acc1 = _mm512_add_epi64(
        acc1, hamming_step(_mm512_loadu_si512(a + i + 64), _mm512_loadu_si512(b + i + 64)));
  }
  if (i + 64 <= n_bytes) {
    acc0 =
        _mm512_add_epi64(acc0, hamming_step(_mm512_loadu_si512(a + i), _mm512_loadu_si512(b + i)));
    i += 64;
  }
  if (i < n_bytes) {
    const __mmask64 mask = head_mask64(n_bytes - i);
    acc1 = _mm512_add_epi64(acc1, hamming_step(_mm512_maskz_loadu_epi8(mask, a + i),
                                               _mm512_maskz_loadu_epi8(mask, b + i)));
  }
  return static_cast<std::uint32_t>(_mm512_reduce_add_epi64(_mm512_add_epi64(acc0, acc1)));
}

SEMCACHE_TARGET_AVX512_VNNI std::int32_t dot_i8_vnni(const std::int8_t* a, const std::int8_t* b,
                                                     std::size_t n) {
  __m512i acc0 = _mm512_setzero_si512();
  __m512i acc1 = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + 2 * kI8Lanes <= n; i += 2 * kI8Lanes) {
    const __m512i a0 = load_i8(a + i);
    const __m512i a1 = load_i8(a + i + 64);
    acc0 =
        _mm512_dpbusd_epi32(acc0, _mm512_abs_epi8(a0), negate_where_negative(load_i8(b + i), a0));
    acc1 = _mm512_dpbusd_epi32(acc1, _mm512_abs_epi8(a1),
                               negate_where_negative(load_i8(b + i + 64), a1));
  }
  if (i + kI8Lanes <= n) {
    const __m512i a0 = load_i8(a + i);
    acc0 =
        _mm512_dpbusd_epi32(acc0, _mm512_abs_epi8(a0), negate_where_negative(load_i8(b + i), a0));
    i += kI8Lanes;
  }
  if (i < n) {
    const __m512i a1 = load_i8_head(a + i, n - i);
    acc1 = _mm512_dpbusd_epi32(acc1, _mm512_abs_epi8(a1),
                               negate_where_negative(load_i8_head(b + i, n - i), a1));
  }
  return _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
}

SEMCACHE_TARGET_AVX512_VNNI inline void l2sq_i8_vnni_step(__m512i va, __m512i vb, __m512i& acc0,
                                                          __m512i& acc1) {
  const __m512i diff = abs_diff_i8(va, vb);
  const __m512i zero = _mm512_setzero_si512();
  const __m512i lo = _mm512_unpacklo_epi8(diff, zero);
  const __m512i hi = _mm512_unpackhi_epi8(diff, zero);
  acc0 = _mm512_dpwssd_epi32(acc0, lo, lo);
  acc1 = _mm512_dpwssd_epi32(acc1, hi, hi);
}

SEMCACHE_TARGET_AVX512_VNNI std::int32_t l2sq_i8_vnni(const std::int8_t* a, const std::int8_t* b,
                                                      std::size_t n) {
  __m512i acc0 = _mm512_setzero_si512();
  __m512i acc1 = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + kI8Lanes <= n; i += kI8Lanes)
    l2sq_i8_vnni_step(load_i8(a + i), load_i8(b + i), acc0, acc1);
  if (i < n) l2sq_i8_vnni_step(load_i8_head(a + i, n - i), load_i8_head(b + i, n - i), acc0, acc1);
  return _mm512_reduce_add_epi32(_mm512_add_epi32(acc0, acc1));
}

SEMCACHE_TARGET_AVX512_VNNI inline void cosine_i8_vnni_step(__m512i va, __m512i vb, __m512i& dot,
                                                            __m512i& norm_a, __m512i& norm_b) {
  const __m512i abs_a = _mm512_abs_epi8(va);
  const __m512i abs_b = _mm512_abs_epi8(vb);
  dot = _mm512_dpbusd_epi32(dot, abs_a, negate_where_negative(vb, va));
  norm_a = _mm512_dpbusd_epi32(norm_a, abs_a, abs_a);
  norm_b = _mm512_dpbusd_epi32(norm_b, abs_b, abs_b);
}

SEMCACHE_TARGET_AVX512_VNNI float cosine_i8_vnni(const std::int8_t* a, const std::int8_t* b,
                                                 std::size_t n) {
  __m512i dot = _mm512_setzero_si512();
  __m512i norm_a = _mm512_setzero_si512();
  __m512i norm_b = _mm512_setzero_si512();
  std::size_t i = 0;
  for (; i + kI8Lanes <= n; i += kI8Lanes) {
    cosine_i8_vnni_step(load_i8(a + i), load_i8(b + i), dot, norm_a, norm_b);
  }
  if (i < n) {
    cosine_i8_vnni_step(load_i8_head(a + i, n - i), load_i8_head(b + i, n - i), dot, norm_a,
                        norm_b);
  }
  return cosine_distance_from_sums(_mm512_reduce_add_epi32(dot), _mm512_reduce_add_epi32(norm_a),
                                   _mm512_reduce_add_epi32(norm_b));
}

// Sixteen int8 lanes widened to int32 and converted to float per step; the tail is a masked load
// of both operands, so no lane past n is read.
SEMCACHE_TARGET_AVX512 float dot_f32_i8(const float* a, const std::int8_t* b, std::size_t n) {
  __m512 acc = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + i));
    acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)), acc);
  }
  if (i < n) {
    const __mmask16 mask = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m128i bytes = _mm_maskz_loadu_epi8(mask, b + i);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mask, a + i), _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(bytes)), acc);
  }
  return _mm512_reduce_add_ps(acc);
}

}  // namespace

const DistanceKernels kAvx512Kernels = {
    .level = SimdLevel::kAvx512,
    .dot_f32 = dot_f32,
    .l2sq_f32 = l2sq_f32,
    .cosine_f32 = cosine_f32,
    .dot_i8 = dot_i8,
    .l2sq_i8 = l2sq_i8,
    .cosine_i8 = cosine_i8,
    .hamming_bin = hamming_bin,
    .dot_f32_i8 = dot_f32_i8,
};

const DistanceKernels kAvx512VnniKernels = {
    .level = SimdLevel::kAvx512Vnni,
    .dot_f32 = dot_f32,
    .l2sq_f32 = l2sq_f32,
    .cosine_f32 = cosine_f32,
    .dot_i8 = dot_i8_vnni,
    .l2sq_i8 = l2sq_i8_vnni,
    .cosine_i8 = cosine_i8_vnni,
    .hamming_bin = hamming_bin,
    .dot_f32_i8 = dot_f32_i8,
};

}  // namespace semcache::detail
