#pragma once
// A fixed, portable 128-bit hash for cache keys: MurmurHash3 x64_128 (Austin Appleby, public
// domain), with the input read byte by byte as little-endian words so every machine and
// compiler gives the same digits. Keys written by one process are read by others, possibly
// built elsewhere, so std::hash (implementation-defined, may change between releases) is not
// an option; a cryptographic hash would be slower for no gain (the keys are not secrets and
// an exact hit still compares the canonical request byte for byte).

#include <bit>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <string>
#include <string_view>

namespace semcache::detail {

struct Hash128 {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
};

namespace murmur {

inline std::uint64_t rotl64(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

inline std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

inline std::uint64_t load_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(&v, p, sizeof v);  // one load; the loop below is the same value on any machine
  } else {
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  }
  return v;
}

}  // namespace murmur

inline Hash128 hash128(std::string_view data, std::uint64_t seed = 0) {
  using murmur::fmix64;
  using murmur::rotl64;
  const auto* bytes = reinterpret_cast<const unsigned char*>(data.data());
  const std::size_t len = data.size();
  const std::size_t nblocks = len / 16;
  std::uint64_t h1 = seed;
  std::uint64_t h2 = seed;
  constexpr std::uint64_t c1 = 0x87c37b91114253d5ULL;
  constexpr std::uint64_t c2 = 0x4cf5ad432745937fULL;

  for (std::size_t i = 0; i < nblocks; ++i) {
    std::uint64_t k1 = murmur::load_le64(bytes + i * 16);
    std::uint64_t k2 = murmur::load_le64(bytes + i * 16 + 8);
    k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1;
    h1 = rotl64(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
    k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2;
    h2 = rotl64(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
  }

  const unsigned char* tail = bytes + nblocks * 16;
  const std::size_t rest = len & 15;
  std::uint64_t k1 = 0;
  std::uint64_t k2 = 0;
  for (std::size_t i = rest; i > 8; --i) k2 = (k2 << 8) | tail[i - 1];
  for (std::size_t i = rest < 8 ? rest : 8; i > 0; --i) k1 = (k1 << 8) | tail[i - 1];
  if (rest > 8) { k2 *= c2; k2 = rotl64(k2, 33); k2 *= c1; h2 ^= k2; }
  if (rest > 0) { k1 *= c1; k1 = rotl64(k1, 31); k1 *= c2; h1 ^= k1; }

  h1 ^= len;
  h2 ^= len;
  h1 += h2;
  h2 += h1;
  h1 = fmix64(h1);
  h2 = fmix64(h2);
  h1 += h2;
  h2 += h1;
  return Hash128{h1, h2};
}

// `digits` lowercase hex digits of the low bits of `value` (most significant first).
inline void append_hex(std::string& out, std::uint64_t value, int digits = 16) {
  static constexpr char kHex[] = "0123456789abcdef";
  char text[16];
  for (int i = digits - 1; i >= 0; --i) {
    text[i] = kHex[value & 0xf];
    value >>= 4;
  }
  out.append(text, static_cast<std::size_t>(digits));
}

inline std::string to_hex(const Hash128& hash) {
  std::string out;
  out.reserve(32);
  append_hex(out, hash.high);
  append_hex(out, hash.low);
  return out;
}

}  // namespace semcache::detail
