#pragma once
// Storage that grows without moving what it holds.
//
// A graph that is searched while it grows cannot live in a std::vector: a reallocation would pull
// the memory from under a running search. ChunkedArray keeps fixed-size chunks behind a table of
// atomic pointers sized once up front; growing allocates a new chunk under a mutex and publishes
// its pointer with release order, so readers never take a lock. Elements never move; a chunk is
// only freed when the array is destroyed.
//
// Chunks are mapped 2 MiB-aligned and advised as transparent huge pages: HNSW search jumps to a
// random node at every step, and with 4 KiB pages nearly each jump is also a TLB miss (a 100k x
// 384 int8 graph spans ~14,000 small pages but ~30 huge ones). Memory comes zeroed from mmap.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>

#include <sys/mman.h>

namespace semcache::detail {

// Raw storage: `stride` bytes per element, zero-initialised, 64-byte aligned chunks.
class ChunkedBytes {
 public:
  static constexpr std::size_t kChunkShift = 14;  // 16384 elements per chunk
  static constexpr std::size_t kChunkSize = std::size_t{1} << kChunkShift;
  static constexpr std::size_t kMaxChunks = std::size_t{1} << 14;  // up to 268M elements
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  explicit ChunkedBytes(std::size_t stride) : stride_(stride), chunks_(new std::atomic<std::byte*>[kMaxChunks]) {
    for (std::size_t i = 0; i < kMaxChunks; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
  }
  ~ChunkedBytes() {
    for (std::size_t i = 0; i < allocated_chunks_; ++i) munmap(chunks_[i].load(std::memory_order_relaxed), chunk_bytes());
  }
  ChunkedBytes(const ChunkedBytes&) = delete;
  ChunkedBytes& operator=(const ChunkedBytes&) = delete;

  // Makes element `index` addressable. Returns false when the capacity limit or memory runs out.
  bool ensure(std::size_t index) {
    const std::size_t chunk = index >> kChunkShift;
    if (chunk >= kMaxChunks) return false;
    if (chunks_[chunk].load(std::memory_order_acquire) != nullptr) return true;
    std::lock_guard<std::mutex> guard(grow_mutex_);
    for (std::size_t c = allocated_chunks_; c <= chunk; ++c) {
      std::byte* memory = map_aligned(chunk_bytes());
      if (memory == nullptr) return false;
      chunks_[c].store(memory, std::memory_order_release);
      allocated_chunks_ = c + 1;
    }
    return true;
  }

  std::byte* at(std::size_t index) const {
    return chunks_[index >> kChunkShift].load(std::memory_order_acquire) + (index & (kChunkSize - 1)) * stride_;
  }

  std::size_t stride() const { return stride_; }
  // Bytes of the elements that exist (`count` of them): what the set really holds. The chunk
  // tail beyond the last element is reserved address space, touched only as it fills.
  std::size_t used_bytes(std::size_t count) const { return count * stride_; }

 private:
  std::size_t chunk_bytes() const { return stride_ * kChunkSize; }

  // mmap with 2 MiB alignment (over-map, then trim both ends) and a huge-page hint.
  static std::byte* map_aligned(std::size_t bytes) {
    const std::size_t span = bytes + kHugePage;
    void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return nullptr;
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
    if (aligned > start) munmap(raw, aligned - start);
    const std::uintptr_t end = start + span;
    if (end > aligned + bytes) munmap(reinterpret_cast<void*>(aligned + bytes), end - (aligned + bytes));
    madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
    return reinterpret_cast<std::byte*>(aligned);
  }

  std::size_t stride_;
  std::unique_ptr<std::atomic<std::byte*>[]> chunks_;
  std::mutex grow_mutex_;
  std::size_t allocated_chunks_ = 0;  // guarded by grow_mutex_ (read without it only for statistics)
};

// Typed variant for objects with constructors (ids, attributes). Same growth rules.
template <typename T>
class ChunkedArray {
 public:
  ChunkedArray() : bytes_(sizeof(T)) {}
  ~ChunkedArray() {
    for (std::size_t i = 0; i < constructed_; ++i) at(i).~T();
  }
  ChunkedArray(const ChunkedArray&) = delete;
  ChunkedArray& operator=(const ChunkedArray&) = delete;

  // Makes `index` addressable, default-constructing every element up to it.
  bool ensure(std::size_t index) {
    if (index < constructed_.load(std::memory_order_acquire)) return true;
    std::lock_guard<std::mutex> guard(construct_mutex_);
    if (!bytes_.ensure(index)) return false;
    std::size_t n = constructed_.load(std::memory_order_relaxed);
    for (; n <= index; ++n) new (bytes_.at(n)) T();
    constructed_.store(n, std::memory_order_release);
    return true;
  }

  T& at(std::size_t index) { return *std::launder(reinterpret_cast<T*>(bytes_.at(index))); }
  const T& at(std::size_t index) const { return *std::launder(reinterpret_cast<const T*>(bytes_.at(index))); }

 private:
  ChunkedBytes bytes_;
  std::mutex construct_mutex_;
  std::atomic<std::size_t> constructed_{0};
};

}  // namespace semcache::detail
