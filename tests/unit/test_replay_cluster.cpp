// Replays on a Redis Cluster (redis+cluster:// through run_replay), against the oracle of the
// same log replayed on one redis-server: the same outcomes with the work spread over the three
// primaries; the same outcomes while slots migrate under the replay (MOVED and ASK followed, no
// request failed); and a primary killed under the replay, whose requests fail (counted, not
// fatal) until its replica is promoted, after which the cluster serves every request again.
// One worker replays in log order, so a run's outcomes depend on the log alone, not on timing.

#include <catch2/catch.hpp>

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "generated_log.hpp"
#include "redis_cluster.hpp"
#include "redis_server.hpp"
#include "semcache/prompt_generator.hpp"
#include "semcache/redis_cluster_store.hpp"
#include "semcache/redis_url.hpp"
#include "semcache/replay.hpp"
#include "store/cluster_slots.hpp"
#include "store/redis_connection.hpp"
#include "temp_dir.hpp"

using namespace semcache;
using namespace std::chrono_literals;

namespace {

using testing::TempDir;
using testing::generated_log;
using Clock = std::chrono::steady_clock;

ReplayResult replay_ok(const std::string& path, const ReplayOptions& options) {
  auto result = run_replay(path, options);
  INFO((result ? std::string() : result.status().message()));
  REQUIRE(result.has_value());
  return std::move(*result);
}

// The same replay on a fresh single redis-server: the oracle of the cluster runs.
ReplayResult replay_on_one_node(const std::string& path, ReplayOptions options) {
  testing::RedisServer server;
  options.redis_url = server.url();
  options.pace = Pace::kMax;  // one worker: log order whatever the pace, so the same outcomes
  return replay_ok(path, options);
}

ReplayOptions semantic_options(const std::string& name) {
  ReplayOptions options;
  options.mode = CacheMode::kBoth;
  options.embedder = "hash";
  options.thresholds = {0.1, 0.25};
  options.prefix = "rc";
  options.name = name;
  return options;
}

void check_balanced(const ReplayFigures& f, std::uint64_t requests) {
  CHECK(f.requests == requests);
  CHECK(f.exact_hits + f.semantic_hits + f.misses + f.errors == requests);
}

detail::Reply command(detail::RedisConnection& connection, std::initializer_list<std::string_view> args) {
  auto reply = connection.command(args);
  INFO(reply.status().message());
  REQUIRE(reply);
  return std::move(*reply);
}

std::string node_id(int port) {
  auto connection = testing::connect_node(port);
  return command(connection, {"CLUSTER", "MYID"}).str;
}

// Moves `slot` from the primary `source` to the primary `target` the way redis-cli --cluster
// reshard does, while clients keep using it: IMPORTING on the target, MIGRATING on the source,
// MIGRATE of the slot's keys until the source has none, then SETSLOT NODE on every primary
// (the target first). Keys created meanwhile go to the target (the source answers ASK).
void migrate_slot(std::uint16_t slot, int source, int target, const std::vector<int>& primaries) {
  const std::string slot_text = std::to_string(slot);
  const std::string source_id = node_id(source);
  const std::string target_id = node_id(target);
  auto from = testing::connect_node(source);
  auto to = testing::connect_node(target);
  REQUIRE(command(to, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", source_id}).str == "OK");
  REQUIRE(command(from, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", target_id}).str == "OK");
  const std::string target_port = std::to_string(target);
  while (true) {
    const detail::Reply keys = command(from, {"CLUSTER", "GETKEYSINSLOT", slot_text, "100"});
    REQUIRE(keys.is_array());
    if (keys.elements.empty()) break;
    std::vector<std::string_view> args = {"MIGRATE", "127.0.0.1", target_port, "", "0", "5000", "KEYS"};
    for (const detail::Reply& key : keys.elements) args.push_back(key.str);
    auto migrated = from.command(std::span<const std::string_view>(args));
    REQUIRE(migrated);
    INFO(migrated->str);
    REQUIRE(migrated->str == "OK");
  }
  std::vector<int> order = {target, source};
  for (int port : primaries) {
    if (port != target && port != source) order.push_back(port);
  }
  for (int port : order) {
    auto node = testing::connect_node(port);
    REQUIRE(command(node, {"CLUSTER", "SETSLOT", slot_text, "NODE", target_id}).str == "OK");
  }
}

// A key of the prefix "rc:" held by `node` (SCAN from a cursor that moves on), or "".
std::string some_key(detail::RedisConnection& node, std::string& cursor) {
  for (int page = 0; page < 20; ++page) {
    const detail::Reply reply = command(node, {"SCAN", cursor, "MATCH", "rc:*", "COUNT", "200"});
    REQUIRE(reply.elements.size() == 2);
    cursor = reply.elements[0].str;
    if (!reply.elements[1].elements.empty()) return reply.elements[1].elements.front().str;
    if (cursor == "0") return "";
  }
  return "";
}

// The replay is run on a thread, its result read after join().
struct BackgroundReplay {
  std::optional<Expected<ReplayResult>> outcome;
  std::atomic<bool> done{false};
  std::thread thread;

  BackgroundReplay(const std::string& path, const ReplayOptions& options) {
    thread = std::thread([this, path, options] {
      outcome.emplace(run_replay(path, options));
      done = true;
    });
  }
  ~BackgroundReplay() {
    if (thread.joinable()) thread.join();  // a failed REQUIRE leaves the test with the thread running
  }
  ReplayResult result() {
    thread.join();
    REQUIRE(outcome.has_value());
    INFO((*outcome ? std::string() : outcome->status().message()));
    REQUIRE(outcome->has_value());
    return std::move(**outcome);
  }
};

}  // namespace

TEST_CASE("replay on a cluster: the outcomes of one redis-server, the work spread over three primaries",
          "[cluster][replay]") {
  TempDir dir;
  const std::string log = generated_log(dir, 3000, 500, 31);
  const ReplayOptions options = semantic_options("same");
  const ReplayResult single = replay_on_one_node(log, options);
  testing::RedisCluster cluster;
  ReplayOptions on_cluster = options;
  on_cluster.redis_url = cluster.seed_url();
  const ReplayResult clustered = replay_ok(log, on_cluster);
  CHECK(clustered.store == cluster.seed_url());
  REQUIRE(clustered.runs.size() == 2);
  for (std::size_t i = 0; i < 2; ++i) {
    const ReplayFigures& one = single.runs[i];
    const ReplayFigures& many = clustered.runs[i];
    check_balanced(many, 3000);
    CHECK(many.errors == 0);
    CHECK(one.errors == 0);
    CHECK(many.exact_hits == one.exact_hits);
    CHECK(many.semantic_hits == one.semantic_hits);
    CHECK(many.misses == one.misses);
    CHECK(many.false_hits == one.false_hits);
    CHECK(many.semantic_hits > 0);
    CHECK_FALSE(one.cluster.has_value());
    REQUIRE(many.cluster.has_value());
    REQUIRE(many.cluster->node_commands.size() == 3);
    for (const auto& [node, commands] : many.cluster->node_commands) {
      INFO(node);
      CHECK(commands > 0);
    }
    CHECK(many.cluster->moved == 0);
    CHECK(many.cluster->asked == 0);
  }

  // The result JSON names the nodes for the cluster only; the single node's has no such field.
  simdjson::dom::parser parser;
  const std::string cluster_json = replay_result_json(clustered, on_cluster);
  simdjson::dom::element root;
  REQUIRE(parser.parse(simdjson::padded_string(cluster_json)).get(root) == simdjson::SUCCESS);
  simdjson::dom::array nodes;
  REQUIRE(root["redis_nodes"].get(nodes) == simdjson::SUCCESS);
  CHECK(nodes.size() == 3);
  std::uint64_t first_node_commands = 0;
  REQUIRE(nodes.at(0)["commands"].get(first_node_commands) == simdjson::SUCCESS);
  CHECK(first_node_commands == clustered.runs[0].cluster->node_commands[0].second);
  CHECK(root["per_threshold"].at(1)["redis_nodes"].get_array().size() == 3);
  CHECK(root["redis_redirects"]["moved"].get_uint64().value() == 0);
  const std::string single_json = replay_result_json(single, options);
  CHECK(single_json.find("redis_nodes") == std::string::npos);
  CHECK(single_json.find("redis_redirects") == std::string::npos);
}

TEST_CASE("replay on a cluster: slots migrated during the replay fail no request", "[cluster][replay]") {
  TempDir dir;
  // 4,000 requests over about 2 s of log, replayed at the log's pace: migrations land throughout.
  const std::string log = generated_log(dir, 4000, 600, 37, 2000.0);
  ReplayOptions options = semantic_options("migrating");
  options.thresholds = {0.1};
  const ReplayResult single = replay_on_one_node(log, options);

  testing::RedisCluster cluster;
  options.redis_url = cluster.seed_url();
  options.pace = Pace::kRecorded;
  const std::vector<int> primaries = cluster.primaries();
  REQUIRE(primaries.size() == 3);
  BackgroundReplay replay(log, options);
  int migrations = 0;
  std::vector<std::string> cursors(primaries.size(), "0");
  for (std::size_t turn = 0; !replay.done; ++turn) {
    // A slot that holds a key of the replay, moved from its primary to the next one.
    const std::size_t from = turn % primaries.size();
    auto node = testing::connect_node(primaries[from]);
    const std::string key = some_key(node, cursors[from]);
    if (key.empty()) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    // SCAN lists a node's own keys, so the slot is that primary's (migrations run one at a time).
    const std::uint16_t slot = detail::key_slot(key);
    migrate_slot(slot, primaries[from], primaries[(from + 1) % primaries.size()], primaries);
    ++migrations;
    std::this_thread::sleep_for(20ms);
  }
  const ReplayResult r = replay.result();
  INFO("slots migrated during the replay: " << migrations);
  CHECK(migrations >= 3);
  const ReplayFigures& f = r.runs.front();
  check_balanced(f, 4000);
  CHECK(f.errors == 0);
  CHECK(f.dropped_stores == 0);
  CHECK(f.exact_hits == single.runs[0].exact_hits);
  CHECK(f.semantic_hits == single.runs[0].semantic_hits);
  CHECK(f.false_hits <= single.runs[0].false_hits);
  REQUIRE(f.cluster.has_value());
  CHECK(f.cluster->moved + f.cluster->asked > 0);
}

TEST_CASE("replay on a cluster: a primary killed during the replay, its replica serves after the failover",
          "[cluster][replay]") {
  TempDir dir;
  // 6,000 requests over about 6 s of log: the kill at 1 s, the failover within about 3 s.
  const std::string log = generated_log(dir, 6000, 800, 41, 1000.0);
  ReplayOptions options = semantic_options("failover");
  options.thresholds = {0.1};
  options.timeline_points = 20;
  const ReplayResult single = replay_on_one_node(log, options);

  testing::RedisCluster cluster(1);
  options.redis_url = cluster.seed_url();
  options.pace = Pace::kRecorded;
  options.redis.connect_timeout = 200ms;
  options.redis.command_timeout = 200ms;
  const int victim = cluster.primaries().front();
  BackgroundReplay replay(log, options);
  std::this_thread::sleep_for(1s);
  REQUIRE_FALSE(replay.done);
  cluster.kill(victim);
  const ReplayResult r = replay.result();
  const ReplayFigures& f = r.runs.front();
  check_balanced(f, 6000);
  CHECK(f.errors > 0);
  CHECK(f.errors < f.requests / 2);  // only the lost primary's share, and only until the failover
  CHECK(f.false_hits <= single.runs[0].false_hits);
  REQUIRE(f.cluster.has_value());
  CHECK(f.cluster->slot_map_loads >= 2);
  // The last twentieth of the timeline (about 5.7 s on) is served again.
  REQUIRE_FALSE(f.timeline.empty());
  CHECK(f.timeline.back().hit_rate > 0);

  // The promoted replica took over: the same log replayed again on this cluster loses nothing.
  options.pace = Pace::kMax;
  options.name = "after-failover";
  options.limit = 1000;
  const ReplayResult after = replay_ok(log, options);
  CHECK(after.runs[0].errors == 0);
  CHECK(after.runs[0].requests == 1000);
  REQUIRE(after.runs[0].cluster.has_value());
  const std::string victim_address = "127.0.0.1:" + std::to_string(victim);
  std::uint64_t served = 0;
  for (const auto& [node, commands] : after.runs[0].cluster->node_commands) {
    INFO(node);
    if (node == victim_address) CHECK(commands == 0);
    served += commands;
  }
  CHECK(served > 0);
}
