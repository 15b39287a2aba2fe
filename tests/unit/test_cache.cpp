// Tests of the LLM response cache (cache.hpp) against the in-memory store and a real
// redis-server (redis_server.hpp).
//
// The oracle is what the test built: vectors are constructed at known cosine distances from
// each other (unit vectors in the plane of two axes: at_distance(d, j) = (1-d) e0 + sqrt(1 -
// (1-d)^2) ej, so 1 - cos(e0, v) = d exactly), responses encode the tenant, model and request
// they answer, and lookup_or_store() is compared with the sequential lookup()/store() calls on
// a fresh store. Faults are real: a Redis that is stopped and restarted.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cmath>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cache/entry_record.hpp"
#include "cache/key_hash.hpp"
#include "redis_server.hpp"
#include "semcache/cache.hpp"
#include "semcache/embedding_cache.hpp"
#include "semcache/memory_store.hpp"
#include "semcache/redis_store.hpp"

using namespace semcache;
using namespace std::chrono_literals;

// Requests are written with designated initializers naming only the fields a test uses (the
// others take their defaults, which is the point); GCC 12's -Wextra still warns about the
// omitted ones, so that one warning is off in this file.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

constexpr std::size_t kDim = 8;

// A unit vector at cosine distance `distance` from e0, in the plane of e0 and e_axis.
std::vector<float> at_distance(double distance, std::size_t axis, std::size_t dim = kDim) {
  std::vector<float> v(dim, 0.0f);
  const double c = 1.0 - distance;
  v[0] = static_cast<float>(c);
  v[axis] = static_cast<float>(std::sqrt(std::max(0.0, 1.0 - c * c)));
  return v;
}

// A backend: `connect` gives a new client on the same data (a second process on one Redis is a
// second store opened on the same URL; on the memory store, the same store).
struct Backend {
  std::string name;
  std::function<std::shared_ptr<Store>()> connect;
  testing::RedisServer* server = nullptr;
};

template <typename Body>
void on_each_backend(Body&& body) {
  {
    auto memory = make_memory_store();
    Backend backend{"memory", [memory] { return memory; }};
    INFO("backend: memory");
    body(backend);
  }
  {
    testing::RedisServer server;
    Backend backend{"redis",
                    [&server] {
                      auto store = open_redis_store(server.url());
                      REQUIRE(store);
                      return *store;
                    },
                    &server};
    INFO("backend: redis");
    body(backend);
  }
}

CacheOptions semantic_options(CacheMode mode = CacheMode::kSemantic) {
  CacheOptions options;
  options.mode = mode;
  options.dim = kDim;
  options.quantization = Quantization::kF32;
  options.follow_interval = 0ms;
  return options;
}

std::unique_ptr<Cache> open_cache(std::shared_ptr<Store> store, const CacheOptions& options,
                                  std::shared_ptr<Embedder> embedder = nullptr) {
  auto cache = Cache::open(std::move(store), options, std::move(embedder));
  REQUIRE(cache);
  return std::move(cache.value());
}

// `count` requests of model "m", tenant "t", canonical "c<i>", each with a random vector.
struct RandomRequests {
  std::vector<std::vector<float>> vectors;
  std::vector<std::string> canonicals;
  RandomRequests(std::size_t count, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal;
    for (std::size_t i = 0; i < count; ++i) {
      std::vector<float>& v = vectors.emplace_back(kDim);
      for (float& x : v) x = normal(rng);
      canonicals.push_back("c" + std::to_string(i));
    }
  }
  std::size_t size() const { return vectors.size(); }
  CacheRequest operator[](std::size_t i) const {
    return CacheRequest{.model = "m", .tenant = "t", .canonical = canonicals[i], .embedding = vectors[i]};
  }
};

NamespaceStats stats_of(const Cache& cache, std::string_view model) {
  for (const NamespaceStats& s : cache.stats()) {
    if (s.model == model) return s;
  }
  return NamespaceStats{};
}

}  // namespace

TEST_CASE("cache: keys, records and change-log events are encoded as documented", "[cache]") {
  CHECK(detail::percent_encode("a%b:c{d}e") == "a%25b%3Ac%7Bd%7De");
  CHECK(detail::percent_decode("a%25b%3Ac%7Bd%7De") == std::optional<std::string>("a%b:c{d}e"));
  CHECK_FALSE(detail::percent_decode("abc%2"));
  CHECK_FALSE(detail::percent_decode("abc%41"));

  // MurmurHash3 x64_128, seed 0: h1 then h2 as hex (keys written elsewhere must match these).
  CHECK(detail::to_hex(detail::hash128("hello")) == "cbd8a7b341bd9b025b1e906a48ae1d19");
  CHECK(detail::to_hex(detail::hash128("The quick brown fox jumps over the lazy dog")) ==
        "e34bbc7bbc071b6c7a433ca9c49a9347");
  CHECK(detail::to_hex(detail::hash128("")) == "00000000000000000000000000000000");

  const detail::NamespaceKeys keys = detail::namespace_keys("pre", "app:1", "gpt{4}");
  CHECK(keys.key == "app%3A1:gpt%7B4%7D");
  CHECK(keys.entry_prefix == "pre:app%3A1:gpt%7B4%7D:e:");
  CHECK(keys.log_key == "pre:{app%3A1:gpt%7B4%7D}:log");

  const std::string id = detail::entry_id("acme", "{\"prompt\":\"hi\"}");
  REQUIRE(id.size() == 49);
  CHECK(id.substr(0, 16) == detail::tenant_hex("acme"));
  CHECK(id[16] == ':');
  CHECK(id.find_first_not_of("0123456789abcdef:") == std::string::npos);
  // The tenant and the request are framed: moving bytes between them changes the id.
  CHECK(detail::entry_id("ab", "c") != detail::entry_id("a", "bc"));
  CHECK(detail::entry_id("acme", "x") == detail::entry_id("acme", "x"));

  const std::vector<float> vector = {1.5f, -0.0f, 3.25e-7f, -2.0f};
  const std::string bytes = detail::encode_vector(vector);
  REQUIRE(bytes.size() == 16);
  CHECK(static_cast<unsigned char>(bytes[0]) == 0x00);  // 1.5f = 0x3fc00000, little-endian
  CHECK(static_cast<unsigned char>(bytes[3]) == 0x3f);
  auto decoded = detail::decode_vector(bytes, 4);
  REQUIRE(decoded);
  CHECK(std::memcmp(decoded->data(), vector.data(), 16) == 0);
  CHECK_FALSE(detail::decode_vector(bytes, 3));

  detail::ChangeEvent add{detail::EventKind::kAdd, 0x0123456789abcdefULL, {id}, "hash-v1/8", bytes};
  auto round = detail::decode_event(detail::encode_event(add));
  REQUIRE(round);
  CHECK(round->kind == detail::EventKind::kAdd);
  CHECK(round->writer == add.writer);
  CHECK(round->ids == add.ids);
  CHECK(round->identity == add.identity);
  CHECK(round->vector_bytes == bytes);

  detail::ChangeEvent del{detail::EventKind::kDel, 7, {id, id + "x", ""}, {}, {}};
  auto del_round = detail::decode_event(detail::encode_event(del));
  REQUIRE(del_round);
  CHECK(del_round->ids == del.ids);

  const std::string payload = detail::encode_event(add);
  for (std::size_t cut = 0; cut < payload.size(); ++cut) {
    auto truncated = detail::decode_event(std::string_view(payload).substr(0, cut));
    CHECK_FALSE(truncated);
  }
  CHECK_FALSE(detail::decode_event(payload + "x"));
  std::string bad_kind = payload;
  bad_kind[1] = 9;
  auto refused = detail::decode_event(bad_kind);
  REQUIRE_FALSE(refused);
  CHECK(refused.status().message().find("unknown kind 9") != std::string::npos);
}

