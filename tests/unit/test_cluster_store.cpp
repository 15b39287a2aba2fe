// The Redis Cluster store: hash slots against the spec and against a real cluster, slot-map
// and redirection parsing, then the store on a real local cluster (scripts/redis-cluster):
// the same results and data as the single-node store for the same random batches, keys
// spread over every primary, MOVED and ASK followed while a slot migrates, a killed primary
// failing calls fast until its replica is promoted, the semantic cache on the cluster, and a
// vector set (RedisVectorStore) on the primary of its hash tag's slot.

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "store_calls.hpp"
#include "semcache/cache.hpp"
#include "semcache/redis_cluster_store.hpp"
#include "semcache/redis_store.hpp"
#include "semcache/redis_url.hpp"
#include "semcache/redis_vector_store.hpp"
#include "store/cluster_slots.hpp"
#include "store/record_codec.hpp"
#include "store/redis_connection.hpp"

// Requests name only the fields a test uses (see test_cache.cpp).
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace {

using namespace semcache;
using namespace std::chrono_literals;
using testing::read_one;
using testing::run;
using testing::write_one;
using Clock = std::chrono::steady_clock;
using detail::Reply;

// One 3-primary cluster for the tests that leave it usable (each uses keys of its own prefix);
// stopped at exit.
testing::RedisCluster& shared_cluster() {
  static std::unique_ptr<testing::RedisCluster> cluster;
  if (!cluster) cluster = std::make_unique<testing::RedisCluster>();
  return *cluster;
}

Reply command(detail::RedisConnection& connection, std::initializer_list<std::string_view> args) {
  auto reply = connection.command(args);
  INFO(reply.status().message());
  REQUIRE(reply);
  return std::move(*reply);
}

std::shared_ptr<Store> open_cluster(const std::string& url, RedisStoreOptions options = {}) {
  auto store = open_redis_cluster_store(url, options);
  INFO(store.status().message());
  REQUIRE(store);
  return *store;
}

std::int64_t counter_of(Store& store, const std::string& key) {
  StoreBatch batch;
  batch.reads.push_back(key);
  return run(store, batch).counters.at(0);
}

ClusterStats stats_of(const Store& store) {
  auto stats = cluster_stats(store);
  REQUIRE(stats);
  return *stats;
}

// A key "PREFIX<n>" in `slot` (the first such n): keys that live together without a hash tag.
std::string key_in_slot(const std::string& prefix, std::uint16_t slot, int skip = 0) {
  for (int n = 0;; ++n) {
    std::string key = prefix + std::to_string(n);
    if (detail::key_slot(key) == slot && skip-- == 0) return key;
  }
}

// The port of the primary that serves `slot`, from CLUSTER SLOTS of `any_port`.
int owner_port(int any_port, std::uint16_t slot) {
  auto connection = testing::connect_node(any_port);
  auto map = detail::parse_cluster_slots(command(connection, {"CLUSTER", "SLOTS"}), "127.0.0.1", "test");
  REQUIRE(map);
  const detail::SlotRange* range = map->find(slot);
  REQUIRE(range != nullptr);
  return range->primary.port;
}

std::string node_id(int port) {
  auto connection = testing::connect_node(port);
  Reply id = command(connection, {"CLUSTER", "MYID"});
  REQUIRE(id.is_string());
  return id.str;
}

Reply array(std::vector<Reply> elements) {
  Reply reply;
  reply.type = Reply::Type::kArray;
  reply.elements = std::move(elements);
  return reply;
}
Reply text(std::string value) {
  Reply reply;
  reply.type = Reply::Type::kString;
  reply.str = std::move(value);
  return reply;
}
Reply number(long long value) {
  Reply reply;
  reply.type = Reply::Type::kInteger;
  reply.integer = value;
  return reply;
}
Reply shard_node(std::string id, long long port, std::string role, std::string health) {
  return array({text("id"), text(std::move(id)), text("port"), number(port), text("ip"), text("10.0.0.1"),
                text("endpoint"), text("10.0.0.1"), text("role"), text(std::move(role)), text("replication-offset"),
                number(0), text("health"), text(std::move(health))});
}

}  // namespace

TEST_CASE("cluster slots: CRC16 and key_slot follow the cluster specification", "[cluster]") {
  CHECK(detail::crc16("123456789") == 0x31C3);
  CHECK(detail::crc16("") == 0);
  CHECK(detail::key_slot("123456789") == (0x31C3 & 16383));
  // Hash tags: the first '{' to the first '}' after it, when not empty.
  CHECK(detail::key_slot("{user1000}.following") == detail::key_slot("{user1000}.followers"));
  CHECK(detail::key_slot("{user1000}.following") == detail::key_slot("user1000"));
  CHECK(detail::key_slot("foo{}{bar}") == (detail::crc16("foo{}{bar}") & 16383));
  CHECK(detail::key_slot("foo{{bar}}zap") == detail::key_slot("{bar"));
  CHECK(detail::key_slot("foo{bar}{zap}") == detail::key_slot("bar"));
  CHECK(detail::key_slot("foo{bar") == (detail::crc16("foo{bar") & 16383));
  CHECK(detail::key_slot("}foo{") == (detail::crc16("}foo{") & 16383));
}

