#pragma once
// The HNSW graph over slots (dense uint32 indices). It knows nothing of ids, attributes or
// commands: the vector set above it maps ids to slots and decides which slots a search may return.
// See hnsw.cpp for the design, the memory layout and the locking model.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <vector>

#include "vector/chunked_array.hpp"
#include "vector/vector_codec.hpp"

namespace semcache::detail {

inline constexpr std::uint32_t kNoSlot = 0xffffffffu;

struct Neighbor {
  float distance;
  std::uint32_t slot;
  friend bool operator<(const Neighbor& a, const Neighbor& b) { return a.distance < b.distance; }
};

struct SearchCounters {
  std::uint64_t distances = 0;
  std::uint64_t visited = 0;
};

// Decides whether a slot may appear in the results of a filtered search.
struct SlotFilter {
  bool (*allow)(const void* context, std::uint32_t slot) = nullptr;
  const void* context = nullptr;
  std::size_t max_visits = 0;  // stop exploring after this many nodes (0 = no limit)
};

class Hnsw {
 public:
  static constexpr int kMaxLevel = 15;

  Hnsw(const VectorCodec& codec, std::size_t m, std::size_t ef_construction, std::uint64_t seed);
  ~Hnsw();
  Hnsw(const Hnsw&) = delete;
  Hnsw& operator=(const Hnsw&) = delete;

  const VectorCodec& codec() const { return codec_; }
  std::size_t m() const { return m_; }
  std::size_t ef_construction() const { return ef_construction_; }

  // Writes the code of `vector` into `slot` and gives the slot a level (from the seed and a
  // sequence number), without linking it. False when memory runs out.
  bool prepare(std::uint32_t slot, const float* vector);
  // Links a prepared slot into the graph. Many threads may insert at once, and searches run
  // meanwhile; see the locking model in hnsw.cpp.
  void insert(std::uint32_t slot);

  // The k closest live slots to an encoded query, closest first. With a filter, only allowed
  // slots are returned; `out` may then hold fewer than k when the visit budget ran out.
  void search(const std::byte* query_code, std::size_t k, std::size_t ef, const SlotFilter* filter,
              std::vector<Neighbor>& out, SearchCounters& counters) const;

  // Removes slots and re-links every node that pointed to one of them, in one pass over the
  // graph. The caller must hold the set exclusively (no concurrent search or insert).
  void remove(const std::vector<std::uint32_t>& slots);

  bool is_live(std::uint32_t slot) const;
  int level_of(std::uint32_t slot) const;
  const std::byte* code(std::uint32_t slot) const;
  // One past the highest slot ever prepared.
  std::uint32_t slot_end() const { return slot_end_.load(std::memory_order_acquire); }
  std::uint32_t entry_point() const { return entry_.load(std::memory_order_acquire); }
  std::size_t memory_bytes() const;

  // Raw access for snapshots (the caller holds the set exclusively or is building it alone).
  struct NodeView {
    int level;
    bool live;
    std::vector<std::vector<std::uint32_t>> links;  // links[l] for l = 0..level
  };
  NodeView node_view(std::uint32_t slot) const;
  // Restores one node exactly (code bytes, level, links) while loading a snapshot.
  bool restore_node(std::uint32_t slot, const std::byte* code, int level, bool live,
                    const std::vector<std::vector<std::uint32_t>>& links);
  void restore_entry(std::uint32_t entry, std::uint64_t sequence);
  std::uint64_t sequence() const { return sequence_.load(std::memory_order_relaxed); }
  std::size_t max_links(int level) const { return level == 0 ? m0_ : m_; }

 private:
  // Level-0 block header: [u32 count][u32 level | live bit][u64 upper-links pointer].
  static constexpr std::size_t kHeaderBytes = 16;
  static constexpr std::uint32_t kLiveBit = 0x100;

  std::byte* block(std::uint32_t slot) const { return blocks_.at(slot); }
  std::uint32_t* link_list(std::uint32_t slot, int level) const;  // [count][ids...]
  std::byte* code_ptr(std::uint32_t slot) const { return block(slot) + code_offset_; }
  int random_level();

  std::uint32_t greedy_descend(const std::byte* query, std::uint32_t entry, int from_level, int to_level,
                               SearchCounters& counters) const;
  void search_layer(const std::byte* query, std::uint32_t entry, int level, std::size_t ef,
                    const SlotFilter* filter, std::vector<Neighbor>& results, SearchCounters& counters) const;
  void select_neighbors(std::vector<Neighbor>& candidates, std::size_t max_count) const;
  void set_links(std::uint32_t slot, int level, const std::vector<Neighbor>& neighbors);
  void connect(std::uint32_t from, std::uint32_t to, float distance, int level);
  std::mutex& link_lock(std::uint32_t slot) const { return link_locks_[slot & (kLinkLocks - 1)]; }

  const VectorCodec& codec_;
  std::size_t m_;
  std::size_t m0_;
  std::size_t ef_construction_;
  std::uint64_t seed_;
  double level_multiplier_;
  std::size_t code_offset_;

  ChunkedBytes blocks_;
  std::atomic<std::uint32_t> slot_end_{0};
  std::atomic<std::uint32_t> entry_{kNoSlot};
  std::atomic<std::uint64_t> sequence_{0};
  std::mutex entry_mutex_;

  static constexpr std::size_t kLinkLocks = 4096;
  mutable std::unique_ptr<std::mutex[]> link_locks_;
};

}  // namespace semcache::detail
