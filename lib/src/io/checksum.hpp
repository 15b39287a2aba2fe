#pragma once
// A fast streaming 64-bit checksum for snapshot files: four independent lanes over 32-byte
// blocks with xxHash64's multiply-rotate round and finaliser, so it runs at memory speed.
// It detects corruption and truncation; it is not a cryptographic MAC.

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace semcache::detail {

class Checksum64 {
 public:
  void update(const void* data, std::size_t size) {
    if (size == 0) return;
    const auto* bytes = static_cast<const unsigned char*>(data);
    total_ += size;
    if (buffered_ > 0) {
      const std::size_t take = size < 32 - buffered_ ? size : 32 - buffered_;
      std::memcpy(buffer_ + buffered_, bytes, take);
      buffered_ += take;
      bytes += take;
      size -= take;
      if (buffered_ < 32) return;
      block(buffer_);
      buffered_ = 0;
    }
    while (size >= 32) {
      block(bytes);
      bytes += 32;
      size -= 32;
    }
    std::memcpy(buffer_, bytes, size);
    buffered_ = size;
  }

  std::uint64_t digest() const {
    std::uint64_t h = rotl(lanes_[0], 1) + rotl(lanes_[1], 7) + rotl(lanes_[2], 12) + rotl(lanes_[3], 18);
    for (std::uint64_t lane : lanes_) h = (h ^ round(0, lane)) * kP1 + kP4;
    h += total_;
    for (std::size_t i = 0; i < buffered_; ++i) h = rotl(h ^ (buffer_[i] * kP5), 11) * kP1;
    h ^= h >> 33;
    h *= kP2;
    h ^= h >> 29;
    h *= kP3;
    h ^= h >> 32;
    return h;
  }

 private:
  static constexpr std::uint64_t kP1 = 11400714785074694791ull;
  static constexpr std::uint64_t kP2 = 14029467366897019727ull;
  static constexpr std::uint64_t kP3 = 1609587929392839161ull;
  static constexpr std::uint64_t kP4 = 9650029242287828579ull;
  static constexpr std::uint64_t kP5 = 2870177450012600261ull;

  static std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
  static std::uint64_t round(std::uint64_t acc, std::uint64_t input) { return rotl(acc + input * kP2, 31) * kP1; }

  void block(const unsigned char* p) {
    for (int i = 0; i < 4; ++i) {
      std::uint64_t word;
      std::memcpy(&word, p + 8 * i, 8);
      lanes_[i] = round(lanes_[i], word);
    }
  }

  std::uint64_t lanes_[4] = {kP1 + kP2, kP2, 0, 0 - kP1};
  unsigned char buffer_[32] = {};
  std::size_t buffered_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace semcache::detail