TEST_CASE("cluster slots: key_slot agrees with CLUSTER KEYSLOT of a real cluster", "[cluster]") {
  testing::RedisCluster& cluster = shared_cluster();
  auto connection = testing::connect_node(cluster.nodes().front().port);
  std::mt19937 rng(7);
  const std::string alphabet = "ab{}{}:.x\x01\xff";
  std::vector<std::string> keys = {"", "{}", "{", "}", "{{}}", "a{b}c{d}"};
  for (int i = 0; i < 400; ++i) {
    std::string key(std::uniform_int_distribution<int>(1, 12)(rng), ' ');
    for (char& c : key) c = alphabet[std::uniform_int_distribution<std::size_t>(0, alphabet.size() - 1)(rng)];
    keys.push_back(std::move(key));
  }
  for (const std::string& key : keys) REQUIRE(connection.append({"CLUSTER", "KEYSLOT", key}));
  for (const std::string& key : keys) {
    auto reply = connection.read_reply();
    REQUIRE(reply);
    REQUIRE(reply->is_integer());
    INFO("key '" << key << "'");
    CHECK(detail::key_slot(key) == reply->integer);
  }
}

TEST_CASE("cluster slots: slot maps from CLUSTER SHARDS and CLUSTER SLOTS, redirections", "[cluster]") {
  SECTION("CLUSTER SHARDS: the online master is the primary") {
    const Reply reply = array({
        array({text("slots"), array({number(0), number(99), number(200), number(299)}), text("nodes"),
               array({shard_node("old", 7000, "master", "fail"), shard_node("new", 7003, "master", "online"),
                      shard_node("r", 7004, "replica", "online")})}),
        array({text("slots"), array({number(100), number(199)}), text("nodes"),
               array({shard_node("b", 7001, "master", "online")})}),
        array({text("slots"), array({}), text("nodes"), array({shard_node("c", 7002, "master", "online")})}),
    });
    auto map = detail::parse_cluster_shards(reply, "127.0.0.1", "node");
    INFO(map.status().message());
    REQUIRE(map);
    REQUIRE(map->ranges.size() == 3);
    CHECK(map->ranges[0].first == 0);
    CHECK(map->ranges[0].last == 99);
    CHECK(map->ranges[0].primary.id == "new");
    CHECK(map->ranges[0].primary.address() == "10.0.0.1:7003");
    CHECK(map->ranges[1].primary.port == 7001);
    CHECK(map->ranges[2].first == 200);
    CHECK(map->covered_slots() == 300);
    CHECK(map->find(150)->primary.port == 7001);
    CHECK(map->find(299)->primary.port == 7003);
    CHECK(map->find(300) == nullptr);
  }
  SECTION("malformed replies are refused, saying what was expected") {
    auto not_array = detail::parse_cluster_shards(text("x"), "h", "node");
    REQUIRE(!not_array);
    CHECK(not_array.status().message().find("expected an array of shards") != std::string::npos);
    auto bad_port = detail::parse_cluster_shards(
        array({array({text("slots"), array({number(0), number(1)}), text("nodes"),
                      array({shard_node("a", 0, "master", "online")})})}),
        "h", "node");
    REQUIRE(!bad_port);
    CHECK(bad_port.status().message().find("port") != std::string::npos);
    auto overlap = detail::parse_cluster_slots(
        array({array({number(0), number(10), array({text("h"), number(1)})}),
               array({number(5), number(20), array({text("h"), number(2)})})}),
        "h", "node");
    REQUIRE(!overlap);
    CHECK(overlap.status().message().find("overlap") != std::string::npos);
    auto bad_slot = detail::parse_cluster_slots(
        array({array({number(0), number(16384), array({text("h"), number(1)})})}), "h", "node");
    CHECK(!bad_slot);
  }
  SECTION("CLUSTER SLOTS: an unknown endpoint is the answering host") {
    auto map = detail::parse_cluster_slots(
        array({array({number(0), number(16383), array({text(""), number(7000), text("id0")}),
                      array({text("10.0.0.2"), number(7001), text("id1")})})}),
        "10.9.9.9", "node");
    REQUIRE(map);
    CHECK(map->ranges[0].primary.address() == "10.9.9.9:7000");
    REQUIRE(map->ranges[0].replicas.size() == 1);
    CHECK(map->ranges[0].replicas[0].address() == "10.0.0.2:7001");
  }
  SECTION("the two replies of a real cluster give the same map, covering every slot") {
    testing::RedisCluster& cluster = shared_cluster();
    auto connection = testing::connect_node(cluster.nodes().front().port);
    auto shards = detail::parse_cluster_shards(command(connection, {"CLUSTER", "SHARDS"}), "127.0.0.1", "node");
    auto slots = detail::parse_cluster_slots(command(connection, {"CLUSTER", "SLOTS"}), "127.0.0.1", "node");
    REQUIRE(shards);
    REQUIRE(slots);
    CHECK(shards->covered_slots() == 16384);
    REQUIRE(shards->ranges.size() == slots->ranges.size());
    for (std::size_t i = 0; i < shards->ranges.size(); ++i) {
      CHECK(shards->ranges[i].first == slots->ranges[i].first);
      CHECK(shards->ranges[i].last == slots->ranges[i].last);
      CHECK(shards->ranges[i].primary.address() == slots->ranges[i].primary.address());
    }
  }
  SECTION("MOVED and ASK") {
    auto moved = detail::parse_redirect("MOVED 3999 127.0.0.1:6381");
    REQUIRE(moved);
    CHECK(moved->kind == detail::Redirect::Kind::kMoved);
    CHECK(moved->slot == 3999);
    CHECK(moved->host == "127.0.0.1");
    CHECK(moved->port == 6381);
    auto ask = detail::parse_redirect("ASK 12 [::1]:7000");
    REQUIRE(ask);
    CHECK(ask->kind == detail::Redirect::Kind::kAsk);
    CHECK(ask->host == "::1");
    auto unknown_endpoint = detail::parse_redirect("MOVED 1 :7000");
    REQUIRE(unknown_endpoint);
    CHECK(unknown_endpoint->host.empty());
    CHECK(!detail::parse_redirect("MOVED 16384 h:1"));
    CHECK(!detail::parse_redirect("MOVED 1 h"));
    CHECK(!detail::parse_redirect("MOVEDX 1 h:1"));
    CHECK(!detail::parse_redirect("WRONGTYPE Operation against a key"));
  }
}

