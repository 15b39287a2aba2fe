// Tests of namespace snapshots (cache/namespace_snapshot.hpp, Cache::publish_snapshot and the
// warm start in NamespaceIndex) against a real redis-server (redis_server.hpp).
//
// The oracle for "the same search results" is a Cache that rebuilt its set from the entries
// (use_snapshots = false): with threshold 2 (every candidate qualifies) and ef above the
// number of entries, each lookup returns the nearest entry of the tenant, so a cache started
// from the snapshot must return the same entry at the same distance for every query. Refusals
// are provoked for real: a chunk overwritten or deleted in Redis, a log trimmed past the
// snapshot, a cache with another vector identity or quantisation. The race between a store's
// log event and its local add is widened by a store that returns late from appends (without
// the local-write gate of NamespaceIndex, that test loses entries in most runs).

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cache/entry_record.hpp"
#include "cache/namespace_snapshot.hpp"
#include "redis_server.hpp"
#include "semcache/cache.hpp"
#include "semcache/redis_store.hpp"

using namespace semcache;
using namespace std::chrono_literals;

#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

constexpr std::size_t kDim = 16;
constexpr std::size_t kEntries = 300;

std::shared_ptr<Store> connect(const testing::RedisServer& server) {
  auto store = open_redis_store(server.url());
  REQUIRE(store);
  return *store;
}

CacheOptions options(bool use_snapshots = true) {
  CacheOptions o;
  o.mode = CacheMode::kSemantic;
  o.dim = kDim;
  o.threshold = 2.0;  // every candidate qualifies: a lookup returns the tenant's nearest entry
  o.ef = 512;         // above the entry count: the search is exhaustive, the answer exact
  o.follow_interval = 0ms;
  o.use_snapshots = use_snapshots;
  return o;
}

std::unique_ptr<Cache> open_cache(std::shared_ptr<Store> store, const CacheOptions& o) {
  auto cache = Cache::open(std::move(store), o);
  REQUIRE(cache);
  return std::move(cache.value());
}

std::vector<float> random_vector(std::mt19937& rng) {
  std::normal_distribution<float> normal;
  std::vector<float> v(kDim);
  for (float& x : v) x = normal(rng);
  return v;
}

void fill(Cache& cache, std::size_t first, std::size_t count, std::uint32_t seed) {
  std::mt19937 rng(seed);
  for (std::size_t i = first; i < first + count; ++i) {
    const auto v = random_vector(rng);
    REQUIRE(cache.store(CacheRequest{.model = "m", .tenant = "t", .canonical = "q" + std::to_string(i), .embedding = v},
                        "r" + std::to_string(i)));
  }
}

NamespaceStats stats_of(const Cache& cache) {
  for (const NamespaceStats& s : cache.stats()) {
    if (s.model == "m") return s;
  }
  return NamespaceStats{};
}

// Every query answers the same entry at the same distance in both caches.
void same_answers(Cache& a, Cache& b, std::size_t queries = 40) {
  std::mt19937 rng(777);
  for (std::size_t q = 0; q < queries; ++q) {
    const auto v = random_vector(rng);
    const CacheRequest request{.model = "m", .tenant = "t", .canonical = "query", .embedding = v};
    const LookupResult x = a.lookup(request), y = b.lookup(request);
    REQUIRE(x.outcome == LookupOutcome::kSemanticHit);
    REQUIRE(y.outcome == LookupOutcome::kSemanticHit);
    CHECK(x.entry.key == y.entry.key);
    CHECK(x.distance == y.distance);
  }
}

std::set<std::string> chunk_keys(Store& store, const detail::NamespaceKeys& keys) {
  std::set<std::string> out;
  REQUIRE(store.scan(keys.snapshot_key + ":", 100, [&](std::span<const std::string> found) {
    out.insert(found.begin(), found.end());
    return Status::ok();
  }));
  return out;
}

detail::NamespaceKeys keys_of_m() { return detail::namespace_keys("semcache", "default", "m"); }

