#pragma once
// Internals shared by the vector file readers (vector_file*.cpp): the per-format factories,
// the TEXMEX row walker, half-precision conversion and the NaN/Inf scan.

#include <bit>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "io/mapped_file.hpp"
#include "semcache/status.hpp"
#include "semcache/vector_file.hpp"

namespace semcache::detail {

// The binary formats are little-endian on disk and read in place.
static_assert(std::endian::native == std::endian::little,
              "the vector readers assume a little-endian host");

Expected<std::unique_ptr<VectorReader>> open_texmex_reader(const std::string& path, VectorFormat format);
Expected<std::unique_ptr<VectorReader>> open_npy_reader(const std::string& path);
Expected<std::unique_ptr<VectorReader>> open_jsonl_reader(const std::string& path);

// Walks the rows of a TEXMEX file (per row: int32 dim, then dim elements of elem_bytes),
// checking each row against the first. The walker does not own the mapping, which must
// outlive it (moving the MappedFile is fine: the mapping itself does not move).
class TexmexCursor {
 public:
  TexmexCursor() = default;
  // Validates the first row's dimension; refuses an empty file.
  static Expected<TexmexCursor> start(const MappedFile& file, std::size_t elem_bytes);

  std::size_t dim() const { return dim_; }
  // Complete rows in the file if every row is well-formed.
  std::size_t count_hint() const { return size_ / row_bytes_; }
  std::size_t row() const { return row_; }
  std::uint64_t offset() const { return offset_; }

  // The payload of the next row (dim elements), nullptr after the last row, or the defect.
  Expected<const unsigned char*> next();

 private:
  std::string path_;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t elem_bytes_ = 0;
  std::size_t dim_ = 0;
  std::size_t row_bytes_ = 1;
  std::size_t offset_ = 0;
  std::size_t row_ = 0;
};

inline std::int32_t load_le_i32(const unsigned char* p) {
  std::int32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline std::string to_decimal(std::uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, end);
}

// Renders `row` into `buf` for VectorRecord::id.
inline std::string_view row_id(std::size_t row, char (&buf)[24]) {
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, row);
  return std::string_view(buf, static_cast<std::size_t>(end - buf));
}

// Index of the first NaN or infinite component, or n when all are finite. Tests the
// exponent bits in blocks so the common all-finite case compiles to a few vector ops.
inline std::size_t find_non_finite(const float* v, std::size_t n) {
  constexpr std::uint32_t kExponentMask = 0x7f800000u;
  constexpr std::size_t kBlock = 16;
  std::size_t i = 0;
  for (; i + kBlock <= n; i += kBlock) {
    std::uint32_t bits[kBlock];
    std::memcpy(bits, v + i, sizeof bits);
    std::uint32_t bad = 0;
    for (std::size_t j = 0; j < kBlock; ++j) bad |= static_cast<std::uint32_t>((bits[j] & kExponentMask) == kExponentMask);
    if (bad != 0) break;
  }
  for (; i < n; ++i) {
    if (!std::isfinite(v[i])) return i;
  }
  return n;
}

// "<where> component <i> is NaN" / "... is infinite"; `where` is e.g. "base.fvecs: row 7".
inline Status non_finite_error(const std::string& where, std::size_t component, float value) {
  return Status::bad_input(where + " component " + std::to_string(component) +
                           (std::isnan(value) ? " is NaN" : " is infinite"));
}

// IEEE 754 binary16 to binary32, exact for every input: normals, subnormals, zeros, and
// Inf/NaN (which stay Inf/NaN). Branch-free so that a row converts as one vector loop: a
// normal half is rebuilt with its exponent rebiased by a power-of-two multiply, a subnormal
// as (0.5 + mantissa * 2^-24) - 0.5; both are exact in float. (The method of Maratyszcza's
// FP16 library.)
inline float half_to_float(std::uint16_t h) {
  const std::uint32_t w = static_cast<std::uint32_t>(h) << 16;
  const std::uint32_t sign = w & 0x80000000u;
  const std::uint32_t two_w = w + w;
  const std::uint32_t normal = std::bit_cast<std::uint32_t>(std::bit_cast<float>((two_w >> 4) + (0xE0u << 23)) * 0x1p-112f);
  const std::uint32_t subnormal = std::bit_cast<std::uint32_t>(std::bit_cast<float>((two_w >> 17) | (126u << 23)) - 0.5f);
  const std::uint32_t is_subnormal = 0u - static_cast<std::uint32_t>(two_w < (1u << 27));
  return std::bit_cast<float>(sign | (subnormal & is_subnormal) | (normal & ~is_subnormal));
}

// Row conversions into a float buffer. The fixed-size inner blocks let the compiler
// vectorise them even at -O2, whose cost model refuses loops that need a scalar epilogue.
inline constexpr std::size_t kWidenBlock = 16;

inline void widen_halves(const unsigned char* src, float* __restrict dst, std::size_t n) {
  std::size_t i = 0;
  for (; i + kWidenBlock <= n; i += kWidenBlock) {
    std::uint16_t h[kWidenBlock];
    std::memcpy(h, src + 2 * i, sizeof h);
    for (std::size_t j = 0; j < kWidenBlock; ++j) dst[i + j] = half_to_float(h[j]);
  }
  for (; i < n; ++i) {
    std::uint16_t h;
    std::memcpy(&h, src + 2 * i, sizeof h);
    dst[i] = half_to_float(h);
  }
}

template <typename Byte>
inline void widen_bytes(const unsigned char* src, float* __restrict dst, std::size_t n) {
  static_assert(sizeof(Byte) == 1);
  std::size_t i = 0;
  for (; i + kWidenBlock <= n; i += kWidenBlock) {
    Byte b[kWidenBlock];
    std::memcpy(b, src + i, sizeof b);
    for (std::size_t j = 0; j < kWidenBlock; ++j) dst[i + j] = static_cast<float>(b[j]);
  }
  for (; i < n; ++i) dst[i] = static_cast<float>(static_cast<Byte>(src[i]));
}

}  // namespace semcache::detail