TEST_CASE("cluster store: URLs, redaction and the open_store_url dispatch", "[cluster]") {
  for (const char* bad : {"redis+cluster://", "redis+cluster://127.0.0.1", "redis+cluster://127.0.0.1:1,",
                          "redis+cluster://127.0.0.1:1/2", "redis+cluster://127.0.0.1:99999"}) {
    INFO(bad);
    auto store = open_redis_cluster_store(bad);
    REQUIRE(!store);
    CHECK(store.status().code() == ErrorCode::kInvalidArgument);
  }
  const RedisStoreOptions lazy{.connect_timeout = 200ms, .command_timeout = 200ms, .require_connection = false};
  auto lazy_store = open_store_url("REDIS+CLUSTER://u:s3cret@127.0.0.1:1,127.0.0.1:2", lazy);
  REQUIRE(lazy_store);
  CHECK((*lazy_store)->describe() == "redis+cluster://u:***@127.0.0.1:1,127.0.0.1:2");
  StoreBatch batch;
  batch.reads = {"k"};
  auto failed = (*lazy_store)->execute(batch);
  REQUIRE(!failed);
  CHECK(failed.status().code() == ErrorCode::kUnavailable);
  CHECK(failed.status().message().find("s3cret") == std::string::npos);
  CHECK(failed.status().message().find("127.0.0.1:2") != std::string::npos);  // every seed was tried

  auto eager = open_redis_cluster_store("redis+cluster://:s3cret@127.0.0.1:1");
  REQUIRE(!eager);
  CHECK(eager.status().code() == ErrorCode::kUnavailable);
  CHECK(eager.status().message().find("s3cret") == std::string::npos);

  auto single = open_store_url("redis://127.0.0.1:1", lazy);
  REQUIRE(single);
  CHECK((*single)->describe().rfind("redis://", 0) == 0);
  CHECK(!cluster_stats(**single));
}

TEST_CASE("cluster store: the slot map comes from CLUSTER SLOTS where CLUSTER SHARDS is refused", "[cluster]") {
  testing::RedisCluster& cluster = shared_cluster();
  auto set_acl = [&](const char* rule) {
    for (const auto& node : cluster.nodes()) {
      auto connection = testing::connect_node(node.port);
      REQUIRE(command(connection, {"ACL", "SETUSER", "default", rule}).str == "OK");
    }
  };
  set_acl("-cluster|shards");
  auto probe = testing::connect_node(cluster.nodes().front().port);
  CHECK(command(probe, {"CLUSTER", "SHARDS"}).str.rfind("NOPERM", 0) == 0);
  auto store = open_redis_cluster_store(cluster.seed_url());
  set_acl("+cluster|shards");
  INFO(store.status().message());
  REQUIRE(store);
  write_one(**store, "acl:k", {{"v", "1"}});
  REQUIRE(read_one(**store, "acl:k"));
  CHECK(stats_of(**store).slot_map_loads == 1);
  CHECK(stats_of(**store).moved == 0);  // the map was right
}