TEST_CASE("cache: open refuses bad options", "[cache]") {
  auto store = make_memory_store();
  CacheOptions options = semantic_options();
  options.threshold = 2.5;
  CHECK(Cache::open(store, options).status().code() == ErrorCode::kInvalidArgument);
  options = semantic_options();
  options.prefix = "a{b";
  CHECK(Cache::open(store, options).status().code() == ErrorCode::kInvalidArgument);
  options = semantic_options();
  options.dim = 0;
  auto refused = Cache::open(store, options);
  REQUIRE_FALSE(refused);
  CHECK(refused.status().message().find("embedder") != std::string::npos);
  options.mode = CacheMode::kExact;
  CHECK(Cache::open(store, options));
  CHECK(parse_cache_mode("both").value() == CacheMode::kBoth);
  CHECK_FALSE(parse_cache_mode("fuzzy"));
}

TEST_CASE("cache: exact hits need the same tenant, model and canonical request", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    for (CacheMode mode : {CacheMode::kExact, CacheMode::kBoth}) {
      INFO("mode " << to_string(mode));
      CacheOptions options = semantic_options(mode);
      options.name = std::string("exact-") + std::string(to_string(mode));
      auto cache = open_cache(backend.connect(), options);
      const auto e0 = at_distance(0, 1);
      const CacheRequest request{.model = "gpt-4o-mini@2024-07-18", .tenant = "acme",
                                 .canonical = R"({"prompt":"hello","temperature":0})", .text = "hello",
                                 .embedding = e0};
      CHECK(cache->lookup(request).outcome == LookupOutcome::kMiss);
      REQUIRE(cache->store(request, "world", R"({ "team" : "blue" })"));

      for (std::int64_t expected_hits = 0; expected_hits < 3; ++expected_hits) {
        LookupResult found = cache->lookup(request);
        REQUIRE(found.outcome == LookupOutcome::kExactHit);
        CHECK(found.entry.response == "world");
        CHECK(found.entry.tenant == "acme");
        CHECK(found.entry.model == "gpt-4o-mini@2024-07-18");
        CHECK(found.entry.canonical == request.canonical);
        CHECK(found.entry.text == "hello");
        CHECK(found.entry.attributes_json == R"({"team":"blue"})");
        CHECK(found.entry.hits == expected_hits);
        CHECK(found.entry.created_ms > 0);
      }

      // Vectors far apart (distance 1) so mode both cannot answer these semantically either.
      const auto far = at_distance(1.0, 2);
      CacheRequest other = request;
      other.embedding = far;
      other.canonical = R"({"prompt":"hello","temperature":1})";
      CHECK(cache->lookup(other).outcome == LookupOutcome::kMiss);
      other = request;
      other.embedding = far;
      other.tenant = "acme2";
      CHECK(cache->lookup(other).outcome == LookupOutcome::kMiss);
      other = request;
      other.embedding = far;
      other.model = "gpt-4o-mini@2024-08-06";
      CHECK(cache->lookup(other).outcome == LookupOutcome::kMiss);

      const NamespaceStats s = stats_of(*cache, request.model);
      CHECK(s.lookups == 6);
      CHECK(s.exact_hits == 3);
      CHECK(s.misses == 3);
      CHECK(s.stores == 1);
      CHECK(s.lookup_latency_ns.count() == 6);
      CHECK(s.key == "exact-" + std::string(to_string(mode)) + ":gpt-4o-mini@2024-07-18");

      CHECK(cache->lookup(CacheRequest{.canonical = "x"}).outcome == LookupOutcome::kError);
      CHECK(cache->store(request, "r", "[1,2]").code() == ErrorCode::kInvalidArgument);
    }
  });
}

TEST_CASE("cache: names and models with ':', '{', '}' and '%' are percent-encoded in the store", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    auto store = backend.connect();
    CacheOptions options = semantic_options(CacheMode::kBoth);
    options.prefix = "pre:fix";
    options.name = "app{1}";
    auto cache = open_cache(store, options);
    const auto v = at_distance(0, 1);
    const std::string model = "gpt:4o{mini}%*?";
    REQUIRE(cache->store(CacheRequest{.model = model, .tenant = "t", .canonical = "c", .embedding = v}, "r"));

    std::vector<std::string> keys;
    REQUIRE(store->scan("pre:fix:app", 10, [&](std::span<const std::string> batch) {
      keys.insert(keys.end(), batch.begin(), batch.end());
      return Status::ok();
    }));
    REQUIRE(keys.size() == 1);
    const std::string entry_prefix = "pre:fix:app%7B1%7D:gpt%3A4o%7Bmini%7D%25*?:e:";
    CHECK(keys[0] == entry_prefix + detail::entry_id("t", "c"));
    auto last = store->log_last_id("pre:fix:{app%7B1%7D:gpt%3A4o%7Bmini%7D%25*?}:log");
    REQUIRE(last);
    CHECK(*last != "0-0");
    auto records = store->read(keys);
    REQUIRE(records);
    REQUIRE((*records)[0]);
    const Record& record = *(*records)[0];
    CHECK(*find_field(record, "m") == model);
    CHECK(*find_field(record, "q") == "c");
    CHECK(find_field(record, "h") == nullptr);  // the hit count is the store's counter
    CHECK(*find_field(record, "e") == "precomputed/8");
    CHECK(find_field(record, "v")->size() == kDim * 4);

    CHECK(stats_of(*cache, model).key == "app%7B1%7D:gpt%3A4o%7Bmini%7D%25*?");
    CHECK(cache->invalidate_namespace("").value() == 1);
    CHECK(cache->lookup(CacheRequest{.model = model, .tenant = "t", .canonical = "c", .embedding = v}).outcome ==
          LookupOutcome::kMiss);
  });
}