// A store that returns from every batch carrying a log append `delay` after the batch was
// applied: it widens the moment between a store's change-log event and its local add, where a
// snapshot must not take a log position that covers the event without the vector.
class SlowAppendStore : public Store {
 public:
  SlowAppendStore(std::shared_ptr<Store> inner, std::chrono::milliseconds delay) : inner_(std::move(inner)), delay_(delay) {}
  Expected<StoreBatchResult> execute(const StoreBatch& batch) override {
    auto result = inner_->execute(batch);
    if (!batch.appends.empty()) std::this_thread::sleep_for(delay_);
    return result;
  }
  Status scan(std::string_view prefix, std::size_t batch_size,
              const std::function<Status(std::span<const std::string>)>& on_keys) override {
    return inner_->scan(prefix, batch_size, on_keys);
  }
  Expected<std::vector<LogEntry>> log_read(std::string_view key, std::string_view after_id, std::size_t count) override {
    return inner_->log_read(key, after_id, count);
  }
  Expected<std::string> log_last_id(std::string_view key) override { return inner_->log_last_id(key); }
  StoreCounters counters() const override { return inner_->counters(); }
  std::string describe() const override { return inner_->describe(); }

 private:
  std::shared_ptr<Store> inner_;
  std::chrono::milliseconds delay_;
};

}  // namespace

TEST_CASE("snapshot: a cache started from a snapshot answers like one that rebuilt", "[snapshot][redis]") {
  testing::RedisServer server;
  auto a = open_cache(connect(server), options());
  fill(*a, 0, kEntries, 1);
  auto published = a->publish_snapshot("m");
  REQUIRE(published);
  CHECK(published->elements == kEntries);
  CHECK(published->chunks == 1);
  auto info = a->snapshot_info("m");
  REQUIRE(info);
  REQUIRE(info->has_value());
  CHECK((*info)->id == published->id);
  CHECK((*info)->log_id == published->log_id);
  CHECK((*info)->bytes == published->bytes);

  auto from_snapshot = open_cache(connect(server), options());
  auto rebuilt = open_cache(connect(server), options(false));
  REQUIRE(from_snapshot->warm("m"));
  REQUIRE(rebuilt->warm("m"));
  CHECK(stats_of(*from_snapshot).warm_start == "snapshot");
  CHECK(stats_of(*from_snapshot).snapshot_refused.empty());
  CHECK(stats_of(*from_snapshot).indexed == kEntries);
  CHECK(stats_of(*rebuilt).warm_start == "rebuild");
  same_answers(*from_snapshot, *rebuilt);

  // The operator's view (semcache cache stats) finds the namespace, its vectors and snapshot.
  auto store = connect(server);
  auto described = describe_namespaces(*store, "semcache", "default");
  REQUIRE(described);
  REQUIRE(described->size() == 1);
  const StoredNamespace& ns = described->front();
  CHECK(ns.model == "m");
  CHECK(ns.entries == kEntries);
  CHECK(ns.dim == kDim);
  CHECK(ns.vector_identity == "precomputed/16");
  CHECK(ns.log_last_id == published->log_id);
  REQUIRE(ns.snapshot);
  CHECK(ns.snapshot->id == published->id);
}