TEST_CASE("cluster store: random batches give the results and data of a single Redis", "[cluster]") {
  testing::RedisCluster& cluster = shared_cluster();
  testing::RedisServer server;
  auto single = open_redis_store(server.url());
  REQUIRE(single);
  auto clustered = open_cluster(cluster.seed_url());

  // Keys with and without hash tags; a few share a tag (one slot), the others spread.
  std::vector<std::string> keys;
  for (int i = 0; i < 24; ++i) keys.push_back("diff:" + std::to_string(i));
  for (int i = 0; i < 4; ++i) keys.push_back("diff:{tag}" + std::to_string(i));
  std::vector<std::string> logs = {"diff:log:a", "diff:log:b", "diff:{tag}log"};
  std::mt19937 rng(42);
  auto pick = [&](const std::vector<std::string>& from) {
    return from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
  };
  auto chance = [&](int percent) { return std::uniform_int_distribution<int>(0, 99)(rng) < percent; };
  for (int round = 0; round < 60; ++round) {
    StoreBatch batch;
    const int n = std::uniform_int_distribution<int>(0, 6)(rng);
    for (int i = 0; i < n; ++i) {
      if (chance(50)) {
        Record fields;
        if (!chance(10)) fields = {{"r", std::to_string(round)}, {"bin", std::string("\0\xff", 2)}};
        batch.writes.push_back({pick(keys), fields, chance(50) ? 60000ms : 0ms});
      }
      if (chance(60)) batch.increments.push_back({pick(keys), chance(50) ? 60000ms : 0ms});
      if (chance(20)) batch.deletes.push_back(pick(keys));
      if (chance(30)) batch.appends.push_back({pick(logs), "p" + std::to_string(round), chance(50) ? 100u : 0u});
      if (chance(70)) batch.reads.push_back(pick(keys));
    }
    const StoreBatchResult expected = run(**single, batch);
    const StoreBatchResult got = run(*clustered, batch);
    INFO("round " << round);
    CHECK(got.records == expected.records);
    CHECK(got.counters == expected.counters);
    CHECK(got.deleted == expected.deleted);
    CHECK(got.appended_ids.size() == expected.appended_ids.size());
  }
  StoreBatch everything;
  everything.reads = keys;
  const StoreBatchResult expected = run(**single, everything);
  const StoreBatchResult got = run(*clustered, everything);
  CHECK(got.records == expected.records);
  CHECK(got.counters == expected.counters);
  for (const std::string& log : logs) {
    auto expected_log = (*single)->log_read(log, "0-0", 1000);
    auto got_log = clustered->log_read(log, "0-0", 1000);
    REQUIRE(expected_log);
    REQUIRE(got_log);
    REQUIRE(got_log->size() == expected_log->size());
    for (std::size_t i = 0; i < got_log->size(); ++i) CHECK((*got_log)[i].payload == (*expected_log)[i].payload);
    auto last = clustered->log_last_id(log);
    REQUIRE(last);
    CHECK(*last == (got_log->empty() ? std::string("0-0") : got_log->back().id));
  }

  // A refused mutation beside reads (an append to the key of a record: a wrong type): both
  // stores apply the rest, answer the reads and report the refusal.
  StoreBatch mixed;
  mixed.writes.push_back({"diff:refused", {{"a", "1"}}, 0ms});
  mixed.appends.push_back({"diff:refused", "p", 0});
  mixed.reads = {"diff:refused", keys.front()};
  const StoreBatchResult expected_mixed = run(**single, mixed);
  const StoreBatchResult got_mixed = run(*clustered, mixed);
  CHECK_FALSE(expected_mixed.refused.is_ok());
  CHECK_FALSE(got_mixed.refused.is_ok());
  CHECK(got_mixed.records == expected_mixed.records);
  REQUIRE(got_mixed.records[0]);

  // The bytes are RedisStore's: the record blob with its hit count at the key, on the node that
  // owns the key's slot.
  write_one(*clustered, "diff:layout", {{"a", "1"}});
  StoreBatch hit;
  hit.increments.push_back({"diff:layout", 0ms});
  run(*clustered, hit);
  auto owner = testing::connect_node(owner_port(cluster.nodes().front().port, detail::key_slot("diff:layout")));
  std::string blob;
  detail::encode_record({{"a", "1"}}, blob, 1);
  CHECK(command(owner, {"GET", "diff:layout"}).str == blob);
}