TEST_CASE("cache: semantic hit under the threshold, miss above it", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    auto cache = open_cache(backend.connect(), semantic_options());
    const auto stored = at_distance(0, 1);
    REQUIRE(
        cache->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "stored", .embedding = stored}, "answer"));

    const auto near = at_distance(0.05, 2);
    LookupResult found = cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q1", .embedding = near});
    REQUIRE(found.outcome == LookupOutcome::kSemanticHit);
    CHECK(found.entry.response == "answer");
    CHECK(found.entry.canonical == "stored");
    CHECK(found.distance == Approx(0.05).margin(1e-5));
    CHECK(found.candidates_tried == 1);
    CHECK(found.entry.hits == 0);

    const auto far = at_distance(0.15, 2);
    CHECK(cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q2", .embedding = far}).outcome ==
          LookupOutcome::kMiss);

    // The deferred hit increment travels with the next batch (here: sync()).
    REQUIRE(cache->sync());
    found = cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q1", .embedding = near});
    REQUIRE(found.outcome == LookupOutcome::kSemanticHit);
    CHECK(found.entry.hits == 1);

    // Threshold 0: only the identical direction (any length) hits.
    CacheOptions strict = semantic_options();
    strict.name = "strict";
    strict.threshold = 0;
    auto exacting = open_cache(backend.connect(), strict);
    REQUIRE(exacting->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "s", .embedding = stored}, "a"));
    std::vector<float> scaled = stored;
    for (float& x : scaled) x *= 3.0f;
    CHECK(exacting->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q", .embedding = scaled}).outcome ==
          LookupOutcome::kSemanticHit);
    const auto slightly_off = at_distance(0.001, 3);
    CHECK(exacting->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q", .embedding = slightly_off})
              .outcome == LookupOutcome::kMiss);

    // A wrong dimension is refused, not looked up.
    const std::vector<float> short_vector(kDim - 1, 0.5f);
    LookupResult refused =
        cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q", .embedding = short_vector});
    CHECK(refused.outcome == LookupOutcome::kError);
    CHECK(refused.error.find("expected 8") != std::string::npos);
    CHECK(cache->store(CacheRequest{.model = "m", .canonical = "q", .embedding = short_vector}, "r").code() ==
          ErrorCode::kInvalidArgument);
  });
}

TEST_CASE("cache: with an embedder, re-worded prompts hit semantically", "[cache]") {
  auto store = make_memory_store();
  CacheOptions options;
  options.mode = CacheMode::kBoth;
  options.follow_interval = 0ms;
  options.threshold = 0.05;
  auto inner = make_hash_embedder(64);
  auto embedder = std::make_shared<EmbeddingCache>(inner, store);
  auto cache = open_cache(store, options, embedder);
  const CacheRequest stored{.model = "m", .tenant = "t", .canonical = "c1", .text = "How do I reset my password?"};
  REQUIRE(cache->store(stored, "Use the reset link."));
  LookupResult found =
      cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "c2", .text = "how do i RESET my password"});
  REQUIRE(found.outcome == LookupOutcome::kSemanticHit);
  CHECK(found.entry.response == "Use the reset link.");
  CHECK(found.distance < 1e-5f);
  CHECK(
      cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "c3", .text = "what is the weather in Oslo"})
          .outcome == LookupOutcome::kMiss);
  CHECK(inner->counters().texts == 3);
  // The stored text is embedded again only through the embedding cache's memo.
  CHECK(
      cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "c4", .text = "How do I reset my password?"})
          .outcome == LookupOutcome::kSemanticHit);
  CHECK(inner->counters().texts == 3);
  auto records = store->read(std::vector<std::string>{"semcache:default:m:e:" + detail::entry_id("t", "c1")});
  REQUIRE(records);
  REQUIRE((*records)[0]);
  CHECK(*find_field(*(*records)[0], "e") == "hash-v1/64");
}

TEST_CASE("cache: an expired entry leaves the index and the next candidate is tried", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    // Memory: a test clock. Redis: real TTLs (A expires while B is still alive, 400 ms apart).
    auto now = std::make_shared<std::atomic<std::int64_t>>(0);
    std::shared_ptr<Store> store;
    CacheOptions options = semantic_options();
    if (backend.server == nullptr) {
      MemoryStoreOptions memory_options;
      memory_options.now_ms = [now] { return now->load(); };
      store = make_memory_store(memory_options);
      options.ttl = 1000ms;
    } else {
      store = backend.connect();
      options.ttl = 1000ms;
    }
    auto advance = [&](int ms) {
      if (backend.server == nullptr) {
        now->fetch_add(ms);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
      }
    };
    auto cache = open_cache(store, options);
    const auto a = at_distance(0.02, 1);
    const auto b = at_distance(0.05, 2);
    const auto query = at_distance(0, 3);
    REQUIRE(cache->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "A", .embedding = a}, "from A"));
    advance(600);
    REQUIRE(cache->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "B", .embedding = b}, "from B"));
    CHECK(stats_of(*cache, "m").indexed == 2);

    LookupResult first = cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q", .embedding = query});
    REQUIRE(first.outcome == LookupOutcome::kSemanticHit);
    CHECK(first.entry.response == "from A");

    advance(600);  // A: 1200 ms old (expired); B: 600 ms (alive)
    LookupResult second =
        cache->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q", .embedding = query});
    REQUIRE(second.outcome == LookupOutcome::kSemanticHit);
    CHECK(second.entry.response == "from B");
    CHECK(second.candidates_tried == 2);
    CHECK(second.expired_candidates == 1);
    const NamespaceStats s = stats_of(*cache, "m");
    CHECK(s.indexed == 1);
    CHECK(s.expired_candidates == 1);
  });
}

