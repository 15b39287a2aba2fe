// Record <-> one Redis string value; see record_codec.hpp for the layout.

#include "store/record_codec.hpp"

#include <cstdint>

namespace semcache::detail {
namespace {

constexpr unsigned char kMarker = 0xB2;
constexpr unsigned char kLayout1Marker = 0xB1;
constexpr std::size_t kHitsBytes = 8;
static_assert(kStrayCountBytes == 1 + kHitsBytes);

void append_u32(std::string& out, std::size_t value) {
  const char bytes[4] = {static_cast<char>(value & 0xff), static_cast<char>((value >> 8) & 0xff),
                         static_cast<char>((value >> 16) & 0xff), static_cast<char>((value >> 24) & 0xff)};
  out.append(bytes, 4);
}

bool read_u32(std::string_view& in, std::uint32_t& out) {
  if (in.size() < 4) return false;
  out = 0;
  for (int i = 3; i >= 0; --i) out = (out << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  in.remove_prefix(4);
  return true;
}

bool read_bytes(std::string_view& in, std::string& out) {
  std::uint32_t size = 0;
  if (!read_u32(in, size) || in.size() < size) return false;
  out.assign(in.substr(0, size));
  in.remove_prefix(size);
  return true;
}

}  // namespace

void encode_record(const Record& record, std::string& out, std::int64_t hits) {
  std::size_t size = 1 + kHitsBytes + 4;
  for (const auto& [field, value] : record) size += 8 + field.size() + value.size();
  out.clear();
  out.reserve(size);
  out.push_back(static_cast<char>(kMarker));
  const auto count = static_cast<std::uint64_t>(hits);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((count >> shift) & 0xff));
  append_u32(out, record.size());
  for (const auto& [field, value] : record) {
    append_u32(out, field.size());
    out.append(field);
    append_u32(out, value.size());
    out.append(value);
  }
}

std::optional<StoredValue> decode_record(std::string_view bytes) {
  if (bytes.empty()) return std::nullopt;
  const auto marker = static_cast<unsigned char>(bytes[0]);
  if (marker == kLayout1Marker || (marker == 0 && bytes.size() == kStrayCountBytes)) return StoredValue{};
  if (marker != kMarker || bytes.size() < 1 + kHitsBytes) return std::nullopt;
  std::uint64_t count = 0;
  for (std::size_t i = 1; i <= kHitsBytes; ++i) count = (count << 8) | static_cast<unsigned char>(bytes[i]);
  bytes.remove_prefix(1 + kHitsBytes);
  std::uint32_t fields = 0;
  // Each field takes at least 8 bytes: a count beyond that is corrupt, not a reason to allocate.
  if (!read_u32(bytes, fields) || fields > bytes.size() / 8) return std::nullopt;
  StoredValue value{Record(fields), static_cast<std::int64_t>(count)};
  for (auto& [field, field_value] : *value.record) {
    if (!read_bytes(bytes, field) || !read_bytes(bytes, field_value)) return std::nullopt;
  }
  if (!bytes.empty()) return std::nullopt;
  return value;
}

}  // namespace semcache::detail