TEST_CASE("cluster store: round trip of every operation, and scan over all primaries", "[cluster]") {
  testing::RedisCluster& cluster = shared_cluster();
  auto store = open_cluster(cluster.seed_url());
  write_one(*store, "rt:a", {{"f", "1"}, {"g", "2"}});
  auto got = read_one(*store, "rt:a");
  REQUIRE(got);
  CHECK(*got == Record{{"f", "1"}, {"g", "2"}});
  StoreBatch increments;
  increments.increments = {{"rt:a", 0ms}, {"rt:a", 0ms}, {"rt:missing", 1000ms}};
  run(*store, increments);
  CHECK(counter_of(*store, "rt:a") == 2);
  write_one(*store, "rt:a", {{"f", "3"}});  // a write resets the counter
  CHECK(counter_of(*store, "rt:a") == 0);
  CHECK(!read_one(*store, "rt:missing"));

  StoreBatch deletes;
  deletes.deletes = {"rt:a", "rt:missing", "rt:never"};
  CHECK(run(*store, deletes).deleted == 1);  // rt:missing held a stray count: deleted, not counted
  CHECK(!read_one(*store, "rt:a"));

  StoreBatch appends;
  appends.appends = {{"rt:log", "one", 0}, {"rt:log", "two", 0}, {"rt:log", "three", 0}};
  const auto ids = run(*store, appends).appended_ids;
  REQUIRE(ids.size() == 3);
  auto tail = store->log_read("rt:log", ids[0], 10);
  REQUIRE(tail);
  REQUIRE(tail->size() == 2);
  CHECK((*tail)[0].payload == "two");
  CHECK((*tail)[1].id == ids[2]);
  auto last = store->log_last_id("rt:log");
  REQUIRE(last);
  CHECK(*last == ids[2]);
  auto none = store->log_last_id("rt:no-log");
  REQUIRE(none);
  CHECK(*none == "0-0");
  CHECK(!store->log_read("rt:log", "nonsense", 10));

  // Keys of one prefix spread over all three primaries; scan finds each once.
  std::set<std::string> written;
  StoreBatch many;
  for (int i = 0; i < 300; ++i) {
    written.insert("spread:" + std::to_string(i));
    many.writes.push_back({"spread:" + std::to_string(i), {{"i", std::to_string(i)}}, 0ms});
  }
  const ClusterStats before = stats_of(*store);
  run(*store, many);
  const ClusterStats after = stats_of(*store);
  int nodes_used = 0;
  for (std::size_t i = 0; i < after.node_requests.size(); ++i) {
    const std::string& address = after.node_requests[i].first;
    const std::uint64_t count = after.node_requests[i].second;
    const auto it = std::find_if(before.node_requests.begin(), before.node_requests.end(),
                                 [&](const auto& entry) { return entry.first == address; });
    const std::uint64_t earlier = it == before.node_requests.end() ? 0 : it->second;
    if (count - earlier >= 50) ++nodes_used;  // ~100 SETs per primary
  }
  CHECK(nodes_used == 3);
  for (int port : cluster.primaries()) CHECK(std::stoi(cluster.cli(port, "DBSIZE")) >= 50);
  std::set<std::string> scanned;
  int pages = 0;
  REQUIRE(store->scan("spread:", 20, [&](std::span<const std::string> keys) {
    ++pages;
    for (const std::string& key : keys) CHECK(scanned.insert(key).second);
    return Status::ok();
  }));
  CHECK(scanned == written);
  CHECK(pages >= 3);
  const StoreCounters counters = store->counters();
  CHECK(counters.failed_batches == 0);
  CHECK(counters.round_trips > 0);
}

TEST_CASE("cluster store: concurrent batches over every node lose no increment", "[cluster]") {
  testing::RedisCluster& cluster = shared_cluster();
  const RedisStoreOptions options{.pool_size = 2};  // fewer connections than threads: callers wait their turn
  auto store = open_cluster(cluster.seed_url(), options);
  constexpr int kThreads = 4;
  constexpr int kBatches = 50;
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) keys.push_back("conc:" + std::to_string(i));
  for (const std::string& key : keys) write_one(*store, key, {{"v", key}});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < kBatches; ++b) {
        StoreBatch batch;
        for (const std::string& key : keys) batch.increments.push_back({key, 0ms});  // every node, every batch
        batch.reads = {keys[static_cast<std::size_t>((t + b) % 12)]};
        auto result = store->execute(batch);
        if (!result || !result->records.at(0) || find_field(*result->records[0], "v") == nullptr) ++failures;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CHECK(failures == 0);
  StoreBatch reads;
  reads.reads = keys;
  const StoreBatchResult result = run(*store, reads);
  for (std::int64_t counter : result.counters) CHECK(counter == kThreads * kBatches);
  CHECK(store->counters().failed_batches == 0);
}