TEST_CASE("cache: an entry stored again after a lookup found it expired stays in the index", "[cache]") {
  auto now = std::make_shared<std::atomic<std::int64_t>>(0);
  MemoryStoreOptions memory_options;
  memory_options.now_ms = [now] { return now->load(); };
  CacheOptions options = semantic_options();
  options.ttl = 1000ms;
  options.follow_interval = 0ms;  // removals of expired entries happen in sync() only
  auto cache = open_cache(make_memory_store(memory_options), options);
  const auto a_vector = at_distance(0.02, 1);
  const auto query_vector = at_distance(0, 3);
  const CacheRequest a{.model = "m", .tenant = "t", .canonical = "A", .embedding = a_vector};
  const CacheRequest query{.model = "m", .tenant = "t", .canonical = "q", .embedding = query_vector};
  REQUIRE(cache->store(a, "from A"));
  now->fetch_add(1200);  // A expired in the store
  LookupResult gone = cache->lookup(query);
  CHECK(gone.outcome == LookupOutcome::kMiss);
  CHECK(gone.expired_candidates == 1);  // queued for removal from the index
  REQUIRE(cache->store(a, "from A again"));
  REQUIRE(cache->sync());  // runs the queued removals
  CHECK(stats_of(*cache, "m").indexed == 1);
  LookupResult back = cache->lookup(query);
  REQUIRE(back.outcome == LookupOutcome::kSemanticHit);
  CHECK(back.entry.response == "from A again");
}

TEST_CASE("cache: a model change misses and tenants never see each other's entries", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    auto cache = open_cache(backend.connect(), semantic_options(CacheMode::kBoth));
    const auto v = at_distance(0, 1);
    const CacheRequest a{.model = "gpt@1", .tenant = "tenant-a", .canonical = "same prompt", .embedding = v};
    REQUIRE(cache->store(a, "secret of A"));

    CacheRequest b = a;
    b.tenant = "tenant-b";
    CHECK(cache->lookup(b).outcome == LookupOutcome::kMiss);
    CacheRequest new_model = a;
    new_model.model = "gpt@2";
    CHECK(cache->lookup(new_model).outcome == LookupOutcome::kMiss);

    // Many entries of tenant A around the query; B's own entry is farther away than all of them.
    for (int i = 0; i < 20; ++i) {
      const auto near = at_distance(0.001 * (i + 1), 1 + (i % (kDim - 1)));
      const std::string canonical = "a" + std::to_string(i);
      REQUIRE(
          cache->store(CacheRequest{.model = "gpt@1", .tenant = "tenant-a", .canonical = canonical, .embedding = near},
                       "secret of A"));
    }
    const auto b_vector = at_distance(0.08, 2);
    REQUIRE(cache->store(CacheRequest{.model = "gpt@1", .tenant = "tenant-b", .canonical = "b0", .embedding = b_vector},
                         "B's own"));
    LookupResult found = cache->lookup(b);
    REQUIRE(found.outcome == LookupOutcome::kSemanticHit);
    CHECK(found.entry.tenant == "tenant-b");
    CHECK(found.entry.response == "B's own");
    CHECK(found.distance == Approx(0.08).margin(1e-5));
  });
}

TEST_CASE("cache: invalidation by namespace, tenant and attribute", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    auto cache = open_cache(backend.connect(), semantic_options(CacheMode::kBoth));
    CacheOptions other_name = semantic_options(CacheMode::kBoth);
    other_name.name = "other";
    auto bystander = open_cache(backend.connect(), other_name);

    // The request views point into `storage`, valid until the next call.
    struct Storage {
      std::vector<float> vector;
      std::string canonical;
    };
    auto request = [](const std::string& model, const std::string& tenant, int i, Storage& storage) {
      storage.vector = at_distance(0.3 * (i % 5) / 5.0, 1 + (i % (kDim - 1)));
      storage.canonical = std::to_string(i);
      return CacheRequest{
          .model = model, .tenant = tenant, .canonical = storage.canonical, .embedding = storage.vector};
    };
    Storage storage;
    // model m1: tenants t1 (10 entries, half team red) and t2 (5); model m2: t1 (4).
    for (int i = 0; i < 10; ++i) {
      REQUIRE(
          cache->store(request("m1", "t1", i, storage), "r", i % 2 == 0 ? R"({"team":"red"})" : R"({"team":"blue"})"));
    }
    for (int i = 0; i < 5; ++i) REQUIRE(cache->store(request("m1", "t2", 100 + i, storage), "r", R"({"team":"red"})"));
    for (int i = 0; i < 4; ++i) REQUIRE(cache->store(request("m2", "t1", 200 + i, storage), "r"));
    for (int i = 0; i < 3; ++i) REQUIRE(bystander->store(request("m1", "t1", i, storage), "r"));

    // Attribute: team == "red" in m1 -> 5 of t1 + 5 of t2.
    CHECK(cache->invalidate_attribute("m1", "team", "red").value() == 10);
    CHECK(cache->lookup(request("m1", "t1", 0, storage)).outcome != LookupOutcome::kExactHit);
    CHECK(cache->lookup(request("m1", "t1", 1, storage)).outcome == LookupOutcome::kExactHit);
    CHECK(cache->invalidate_attribute("m1", "team", "red").value() == 0);
    CHECK(cache->invalidate_attribute("m1", "te.am", "red").status().code() == ErrorCode::kInvalidArgument);
    CHECK(stats_of(*cache, "m1").indexed == 5);

    // Tenant t1 over every model: the 5 blue of m1 and the 4 of m2.
    CHECK(cache->invalidate_tenant("", "t1").value() == 9);
    CHECK(stats_of(*cache, "m1").indexed == 0);
    CHECK(stats_of(*cache, "m2").indexed == 0);
    CHECK(cache->lookup(request("m2", "t1", 200, storage)).outcome == LookupOutcome::kMiss);

    // Namespace m1 after new stores.
    for (int i = 0; i < 6; ++i) REQUIRE(cache->store(request("m1", "t3", 300 + i, storage), "r"));
    REQUIRE(cache->store(request("m2", "t3", 400, storage), "r"));
    CHECK(cache->invalidate_namespace("m1").value() == 6);
    CHECK(cache->lookup(request("m1", "t3", 300, storage)).outcome == LookupOutcome::kMiss);
    CHECK(cache->lookup(request("m2", "t3", 400, storage)).outcome == LookupOutcome::kExactHit);
    CHECK(stats_of(*cache, "m1").invalidated == 10 + 5 + 6);
    CHECK(stats_of(*cache, "m2").invalidated == 4);
    CHECK(cache->invalidate_namespace("").value() == 1);
    CHECK(cache->lookup(request("m2", "t3", 400, storage)).outcome == LookupOutcome::kMiss);

    // Another name was never touched.
    for (int i = 0; i < 3; ++i) {
      CHECK(bystander->lookup(request("m1", "t1", i, storage)).outcome == LookupOutcome::kExactHit);
    }
  });
}

