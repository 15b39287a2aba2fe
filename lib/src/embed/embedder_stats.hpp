#pragma once
// What every embedder shares: its counters (EmbedderCounters as relaxed atomics: statistics,
// not synchronisation) and the check of embed()'s output size.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "semcache/embedder.hpp"
#include "semcache/status.hpp"

namespace semcache::detail {

class EmbedderStats {
 public:
  void add_texts(std::uint64_t texts, std::uint64_t tokens) {
    texts_.fetch_add(texts, std::memory_order_relaxed);
    tokens_.fetch_add(tokens, std::memory_order_relaxed);
  }
  void add_time_since(std::chrono::steady_clock::time_point start) {
    const auto elapsed = std::chrono::steady_clock::now() - start;
    nanoseconds_.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count()),
        std::memory_order_relaxed);
  }
  EmbedderCounters snapshot() const {
    return {texts_.load(std::memory_order_relaxed), tokens_.load(std::memory_order_relaxed),
            nanoseconds_.load(std::memory_order_relaxed)};
  }

 private:
  std::atomic<std::uint64_t> texts_{0};
  std::atomic<std::uint64_t> tokens_{0};
  std::atomic<std::uint64_t> nanoseconds_{0};
};

// invalid_argument unless `floats` holds texts x dim values.
inline Status check_output_size(const std::string& identity, std::size_t texts, std::size_t dim, std::size_t floats) {
  if (floats == texts * dim) return Status::ok();
  return Status::invalid_argument("embedder " + identity + ": output holds " + std::to_string(floats) +
                                  " floats, expected " + std::to_string(texts) + " texts x " + std::to_string(dim) +
                                  " dimensions");
}

}  // namespace semcache::detail
