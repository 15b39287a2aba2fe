// HNSW (Malkov & Yashunin) over vector codes.
//
// Memory layout. Every slot owns one fixed-size level-0 block in a ChunkedBytes array:
//
//   [u32 level | live bit][u32 unused][u64 pointer to upper-layer links]
//   [u32 count][u32 neighbour x 2M]            <- layer-0 links
//   [code bytes]                               <- the vector, see vector_codec.hpp
//
// so expanding a node touches its links and then the codes of its neighbours, and nothing else.
// Nodes above layer 0 (about 1/M of them) get one heap array with, for each layer l >= 1,
// [u32 count][u32 neighbour x M]. Blocks never move (ChunkedBytes), so a search never needs a
// lock to read them.
//
// Locking model.
//   - Link lists are written under a striped mutex (link_lock(slot)); a writer holds at most one
//     stripe at a time, so stripes cannot deadlock.
//   - Readers take no lock. Every neighbour id and every count is read with an acquire load and
//     written with a release store (plain moves on x86). A node's code, level and upper-links
//     pointer are written in prepare(), before any other node links to it, so a reader that
//     sees an id also sees a complete node. A reader may see a list halfway through a rewrite;
//     every id in it is still a complete node, so that costs at most a little recall.
//   - The entry point is an atomic; an insert that raises the top level holds entry_mutex_ for
//     its whole insertion (as hnswlib does), so two new top nodes cannot race.
//   - remove() rewrites lists and frees slots, so it needs the whole graph to itself: the
//     vector set calls it under its exclusive lock. Deletion is true deletion: every node that
//     pointed to a removed slot is re-linked from its remaining neighbours and the removed
//     node's neighbours (the Redis vector-set approach), then the slot is cleared for reuse.
//     Finding the in-neighbours costs one scan of the link lists; remove() takes many slots at
//     once so a bulk delete pays for that scan once. (Rejected: back-link lists, which double
//     the graph's memory to speed up a rare operation; tombstones, which leave dead nodes in
//     every search path and need a later compaction anyway.)
// A concurrent insert may lose one of its back links when another insert rewrites the same
// list at the same moment; that is a recall cost, never a dangling id.

#include "vector/hnsw.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include <immintrin.h>

namespace semcache::detail {
namespace {

std::uint32_t load_acquire(const std::uint32_t* p) {
  return std::atomic_ref<const std::uint32_t>(*p).load(std::memory_order_acquire);
}

void store_release(std::uint32_t* p, std::uint32_t value) {
  std::atomic_ref<std::uint32_t>(*p).store(value, std::memory_order_release);
}

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

// Per-thread "visited" marks: one 16-bit tag per slot; a new search bumps the epoch instead of
// clearing the array.
struct VisitedTags {
  std::vector<std::uint16_t> tags;
  std::uint16_t epoch = 0;