TEST_CASE("cache: two processes share one store through the change log", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    auto a = open_cache(backend.connect(), semantic_options());
    auto b = open_cache(backend.connect(), semantic_options());
    REQUIRE(b->warm("m"));
    CHECK(stats_of(*b, "m").indexed == 0);

    const auto stored = at_distance(0, 1);
    const auto query = at_distance(0.04, 2);
    REQUIRE(a->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "s", .embedding = stored}, "shared"));
    CacheRequest lookup{.model = "m", .tenant = "t", .canonical = "q", .embedding = query};
    CHECK(b->lookup(lookup).outcome == LookupOutcome::kMiss);  // not followed yet
    REQUIRE(b->sync());
    LookupResult found = b->lookup(lookup);
    REQUIRE(found.outcome == LookupOutcome::kSemanticHit);
    CHECK(found.entry.response == "shared");
    CHECK(stats_of(*b, "m").followed_changes == 1);

    // A third process starting now rebuilds from the store on first use.
    auto c = open_cache(backend.connect(), semantic_options());
    CHECK(c->lookup(lookup).outcome == LookupOutcome::kSemanticHit);

    // B invalidates the tenant: A follows the del event and its index empties.
    REQUIRE(a->sync());
    CHECK(stats_of(*a, "m").indexed == 1);
    CHECK(b->invalidate_tenant("m", "t").value() == 1);
    REQUIRE(a->sync());
    CHECK(stats_of(*a, "m").indexed == 0);
    CHECK(a->lookup(lookup).outcome == LookupOutcome::kMiss);

    // A drop travels the same way.
    REQUIRE(a->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "s", .embedding = stored}, "again"));
    REQUIRE(b->sync());
    CHECK(stats_of(*b, "m").indexed == 1);
    CHECK(a->invalidate_namespace("m").value() == 1);
    REQUIRE(b->sync());
    CHECK(stats_of(*b, "m").indexed == 0);
    CHECK(b->lookup(lookup).outcome == LookupOutcome::kMiss);
  });
}

TEST_CASE("cache: add events name the entry, whose record gives followers the vector", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    std::shared_ptr<Store> raw = backend.connect();
    const detail::NamespaceKeys keys = detail::namespace_keys("semcache", "default", "m");
    auto writer = open_cache(backend.connect(), semantic_options());
    auto follower = open_cache(backend.connect(), semantic_options());
    REQUIRE(follower->warm("m"));

    // The log holds the id and the identity, not the vector (the record has it).
    REQUIRE(writer->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "a", .embedding = at_distance(0, 1)},
                          "ra"));
    auto log = raw->log_read(keys.log_key, "0-0", 10);
    REQUIRE(log);
    REQUIRE(log->size() == 1);
    auto event = detail::decode_event(log->front().payload);
    REQUIRE(event);
    CHECK(event->kind == detail::EventKind::kAdd);
    CHECK(event->ids == std::vector<std::string>{detail::entry_id("t", "a")});
    CHECK(event->identity == "precomputed/8");
    CHECK(event->vector_bytes.empty());
    REQUIRE(follower->sync());
    CHECK(stats_of(*follower, "m").indexed == 1);
    const std::vector<float> query = at_distance(0.05, 2);
    LookupResult found = follower->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q", .embedding = query});
    REQUIRE(found.outcome == LookupOutcome::kSemanticHit);
    CHECK(found.entry.response == "ra");

    // An entry gone before the follower reads its add event (expired, evicted) is not added.
    REQUIRE(writer->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "b", .embedding = at_distance(0, 3)},
                          "rb"));
    StoreBatch expire;
    expire.deletes.push_back(keys.entry_prefix + detail::entry_id("t", "b"));
    REQUIRE(raw->execute(expire));
    REQUIRE(follower->sync());
    CHECK(stats_of(*follower, "m").indexed == 1);

    // An add event that carries its vector (earlier writers) is applied from the event itself:
    // here there is no record at all.
    StoreBatch old_writer;
    old_writer.appends.push_back(LogAppend{
        keys.log_key,
        detail::encode_event(detail::ChangeEvent{detail::EventKind::kAdd, 42, {detail::entry_id("t", "c")},
                                                 "precomputed/8", detail::encode_vector(at_distance(0, 4))}),
        0});
    REQUIRE(raw->execute(old_writer));
    REQUIRE(follower->sync());
    CHECK(stats_of(*follower, "m").indexed == 2);
  });
}

TEST_CASE("cache: a cache opened later rebuilds 500 entries, and the follower thread follows", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    {
      auto writer = open_cache(backend.connect(), semantic_options());
      std::mt19937 rng(42);
      std::normal_distribution<float> normal;
      for (int i = 0; i < 500; ++i) {
        std::vector<float> v(kDim);
        for (float& x : v) x = normal(rng);
        REQUIRE(writer->store(CacheRequest{.model = "m", .tenant = "t" + std::to_string(i % 7),
                                           .canonical = std::to_string(i), .embedding = v},
                              "r" + std::to_string(i)));
      }
      // Entries of another vector identity (exact mode here: no vector at all) are not indexed.
      CacheOptions exact = semantic_options(CacheMode::kExact);
      auto exact_writer = open_cache(backend.connect(), exact);
      REQUIRE(exact_writer->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "exact only"}, "r"));
      // A record another writer filled with unusable vectors (zero, NaN) is skipped, not fatal.
      std::vector<float> nan(kDim, 0.5f);
      nan[3] = std::nanf("");
      const std::vector<std::pair<std::string, std::vector<float>>> bad = {{"zero", std::vector<float>(kDim, 0.0f)},
                                                                          {"nan", nan}};
      StoreBatch raw;
      for (const auto& [canonical, vector] : bad) {
        const CacheRequest request{.model = "m", .tenant = "t", .canonical = canonical};
        raw.writes.push_back(RecordWrite{"semcache:default:m:e:" + detail::entry_id("t", canonical),
                                         detail::make_entry_record(request, "r", "", 1, vector, "precomputed/8")});
      }
      REQUIRE(backend.connect()->execute(raw));
    }
    CacheOptions following = semantic_options();
    following.follow_interval = 5ms;
    auto reader = open_cache(backend.connect(), following);
    REQUIRE(reader->warm("m"));
    CHECK(stats_of(*reader, "m").indexed == 500);

    auto writer = open_cache(backend.connect(), semantic_options());
    REQUIRE(writer->store(
        CacheRequest{.model = "m", .tenant = "t", .canonical = "late", .embedding = at_distance(0, 1)}, "late"));
    // The follower indexes the entry, then counts the change: wait for both (under ASan a
    // reader once saw 501 entries and no followed change in between).
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    auto followed = [&] {
      const NamespaceStats stats = stats_of(*reader, "m");
      return stats.indexed >= 501 && stats.followed_changes >= 1;
    };
    while (!followed() && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(5ms);
    CHECK(stats_of(*reader, "m").indexed == 501);
    CHECK(stats_of(*reader, "m").followed_changes >= 1);
  });
}

