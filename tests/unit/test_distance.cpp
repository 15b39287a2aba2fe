// Tests for the distance kernels (lib/src/vector/distance_*.cpp).
//
// Two oracles. The scalar kernels are checked against small examples worked out by hand, and
// every SIMD level this CPU runs is checked against the scalar kernels: integer results exactly,
// f32 results within a tolerance scaled by the sum of the magnitudes of the terms, which bounds
// what reassociation and FMA can change. Lengths straddle every register width (8, 16, 32, 64)
// and unrolled block (up to 128) so each main loop, single-block step and tail is exercised, on
// aligned and deliberately misaligned pointers. A guard-page test puts inputs flush against
// unmapped memory so any read past either end of a vector crashes the test instead of passing by
// luck. Levels the CPU lacks are skipped; run on an older machine, or under SEMCACHE_SIMD, to
// cover fewer. All inputs come from fixed seeds.

#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "vector/distance.hpp"

namespace {

using Catch::Matchers::WithinAbs;
using semcache::detail::cpu_supports;
using semcache::detail::DistanceKernels;
using semcache::detail::kernels;
using semcache::detail::kernels_for;
using semcache::detail::kScalarKernels;
using semcache::detail::simd_level_name;
using semcache::detail::SimdLevel;

constexpr std::size_t kLengths[] = {0,  1,   3,   15,  16,  17,  31,  33,   63,  64,
                                    65, 100, 127, 128, 383, 384, 385, 1000, 1536};
constexpr std::size_t kMaxLength = 1536;
constexpr SimdLevel kAllLevels[] = {SimdLevel::kScalar, SimdLevel::kAvx2, SimdLevel::kAvx512,
                                    SimdLevel::kAvx512Vnni};
constexpr float kRelativeTolerance = 1e-4f;

std::vector<const DistanceKernels*> supported_levels() {
  std::vector<const DistanceKernels*> tables;
  for (const SimdLevel level : kAllLevels) {
    if (const DistanceKernels* table = kernels_for(level)) tables.push_back(table);
  }
  return tables;
}

std::vector<const DistanceKernels*> supported_simd_levels() {
  std::vector<const DistanceKernels*> tables = supported_levels();
  tables.erase(tables.begin());
  return tables;
}

std::vector<float> random_f32(std::size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<std::int8_t> random_i8(std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(-127, 127);
  std::vector<std::int8_t> v(n);
  for (std::int8_t& x : v) x = static_cast<std::int8_t>(dist(rng));
  return v;
}

std::vector<std::uint8_t> random_bytes(std::size_t n, std::mt19937& rng) {
  std::uniform_int_distribution<int> dist(0, 255);
  std::vector<std::uint8_t> v(n);
  for (std::uint8_t& x : v) x = static_cast<std::uint8_t>(dist(rng));
  return v;
}

// Sums of |terms|: the scale against which f32 rounding differences are measured.
float dot_magnitude(const float* a, const float* b, std::size_t n) {
  float sum = 0.0f;
  for (std::size_t i = 0; i < n; ++i) sum += std::fabs(a[i] * b[i]);
  return sum;
}

// Checks every kernel of `simd` against the scalar kernels on one pair of inputs of length n.
void check_against_scalar(const DistanceKernels& simd, const float* fa, const float* fb,
                          const std::int8_t* ia, const std::int8_t* ib, const std::uint8_t* ba,
                          const std::uint8_t* bb, std::size_t n) {
  const DistanceKernels& ref = kScalarKernels;
  const float dot_tol = kRelativeTolerance * dot_magnitude(fa, fb, n) + 1e-6f;
  const float l2_ref = ref.l2sq_f32(fa, fb, n);
  CHECK_THAT(simd.dot_f32(fa, fb, n), WithinAbs(ref.dot_f32(fa, fb, n), dot_tol));
  CHECK_THAT(simd.l2sq_f32(fa, fb, n), WithinAbs(l2_ref, kRelativeTolerance * l2_ref + 1e-6f));
  CHECK_THAT(simd.cosine_f32(fa, fb, n), WithinAbs(ref.cosine_f32(fa, fb, n), 1e-5));
  CHECK(simd.dot_i8(ia, ib, n) == ref.dot_i8(ia, ib, n));
  CHECK(simd.l2sq_i8(ia, ib, n) == ref.l2sq_i8(ia, ib, n));
  // Both sides compute the same three exact integers and finish them with the same double code.
  CHECK(simd.cosine_i8(ia, ib, n) == ref.cosine_i8(ia, ib, n));
  CHECK(simd.hamming_bin(ba, bb, n) == ref.hamming_bin(ba, bb, n));
  float mixed_magnitude = 0.0f;
  for (std::size_t i = 0; i < n; ++i) mixed_magnitude += std::fabs(fa[i] * static_cast<float>(ib[i]));
  CHECK_THAT(simd.dot_f32_i8(fa, ib, n),
             WithinAbs(ref.dot_f32_i8(fa, ib, n), kRelativeTolerance * mixed_magnitude + 1e-5f));
}

TEST_CASE("scalar distance kernels match hand-computed values", "[distance]") {
  const DistanceKernels& k = kScalarKernels;
  const float a[] = {1.0f, 2.0f, 3.0f};
  const float b[] = {4.0f, 5.0f, 6.0f};
  CHECK(k.dot_f32(a, b, 3) == 32.0f);
  CHECK(k.l2sq_f32(a, b, 3) == 27.0f);
  CHECK(k.dot_f32(a, b, 0) == 0.0f);

  const float x[] = {1.0f, 0.0f};
  const float y[] = {0.0f, 1.0f};
  const float minus_x[] = {-1.0f, 0.0f};
  const float p[] = {1.0f, 2.0f};
  const float two_p[] = {2.0f, 4.0f};
  const float q[] = {3.0f, 4.0f};
  const float r[] = {4.0f, 3.0f};
  CHECK_THAT(k.cosine_f32(x, y, 2), WithinAbs(1.0, 1e-7));
  CHECK_THAT(k.cosine_f32(x, minus_x, 2), WithinAbs(2.0, 1e-7));
  CHECK_THAT(k.cosine_f32(p, two_p, 2), WithinAbs(0.0, 1e-7));
  CHECK_THAT(k.cosine_f32(q, r, 2), WithinAbs(1.0 - 24.0 / 25.0, 1e-7));

  const std::int8_t ia[] = {127, -127, 3};
  const std::int8_t ib[] = {127, 127, -2};
  CHECK(k.dot_i8(ia, ib, 3) == 16129 - 16129 - 6);
  CHECK(k.l2sq_i8(ia, ib, 3) == 0 + 254 * 254 + 25);
  const std::int8_t iq[] = {3, 4};
  const std::int8_t ir[] = {4, 3};
  CHECK_THAT(k.cosine_i8(iq, ir, 2), WithinAbs(1.0 - 24.0 / 25.0, 1e-7));

  const std::uint8_t ba[] = {0xff, 0x0f, 0x00};
  const std::uint8_t bb[] = {0x00, 0xff, 0x00};
  CHECK(k.hamming_bin(ba, bb, 3) == 12);
  CHECK(k.hamming_bin(ba, bb, 0) == 0);

  const float fq[] = {0.5f, -2.0f, 1.0f};
  CHECK(k.dot_f32_i8(fq, ia, 3) == 0.5f * 127 + 2.0f * 127 + 3.0f);
}

TEST_CASE("every SIMD level matches the scalar kernels on random inputs", "[distance]") {
  const auto levels = supported_simd_levels();
  if (levels.empty()) WARN("this CPU runs no SIMD level; only the scalar kernels are tested");
  for (const std::uint32_t seed : {1u, 2u, 3u}) {
    std::mt19937 rng(seed);
    // One spare element in front so the misaligned run can start one element in.
    const auto fa = random_f32(kMaxLength + 1, rng);
    const auto fb = random_f32(kMaxLength + 1, rng);
    const auto ia = random_i8(kMaxLength + 1, rng);
    const auto ib = random_i8(kMaxLength + 1, rng);
    const auto ba = random_bytes(kMaxLength + 1, rng);
    const auto bb = random_bytes(kMaxLength + 1, rng);
    for (const DistanceKernels* simd : levels) {
      for (const std::size_t n : kLengths) {
        for (const std::size_t offset : {0u, 1u}) {
          INFO("level " << simd_level_name(simd->level) << ", n " << n << ", offset " << offset
                        << ", seed " << seed);
          check_against_scalar(*simd, fa.data() + offset, fb.data() + offset, ia.data() + offset,
                               ib.data() + offset, ba.data() + offset, bb.data() + offset, n);
        }
      }
    }
  }
}

TEST_CASE("cosine distance of a zero vector is 1 at every level", "[distance]") {
  std::mt19937 rng(7);
  const std::vector<float> f_zero(kMaxLength, 0.0f);
  const std::vector<std::int8_t> i_zero(kMaxLength, 0);
  const auto fb = random_f32(kMaxLength, rng);
  const auto ib = random_i8(kMaxLength, rng);
  for (const DistanceKernels* k : supported_levels()) {
    for (const std::size_t n : kLengths) {
      INFO("level " << simd_level_name(k->level) << ", n " << n);
      CHECK(k->cosine_f32(f_zero.data(), fb.data(), n) == 1.0f);
      CHECK(k->cosine_f32(fb.data(), f_zero.data(), n) == 1.0f);
      CHECK(k->cosine_f32(f_zero.data(), f_zero.data(), n) == 1.0f);
      CHECK(k->cosine_i8(i_zero.data(), ib.data(), n) == 1.0f);
      CHECK(k->cosine_i8(ib.data(), i_zero.data(), n) == 1.0f);
      CHECK(k->cosine_i8(i_zero.data(), i_zero.data(), n) == 1.0f);
      CHECK(k->dot_f32(f_zero.data(), fb.data(), n) == 0.0f);
      CHECK(k->dot_i8(i_zero.data(), ib.data(), n) == 0);
      CHECK(k->l2sq_i8(i_zero.data(), ib.data(), n) == k->dot_i8(ib.data(), ib.data(), n));
    }
  }
}

TEST_CASE("cosine distance stays within [0, 2] for parallel and opposite vectors", "[distance]") {
  std::mt19937 rng(11);
  const auto fa = random_f32(kMaxLength, rng);
  const auto ia = random_i8(kMaxLength, rng);
  std::vector<float> f_neg(kMaxLength);
  std::vector<std::int8_t> i_neg(kMaxLength);
  for (std::size_t i = 0; i < kMaxLength; ++i) {
    f_neg[i] = -fa[i];
    i_neg[i] = static_cast<std::int8_t>(-ia[i]);
  }
  for (const DistanceKernels* k : supported_levels()) {
    for (const std::size_t n : kLengths) {
      if (n == 0) continue;
      INFO("level " << simd_level_name(k->level) << ", n " << n);
      const float same_f = k->cosine_f32(fa.data(), fa.data(), n);
      const float opposite_f = k->cosine_f32(fa.data(), f_neg.data(), n);
      CHECK((same_f >= 0.0f && same_f < 1e-5f));
      CHECK((opposite_f <= 2.0f && opposite_f > 2.0f - 1e-5f));
      // |a|^2 is nonzero unless the random draw was all zeros, which these seeds never give.
      CHECK(k->cosine_i8(ia.data(), ia.data(), n) == 0.0f);
      CHECK(k->cosine_i8(ia.data(), i_neg.data(), n) == 2.0f);
    }
  }
}

TEST_CASE("int8 kernels are exact at the extremes of the input range", "[distance]") {
  for (const std::size_t n : kLengths) {
    const std::vector<std::int8_t> plus(n, 127);
    const std::vector<std::int8_t> minus(n, -127);
    std::vector<std::int8_t> alternating(n);
    std::vector<std::int8_t> alternating_flipped(n);
    for (std::size_t i = 0; i < n; ++i) {
      alternating[i] = static_cast<std::int8_t>(i % 2 == 0 ? 127 : -127);
      alternating_flipped[i] = static_cast<std::int8_t>(-alternating[i]);
    }
    const auto count = static_cast<std::int32_t>(n);
    for (const DistanceKernels* k : supported_levels()) {
      INFO("level " << simd_level_name(k->level) << ", n " << n);
      CHECK(k->dot_i8(plus.data(), plus.data(), n) == 16129 * count);
      CHECK(k->dot_i8(minus.data(), minus.data(), n) == 16129 * count);
      CHECK(k->dot_i8(plus.data(), minus.data(), n) == -16129 * count);
      CHECK(k->dot_i8(minus.data(), plus.data(), n) == -16129 * count);
      CHECK(k->dot_i8(alternating.data(), alternating.data(), n) == 16129 * count);
      CHECK(k->dot_i8(alternating.data(), alternating_flipped.data(), n) == -16129 * count);
      CHECK(k->dot_i8(alternating.data(), plus.data(), n) == (n % 2 == 0 ? 0 : 16129));
      CHECK(k->l2sq_i8(plus.data(), minus.data(), n) == 64516 * count);
      CHECK(k->l2sq_i8(minus.data(), plus.data(), n) == 64516 * count);
      CHECK(k->l2sq_i8(alternating.data(), alternating_flipped.data(), n) == 64516 * count);
      CHECK(k->l2sq_i8(plus.data(), plus.data(), n) == 0);
      if (n > 0) {
        CHECK(k->cosine_i8(plus.data(), plus.data(), n) == 0.0f);
        CHECK(k->cosine_i8(plus.data(), minus.data(), n) == 2.0f);
        CHECK(k->cosine_i8(alternating.data(), alternating_flipped.data(), n) == 2.0f);
      }
    }
  }
}

TEST_CASE("hamming distance counts differing bits at every level", "[distance]") {
  const std::vector<std::uint8_t> ones(kMaxLength, 0xff);
  const std::vector<std::uint8_t> zeros(kMaxLength, 0x00);
  const std::vector<std::uint8_t> fives(kMaxLength, 0x55);
  for (const DistanceKernels* k : supported_levels()) {
    for (const std::size_t n : kLengths) {
      INFO("level " << simd_level_name(k->level) << ", n " << n);
      CHECK(k->hamming_bin(ones.data(), zeros.data(), n) == 8 * n);
      CHECK(k->hamming_bin(ones.data(), ones.data(), n) == 0);
      CHECK(k->hamming_bin(fives.data(), zeros.data(), n) == 4 * n);
    }
  }
}

// Room for `capacity_bytes` between two unmapped pages: inputs placed flush against either end
// make any read before the start or past the end fault.
class GuardedBuffer {
 public:
  explicit GuardedBuffer(std::size_t capacity_bytes) {
    const auto page_bytes = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    usable_bytes_ = (capacity_bytes + page_bytes - 1) / page_bytes * page_bytes;
    region_bytes_ = usable_bytes_ + 2 * page_bytes;
    void* region = mmap(nullptr, region_bytes_, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(region != MAP_FAILED);
    region_ = static_cast<unsigned char*>(region);
    usable_ = region_ + page_bytes;
    REQUIRE(mprotect(usable_, usable_bytes_, PROT_READ | PROT_WRITE) == 0);
  }
  GuardedBuffer(const GuardedBuffer&) = delete;
  GuardedBuffer& operator=(const GuardedBuffer&) = delete;
  ~GuardedBuffer() { munmap(region_, region_bytes_); }

  // Copies `bytes` bytes flush against the start or the end of the usable range; returns where.
  const void* place(const void* data, std::size_t bytes, bool at_end) {
    std::memset(usable_, 0, usable_bytes_);
    unsigned char* where = at_end ? usable_ + usable_bytes_ - bytes : usable_;
    if (bytes > 0) std::memcpy(where, data, bytes);
    return where;
  }

 private:
  std::size_t usable_bytes_ = 0;
  std::size_t region_bytes_ = 0;
  unsigned char* region_ = nullptr;
  unsigned char* usable_ = nullptr;
};

TEST_CASE("kernels never read outside their inputs", "[distance]") {
  std::mt19937 rng(13);
  const auto fa = random_f32(kMaxLength, rng);
  const auto fb = random_f32(kMaxLength, rng);
  const auto ia = random_i8(kMaxLength, rng);
  const auto ib = random_i8(kMaxLength, rng);
  const auto ba = random_bytes(kMaxLength, rng);
  const auto bb = random_bytes(kMaxLength, rng);
  GuardedBuffer guard_a(kMaxLength * sizeof(float));
  GuardedBuffer guard_b(kMaxLength * sizeof(float));
  for (const DistanceKernels* k : supported_levels()) {
    for (const std::size_t n : kLengths) {
      for (const bool at_end : {true, false}) {
        INFO("level " << simd_level_name(k->level) << ", n " << n << ", at_end " << at_end);
        const auto* ga =
            static_cast<const float*>(guard_a.place(fa.data(), n * sizeof(float), at_end));
        const auto* gb =
            static_cast<const float*>(guard_b.place(fb.data(), n * sizeof(float), at_end));
        CHECK(k->dot_f32(ga, gb, n) == k->dot_f32(fa.data(), fb.data(), n));
        CHECK(k->l2sq_f32(ga, gb, n) == k->l2sq_f32(fa.data(), fb.data(), n));
        CHECK(k->cosine_f32(ga, gb, n) == k->cosine_f32(fa.data(), fb.data(), n));

        const auto* gia = static_cast<const std::int8_t*>(guard_a.place(ia.data(), n, at_end));
        const auto* gib = static_cast<const std::int8_t*>(guard_b.place(ib.data(), n, at_end));
        CHECK(k->dot_i8(gia, gib, n) == k->dot_i8(ia.data(), ib.data(), n));
        CHECK(k->l2sq_i8(gia, gib, n) == k->l2sq_i8(ia.data(), ib.data(), n));
        CHECK(k->cosine_i8(gia, gib, n) == k->cosine_i8(ia.data(), ib.data(), n));
        const auto* gfa =
            static_cast<const float*>(guard_a.place(fa.data(), n * sizeof(float), at_end));
        CHECK(k->dot_f32_i8(gfa, gib, n) == k->dot_f32_i8(fa.data(), ib.data(), n));

        const auto* gba = static_cast<const std::uint8_t*>(guard_a.place(ba.data(), n, at_end));
        const auto* gbb = static_cast<const std::uint8_t*>(guard_b.place(bb.data(), n, at_end));
        CHECK(k->hamming_bin(gba, gbb, n) == k->hamming_bin(ba.data(), bb.data(), n));
      }
    }
  }
}

TEST_CASE("dispatch picks a level this CPU runs and honours SEMCACHE_SIMD", "[distance]") {
  CHECK(cpu_supports(SimdLevel::kScalar));
  CHECK(kernels_for(SimdLevel::kScalar) == &kScalarKernels);
  for (std::size_t i = 1; i < std::size(kAllLevels); ++i) {
    if (cpu_supports(kAllLevels[i])) CHECK(cpu_supports(kAllLevels[i - 1]));
    CHECK((kernels_for(kAllLevels[i]) != nullptr) == cpu_supports(kAllLevels[i]));
  }
  for (const SimdLevel level : kAllLevels) {
    if (const DistanceKernels* table = kernels_for(level)) CHECK(table->level == level);
  }
  CHECK(std::string(simd_level_name(SimdLevel::kScalar)) == "scalar");
  CHECK(std::string(simd_level_name(SimdLevel::kAvx2)) == "avx2");
  CHECK(std::string(simd_level_name(SimdLevel::kAvx512)) == "avx512");
  CHECK(std::string(simd_level_name(SimdLevel::kAvx512Vnni)) == "avx512vnni");

  const SimdLevel chosen = kernels().level;
  CHECK(cpu_supports(chosen));
  CHECK(&kernels() == &kernels());
  SimdLevel cap = SimdLevel::kAvx512Vnni;
  if (const char* value = std::getenv("SEMCACHE_SIMD")) {
    for (const SimdLevel level : kAllLevels) {
      if (std::string(value) == simd_level_name(level)) cap = level;
    }
  }
  INFO("chosen " << simd_level_name(chosen) << ", cap " << simd_level_name(cap));
  CHECK(chosen <= cap);
  for (const SimdLevel level : kAllLevels) {
    if (level > chosen && level <= cap) CHECK_FALSE(cpu_supports(level));
  }
}

}  // namespace
