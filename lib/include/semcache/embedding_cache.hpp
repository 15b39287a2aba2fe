#pragma once
// The embedding cache: an Embedder that remembers. embed() looks every text up in the store
// first (key = prefix + ":emb:" + embedder identity + ":" + 128-bit hash of the text), embeds
// only the misses with the inner embedder (one batch), and writes those back with the TTL, so
// a text is embedded at most once per TTL across every process sharing the store. A store that
// is down is bypassed: the texts are embedded and the write counted as dropped.
// Same identity and dimension as the inner embedder, so it is a drop-in replacement.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "semcache/embedder.hpp"
#include "semcache/store.hpp"

namespace semcache {

struct EmbeddingCacheOptions {
  std::string prefix = "semcache";
  std::chrono::milliseconds ttl{0};  // 0: no expiry
};

struct EmbeddingCacheCounters {
  std::uint64_t lookups = 0;
  std::uint64_t hits = 0;
  std::uint64_t store_errors = 0;  // lookups or writes that failed and were bypassed
};

class EmbeddingCache final : public Embedder {
 public:
  EmbeddingCache(std::shared_ptr<Embedder> inner, std::shared_ptr<Store> store, EmbeddingCacheOptions options = {});
  const std::string& identity() const override;
  std::size_t dim() const override;
  Status embed(std::span<const std::string_view> texts, std::span<float> out) override;
  EmbedderCounters counters() const override;  // the inner embedder's: work actually done
  EmbeddingCacheCounters cache_counters() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace semcache