  void begin(std::size_t slots) {
    if (tags.size() < slots) tags.resize(slots + slots / 4 + 1024, 0);
    if (++epoch == 0) {
      std::fill(tags.begin(), tags.end(), 0);
      epoch = 1;
    }
  }
  // True the first time a slot is seen in this search.
  bool visit(std::uint32_t slot) {
    if (slot >= tags.size()) tags.resize(slot + slot / 4 + 1024, 0);
    if (tags[slot] == epoch) return false;
    tags[slot] = epoch;
    return true;
  }
};

struct SearchScratch {
  VisitedTags visited;
  std::vector<Neighbor> candidates;  // min-heap (closest on top)
  std::vector<std::uint32_t> batch;
};

// Not inlined on purpose: in a shared library every thread_local access goes through
// __tls_get_addr, and GCC repeats that call inside loops that touch the object. Behind a call
// the scratch is a plain pointer, computed once per search.
[[gnu::noinline]] SearchScratch* scratch() {
  thread_local SearchScratch instance;
  return &instance;
}

struct Farther {
  bool operator()(const Neighbor& a, const Neighbor& b) const { return a.distance > b.distance; }
};

void prefetch(const void* p) { _mm_prefetch(static_cast<const char*>(p), _MM_HINT_T0); }

}  // namespace

Hnsw::Hnsw(const VectorCodec& codec, std::size_t m, std::size_t ef_construction, std::uint64_t seed)
    : codec_(codec),
      m_(m),
      m0_(2 * m),
      ef_construction_(ef_construction),
      seed_(seed),
      level_multiplier_(1.0 / std::log(static_cast<double>(std::max<std::size_t>(m, 2)))),
      code_offset_(kHeaderBytes + sizeof(std::uint32_t) * (1 + 2 * m)),
      blocks_((kHeaderBytes + sizeof(std::uint32_t) * (1 + 2 * m) + codec.code_bytes() + 7) / 8 * 8),
      link_locks_(new std::mutex[kLinkLocks]) {}

Hnsw::~Hnsw() {
  const std::uint32_t end = slot_end();
  for (std::uint32_t s = 0; s < end; ++s) {
    void* upper = nullptr;
    std::memcpy(&upper, block(s) + 8, sizeof upper);
    std::free(upper);
  }
}

std::uint32_t* Hnsw::link_list(std::uint32_t slot, int level) const {
  std::byte* b = block(slot);
  if (level == 0) return reinterpret_cast<std::uint32_t*>(b + kHeaderBytes);
  std::uint32_t* upper = nullptr;
  std::memcpy(&upper, b + 8, sizeof upper);
  return upper + static_cast<std::size_t>(level - 1) * (m_ + 1);
}

bool Hnsw::is_live(std::uint32_t slot) const {
  if (slot >= slot_end()) return false;
  return (load_acquire(reinterpret_cast<const std::uint32_t*>(block(slot))) & kLiveBit) != 0;
}

int Hnsw::level_of(std::uint32_t slot) const {
  return static_cast<int>(load_acquire(reinterpret_cast<const std::uint32_t*>(block(slot))) & 0xff);
}

const std::byte* Hnsw::code(std::uint32_t slot) const { return code_ptr(slot); }

int Hnsw::random_level() {
  const std::uint64_t r = splitmix64(seed_ ^ splitmix64(sequence_.fetch_add(1, std::memory_order_relaxed)));
  const double u = (static_cast<double>(r >> 11) + 0.5) * (1.0 / 9007199254740992.0);
  const double level = -std::log(u) * level_multiplier_;
  return static_cast<int>(std::min<double>(level, kMaxLevel));
}

bool Hnsw::prepare(std::uint32_t slot, const float* vector) {
  if (!blocks_.ensure(slot)) return false;
  std::byte* b = block(slot);
  const int level = random_level();
  std::uint32_t* upper = nullptr;
  if (level > 0) {
    upper = static_cast<std::uint32_t*>(std::calloc(static_cast<std::size_t>(level) * (m_ + 1), sizeof(std::uint32_t)));
    if (upper == nullptr) return false;
  }
  std::memcpy(b + 8, &upper, sizeof upper);
  store_release(reinterpret_cast<std::uint32_t*>(b + kHeaderBytes), 0);
  codec_.encode(vector, code_ptr(slot));
  store_release(reinterpret_cast<std::uint32_t*>(b), static_cast<std::uint32_t>(level) | kLiveBit);
  std::uint32_t end = slot_end_.load(std::memory_order_relaxed);
  while (end <= slot && !slot_end_.compare_exchange_weak(end, slot + 1, std::memory_order_release)) {
  }
  return true;
}

std::uint32_t Hnsw::greedy_descend(const std::byte* query, std::uint32_t entry, int from_level, int to_level,
                                   SearchCounters& counters) const {
  std::uint32_t current = entry;
  float current_distance = codec_.distance(query, code_ptr(current));
  ++counters.distances;
  for (int level = from_level; level > to_level; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const std::uint32_t* list = link_list(current, level);
      const std::uint32_t count = load_acquire(list);
      ++counters.visited;
      for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t candidate = load_acquire(list + 1 + i);
        const float d = codec_.distance(query, code_ptr(candidate));
        ++counters.distances;
        if (d < current_distance) {
          current_distance = d;
          current = candidate;
          changed = true;
        }
      }
    }
  }
  return current;
}