TEST_CASE("snapshot: B starts from A's snapshot and replays what A changed after it", "[snapshot][redis]") {
  testing::RedisServer server;
  auto a = open_cache(connect(server), options());
  fill(*a, 0, kEntries, 2);
  REQUIRE(a->publish_snapshot("m"));
  fill(*a, kEntries, 25, 3);  // after the snapshot: only the log has them

  auto b = open_cache(connect(server), options());
  REQUIRE(b->warm("m"));
  const NamespaceStats s = stats_of(*b);
  CHECK(s.warm_start == "snapshot");
  CHECK(s.indexed == kEntries + 25);
  CHECK(s.followed_changes >= 25);
  // The entries added after the snapshot are found by their own vectors.
  std::mt19937 rng(3);
  for (std::size_t i = kEntries; i < kEntries + 25; ++i) {
    const auto v = random_vector(rng);
    LookupResult found = b->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "x", .embedding = v});
    REQUIRE(found.outcome == LookupOutcome::kSemanticHit);
    CHECK(found.entry.response == "r" + std::to_string(i));
    CHECK(found.distance < 0.01f);  // int8 codes of 16 dims: not exactly 0
  }
  auto rebuilt = open_cache(connect(server), options(false));
  same_answers(*b, *rebuilt);

  // A deletion after the snapshot travels too: A drops tenant t, B follows and empties.
  REQUIRE(a->invalidate_tenant("m", "t").value() == kEntries + 25);
  auto c = open_cache(connect(server), options());
  REQUIRE(c->warm("m"));
  CHECK(stats_of(*c).warm_start == "snapshot");
  CHECK(stats_of(*c).indexed == 0);
}

TEST_CASE("snapshot: a corrupt, incomplete or mismatching snapshot is refused and the set rebuilt",
          "[snapshot][redis]") {
  testing::RedisServer server;
  auto store = connect(server);
  auto a = open_cache(store, options());
  fill(*a, 0, kEntries, 4);
  const detail::NamespaceKeys keys = keys_of_m();

  auto expect_rebuild = [&](const CacheOptions& o, const std::string& reason) {
    auto b = open_cache(connect(server), o);
    REQUIRE(b->warm("m"));
    const NamespaceStats s = stats_of(*b);
    CHECK(s.warm_start == "rebuild");
    CHECK_THAT(s.snapshot_refused, Catch::Contains(reason));
    CHECK(s.indexed == kEntries);
    if (o.quantization == Quantization::kInt8 && o.vector_identity == "precomputed") {
      auto rebuilt = open_cache(connect(server), options(false));
      same_answers(*b, *rebuilt, 10);
    }
  };

  SECTION("a flipped byte in a chunk fails the payload checksum") {
    auto published = a->publish_snapshot("m");
    REQUIRE(published);
    const std::string chunk = detail::snapshot_chunk_key(keys, published->id, 0);
    auto records = store->read(std::span<const std::string>(&chunk, 1));
    REQUIRE(records);
    REQUIRE(records->front());
    Record record = *records->front();
    record.front().second[record.front().second.size() / 2] ^= 0x10;
    StoreBatch batch;
    batch.writes.push_back(RecordWrite{chunk, record});
    REQUIRE(store->execute(batch));
    expect_rebuild(options(), "payload checksum");
  }
  SECTION("a missing chunk and a resized chunk are named") {
    auto created = VectorSet::create(VectorSetOptions{.dim = kDim, .quantization = Quantization::kInt8, .ef_construction = 100});
    REQUIRE(created);
    const detail::VectorContext context{created.value()->options(), "precomputed/16", 1, true};
    const std::string payload = created.value()->save_to_memory() + std::string(5000, 'x');  // 5 chunks of 1000+
    auto last = store->log_last_id(keys.log_key);
    REQUIRE(last);
    auto published = detail::publish_snapshot(*store, keys, context, payload, *last, 0, 1000);
    REQUIRE(published);
    REQUIRE(published->manifest.chunks == (payload.size() + 999) / 1000);
    StoreBatch resize;
    resize.writes.push_back(RecordWrite{detail::snapshot_chunk_key(keys, published->manifest.id, 1), Record{{"b", "short"}}});
    REQUIRE(store->execute(resize));
    auto refused = detail::load_snapshot(*store, keys, context);
    REQUIRE_FALSE(refused);
    CHECK(refused.status().code() == ErrorCode::kCorrupt);
    CHECK_THAT(refused.status().message(), Catch::Contains("chunk 1 holds 5 bytes, expected 1000"));
    StoreBatch remove;
    remove.deletes.push_back(detail::snapshot_chunk_key(keys, published->manifest.id, 2));
    REQUIRE(store->execute(remove));
    refused = detail::load_snapshot(*store, keys, context);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.status().message(), Catch::Contains("chunk 1 holds 5 bytes"));  // the first problem wins
    StoreBatch restore;
    restore.writes.push_back(RecordWrite{detail::snapshot_chunk_key(keys, published->manifest.id, 1),
                                         Record{{"b", payload.substr(1000, 1000)}}});
    REQUIRE(store->execute(restore));
    refused = detail::load_snapshot(*store, keys, context);
    REQUIRE_FALSE(refused);
    CHECK_THAT(refused.status().message(), Catch::Contains("chunk 2 of " + std::to_string(published->manifest.chunks) + " is missing"));
    expect_rebuild(options(), "chunk 2 of");
  }
  SECTION("a snapshot of another vector identity or quantisation is refused") {
    REQUIRE(a->publish_snapshot("m"));
    CacheOptions other = options();
    other.vector_identity = "another-embedder";
    auto b = open_cache(connect(server), other);
    REQUIRE(b->warm("m"));
    CHECK(stats_of(*b).warm_start == "rebuild");
    CHECK_THAT(stats_of(*b).snapshot_refused, Catch::Contains("vector identity 'precomputed/16'"));
    CHECK(stats_of(*b).indexed == 0);  // the entries are of the other identity: none is indexed
    CacheOptions f32 = options();
    f32.quantization = Quantization::kF32;
    expect_rebuild(f32, "quantization int8, this cache uses f32");
  }
  SECTION("a manifest of a newer format is refused") {
    REQUIRE(a->publish_snapshot("m"));
    auto records = store->read(std::span<const std::string>(&keys.snapshot_key, 1));
    REQUIRE(records);
    Record manifest = *records->front();
    for (auto& [field, value] : manifest) {
      if (field == "format") value = "2";
    }
    StoreBatch batch;
    batch.writes.push_back(RecordWrite{keys.snapshot_key, manifest});
    REQUIRE(store->execute(batch));
    expect_rebuild(options(), "snapshot format 2 is not supported");
  }
}