TEST_CASE("cluster store: ASK during a slot migration, MOVED after it", "[cluster]") {
  testing::RedisCluster& cluster = shared_cluster();
  auto store = open_cluster(cluster.seed_url());
  const std::uint16_t slot = detail::key_slot("mig:0");
  const std::string migrated = key_in_slot("mig:", slot, 0);
  const std::string created = key_in_slot("mig:", slot, 1);  // created during the migration
  const std::string stays = key_in_slot("mig:", slot, 2);    // still on the source when asked
  const int source_port = owner_port(cluster.nodes().front().port, slot);
  std::vector<int> primaries = cluster.primaries();
  REQUIRE(primaries.size() == 3);
  const int target_port = *std::find_if(primaries.begin(), primaries.end(), [&](int p) { return p != source_port; });
  const std::string source_id = node_id(source_port);
  const std::string target_id = node_id(target_port);
  auto source = testing::connect_node(source_port);
  auto target = testing::connect_node(target_port);

  write_one(*store, migrated, {{"v", "before"}});
  write_one(*store, stays, {{"v", "stays"}});
  StoreBatch hit;
  hit.increments.push_back({migrated, 0ms});
  run(*store, hit);

  // The migration starts: keys that are not on the source any more are asked for on the target.
  REQUIRE(command(target, {"CLUSTER", "SETSLOT", std::to_string(slot), "IMPORTING", source_id}).str == "OK");
  REQUIRE(command(source, {"CLUSTER", "SETSLOT", std::to_string(slot), "MIGRATING", target_id}).str == "OK");
  const Reply moved_keys = command(source, {"MIGRATE", "127.0.0.1", std::to_string(target_port), "", "0", "5000",
                                            "KEYS", migrated});
  INFO(moved_keys.str);
  REQUIRE(moved_keys.str == "OK");

  const ClusterStats before = stats_of(*store);
  StoreBatch during;
  during.writes.push_back({created, {{"v", "new"}}, 0ms});  // absent on the source: ASK
  during.increments.push_back({migrated, 0ms});            // it moved: ASK
  during.reads = {migrated, created, stays};
  const StoreBatchResult result = run(*store, during);
  REQUIRE(result.records.size() == 3);
  REQUIRE(result.records[0]);
  CHECK(*result.records[0] == Record{{"v", "before"}});
  CHECK(result.counters[0] == 2);
  REQUIRE(result.records[1]);
  CHECK(*result.records[1] == Record{{"v", "new"}});
  REQUIRE(result.records[2]);
  CHECK(*result.records[2] == Record{{"v", "stays"}});
  const ClusterStats asking = stats_of(*store);
  CHECK(asking.asked > before.asked);
  CHECK(asking.moved == before.moved);
  CHECK(asking.slot_map_loads == before.slot_map_loads);  // ASK leaves the map alone
  // The new record went to the target only.
  CHECK(command(source, {"EXISTS", created}).integer == 0);

  // The migration ends: the slot belongs to the target; the store is told by MOVED.
  REQUIRE(command(source, {"MIGRATE", "127.0.0.1", std::to_string(target_port), "", "0", "5000", "KEYS", stays})
              .str == "OK");
  std::vector<int> order = {target_port, source_port};  // the target first, as the Redis docs say
  for (int port : primaries) {
    if (port != target_port && port != source_port) order.push_back(port);
  }
  for (int port : order) {
    auto node = testing::connect_node(port);
    REQUIRE(command(node, {"CLUSTER", "SETSLOT", std::to_string(slot), "NODE", target_id}).str == "OK");
  }
  std::this_thread::sleep_for(60ms);  // the map was loaded at open: the next load is not throttled
  StoreBatch after_batch;
  after_batch.writes.push_back({stays, {{"v", "after"}}, 0ms});
  after_batch.reads = {stays, migrated};
  const StoreBatchResult after = run(*store, after_batch);
  REQUIRE(after.records[0]);
  CHECK(*after.records[0] == Record{{"v", "after"}});
  REQUIRE(after.records[1]);
  CHECK(after.counters[1] == 2);
  const ClusterStats moved = stats_of(*store);
  CHECK(moved.moved > asking.moved);
  CHECK(moved.slot_map_loads > asking.slot_map_loads);
  CHECK(command(target, {"EXISTS", stays}).integer == 1);
  // Once the map is reloaded, the slot's commands go straight to the target.
  std::this_thread::sleep_for(60ms);  // past the reload throttle (initial_backoff)
  read_one(*store, stays);
  read_one(*store, migrated);
  CHECK(stats_of(*store).moved == moved.moved);
}