void Hnsw::search_layer(const std::byte* query, std::uint32_t entry, int level, std::size_t ef,
                        const SlotFilter* filter, std::vector<Neighbor>& results, SearchCounters& counters) const {
  SearchScratch& s = *scratch();
  s.visited.begin(slot_end());
  s.candidates.clear();
  results.clear();  // a max-heap (farthest on top) of at most ef allowed slots
  auto allowed = [filter](std::uint32_t slot) { return filter == nullptr || filter->allow(filter->context, slot); };
  const std::size_t max_visits = filter != nullptr && filter->max_visits > 0 ? filter->max_visits
                                                                            : std::numeric_limits<std::size_t>::max();

  const float entry_distance = codec_.distance(query, code_ptr(entry));
  ++counters.distances;
  s.visited.visit(entry);
  s.candidates.push_back({entry_distance, entry});
  if (allowed(entry)) results.push_back({entry_distance, entry});
  float bound = results.empty() ? std::numeric_limits<float>::infinity() : entry_distance;

  std::size_t visits = 0;
  while (!s.candidates.empty()) {
    const Neighbor current = s.candidates.front();
    if (current.distance > bound && results.size() >= ef) break;
    if (++visits > max_visits) break;
    std::pop_heap(s.candidates.begin(), s.candidates.end(), Farther{});
    s.candidates.pop_back();
    // The next candidate's links are read after this one's neighbours: start loading them now.
    if (!s.candidates.empty()) prefetch(link_list(s.candidates.front().slot, level));

    const std::uint32_t* list = link_list(current.slot, level);
    const std::uint32_t count = load_acquire(list);
    s.batch.clear();
    for (std::uint32_t i = 0; i < count; ++i) {
      const std::uint32_t neighbor = load_acquire(list + 1 + i);
      if (s.visited.visit(neighbor)) {
        s.batch.push_back(neighbor);
        const std::byte* code = code_ptr(neighbor);
        for (std::size_t offset = 0; offset < codec_.code_bytes(); offset += 64) prefetch(code + offset);
      }
    }
    for (std::size_t i = 0; i < s.batch.size(); ++i) {
      const std::uint32_t neighbor = s.batch[i];
      const float d = codec_.distance(query, code_ptr(neighbor));
      if (results.size() < ef || d < bound) {
        s.candidates.push_back({d, neighbor});
        std::push_heap(s.candidates.begin(), s.candidates.end(), Farther{});
        if (allowed(neighbor)) {
          results.push_back({d, neighbor});
          std::push_heap(results.begin(), results.end());
          if (results.size() > ef) {
            std::pop_heap(results.begin(), results.end());
            results.pop_back();
          }
          bound = results.front().distance;
        }
      }
    }
    counters.distances += s.batch.size();
  }
  counters.visited += visits;
  std::sort_heap(results.begin(), results.end());
}

void Hnsw::search(const std::byte* query_code, std::size_t k, std::size_t ef, const SlotFilter* filter,
                  std::vector<Neighbor>& out, SearchCounters& counters) const {
  out.clear();
  const std::uint32_t entry = entry_point();
  if (entry == kNoSlot) return;
  const std::uint32_t start = greedy_descend(query_code, entry, level_of(entry), 0, counters);
  search_layer(query_code, start, 0, std::max(ef, k), filter, out, counters);
  if (out.size() > k) out.resize(k);
}

void Hnsw::select_neighbors(std::vector<Neighbor>& candidates, std::size_t max_count) const {
  if (candidates.size() <= max_count) return;
  std::vector<Neighbor> selected;
  selected.reserve(max_count);
  for (const Neighbor& candidate : candidates) {
    if (selected.size() >= max_count) break;
    const std::byte* candidate_code = code_ptr(candidate.slot);
    bool keep = true;
    for (const Neighbor& chosen : selected) {
      if (codec_.distance(candidate_code, code_ptr(chosen.slot)) < candidate.distance) {
        keep = false;
        break;
      }
    }
    if (keep) selected.push_back(candidate);
  }
  candidates.swap(selected);
}

void Hnsw::set_links(std::uint32_t slot, int level, const std::vector<Neighbor>& neighbors) {
  std::lock_guard<std::mutex> guard(link_lock(slot));
  std::uint32_t* list = link_list(slot, level);
  const std::size_t count = std::min(neighbors.size(), max_links(level));
  for (std::size_t i = 0; i < count; ++i) store_release(list + 1 + i, neighbors[i].slot);
  store_release(list, static_cast<std::uint32_t>(count));
}

