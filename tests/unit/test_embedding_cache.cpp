// Tests of the embedding cache (embedding_cache.hpp) on the in-memory store and a real
// redis-server. The oracle is the inner embedder itself: every vector the cache returns must
// equal, bit for bit, what a fresh embedder of the same identity computes, and the inner
// embedders' counters say how many texts were really embedded.

#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "redis_server.hpp"
#include "semcache/embedding_cache.hpp"
#include "semcache/memory_store.hpp"
#include "semcache/redis_store.hpp"

using namespace semcache;
using namespace std::chrono_literals;

namespace {

constexpr std::size_t kDim = 32;

std::vector<float> embed_directly(std::span<const std::string_view> texts) {
  auto embedder = make_hash_embedder(kDim);
  std::vector<float> out(texts.size() * kDim);
  REQUIRE(embedder->embed(texts, out));
  return out;
}

std::vector<float> embed_with(Embedder& embedder, std::span<const std::string_view> texts) {
  std::vector<float> out(texts.size() * kDim);
  REQUIRE(embedder.embed(texts, out));
  return out;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

void check_shared_memo(const std::function<std::shared_ptr<Store>()>& connect) {
  auto inner_a = make_hash_embedder(kDim);
  auto inner_b = make_hash_embedder(kDim);
  EmbeddingCache a(inner_a, connect());
  EmbeddingCache b(inner_b, connect());
  CHECK(a.identity() == inner_a->identity());
  CHECK(a.dim() == kDim);

  const std::vector<std::string_view> first = {"the cat sat", "a dog ran", "the cat sat"};
  CHECK(same_bits(embed_with(a, first), embed_directly(first)));
  CHECK(inner_a->counters().texts == 2);  // one inner call for the two distinct texts
  CHECK(a.cache_counters().lookups == 3);
  CHECK(a.cache_counters().hits == 0);

  const std::vector<std::string_view> second = {"a dog ran", "the cat sat", "birds fly", "a dog ran"};
  CHECK(same_bits(embed_with(b, second), embed_directly(second)));
  CHECK(inner_b->counters().texts == 1);  // only "birds fly" is new to the store
  CHECK(b.cache_counters().hits == 3);
  CHECK(b.counters().texts == 1);  // counters() are the inner embedder's

  CHECK(same_bits(embed_with(a, second), embed_directly(second)));
  CHECK(inner_a->counters().texts == 2);
  CHECK(inner_a->counters().texts + inner_b->counters().texts == 3);  // three distinct texts in all
  CHECK(a.cache_counters().store_errors == 0);

  std::vector<float> wrong(kDim);
  CHECK(a.embed(first, wrong).code() == ErrorCode::kInvalidArgument);
}

}  // namespace

TEST_CASE("embedding cache: each distinct text is embedded once across instances (memory)", "[cache][embedding]") {
  auto store = make_memory_store();
  check_shared_memo([store] { return store; });
}

TEST_CASE("embedding cache: each distinct text is embedded once across instances (redis)",
          "[cache][embedding][redis]") {
  testing::RedisServer server;
  check_shared_memo([&server] {
    auto store = open_redis_store(server.url());
    REQUIRE(store);
    return *store;
  });
}

TEST_CASE("embedding cache: TTL expiry embeds again", "[cache][embedding]") {
  auto now = std::make_shared<std::atomic<std::int64_t>>(0);
  MemoryStoreOptions options;
  options.now_ms = [now] { return now->load(); };
  auto inner = make_hash_embedder(kDim);
  EmbeddingCache cache(inner, make_memory_store(options), EmbeddingCacheOptions{.prefix = "p", .ttl = 1000ms});
  const std::vector<std::string_view> texts = {"hello world"};
  (void)embed_with(cache, texts);
  (void)embed_with(cache, texts);
  CHECK(inner->counters().texts == 1);
  now->fetch_add(1001);
  CHECK(same_bits(embed_with(cache, texts), embed_directly(texts)));
  CHECK(inner->counters().texts == 2);
}

TEST_CASE("embedding cache: a store that is down is bypassed and counted", "[cache][embedding][redis]") {
  testing::RedisServer server;
  auto store = testing::open_impatient_store(server);
  auto inner = make_hash_embedder(kDim);
  EmbeddingCache cache(inner, store);
  const std::vector<std::string_view> texts = {"one", "two", "one"};
  (void)embed_with(cache, texts);
  CHECK(inner->counters().texts == 2);

  server.stop();
  CHECK(same_bits(embed_with(cache, texts), embed_directly(texts)));
  CHECK(inner->counters().texts == 4);  // embedded again: the memo is unreachable
  CHECK(cache.cache_counters().store_errors >= 1);
  CHECK(cache.cache_counters().lookups == 6);
}

// An embedder of another identity (another model, version or dimension) never reads what the
// first one cached: the identity is part of every key.
TEST_CASE("embedding cache: another embedder identity is another namespace", "[cache][embedding]") {
  auto store = make_memory_store();
  auto first = make_hash_embedder(kDim);
  auto wider = make_hash_embedder(2 * kDim);
  EmbeddingCache a(first, store);
  EmbeddingCache b(wider, store);
  REQUIRE(a.identity() != b.identity());
  const std::vector<std::string_view> texts = {"the cat sat", "a dog ran"};
  std::vector<float> out_a(texts.size() * kDim);
  std::vector<float> out_b(texts.size() * 2 * kDim);
  REQUIRE(a.embed(texts, out_a));
  REQUIRE(b.embed(texts, out_b));
  CHECK(b.cache_counters().hits == 0);     // nothing of `first` is served to `wider`
  CHECK(wider->counters().texts == 2);     // it embedded both itself
  REQUIRE(a.embed(texts, out_a));
  CHECK(a.cache_counters().hits == 2);     // while `first` still finds its own
  CHECK(first->counters().texts == 2);
}