TEST_CASE("snapshot: a snapshot whose log position was trimmed away is stale", "[snapshot][redis]") {
  testing::RedisServer server;
  auto store = connect(server);
  auto a = open_cache(store, options());
  fill(*a, 0, kEntries, 5);
  auto published = a->publish_snapshot("m");
  REQUIRE(published);
  // Other writers' traffic trims the log (XADD MAXLEN ~ drops whole stream nodes of 100 entries;
  // these payloads are no event, so followers skip them).
  const detail::NamespaceKeys keys = keys_of_m();
  for (int i = 0; i < 3; ++i) {
    StoreBatch batch;
    for (int j = 0; j < 100; ++j) batch.appends.push_back(LogAppend{keys.log_key, "not an event", 10});
    REQUIRE(store->execute(batch));
  }
  auto first = store->log_read(keys.log_key, "0-0", 1);
  REQUIRE(first);
  REQUIRE(!first->empty());
  REQUIRE(*detail::parse_log_id(published->log_id) < *detail::parse_log_id(first->front().id));

  auto b = open_cache(connect(server), options());
  REQUIRE(b->warm("m"));
  CHECK(stats_of(*b).warm_start == "rebuild");
  CHECK_THAT(stats_of(*b).snapshot_refused, Catch::Contains("is stale") && Catch::Contains("trimmed past it"));
  CHECK(stats_of(*b).indexed == kEntries);
}