void Hnsw::connect(std::uint32_t from, std::uint32_t to, float distance, int level) {
  std::lock_guard<std::mutex> guard(link_lock(from));
  std::uint32_t* list = link_list(from, level);
  const std::uint32_t count = load_acquire(list);
  for (std::uint32_t i = 0; i < count; ++i) {
    if (load_acquire(list + 1 + i) == to) return;
  }
  const std::size_t limit = max_links(level);
  if (count < limit) {
    store_release(list + 1 + count, to);
    store_release(list, count + 1);
    return;
  }
  std::vector<Neighbor> candidates;
  candidates.reserve(count + 1);
  candidates.push_back({distance, to});
  const std::byte* from_code = code_ptr(from);
  for (std::uint32_t i = 0; i < count; ++i) {
    const std::uint32_t neighbor = load_acquire(list + 1 + i);
    candidates.push_back({codec_.distance(from_code, code_ptr(neighbor)), neighbor});
  }
  std::sort(candidates.begin(), candidates.end());
  select_neighbors(candidates, limit);
  for (std::size_t i = 0; i < candidates.size(); ++i) store_release(list + 1 + i, candidates[i].slot);
  store_release(list, static_cast<std::uint32_t>(candidates.size()));
}

void Hnsw::insert(std::uint32_t slot) {
  const int level = level_of(slot);
  std::unique_lock<std::mutex> top_guard(entry_mutex_);
  const std::uint32_t entry = entry_.load(std::memory_order_acquire);
  if (entry == kNoSlot) {
    entry_.store(slot, std::memory_order_release);
    return;
  }
  const int top_level = level_of(entry);
  if (level <= top_level) top_guard.unlock();

  SearchCounters counters;
  const std::byte* query = code_ptr(slot);
  std::uint32_t current = greedy_descend(query, entry, top_level, level, counters);
  // Choose the neighbours on every layer first (top-down, each layer's search starting from the
  // closest node of the layer above), then link bottom-up: a search that reaches the new node
  // on some layer must find its links on every layer below, or it would stop there with one
  // result.
  const int linked_top = std::min(level, top_level);
  std::vector<std::vector<Neighbor>> chosen(static_cast<std::size_t>(linked_top) + 1);
  for (int l = linked_top; l >= 0; --l) {
    std::vector<Neighbor>& found = chosen[static_cast<std::size_t>(l)];
    search_layer(query, current, l, ef_construction_, nullptr, found, counters);
    std::erase_if(found, [slot](const Neighbor& n) { return n.slot == slot; });
    if (found.empty()) continue;
    current = found.front().slot;
    select_neighbors(found, m_);
  }
  for (int l = 0; l <= linked_top; ++l) {
    const std::vector<Neighbor>& found = chosen[static_cast<std::size_t>(l)];
    set_links(slot, l, found);
    for (const Neighbor& neighbor : found) connect(neighbor.slot, slot, neighbor.distance, l);
  }
  if (level > top_level) entry_.store(slot, std::memory_order_release);
}

