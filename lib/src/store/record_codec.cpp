// Record <-> one Redis string value; see record_codec.hpp for the layout.

#include "store/record_codec.hpp"

#include <cstdint>

namespace semcache::detail {
namespace {

constexpr unsigned char kMarker = 0xB1;

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

void encode_record(const Record& record, std::string& out) {
  std::size_t size = 5;
  for (const auto& [field, value] : record) size += 8 + field.size() + value.size();
  out.clear();
  out.reserve(size);
  out.push_back(static_cast<char>(kMarker));
  append_u32(out, record.size());
  for (const auto& [field, value] : record) {
    append_u32(out, field.size());
    out.append(field);
    append_u32(out, value.size());
    out.append(value);
  }
}

std::optional<Record> decode_record(std::string_view bytes) {
  if (bytes.empty() || static_cast<unsigned char>(bytes[0]) != kMarker) return std::nullopt;
  bytes.remove_prefix(1);
  std::uint32_t count = 0;
  // Each field takes at least 8 bytes: a count beyond that is corrupt, not a reason to allocate.
  if (!read_u32(bytes, count) || count > bytes.size() / 8) return std::nullopt;
  Record record(count);
  for (auto& [field, value] : record) {
    if (!read_bytes(bytes, field) || !read_bytes(bytes, value)) return std::nullopt;
  }
  if (!bytes.empty()) return std::nullopt;
  return record;
}

std::string counter_key(std::string_view key) {
  std::string out;
  out.reserve(key.size() + 4);
  out.push_back('{');
  out.append(key);
  out.append("}#n");
  return out;
}

}  // namespace semcache::detail
