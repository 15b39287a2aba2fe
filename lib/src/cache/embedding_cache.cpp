// EmbeddingCache: text -> vector, remembered in the Store so that every process sharing it
// embeds a text at most once per TTL.
//
// Keys: PREFIX:emb:IDENTITY:HASH, IDENTITY percent-encoded like the cache's names (so it never
// adds a ':' or a hash tag), HASH = 32 hex digits of the 128-bit hash of the text. The value is
// a record with one field, v: dim float32 little-endian (entry_record's vector encoding). A
// record of the wrong size (another build wrote garbage, or a hash collision of identities)
// is treated as a miss and overwritten.
//
// One embed() call costs at most two store round trips: one read batch for the distinct texts,
// one write batch for the misses, with the misses embedded in ONE inner call in between. A
// store failure on the read bypasses the store for the call (everything is embedded, nothing
// is written: a second timeout would only double the caller's wait); a failed write loses
// only the memo. Both count in store_errors. Counters are atomics; the state is shared by
// copies through a shared_ptr and holds no lock. The constructor cannot report an error, so
// `inner` and `store` must not be null (a precondition, as for any non-null shared_ptr use).

#include "semcache/embedding_cache.hpp"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <unordered_map>

#include "cache/entry_record.hpp"
#include "cache/key_hash.hpp"

namespace semcache {
namespace {

constexpr std::uint64_t kTextSeed = 0x656d'6265'6400'0001ULL;  // "embed", v1

}  // namespace

struct EmbeddingCache::State {
  std::shared_ptr<Embedder> inner;
  std::shared_ptr<Store> store;
  EmbeddingCacheOptions options;
  std::string key_prefix;  // PREFIX:emb:IDENTITY:
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<std::uint64_t> hits{0};
  std::atomic<std::uint64_t> store_errors{0};
};

EmbeddingCache::EmbeddingCache(std::shared_ptr<Embedder> inner, std::shared_ptr<Store> store,
                               EmbeddingCacheOptions options)
    : state_(std::make_shared<State>()) {
  state_->key_prefix = options.prefix + ":emb:" + detail::percent_encode(inner->identity()) + ":";
  state_->inner = std::move(inner);
  state_->store = std::move(store);
  state_->options = std::move(options);
}

const std::string& EmbeddingCache::identity() const { return state_->inner->identity(); }

std::size_t EmbeddingCache::dim() const { return state_->inner->dim(); }

EmbedderCounters EmbeddingCache::counters() const { return state_->inner->counters(); }

EmbeddingCacheCounters EmbeddingCache::cache_counters() const {
  EmbeddingCacheCounters out;
  out.lookups = state_->lookups.load();
  out.hits = state_->hits.load();
  out.store_errors = state_->store_errors.load();
  return out;
}

Status EmbeddingCache::embed(std::span<const std::string_view> texts, std::span<float> out) {
  State& state = *state_;
  const std::size_t dim = state.inner->dim();
  if (out.size() != texts.size() * dim) {
    return Status::invalid_argument("embedding cache: output has " + std::to_string(out.size()) + " floats, expected " +
                                    std::to_string(texts.size()) + " texts x " + std::to_string(dim));
  }
  if (texts.empty()) return Status::ok();
  state.lookups.fetch_add(texts.size(), std::memory_order_relaxed);

  // Distinct texts, each with the output rows that want it.
  std::vector<std::string> keys;
  std::vector<std::vector<std::size_t>> rows_of;
  std::unordered_map<std::string_view, std::size_t> slot_of;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto [it, inserted] = slot_of.emplace(texts[i], keys.size());
    if (inserted) {
      keys.push_back(state.key_prefix + detail::to_hex(detail::hash128(texts[i], kTextSeed)));
      rows_of.emplace_back();
    }
    rows_of[it->second].push_back(i);
  }

  std::vector<std::size_t> misses;  // distinct slots to embed
  auto records = state.store->read(keys);
  if (!records) state.store_errors.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t slot = 0; slot < keys.size(); ++slot) {
    std::optional<std::vector<float>> vector;
    if (records && (*records)[slot]) {
      if (const std::string* bytes = find_field(*(*records)[slot], detail::field::kVector)) {
        vector = detail::decode_vector(*bytes, dim);
      }
    }
    if (!vector) {
      misses.push_back(slot);
      continue;
    }
    for (std::size_t row : rows_of[slot])
      std::copy(vector->begin(), vector->end(), out.begin() + static_cast<std::ptrdiff_t>(row * dim));
    state.hits.fetch_add(rows_of[slot].size(), std::memory_order_relaxed);
  }
  if (misses.empty()) return Status::ok();

  std::vector<std::string_view> miss_texts;
  miss_texts.reserve(misses.size());
  for (std::size_t slot : misses) miss_texts.push_back(texts[rows_of[slot].front()]);
  std::vector<float> embedded(misses.size() * dim);
  if (Status st = state.inner->embed(miss_texts, embedded); !st) return st;

  StoreBatch writes;
  for (std::size_t m = 0; m < misses.size(); ++m) {
    const std::span<const float> vector(embedded.data() + m * dim, dim);
    for (std::size_t row : rows_of[misses[m]])
      std::copy(vector.begin(), vector.end(), out.begin() + static_cast<std::ptrdiff_t>(row * dim));
    if (records) {
      writes.writes.push_back(RecordWrite{keys[misses[m]],
                                          Record{{std::string(detail::field::kVector), detail::encode_vector(vector)}},
                                          state.options.ttl});
    }
  }
  if (!writes.empty()) {
    if (auto done = state.store->execute(writes); !done) state.store_errors.fetch_add(1, std::memory_order_relaxed);
  }
  return Status::ok();
}

}  // namespace semcache