void Hnsw::remove(const std::vector<std::uint32_t>& slots) {
  for (std::uint32_t slot : slots) {
    auto* header = reinterpret_cast<std::uint32_t*>(block(slot));
    store_release(header, load_acquire(header) & ~kLiveBit);
  }
  const std::uint32_t end = slot_end();
  // Liveness of every slot, one byte each, read in one pass over the blocks: the scan below
  // asks it for every link of every node, and an is_live() call per link (an out-of-line call
  // reading another block's header) was half of the soak's time under eviction.
  std::vector<std::uint8_t> live(end);
  for (std::uint32_t node = 0; node < end; ++node) live[node] = is_live(node) ? 1 : 0;
  auto live_at = [&](std::uint32_t slot) { return slot < end && live[slot] != 0; };
  std::vector<std::uint32_t> gathered;
  std::vector<Neighbor> candidates;
  for (std::uint32_t node = 0; node < end; ++node) {
    if (!live[node]) continue;
    const int node_level = level_of(node);
    for (int l = 0; l <= node_level; ++l) {
      std::uint32_t* list = link_list(node, l);
      const std::uint32_t count = load_acquire(list);
      bool touched = false;
      for (std::uint32_t i = 0; i < count && !touched; ++i) touched = !live_at(list[1 + i]);
      if (!touched) continue;
      gathered.clear();
      for (std::uint32_t i = 0; i < count; ++i) {
        const std::uint32_t neighbor = list[1 + i];
        if (live_at(neighbor)) {
          gathered.push_back(neighbor);
          continue;
        }
        const std::uint32_t* removed_list = link_list(neighbor, l);
        const std::uint32_t removed_count = load_acquire(removed_list);
        for (std::uint32_t j = 0; j < removed_count; ++j) {
          const std::uint32_t second = removed_list[1 + j];
          if (second != node && live_at(second)) gathered.push_back(second);
        }
      }
      std::sort(gathered.begin(), gathered.end());
      gathered.erase(std::unique(gathered.begin(), gathered.end()), gathered.end());
      candidates.clear();
      const std::byte* node_code = code_ptr(node);
      for (std::uint32_t neighbor : gathered) candidates.push_back({codec_.distance(node_code, code_ptr(neighbor)), neighbor});
      std::sort(candidates.begin(), candidates.end());
      select_neighbors(candidates, max_links(l));
      for (std::size_t i = 0; i < candidates.size(); ++i) store_release(list + 1 + i, candidates[i].slot);
      store_release(list, static_cast<std::uint32_t>(candidates.size()));
    }
  }
  for (std::uint32_t slot : slots) {
    std::byte* b = block(slot);
    void* upper = nullptr;
    std::memcpy(&upper, b + 8, sizeof upper);
    std::free(upper);
    std::memset(b, 0, blocks_.stride());
  }
  const std::uint32_t entry = entry_.load(std::memory_order_acquire);
  if (entry == kNoSlot || !is_live(entry)) {
    std::uint32_t best = kNoSlot;
    int best_level = -1;
    for (std::uint32_t node = 0; node < end; ++node) {
      if (is_live(node) && level_of(node) > best_level) {
        best = node;
        best_level = level_of(node);
      }
    }
    entry_.store(best, std::memory_order_release);
  }
}

std::size_t Hnsw::memory_bytes() const {
  std::size_t upper_bytes = 0;
  const std::uint32_t end = slot_end();
  for (std::uint32_t s = 0; s < end; ++s) {
    if (is_live(s)) upper_bytes += static_cast<std::size_t>(level_of(s)) * (m_ + 1) * sizeof(std::uint32_t);
  }
  return blocks_.used_bytes(end) + upper_bytes;
}

Hnsw::NodeView Hnsw::node_view(std::uint32_t slot) const {
  NodeView view;
  view.live = is_live(slot);
  view.level = view.live ? level_of(slot) : 0;
  if (!view.live) return view;
  view.links.resize(static_cast<std::size_t>(view.level) + 1);
  for (int l = 0; l <= view.level; ++l) {
    const std::uint32_t* list = link_list(slot, l);
    view.links[static_cast<std::size_t>(l)].assign(list + 1, list + 1 + load_acquire(list));
  }
  return view;
}

bool Hnsw::restore_node(std::uint32_t slot, const std::byte* code, int level, bool live,
                        const std::vector<std::vector<std::uint32_t>>& links) {
  if (!blocks_.ensure(slot)) return false;
  std::byte* b = block(slot);
  std::uint32_t end = slot_end_.load(std::memory_order_relaxed);
  if (end <= slot) slot_end_.store(slot + 1, std::memory_order_release);
  if (!live) return true;
  std::uint32_t* upper = nullptr;
  if (level > 0) {
    upper = static_cast<std::uint32_t*>(std::calloc(static_cast<std::size_t>(level) * (m_ + 1), sizeof(std::uint32_t)));
    if (upper == nullptr) return false;
  }
  std::memcpy(b + 8, &upper, sizeof upper);
  std::memcpy(code_ptr(slot), code, codec_.code_bytes());
  store_release(reinterpret_cast<std::uint32_t*>(b), static_cast<std::uint32_t>(level) | kLiveBit);
  for (int l = 0; l <= level; ++l) {
    std::uint32_t* list = link_list(slot, l);
    const auto& ids = links[static_cast<std::size_t>(l)];
    for (std::size_t i = 0; i < ids.size(); ++i) list[1 + i] = ids[i];
    store_release(list, static_cast<std::uint32_t>(ids.size()));
  }
  return true;
}

void Hnsw::restore_entry(std::uint32_t entry, std::uint64_t sequence) {
  entry_.store(entry, std::memory_order_release);
  sequence_.store(sequence, std::memory_order_relaxed);
}

}  // namespace semcache::detail