TEST_CASE("snapshot: publishing keeps the newest two snapshots and removes older ones", "[snapshot][redis]") {
  testing::RedisServer server;
  auto store = connect(server);
  auto a = open_cache(store, options());
  fill(*a, 0, 50, 6);
  const detail::NamespaceKeys keys = keys_of_m();
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    fill(*a, 50 + static_cast<std::size_t>(i), 1, 60 + static_cast<std::uint32_t>(i));
    auto published = a->publish_snapshot("m");
    REQUIRE(published);
    CHECK(published->sequence == static_cast<std::uint64_t>(i + 1));
    CHECK(published->removed_chunks == (i >= 2 ? 1u : 0u));
    ids.push_back(published->id);
  }
  const std::set<std::string> expected = {detail::snapshot_chunk_key(keys, ids[2], 0),
                                          detail::snapshot_chunk_key(keys, ids[3], 0)};
  CHECK(chunk_keys(*store, keys) == expected);
  auto info = a->snapshot_info("m");
  REQUIRE(info);
  CHECK((*info)->id == ids[3]);
  CHECK((*info)->elements == 54);
  // publish_snapshots() covers every ready namespace; a namespace never used has no snapshot.
  REQUIRE(a->warm("other"));
  auto all = a->publish_snapshots();
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK(a->snapshot_info("m").value()->sequence == 5);
  CHECK(a->snapshot_info("other").value()->elements == 0);
  CHECK_FALSE(a->snapshot_info("unused").value().has_value());
}

TEST_CASE("snapshot: the periodic publisher publishes only when the set moved", "[snapshot][redis]") {
  testing::RedisServer server;
  auto writer = open_cache(connect(server), options());
  fill(*writer, 0, 20, 7);
  CacheOptions o = options();
  o.snapshot_interval = 50ms;
  auto publisher = open_cache(connect(server), o);
  REQUIRE(publisher->warm("m"));
  auto wait_for_sequence = [&](std::uint64_t sequence) {
    for (int i = 0; i < 200; ++i) {
      auto info = publisher->snapshot_info("m");
      REQUIRE(info);
      if (info->has_value() && (*info)->sequence >= sequence) return (*info)->sequence;
      std::this_thread::sleep_for(10ms);
    }
    FAIL("no snapshot of sequence " << sequence << " within 2 s");
    return std::uint64_t{0};
  };
  CHECK(wait_for_sequence(1) == 1);
  std::this_thread::sleep_for(300ms);  // six intervals with no change: nothing new
  CHECK(publisher->snapshot_info("m").value()->sequence == 1);
  fill(*writer, 20, 1, 8);  // the publisher follows it before its next snapshot
  CHECK(wait_for_sequence(2) == 2);
  CHECK(publisher->snapshot_info("m").value()->elements == 21);
}

TEST_CASE("snapshot: publishing while the same cache stores loses none of its entries", "[snapshot][redis][concurrency]") {
  testing::RedisServer server;
  auto a = open_cache(std::make_shared<SlowAppendStore>(connect(server), 3ms), options());
  fill(*a, 0, 50, 9);
  // Catch2 assertions are not thread-safe: the writer counts its failures instead.
  std::atomic<bool> done{false};
  std::atomic<int> failed_stores{0};
  std::thread writer([&] {
    std::mt19937 rng(10);
    for (std::size_t i = 50; i < 250; ++i) {
      const auto v = random_vector(rng);
      const std::string canonical = "q" + std::to_string(i);
      if (!a->store(CacheRequest{.model = "m", .tenant = "t", .canonical = canonical, .embedding = v}, "r")) ++failed_stores;
    }
    done = true;
  });
  int published = 0;
  while (!done) {
    auto info = a->publish_snapshot("m");
    REQUIRE(info);
    ++published;
  }
  writer.join();
  REQUIRE(failed_stores == 0);
  INFO(published << " snapshots published during the stores");
  CHECK(published >= 1);
  // The newest snapshot was taken while stores ran: with the log replayed, every entry is there.
  auto b = open_cache(connect(server), options());
  REQUIRE(b->warm("m"));
  CHECK(stats_of(*b).warm_start == "snapshot");
  CHECK(stats_of(*b).indexed == 250);
  auto rebuilt = open_cache(connect(server), options(false));
  same_answers(*b, *rebuilt, 20);
}
