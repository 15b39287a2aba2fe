#pragma once
// Namespace snapshots: a namespace's vector set published to the Store (chunked records plus a
// manifest), so that a new process loads it and replays the change log from the position it
// covers instead of rebuilding the set from every entry. See namespace_snapshot.cpp for the
// layout, the publishing order and what makes a snapshot refused.
//
// Only the Store interface is used (records and logs), so it works on every store; all keys
// share the namespace's hash tag "{NAME:MODEL}" and live on one Redis Cluster slot.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cache/entry_record.hpp"
#include "cache/namespace_index.hpp"
#include "semcache/status.hpp"
#include "semcache/store.hpp"
#include "semcache/vector_set.hpp"

namespace semcache::detail {

inline constexpr std::uint32_t kSnapshotFormat = 1;
inline constexpr std::size_t kSnapshotChunkBytes = std::size_t{1} << 20;  // see namespace_snapshot.cpp

// The manifest record of one snapshot (NamespaceKeys::snapshot_key holds the newest).
struct SnapshotManifest {
  std::uint32_t format = kSnapshotFormat;
  std::uint64_t sequence = 0;      // 1 + the sequence of the manifest it replaced
  std::string id;                  // "SEQUENCE-TOKEN" (TOKEN: 16 random hex digits): names its chunks
  std::string log_id;              // the change-log position the set covers: replay after it
  std::uint64_t chunks = 0;
  std::uint64_t chunk_bytes = 0;   // every chunk but the last holds exactly this many bytes
  std::uint64_t total_bytes = 0;
  std::uint64_t checksum = 0;      // Checksum64 of the whole payload (the VectorSet snapshot bytes)
  std::string identity;            // VectorContext::identity of the vectors
  std::size_t dim = 0;
  Metric metric = Metric::kCosine;
  Quantization quantization = Quantization::kInt8;
  std::size_t m = 0;
  std::size_t ef_construction = 0;
  std::uint64_t elements = 0;      // vectors in the set
  std::int64_t created_ms = 0;     // Unix epoch milliseconds
};

// The public view of a manifest (cache.hpp).
SnapshotInfo to_snapshot_info(std::string model, const SnapshotManifest& manifest);

// The key of chunk `index` of snapshot `id`.
std::string snapshot_chunk_key(const NamespaceKeys& keys, std::string_view id, std::uint64_t index);

// The newest manifest; nullopt when the namespace has none; corrupt when it is malformed.
Expected<std::optional<SnapshotManifest>> read_snapshot_manifest(Store& store, const NamespaceKeys& keys);

struct PublishResult {
  SnapshotManifest manifest;
  std::uint64_t removed_chunks = 0;  // chunks of older snapshots deleted
};

// Publishes `payload` (VectorSet::save_to_memory() of a set that reflects every change-log
// event up to `log_id`): chunks first, the manifest last, then deletes the chunks of snapshots
// older than the one it replaced (the newest two stay).
Expected<PublishResult> publish_snapshot(Store& store, const NamespaceKeys& keys, const VectorContext& context,
                                         std::string_view payload, std::string_view log_id, std::uint64_t elements,
                                         std::size_t chunk_bytes = kSnapshotChunkBytes);

struct LoadedSnapshot {
  std::unique_ptr<VectorSet> set;
  SnapshotManifest manifest;
};

// Loads the newest snapshot. not_found: there is none. corrupt, with the reason: refused (a
// malformed manifest, another format, identity or options, a missing or resized chunk, a
// checksum mismatch, a payload VectorSet refuses, or stale: the log no longer holds every
// event after the covered position). Store failures pass through as they are.
Expected<LoadedSnapshot> load_snapshot(Store& store, const NamespaceKeys& keys, const VectorContext& context);

// "ms-seq" change-log ids in numeric order; nullopt when `id` is not of that form.
std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_log_id(std::string_view id);

}  // namespace semcache::detail
