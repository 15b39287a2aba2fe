#pragma once
// The state behind semcache::VectorSet, shared by vector_set.cpp (the API) and snapshot.cpp.

#include <cstdint>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "semcache/vector_set.hpp"
#include "vector/chunked_array.hpp"
#include "vector/hnsw.hpp"
#include "vector/vector_codec.hpp"

namespace semcache::detail {

struct StringHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What the set knows of a slot beyond its vector. Written before the slot goes live.
struct SlotRecord {
  std::string id;
  std::string attributes;  // minified JSON object, or empty
};

class VectorSetImpl {
 public:
  explicit VectorSetImpl(const VectorSetOptions& set_options)
      : options(set_options),
        codec(set_options.dim, set_options.metric, set_options.quantization),
        graph(codec, set_options.m, set_options.ef_construction, set_options.seed) {}

  VectorSetOptions options;
  VectorCodec codec;
  Hnsw graph;
  ChunkedArray<SlotRecord> records;

  // rw_mutex: shared for searches and inserts, exclusive for remove / set_attributes / save.
  mutable std::shared_mutex rw_mutex;
  // id_mutex guards ids, free_slots and next_slot (the id -> slot map).
  mutable std::shared_mutex id_mutex;
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> ids;
  std::vector<std::uint32_t> free_slots;
  std::uint32_t next_slot = 0;
};

// Snapshots (snapshot.cpp): one serializer and one parser over bytes; the file form wraps them.
// `name` (a path, or what the caller calls the buffer) starts every error message.
std::string serialize_snapshot(const VectorSetImpl& set);
Expected<std::unique_ptr<VectorSetImpl>> parse_snapshot(std::string_view bytes, const std::string& name);
Status save_snapshot(const VectorSetImpl& set, const std::string& path);
Expected<std::unique_ptr<VectorSetImpl>> load_snapshot(const std::string& path);

}  // namespace semcache::detail