TEST_CASE("cache: a follower whose change-log position was trimmed away loads the namespace again", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    const RandomRequests requests(400, 7);
    // The writer keeps about 20 events (Redis trims whole stream nodes of 100: a few hundred).
    CacheOptions short_log = semantic_options();
    short_log.change_log_max_length = 20;
    auto writer = open_cache(backend.connect(), short_log);
    REQUIRE(writer->store(requests[0], "r0"));
    auto follower = open_cache(backend.connect(), semantic_options());
    REQUIRE(follower->warm("m"));
    REQUIRE(stats_of(*follower, "m").indexed == 1);  // its position: the first add event

    for (std::size_t i = 1; i < requests.size(); ++i) REQUIRE(writer->store(requests[i], "r" + std::to_string(i)));
    // The early add events are gone from the log: following it alone would index only the
    // retained ones. The follower loads the namespace again instead.
    REQUIRE(follower->sync());
    NamespaceStats stats = stats_of(*follower, "m");
    CHECK(stats.log_resyncs == 1);
    CHECK(stats.indexed == requests.size());
    CacheRequest early{.model = "m", .tenant = "t", .canonical = "paraphrase of 5", .embedding = requests.vectors[5]};
    LookupResult found = follower->lookup(early);
    REQUIRE(found.outcome == LookupOutcome::kSemanticHit);
    CHECK(found.entry.response == "r5");

    // From the loaded position on, it follows again: one more add is followed, not reloaded.
    std::vector<float> late(kDim, 0.0f);
    late[1] = 1.0f;
    REQUIRE(writer->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "late", .embedding = late}, "late"));
    REQUIRE(follower->sync());
    stats = stats_of(*follower, "m");
    CHECK(stats.log_resyncs == 1);
    CHECK(stats.indexed == requests.size() + 1);
    CHECK(stats.followed_changes >= 1);
  });
}

TEST_CASE("cache: processes storing while their change log is trimmed under them end with every entry", "[cache][redis][concurrency]") {
  on_each_backend([](Backend& backend) {
    constexpr std::size_t kWriterEntries = 300, kOwnEntries = 100;
    const RandomRequests requests(1 + kWriterEntries + kOwnEntries, 9);
    // Both keep about 20 events, so the process's follower thread (every ms) finds gaps and
    // reloads while its own stores and lookups go on (and, under TSan, races them), and the log
    // is trimmed again while a reload runs.
    CacheOptions short_log = semantic_options();
    short_log.change_log_max_length = 20;
    auto writer = open_cache(backend.connect(), short_log);
    REQUIRE(writer->store(requests[0], "r"));
    REQUIRE(writer->sync());  // its log position: that first event (not "0-0", which is not checked)
    CacheOptions following = short_log;
    following.follow_interval = 1ms;
    auto process = open_cache(backend.connect(), following);
    REQUIRE(process->warm("m"));

    std::atomic<bool> failed{false};
    std::thread other([&] {
      for (std::size_t i = 1; i <= kWriterEntries; ++i) {
        if (!writer->store(requests[i], "r")) failed = true;
      }
    });
    for (std::size_t i = kWriterEntries + 1; i < requests.size(); ++i) {
      if (!process->store(requests[i], "r")) failed = true;
      (void)process->lookup(requests[i - kWriterEntries]);
    }
    other.join();
    REQUIRE_FALSE(failed);
    REQUIRE(process->sync());
    REQUIRE(writer->sync());
    CHECK(stats_of(*process, "m").indexed == requests.size());
    CHECK(stats_of(*writer, "m").indexed == requests.size());
    // The writer followed only now: its position went long ago, and one reload did it (the
    // process's follower thread reloads as often as it finds gaps: 3 or 4 times here).
    CHECK(stats_of(*writer, "m").log_resyncs == 1);
  });
}