TEST_CASE("cluster store: a killed primary fails calls fast, its promoted replica serves them", "[cluster]") {
  testing::RedisCluster cluster(1);
  const RedisStoreOptions options{.connect_timeout = 300ms, .command_timeout = 300ms};
  auto store = open_cluster(cluster.seed_url(), options);
  const std::uint16_t slot = detail::key_slot("fo:victim");
  const int victim = owner_port(cluster.nodes().front().port, slot);
  const std::string other = [&] {  // a key served by another primary
    for (int i = 0;; ++i) {
      std::string key = "fo:other" + std::to_string(i);
      if (owner_port(cluster.nodes().front().port, detail::key_slot(key)) != victim) return key;
    }
  }();
  write_one(*store, "fo:victim", {{"v", "1"}});
  write_one(*store, other, {{"v", "1"}});
  // Wait until the victim's replica has the record, so the failover loses nothing.
  int replica_port = 0;
  {
    auto primary = testing::connect_node(victim);
    const Reply role = command(primary, {"ROLE"});
    REQUIRE(role.elements.size() == 3);
    REQUIRE(role.elements[2].elements.size() == 1);
    replica_port = std::stoi(role.elements[2].elements[0].elements[1].str);
    auto replica = testing::connect_node(replica_port);
    command(replica, {"READONLY"});
    const auto deadline = Clock::now() + 5s;
    while (command(replica, {"EXISTS", "fo:victim"}).integer == 0 && Clock::now() < deadline) {
      std::this_thread::sleep_for(10ms);
    }
  }
  cluster.kill(victim);

  StoreBatch needs_victim;
  needs_victim.writes.push_back({"fo:victim", {{"v", "2"}}, 0ms});
  needs_victim.reads = {"fo:victim", other};
  for (int i = 0; i < 3; ++i) {  // the broken pooled connection, a refused connect, the backoff
    const auto start = Clock::now();
    auto result = store->execute(needs_victim);
    const auto elapsed = Clock::now() - start;
    REQUIRE(!result);
    CHECK(result.status().code() == ErrorCode::kUnavailable);
    CHECK(elapsed < options.connect_timeout + options.command_timeout + 1s);
  }
  // Keys of the other primaries are served meanwhile.
  REQUIRE(read_one(*store, other));
  const StoreCounters failing = store->counters();
  CHECK(failing.failed_batches >= 3);
  CHECK(failing.dropped_writes >= 3);
  CHECK(failing.connect_failures >= 1);

  // The replica takes over (cluster-node-timeout 1000 ms): the store finds it by itself.
  const auto deadline = Clock::now() + 20s;
  std::optional<StoreBatchResult> served;
  while (Clock::now() < deadline) {
    if (auto result = store->execute(needs_victim)) {
      served = std::move(*result);
      break;
    }
    std::this_thread::sleep_for(50ms);
  }
  REQUIRE(served);
  REQUIRE(served->records[0]);
  CHECK(*served->records[0] == Record{{"v", "2"}});
  CHECK(cluster.cli(replica_port, "ROLE").rfind("master", 0) == 0);
  const ClusterStats stats = stats_of(*store);
  const std::string replica_address = "127.0.0.1:" + std::to_string(replica_port);
  const auto served_by_replica = std::find_if(stats.node_requests.begin(), stats.node_requests.end(),
                                              [&](const auto& entry) { return entry.first == replica_address; });
  REQUIRE(served_by_replica != stats.node_requests.end());
  CHECK(served_by_replica->second >= 2);
  CHECK(stats.slot_map_loads >= 2);
}

