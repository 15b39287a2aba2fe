#pragma once
// How the Redis store keeps a record: one string value holding every field (so a write is one
// SET, atomic and complete, and a read one GET), beside a counter key for its hit count.
//
// Value layout (version 1), all integers little-endian:
//   byte 0        0xB1 (marks a record and its layout version)
//   u32           number of fields
//   per field     u32 name length, name bytes, u32 value length, value bytes
// decode_record() checks every length against the bytes left and rejects trailing bytes, so a
// value some other program put under the key is refused, never misread.

#include <optional>
#include <string>
#include <string_view>

#include "semcache/store.hpp"

namespace semcache::detail {

// Replaces `out` with the encoding (reusing its capacity).
void encode_record(const Record& record, std::string& out);
// nullopt: the bytes are not a record of this layout.
std::optional<Record> decode_record(std::string_view bytes);

// The key of a record's counter: "{KEY}#n". The braces make KEY the Redis Cluster hash tag, so
// a counter lives on the slot of its record (for keys without braces of their own), and a
// counter never starts with the record keys' prefix, so prefix scans do not see it.
std::string counter_key(std::string_view key);

}  // namespace semcache::detail