TEST_CASE("cache: lookup_or_store gives the outcomes of the sequential calls", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    // Two namespaces of separate names on one store stand for two fresh caches.
    CacheOptions batch_options = semantic_options(CacheMode::kExact);
    batch_options.name = "batched";
    CacheOptions sequential_options = batch_options;
    sequential_options.name = "sequential";
    CacheOptions behind_options = batch_options;
    behind_options.name = "write-behind";
    auto store = backend.connect();
    auto batched = open_cache(store, batch_options);
    auto sequential = open_cache(store, sequential_options);
    auto behind = open_cache(store, behind_options);
    Cache::WriteBehind write_behind = behind->write_behind();

    std::mt19937 rng(7);
    std::uniform_int_distribution<int> pick(0, 29);
    const std::vector<std::string> models = {"m1", "m2"};
    const std::vector<std::string> tenants = {"", "acme"};
    std::vector<std::string> canonicals, responses, attributes;
    for (int i = 0; i < 30; ++i) canonicals.push_back("request " + std::to_string(i));

    for (int round = 0; round < 4; ++round) {
      std::vector<CacheRequest> requests;
      std::vector<std::string> response_storage, attribute_storage;
      for (int i = 0; i < 60; ++i) {
        const int which = pick(rng);
        requests.push_back(CacheRequest{.model = models[static_cast<std::size_t>(which % 2)],
                                        .tenant = tenants[static_cast<std::size_t>((which / 2) % 2)],
                                        .canonical = canonicals[static_cast<std::size_t>(which)]});
        response_storage.push_back("answer " + std::to_string(round) + "." + std::to_string(i));
        // Request 13's attributes are never valid: store() refuses them, so it misses every time.
        attribute_storage.push_back(which == 13 ? "[1]" : which % 3 == 0 ? R"({"k": 1})" : "");
      }
      if (round == 2) requests[5].model = "";  // an error with nothing to store
      std::vector<std::string_view> response_views(response_storage.begin(), response_storage.end());
      std::vector<std::string_view> attribute_views(attribute_storage.begin(), attribute_storage.end());

      std::vector<LookupResult> expected;
      for (std::size_t i = 0; i < requests.size(); ++i) {
        expected.push_back(sequential->lookup(requests[i]));
        if (!expected.back().hit()) (void)sequential->store(requests[i], response_views[i], attribute_views[i]);
      }
      std::uint64_t batches_before = store->counters().batches;
      const std::vector<LookupResult> got = batched->lookup_or_store(requests, response_views, attribute_views);
      CHECK(store->counters().batches - batches_before == 2);
      // Write-behind: one round trip per batch, carrying the previous round's writes.
      batches_before = store->counters().batches;
      const std::vector<LookupResult> got_behind =
          write_behind.lookup_or_store(requests, response_views, attribute_views);
      CHECK(store->counters().batches - batches_before == 1);
      REQUIRE(got.size() == expected.size());
      REQUIRE(got_behind.size() == expected.size());
      for (std::size_t i = 0; i < got.size(); ++i) {
        INFO("round " << round << " request " << i);
        for (const LookupResult* result : {&got[i], &got_behind[i]}) {
          CHECK(result->outcome == expected[i].outcome);
          CHECK(result->entry.response == expected[i].entry.response);
          CHECK(result->entry.hits == expected[i].entry.hits);
          CHECK(result->entry.canonical == expected[i].entry.canonical);
          CHECK(result->entry.tenant == expected[i].entry.tenant);
          CHECK(result->entry.attributes_json == expected[i].entry.attributes_json);
        }
      }
    }
    REQUIRE(write_behind.flush());
    for (const std::string& model : models) {
      const NamespaceStats s = stats_of(*sequential, model);
      for (Cache* cache : {batched.get(), behind.get()}) {
        const NamespaceStats b = stats_of(*cache, model);
        CHECK(b.lookups == s.lookups);
        CHECK(b.exact_hits == s.exact_hits);
        CHECK(b.misses == s.misses);
        CHECK(b.stores == s.stores);
        CHECK(b.dropped_stores == 0);
      }
    }
  });
}

TEST_CASE("cache: write-behind holds a batch's writes until the next batch, flush() or its end", "[cache][redis]") {
  on_each_backend([](Backend& backend) {
    auto store = backend.connect();
    auto cache = open_cache(store, semantic_options(CacheMode::kExact));
    auto other = open_cache(store, semantic_options(CacheMode::kExact));  // another process, in effect
    const CacheRequest a{.model = "m", .tenant = "t", .canonical = "a"};
    const CacheRequest b{.model = "m", .tenant = "t", .canonical = "b"};
    const std::vector<std::string_view> response = {"answer"};
    {
      Cache::WriteBehind write_behind = cache->write_behind();
      CHECK(write_behind.lookup_or_store(std::span(&a, 1), response)[0].outcome == LookupOutcome::kMiss);
      CHECK(other->lookup(a).outcome == LookupOutcome::kMiss);  // held
      CHECK(stats_of(*cache, "m").stores == 0);
      // The next batch carries it: a hit for this stream and, from then on, for everyone.
      CHECK(write_behind.lookup_or_store(std::span(&a, 1), response)[0].outcome == LookupOutcome::kExactHit);
      CHECK(stats_of(*cache, "m").stores == 1);
      CHECK(other->lookup(a).outcome == LookupOutcome::kExactHit);
      CHECK(write_behind.lookup_or_store(std::span(&b, 1), response)[0].outcome == LookupOutcome::kMiss);
      REQUIRE(write_behind.flush());
      CHECK(other->lookup(b).outcome == LookupOutcome::kExactHit);
      CHECK(write_behind.flush());  // nothing held: nothing sent
      const CacheRequest c{.model = "m", .tenant = "t", .canonical = "c"};
      CHECK(write_behind.lookup_or_store(std::span(&c, 1), response)[0].outcome == LookupOutcome::kMiss);
    }
    // The destructor flushed c, and the hit count of a (one hit in the stream, one by `other`).
    const LookupResult c = other->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "c"});
    CHECK(c.outcome == LookupOutcome::kExactHit);
    CHECK(stats_of(*cache, "m").stores == 3);
    const LookupResult again = cache->lookup(a);
    REQUIRE(again.outcome == LookupOutcome::kExactHit);
    CHECK(again.entry.hits == 2);
  });
}

TEST_CASE("cache: write-behind counts held writes lost to a Redis that went down as dropped", "[cache][redis]") {
  testing::RedisServer server;
  auto store = testing::open_impatient_store(server);
  auto cache = open_cache(store, semantic_options(CacheMode::kExact));
  Cache::WriteBehind write_behind = cache->write_behind();
  const std::vector<CacheRequest> requests = {{.model = "m", .tenant = "t", .canonical = "a"},
                                              {.model = "m", .tenant = "t", .canonical = "b"}};
  const std::vector<std::string_view> responses = {"ra", "rb"};
  for (const LookupResult& r : write_behind.lookup_or_store(requests, responses)) {
    CHECK(r.outcome == LookupOutcome::kMiss);
  }
  server.stop();
  const Status flushed = write_behind.flush();
  CHECK(flushed.code() == ErrorCode::kUnavailable);
  NamespaceStats s = stats_of(*cache, "m");
  CHECK(s.stores == 0);
  CHECK(s.dropped_stores == 2);
  // With the server down, a batch fails its lookups; its own writes are held, then dropped.
  for (const LookupResult& r : write_behind.lookup_or_store(requests, responses)) {
    CHECK(r.outcome == LookupOutcome::kError);
  }
  CHECK(stats_of(*cache, "m").errors == 2);
  CHECK(write_behind.flush().code() == ErrorCode::kUnavailable);
  CHECK(stats_of(*cache, "m").dropped_stores == 4);
}

