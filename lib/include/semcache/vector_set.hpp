#pragma once
// A vector set: string ids -> vectors (int8 by default) + JSON attributes, searched by HNSW.
//
// In the spirit of Redis 8 vector sets (VADD / VREM / VSIM / VSETATTR / VEMB). Thread model:
//   - search(), get_vector(), attributes(), contains(), size() run concurrently with each other
//     and with add()/add_batch() (several writers may insert at once: that is the parallel build);
//   - remove(), set_attributes() and save() take the set exclusively: they wait for running
//     searches and inserts, and block new ones until done; so does add() of an existing id
//     (briefly when the vector is the one it holds, else it is a remove() and an insert).
// Nothing here prints or exits; every fallible call returns a Status or Expected.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/filter.hpp"
#include "semcache/metric.hpp"
#include "semcache/status.hpp"

namespace semcache {

namespace detail {
class VectorSetImpl;
}

struct VectorSetOptions {
  std::size_t dim = 0;                            // required, 1..65536
  Metric metric = Metric::kCosine;
  Quantization quantization = Quantization::kInt8;
  std::size_t m = 16;                             // links per node on upper layers; 2*m on layer 0
  std::size_t ef_construction = 200;              // candidate list size while inserting
  std::uint64_t seed = 1;                         // seeds the level of each inserted node
};

struct SearchOptions {
  std::size_t k = 10;
  std::size_t ef = 0;                // candidate list size; 0 -> max(k, 64); raised to k when smaller
  const Filter* filter = nullptr;    // only elements whose attributes match are returned
  std::string_view id_prefix;        // only elements whose id starts with this (a hard pre-filter
                                     // that costs a byte compare, not a JSON read: the cache
                                     // puts the tenant in the id); combines with `filter`
  std::size_t filter_effort = 0;     // with a filter: nodes to visit before falling back to a scan;
                                     // 0 -> 100 * ef
  bool rerank = true;                // int8: re-score the final ef candidates against the
                                     // unquantised query (see README, "int8 and re-ranking")
};

struct SearchHit {
  std::string id;
  float distance = 0;  // smaller is closer (see Metric)
};

// Work done by one search, so benchmarks explain themselves.
struct SearchStats {
  std::uint64_t distances_computed = 0;
  std::uint64_t nodes_visited = 0;
  bool used_exact_scan = false;  // a filtered search that fell back to a brute-force scan
};

struct BuildProgress {
  std::size_t done = 0;
  std::size_t total = 0;
};

class VectorSet {
 public:
  static Expected<std::unique_ptr<VectorSet>> create(const VectorSetOptions& options);
  ~VectorSet();
  VectorSet(const VectorSet&) = delete;
  VectorSet& operator=(const VectorSet&) = delete;

  // Inserts an element, or replaces the vector and attributes of an existing id (a vector that
  // quantises to the code the element holds leaves the graph as it is: only the attributes
  // change). Returns true when the id is new. The vector must have dim() finite components;
  // attributes must be a JSON object text or empty.
  Expected<bool> add(std::string_view id, std::span<const float> vector, std::string_view attributes_json = {});

  // Inserts rows [0, count) of a row-major float matrix with `threads` threads.
  // ids[i] names row i; attributes may be empty (no attributes) or hold one entry per row.
  // Fails before inserting anything when an id repeats or a row is invalid.
  Status add_batch(std::span<const std::string> ids, std::span<const float> rows,
                   std::span<const std::string> attributes, std::size_t threads,
                   const std::function<void(const BuildProgress&)>& progress = {});

  // Removes an element and repairs the graph around it (its in-neighbours are re-linked).
  // Returns false when the id was not present.
  bool remove(std::string_view id);
  // Removes many elements with one repair pass over the graph; returns how many were present.
  std::size_t remove_batch(std::span<const std::string> ids);

  Status set_attributes(std::string_view id, std::string_view attributes_json);
  Expected<std::string> attributes(std::string_view id) const;
  // The stored vector, dequantised (normalised for the cosine metric).
  Expected<std::vector<float>> get_vector(std::string_view id) const;
  bool contains(std::string_view id) const;

  // The k nearest elements to `query` (dim() components), closest first.
  Expected<std::vector<SearchHit>> search(std::span<const float> query, const SearchOptions& options,
                                          SearchStats* stats = nullptr) const;
  // The same by brute force over every element (the oracle for tests and ground truth).
  Expected<std::vector<SearchHit>> exact_search(std::span<const float> query, std::size_t k,
                                                const Filter* filter = nullptr) const;

  std::size_t size() const;
  std::size_t dim() const;
  const VectorSetOptions& options() const;
  // Bytes held for vectors and graph (level-0 blocks, upper-layer links), ids and attributes.
  std::size_t memory_bytes() const;

  // Snapshots: a versioned, checksummed file. load() refuses a truncated or corrupt file with a
  // message that says what is wrong. save() followed by load() and save() gives identical bytes.
  Status save(const std::string& path) const;
  static Expected<std::unique_ptr<VectorSet>> load(const std::string& path);
  // The same snapshot as bytes in memory (what save() writes to the file), and back. `name`
  // starts load_from_memory()'s error messages ("snapshot of NAMESPACE: corrupt ...").
  std::string save_to_memory() const;
  static Expected<std::unique_ptr<VectorSet>> load_from_memory(std::string_view bytes,
                                                               const std::string& name = "snapshot");

 private:
  explicit VectorSet(std::unique_ptr<detail::VectorSetImpl> impl);
  std::unique_ptr<detail::VectorSetImpl> impl_;
};

}  // namespace semcache
