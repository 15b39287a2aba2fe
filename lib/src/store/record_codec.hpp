#pragma once
// How the Redis stores keep a record: one string value holding its hit count and every field,
// so a write is one SET (atomic and complete, the count back at 0), a read one GET of a single
// key, and counting a hit one BITFIELD INCRBY that changes 8 bytes of the value in place.
//
// Value layout (version 2):
//   byte 0        0xB2 (marks a record and its layout version)
//   bytes 1-8     the hit count, a signed 64-bit big-endian integer: the i64 at bit offset 8
//                 that `BITFIELD KEY INCRBY i64 8 N` adds to
//   u32           number of fields (integers below little-endian)
//   per field     u32 name length, name bytes, u32 value length, value bytes
// decode_record() checks every length against the bytes left and rejects trailing bytes, so a
// value some other program put under the key is refused, never misread. Two kinds of value read
// as no record instead (the next write replaces them):
//   - a stray count: the 9 bytes (0x00, then the count) that BITFIELD leaves when it increments
//     a key whose record has gone (expired or deleted after the read that found the hit);
//   - a value of layout 1 (byte 0 0xB1; its count was a key of its own), written by earlier
//     versions.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "semcache/store.hpp"

namespace semcache::detail {

// BITFIELD's operands for the hit count: INCRBY kHitsType kHitsOffset N.
inline constexpr std::string_view kHitsType = "i64";
inline constexpr std::string_view kHitsOffset = "8";
// The size of a stray count; every record is longer.
inline constexpr std::size_t kStrayCountBytes = 9;

// A record key's value, decoded.
struct StoredValue {
  std::optional<Record> record;  // nullopt: a stray count or a layout-1 value (no record)
  std::int64_t hits = 0;         // the record's hit count
};

// Replaces `out` with the encoding of `record` with hit count `hits` (reusing its capacity).
void encode_record(const Record& record, std::string& out, std::int64_t hits = 0);
// nullopt: the bytes are nothing semcache wrote.
std::optional<StoredValue> decode_record(std::string_view bytes);

}  // namespace semcache::detail