TEST_CASE("cluster store: a semantic cache on the cluster, shared by two stores", "[cluster]") {
  testing::RedisCluster& cluster = shared_cluster();
  CacheOptions options;
  options.name = "cluster-cache";
  options.mode = CacheMode::kBoth;
  options.dim = 4;
  options.quantization = Quantization::kF32;
  options.follow_interval = 0ms;
  auto open = [&] {
    auto cache = Cache::open(open_cluster(cluster.seed_url()), options);
    INFO(cache.status().message());
    REQUIRE(cache);
    return std::move(*cache);
  };
  auto a = open();
  auto b = open();
  REQUIRE(b->warm("m"));
  const std::vector<float> stored = {1, 0, 0, 0};
  const std::vector<float> near = {0.99f, 0.14f, 0, 0};  // cosine distance ~0.01
  const std::vector<float> far = {0, 1, 0, 0};
  REQUIRE(a->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "stored", .embedding = stored}, "answer"));

  LookupResult exact = a->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "stored", .embedding = stored});
  CHECK(exact.outcome == LookupOutcome::kExactHit);
  CHECK(exact.entry.response == "answer");
  LookupResult semantic = a->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q", .embedding = near});
  CHECK(semantic.outcome == LookupOutcome::kSemanticHit);
  CHECK(a->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q2", .embedding = far}).outcome ==
        LookupOutcome::kMiss);

  // The other store's cache sees the entry through the change log, and its own entries the other way.
  CHECK(b->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "stored", .embedding = stored}).outcome ==
        LookupOutcome::kExactHit);
  REQUIRE(b->sync());
  LookupResult followed = b->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q", .embedding = near});
  REQUIRE(followed.outcome == LookupOutcome::kSemanticHit);
  CHECK(followed.entry.response == "answer");
  const std::vector<float> other = {0, 0, 1, 0};
  REQUIRE(b->store(CacheRequest{.model = "m", .tenant = "t", .canonical = "from-b", .embedding = other}, "b's"));
  REQUIRE(a->sync());
  LookupResult back = a->lookup(CacheRequest{.model = "m", .tenant = "t", .canonical = "q3", .embedding = other});
  REQUIRE(back.outcome == LookupOutcome::kSemanticHit);
  CHECK(back.entry.response == "b's");
}

TEST_CASE("cluster store: a vector set goes whole to the primary of its slot and reads back", "[cluster]") {
  testing::RedisCluster& cluster = shared_cluster();
  const std::uint16_t slot = detail::key_slot("{vset:cluster-docs}");
  const int owner = owner_port(cluster.nodes().front().port, slot);
  auto node_url = cluster_node_url(cluster.seed_url(), "{vset:cluster-docs}");
  INFO(node_url.status().message());
  REQUIRE(node_url);
  CHECK(*node_url == "redis://127.0.0.1:" + std::to_string(owner));
  // Credentials are carried over as written (the default user has nopass: any password works).
  auto with_user =
      cluster_node_url("redis+cluster://default:p%40ss@" + cluster.seed_url().substr(16), "{vset:cluster-docs}");
  INFO(with_user.status().message());
  REQUIRE(with_user);
  CHECK(*with_user == "redis://default:p%40ss@127.0.0.1:" + std::to_string(owner));
  CHECK(cluster_node_url("redis+cluster://127.0.0.1", "k").status().code() == ErrorCode::kInvalidArgument);

  auto store = RedisVectorStore::open(cluster.seed_url(), "cluster-docs");
  INFO(store.status().message());
  REQUIRE(store);
  CHECK_THAT(store->redacted_url(), Catch::Contains(std::to_string(owner)));
  REQUIRE(store->write_meta(VectorSetMeta{.dim = 3}));
  std::vector<std::string> ids;
  std::vector<float> rows;
  std::vector<std::string> attributes;
  for (int i = 0; i < 40; ++i) {
    ids.push_back("doc " + std::to_string(i));
    rows.insert(rows.end(), {static_cast<float>(i), 0.5f, -static_cast<float>(i) / 3});
    attributes.push_back(i % 2 == 0 ? "" : "{\"i\":" + std::to_string(i) + "}");
  }
  REQUIRE(store->put_batch(ids, rows, attributes));
  for (int port : cluster.primaries()) {
    const std::string keys = cluster.cli(port, "CLUSTER COUNTKEYSINSLOT " + std::to_string(slot));
    CHECK(keys == (port == owner ? "42" : "0"));  // 40 elements, the id set and the meta
  }

  // Another store, opened through another seed, reads the same set back.
  auto reader = RedisVectorStore::open("redis+cluster://127.0.0.1:" + std::to_string(cluster.nodes().back().port),
                                       "cluster-docs");
  REQUIRE(reader);
  auto meta = reader->read_meta();
  REQUIRE(meta);
  REQUIRE(*meta);
  CHECK((*meta)->dim == 3);
  std::map<std::string, std::pair<std::vector<float>, std::string>> read;
  REQUIRE(reader->scan(16, [&](std::span<const std::string> batch_ids, std::span<const float> batch_rows,
                               std::span<const std::string> batch_attributes) {
    for (std::size_t i = 0; i < batch_ids.size(); ++i) {
      read[batch_ids[i]] = {std::vector<float>(batch_rows.begin() + 3 * i, batch_rows.begin() + 3 * i + 3),
                            batch_attributes[i]};
    }
    return Status::ok();
  }));
  REQUIRE(read.size() == ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const auto& [vector, attrs] = read.at(ids[i]);
    CHECK(vector == std::vector<float>(rows.begin() + 3 * i, rows.begin() + 3 * i + 3));
    CHECK(attrs == attributes[i]);
  }
  REQUIRE(reader->drop());
  CHECK(cluster.cli(owner, "CLUSTER COUNTKEYSINSLOT " + std::to_string(slot)) == "0");
}