TEST_CASE("cache: a Redis that is down gives fast errors and dropped stores, then recovers", "[cache][redis]") {
  testing::RedisServer server;
  auto store = testing::open_impatient_store(server);
  auto cache = open_cache(store, semantic_options(CacheMode::kBoth));
  auto semantic_only = open_cache(store, semantic_options());
  const auto v = at_distance(0, 1);
  const CacheRequest request{.model = "m", .tenant = "t", .canonical = "c", .embedding = v};
  REQUIRE(cache->store(request, "r"));
  REQUIRE(cache->lookup(request).outcome == LookupOutcome::kExactHit);

  server.stop();
  const auto start = std::chrono::steady_clock::now();
  LookupResult failed = cache->lookup(request);
  CHECK(std::chrono::steady_clock::now() - start < 200ms + 1s);
  CHECK(failed.outcome == LookupOutcome::kError);
  CHECK_FALSE(failed.error.empty());
  const Status dropped = cache->store(request, "r2");
  CHECK(dropped.code() == ErrorCode::kUnavailable);
  NamespaceStats s = stats_of(*cache, "m");
  CHECK(s.errors == 1);
  CHECK(s.dropped_stores == 1);

  // A namespace first used now cannot be rebuilt: concurrent lookups all fail, each in time.
  std::vector<std::thread> threads;
  std::atomic<int> late{0};
  std::atomic<int> not_errors{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      const auto begin = std::chrono::steady_clock::now();
      const LookupResult r =
          semantic_only->lookup(CacheRequest{.model = "fresh", .tenant = "t", .canonical = "c", .embedding = v});
      if (std::chrono::steady_clock::now() - begin >= 200ms + 1s) late.fetch_add(1);
      if (r.outcome != LookupOutcome::kError) not_errors.fetch_add(1);
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(late.load() == 0);
  CHECK(not_errors.load() == 0);
  CHECK(stats_of(*semantic_only, "fresh").errors == 4);

  server.restart();  // no persistence: the data is gone
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  LookupResult again = cache->lookup(request);
  while (again.outcome == LookupOutcome::kError && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    again = cache->lookup(request);
  }
  CHECK(again.outcome != LookupOutcome::kError);
  REQUIRE(cache->store(request, "r3"));
  LookupResult hit = cache->lookup(request);
  CHECK(hit.outcome == LookupOutcome::kExactHit);
  CHECK(hit.entry.response == "r3");
}

TEST_CASE("cache: concurrent lookups, stores and invalidations stay consistent", "[cache][redis][concurrency]") {
  on_each_backend([](Backend& backend) {
    CacheOptions options = semantic_options(CacheMode::kBoth);
    options.follow_interval = 2ms;
    options.threshold = 0.2;
    auto cache = open_cache(backend.connect(), options);
    auto peer = open_cache(backend.connect(), options);  // a second process, followed by the first

    constexpr int kTenants = 3;
    constexpr int kPool = 24;
    std::vector<std::vector<float>> pool;
    std::mt19937 rng(11);
    std::normal_distribution<float> normal;
    for (int i = 0; i < kPool; ++i) {
      std::vector<float> v(kDim);
      for (float& x : v) x = normal(rng);
      pool.push_back(v);
    }
    const std::vector<std::string> models = {"m1", "m2"};
    auto response_for = [](const std::string& tenant, const std::string& model, int i) {
      return tenant + "|" + model + "|" + std::to_string(i);
    };

    std::atomic<int> writers_done{0};
    std::atomic<int> bad{0};
    std::atomic<int> hits{0};
    std::atomic<int> errors{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        std::mt19937 local(100 + static_cast<unsigned>(t));
        // At least 150 lookups, and on until both writers are done.
        for (int n = 0; n < 150 || writers_done.load() < 2; ++n) {
          const int i = static_cast<int>(local() % kPool);
          const std::string tenant = "t" + std::to_string(local() % kTenants);
          const std::string& model = models[local() % 2];
          const std::string canonical = std::to_string(i);
          LookupResult found = cache->lookup(CacheRequest{.model = model,
                                                          .tenant = tenant,
                                                          .canonical = canonical,
                                                          .embedding = pool[static_cast<std::size_t>(i)]});
          if (found.outcome == LookupOutcome::kError) errors.fetch_add(1);
          if (!found.hit()) continue;
          hits.fetch_add(1);
          const std::string& r = found.entry.response;
          const bool consistent = found.entry.tenant == tenant && found.entry.model == model &&
                                  r.rfind(tenant + "|" + model + "|", 0) == 0 &&
                                  (found.outcome != LookupOutcome::kExactHit || found.entry.canonical == canonical);
          if (!consistent) bad.fetch_add(1);
        }
      });
    }
    for (int w = 0; w < 2; ++w) {
      threads.emplace_back([&, w] {
        Cache& target = w == 0 ? *cache : *peer;
        std::mt19937 local(200 + static_cast<unsigned>(w));
        for (int n = 0; n < 100; ++n) {
          const int i = static_cast<int>(local() % kPool);
          const std::string tenant = "t" + std::to_string(local() % kTenants);
          const std::string& model = models[local() % 2];
          const std::string canonical = std::to_string(i);
          (void)target.store(CacheRequest{.model = model, .tenant = tenant, .canonical = canonical,
                                          .embedding = pool[static_cast<std::size_t>(i)]},
                             response_for(tenant, model, i), i % 2 == 0 ? R"({"w":"even"})" : R"({"w":"odd"})");
        }
        writers_done.fetch_add(1);
      });
    }
    threads.emplace_back([&] {
      for (int n = 0; n < 12; ++n) {
        switch (n % 3) {
          case 0: (void)cache->invalidate_tenant("m1", "t" + std::to_string(n % kTenants)); break;
          case 1: (void)peer->invalidate_attribute("", "w", "even"); break;
          default: (void)cache->invalidate_namespace("m2"); break;
        }
        std::this_thread::sleep_for(1ms);
      }
    });
    for (auto& thread : threads) thread.join();
    CHECK(bad.load() == 0);
    CHECK(errors.load() == 0);
    CHECK(hits.load() > 0);
    REQUIRE(cache->sync());
    for (const NamespaceStats& s : cache->stats()) {
      CHECK(s.lookups == s.exact_hits + s.semantic_hits + s.misses + s.errors);
    }
  });
}
