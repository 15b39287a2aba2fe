#pragma once
// How the cache lays its data out in a Store: key building, CacheEntry <-> Record fields, the
// vector bytes and the change-log event encoding. Everything that another process must read
// back byte for byte lives here, in one place (see entry_record.cpp for the formats).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/cache.hpp"
#include "semcache/status.hpp"
#include "semcache/store.hpp"

namespace semcache::detail {

// Percent-encodes '%', ':', '{' and '}' (as %25, %3A, %7B, %7D) so a name or model never
// splits a key or opens a hash tag; percent_decode() is its inverse (nullopt: malformed).
std::string percent_encode(std::string_view text);
std::optional<std::string> percent_decode(std::string_view text);

// The keys of one namespace (options.name + model).
struct NamespaceKeys {
  std::string model;         // as given
  std::string key;           // "NAME:MODEL", both encoded (NamespaceStats::key)
  std::string entry_prefix;  // "PREFIX:NAME:MODEL:e:"; an entry key is entry_prefix + entry id
  std::string log_key;       // "PREFIX:{NAME:MODEL}:log"
  std::string snapshot_key;  // "PREFIX:{NAME:MODEL}:snap", the newest snapshot's manifest; its
                             // chunks are snapshot_key + ":SNAPSHOTID:INDEX" (namespace_snapshot.hpp)
};
NamespaceKeys namespace_keys(std::string_view prefix, std::string_view name, std::string_view model);
// "PREFIX:NAME:": the prefix of every entry of every model of this name.
std::string name_prefix(std::string_view prefix, std::string_view name);

// 16 hex digits of the tenant's hash.
std::string tenant_hex(std::string_view tenant);
// An entry's id inside its namespace: "TENANT16HEX:ID32HEX", ID = hash(tenant, canonical).
// It is also the entry's id in the namespace's vector set.
std::string entry_id(std::string_view tenant, std::string_view canonical);
inline constexpr std::size_t kEntryIdSize = 16 + 1 + 32;
// Appends entry_id(tenant, canonical) to `out` (a key being built) without temporaries.
void append_entry_id(std::string& out, std::string_view tenant, std::string_view canonical);
// The id prefix shared by one tenant's entries, "TENANT16HEX:": the hard pre-filter of a
// semantic search (SearchOptions::id_prefix, a byte compare per visited node).
std::string tenant_id_prefix(std::string_view tenant_hex_digits);
// Record fields (short names keep records small):
//   q canonical  x text  r response  m model  t tenant  c created ms  a attributes
//   v vector (dim float32, little-endian)  e embedder / vector identity
// The hit count is the record's store counter (CounterIncrement), not a field.
namespace field {
inline constexpr std::string_view kCanonical = "q";
inline constexpr std::string_view kText = "x";
inline constexpr std::string_view kResponse = "r";
inline constexpr std::string_view kModel = "m";
inline constexpr std::string_view kTenant = "t";
inline constexpr std::string_view kCreated = "c";
inline constexpr std::string_view kAttributes = "a";
inline constexpr std::string_view kVector = "v";
inline constexpr std::string_view kIdentity = "e";
}  // namespace field

// The record of a new entry. `vector` empty: an exact-only entry (no v, no e).
Record make_entry_record(const CacheRequest& request, std::string_view response, std::string_view attributes_json,
                         std::int64_t created_ms, std::span<const float> vector, std::string_view identity);
// The entry held by a record with its store counter (the hits); nullopt when a required field
// is missing or malformed.
std::optional<CacheEntry> entry_from_record(std::string_view key, const Record& record, std::int64_t hits);
// True when the record answers exactly this tenant and model (and, for exact hits, canonical).
bool record_matches(const Record& record, std::string_view tenant, std::string_view model);
bool record_matches_exactly(const Record& record, const CacheRequest& request);

// Vectors as bytes: dim float32 values, little-endian on every machine.
std::string encode_vector(std::span<const float> vector);
// nullopt when the byte count is not dim * 4.
std::optional<std::vector<float>> decode_vector(std::string_view bytes, std::size_t dim);

// Change-log events.
enum class EventKind : std::uint8_t { kAdd = 1, kDel = 2, kDrop = 3 };
struct ChangeEvent {
  EventKind kind = EventKind::kAdd;
  std::uint64_t writer = 0;         // the Cache that appended it (its own events are skipped)
  std::vector<std::string> ids;     // add: one id; del: the ids; drop: none
  std::string identity;             // add: the vector's identity
  std::string vector_bytes;         // add: encode_vector() of the vector, or empty: the vector
                                    // is field v of the entry's record (what store() writes)
};
std::string encode_event(const ChangeEvent& event);
// bad_input naming what is wrong when the payload is not an event this version wrote.
Expected<ChangeEvent> decode_event(std::string_view payload);

}  // namespace semcache::detail
