// RedisClusterStore: the Store on a Redis Cluster (redis_cluster_store.hpp), with the data
// layout of RedisStore (redis_store.cpp: one record blob per key, its hit count inside).
//
// Routing. The store keeps the owner of each of the 16384 slots (a Routing: an array of Node
// pointers, replaced whole under nodes_mutex_ and read through a shared_ptr, so a call routes a
// whole batch against one consistent map). Nodes are created when the map or a redirection
// first names them and live as long as the store (a handful per cluster), each with its own
// connection pool, backoff and request count.
//
// A call turns into a list of single-key commands, in the order RedisStore pipelines them:
//   SET k blob [PX ttl] (DEL k for an empty record)   per write
//   BITFIELD k INCRBY i64 8 n [+ PEXPIRE k ttl NX]     per incremented record
//   STRLEN k, UNLINK k                                 per delete (STRLEN tells records and logs
//                                                      from stray counts: `deleted`)
//   XADD k [MAXLEN ~ n] * p payload                    per append
//   GET k                                              per read
// Multi-key UNLINK/MSET/MGET are split because a cluster refuses keys of several slots in one
// command (CROSSSLOT), and while a slot migrates, the importing node answers TRYAGAIN to a
// multi-key command as long as one of its keys is missing. A GET that finds another type
// reads as nil, as MGET does on one node.
// run() groups the commands by the node that owns their slot, keeping their order, leases one
// connection per node (in address order, so two calls never wait on each other's leases
// crosswise), sends every node its pipeline (flush), and only then reads the replies, so the
// nodes work at the same time: one round trip per call. The replies:
//   MOVED slot host:port   the command goes to that node in the next round and the map is
//                          reloaded before it (MOVED names the new owner, so the command does
//                          not depend on the reload succeeding);
//   ASK slot host:port     ASKING + the command go to that node once, the map stays;
//   TRYAGAIN               (a multi-key command during resharding) the same node, after 20 ms.
// The redirected commands of a round keep their relative order, so the later commands on a
// slot follow the first one to its new node; the ones that were answered stay answered (a
// node that answered MOVED for one command of a slot answers MOVED for the later ones too, and
// an ASK concerns a key the old node does not hold). After kMaxRounds rounds the call fails
// (unavailable): redirections that never settle are a cluster in trouble, not a loop.
//
// Failures. A node that cannot be reached, times out, or drops the connection fails the call
// at once with Status::unavailable (nothing is known about which commands were applied, as for
// RedisStore; there is no retry, for the same reason) and marks the map stale: the next call
// reloads it from any node that answers (primaries first, then replicas and seeds), at most
// once per initial_backoff, so a replica promoted by a failover is found as soon as the
// cluster has promoted it. A slot with no owner fails the calls that need it. Error replies
// are judged as RedisStore does: WRONGTYPE, "not an integer" and overflow are bad_input,
// anything else (CLUSTERDOWN, OOM, READONLY, LOADING...) unavailable.
//
// Locks: nodes_mutex_ guards nodes_ and routing_; each Node's mutex its pool; refresh_mutex_
// serialises map loads (a load runs with only refresh_mutex_ held, then takes nodes_mutex_ to
// install the map; callers that find a load running use the current map). No lock but
// refresh_mutex_ is held across network I/O.

#include "semcache/redis_cluster_store.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_set>

#include "semcache/redis_url.hpp"
#include "store/cluster_slots.hpp"
#include "store/printable.hpp"
#include "store/record_codec.hpp"
#include "store/connection_pool.hpp"
#include "store/redis_commands.hpp"
#include "store/redis_connection.hpp"
#include "store/store_counters.hpp"

namespace semcache {
namespace {

using detail::bump;
using detail::is_timeout;
using detail::kPayloadField;
using detail::match_pattern;
using detail::quoted;
using detail::valid_log_id;
using detail::RedisConnection;
using detail::Reply;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kScheme = "redis+cluster://";
constexpr int kMaxRounds = 6;  // the first send and up to 5 redirections
constexpr auto kTryAgainWait = std::chrono::milliseconds(20);


bool starts_with_nocase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() &&
         std::equal(prefix.begin(), prefix.end(), text.begin(),
                    [](char a, char b) {
                      return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                    });
}

// The seeds of a redis+cluster:// URL and its redacted form.
struct ClusterUrl {
  std::vector<RedisUrl> seeds;
  std::string redacted;  // "redis+cluster://user:***@h1:p1,h2:p2"
  std::string userinfo;  // "user:password" as written in the URL (percent-encoded); empty: none
};

Expected<ClusterUrl> parse_cluster_url(std::string_view url) {
  if (!starts_with_nocase(url, kScheme)) {
    return Status::invalid_argument(
        "--redis: expected a URL of the form redis+cluster://[user:password@]host:port[,host:port...]");
  }
  const std::string_view rest = url.substr(kScheme.size());
  const std::size_t at = rest.rfind('@');
  const std::string_view userinfo = at == std::string_view::npos ? std::string_view() : rest.substr(0, at);
  const std::string_view hosts = at == std::string_view::npos ? rest : rest.substr(at + 1);
  ClusterUrl out;
  out.redacted = std::string(kScheme);
  out.userinfo = std::string(userinfo);
  if (at != std::string_view::npos) {
    const std::size_t colon = userinfo.find(':');
    out.redacted +=
        colon == std::string_view::npos ? std::string("***") : std::string(userinfo.substr(0, colon)) + ":***";
    out.redacted += '@';
  }
  out.redacted += hosts;
  const std::string source = "--redis: '" + out.redacted + "'";
  if (hosts.empty()) return Status::invalid_argument(source + ": expected at least one seed host:port");
  std::size_t start = 0;
  while (start <= hosts.size()) {
    const std::size_t comma = std::min(hosts.find(',', start), hosts.size());
    const std::string_view seed = hosts.substr(start, comma - start);
    start = comma + 1;
    const std::size_t colon = seed.rfind(':');
    const std::size_t bracket = seed.rfind(']');
    if (seed.empty() || colon == std::string_view::npos || (bracket != std::string_view::npos && colon < bracket)) {
      return Status::invalid_argument(source + ": seed '" + std::string(seed) + "' must be host:port");
    }
    if (seed.find_first_of("/?#") != std::string_view::npos) {
      return Status::invalid_argument(source + ": seed '" + std::string(seed) +
                                      "' must be host:port (a cluster has no db and the URL no options)");
    }
    std::string single = "redis://";
    if (at != std::string_view::npos) {
      single += userinfo;
      single += '@';
    }
    single += seed;
    auto parsed = parse_redis_url(single, source);
    if (!parsed) return parsed.status();
    out.seeds.push_back(std::move(*parsed));
  }
  return out;
}

// One node of the cluster: its pool of connections (connection_pool.hpp, as RedisStore's) and
// how many commands it answered.
class Node {
 public:
  Node(RedisUrl url, std::string address, const RedisStoreOptions& options, detail::AtomicStoreCounters& counters)
      : address_(std::move(address)), pool_(std::move(url), options, counters) {}

  const std::string& address() const { return address_; }
  const std::string& redacted_url() const { return pool_.redacted_url(); }
  std::uint64_t requests() const { return requests_.load(std::memory_order_relaxed); }
  void count_requests(std::uint64_t n) { bump(requests_, n); }
  detail::ConnectionPool& pool() { return pool_; }

 private:
  const std::string address_;
  detail::ConnectionPool pool_;
  std::atomic<std::uint64_t> requests_{0};
};

// A borrowed connection of a node (given back when the lease ends).
class Lease {
 public:
  Lease(Node& node, detail::ConnectionPool::Lease lease) : node_(&node), lease_(std::move(lease)) {}
  RedisConnection& connection() { return lease_.connection(); }
  Node& node() { return *node_; }

 private:
  Node* node_;
  detail::ConnectionPool::Lease lease_;
};

// Which node serves each slot, and the distinct primaries (for scan).
struct Routing {
  std::array<Node*, detail::kClusterSlots> owner{};
  std::vector<Node*> primaries;  // sorted by address
};

// One single-key command of a call and, once run() returns ok, its final reply.
struct Command {
  std::vector<std::string> args;  // args[1] is the key
  std::uint16_t slot = 0;
  Node* target = nullptr;  // set by a redirection: send here rather than to the slot's owner
  bool asking = false;     // an ASK: send ASKING first, this once
  Reply reply;
  Node* served_by = nullptr;

  std::string_view key() const { return args.size() > 1 ? std::string_view(args[1]) : std::string_view(); }
};

Command make_command(std::vector<std::string> args) {
  Command command;
  command.args = std::move(args);
  command.slot = detail::key_slot(command.key());
  return command;
}

// What each command of a batch stands for, to read its reply back into the result.
enum class Role { kWrite, kIncrement, kDeleteLength, kDelete, kAppend, kRead };

class RedisClusterStore final : public Store {
 public:
  RedisClusterStore(ClusterUrl url, const RedisStoreOptions& options) : url_(std::move(url)), options_(options) {
    std::lock_guard lock(nodes_mutex_);
    for (const RedisUrl& seed : url_.seeds) node_locked(seed.host, seed.port);
  }

  // The first map load of open() with require_connection: its error is open()'s.
  Status load_now() { return refresh(); }

  // "redis://[userinfo@]host:port" of the primary that owns the slot of `key` in the current
  // map, with the credentials exactly as the cluster URL wrote them.
  Expected<std::string> owner_url(std::string_view key) {
    auto routing = current_routing();
    if (!routing) return routing.status();
    const std::uint16_t slot = detail::key_slot(key);
    const Node* owner = (*routing)->owner[slot];
    if (owner == nullptr) {
      return Status::unavailable(url_.redacted + ": no node serves slot " + std::to_string(slot) + " (of key '" +
                                 detail::printable_key(key) + "')");
    }
    return "redis://" + (url_.userinfo.empty() ? std::string() : url_.userinfo + "@") + owner->address();
  }

  Expected<StoreBatchResult> execute(const StoreBatch& batch) override {
    auto result = batch.empty() ? Expected<StoreBatchResult>(StoreBatchResult{}) : run_batch(batch);
    counters_.count_batch(batch, result);
    return result;
  }

  Status scan(std::string_view prefix, std::size_t batch_size,
              const std::function<Status(std::span<const std::string> keys)>& on_keys) override {
    if (batch_size == 0) return Status::invalid_argument(url_.redacted + ": scan batch size must be > 0");
    auto routing = current_routing();
    if (!routing) return routing.status();
    const std::string pattern = match_pattern(prefix);
    const std::string count = std::to_string(batch_size);
    const std::string what = "SCAN MATCH " + detail::printable_key(pattern);
    std::unordered_set<std::string> delivered;
    std::vector<std::string> fresh;
    for (Node* node : (*routing)->primaries) {
      std::string cursor = "0";
      do {
        Reply reply;
        {
          auto lease = acquire(*node);
          if (!lease) return lease.status();
          auto page = lease->connection().command({"SCAN", cursor, "MATCH", pattern, "COUNT", count});
          if (!page) return failed(page.status());
          reply = std::move(*page);
          if (!reply.is_array() || reply.elements.size() != 2 || !reply.elements[0].is_string() ||
              !reply.elements[1].is_array()) {
            return lease->connection().unexpected_reply(reply, what, "[cursor, keys]");
          }
          node->count_requests(1);
        }
        cursor = std::move(reply.elements[0].str);
        fresh.clear();
        for (Reply& key : reply.elements[1].elements) {
          if (key.is_string() && delivered.insert(key.str).second) fresh.push_back(std::move(key.str));
        }
        if (!fresh.empty()) {
          if (Status st = on_keys(fresh); !st) return st;
        }
      } while (cursor != "0");
    }
    return Status::ok();
  }

  Expected<std::vector<LogEntry>> log_read(std::string_view key, std::string_view after_id,
                                           std::size_t count) override {
    if (!valid_log_id(after_id)) {
      return Status::invalid_argument(url_.redacted + ": log_read of '" + detail::printable_key(key) + "': after id '" +
                                      detail::printable_key(after_id) + "' is not of the form ms-seq");
    }
    if (count == 0) return std::vector<LogEntry>{};
    const std::string start = detail::log_range_start(after_id);
    auto reply = single({"XRANGE", std::string(key), start, "+", "COUNT", std::to_string(count)});
    if (!reply) return reply.status();
    return detail::parse_log_entries(*reply, url_.redacted, key);
  }

  Expected<std::string> log_last_id(std::string_view key) override {
    auto reply = single({"XREVRANGE", std::string(key), "+", "-", "COUNT", "1"});
    if (!reply) return reply.status();
    auto entries = detail::parse_log_entries(*reply, url_.redacted, key);
    if (!entries) return entries.status();
    return entries->empty() ? std::string("0-0") : std::move(entries->front().id);
  }

  StoreCounters counters() const override { return counters_.snapshot(); }

  std::string describe() const override { return url_.redacted; }

  ClusterStats stats() const {
    ClusterStats out;
    {
      std::lock_guard lock(nodes_mutex_);
      for (const auto& [address, node] : nodes_) out.node_requests.emplace_back(address, node->requests());
    }
    auto get = [](const std::atomic<std::uint64_t>& counter) { return counter.load(std::memory_order_relaxed); };
    out.moved = get(moved_);
    out.asked = get(asked_);
    out.try_again = get(try_again_);
    out.slot_map_loads = get(slot_map_loads_);
    out.slot_map_failures = get(slot_map_failures_);
    return out;
  }

 private:
  Status failed(Status status) {
    if (is_timeout(status)) bump(counters_.timeouts);
    refresh_needed_.store(true);
    return status;
  }

  Expected<Lease> acquire(Node& node) {
    auto lease = node.pool().acquire();
    if (!lease) {
      refresh_needed_.store(true);
      return lease.status();
    }
    return Lease(node, std::move(*lease));
  }

  // The node at host:port, created on first mention. nodes_mutex_ must be held.
  Node* node_locked(const std::string& host, std::uint16_t port) {
    const std::string address = detail::ClusterNode{host, port, {}}.address();
    auto& slot = nodes_[address];
    if (!slot) {
      RedisUrl url;
      url.host = host;
      url.port = port;
      url.user = url_.seeds.front().user;
      url.password = url_.seeds.front().password;
      slot = std::make_unique<Node>(std::move(url), address, options_, counters_);
    }
    return slot.get();
  }

  Node* node(const std::string& host, std::uint16_t port) {
    std::lock_guard lock(nodes_mutex_);
    return node_locked(host, port);
  }

  // The map to route by, reloaded first when it is stale. A failed reload leaves the old map
  // in use (the calls that need a lost node then fail at that node); with no map at all the
  // call fails.
  Expected<std::shared_ptr<const Routing>> current_routing() {
    Status reloaded = refresh_needed_.load() ? refresh() : Status::ok();
    std::lock_guard lock(nodes_mutex_);
    if (routing_) return routing_;
    if (!reloaded) return reloaded;
    return Status::unavailable(url_.redacted + ": no slot map yet");
  }

  // Loads the slot map from the first node that gives one: the current primaries, then the
  // other known nodes (replicas, seeds, redirection targets). At most once per initial_backoff
  // while a map is in use. A call that finds another one loading keeps the current map rather
  // than wait (a load may cost a timeout per unreachable node); with no map yet it waits.
  Status refresh() {
    std::unique_lock refresh_lock(refresh_mutex_, std::try_to_lock);
    if (!refresh_lock.owns_lock()) {
      {
        std::lock_guard lock(nodes_mutex_);
        if (routing_) return Status::ok();  // another call is reloading: route by the current map meanwhile
      }
      refresh_lock.lock();
    }
    if (!refresh_needed_.load()) return Status::ok();
    const auto now = Clock::now();
    std::vector<Node*> candidates;
    {
      std::lock_guard lock(nodes_mutex_);
      if (routing_ && now - last_refresh_ < options_.initial_backoff) return Status::ok();
      if (routing_) candidates = routing_->primaries;
      for (const auto& [address, node] : nodes_) {
        if (std::find(candidates.begin(), candidates.end(), node.get()) == candidates.end()) {
          candidates.push_back(node.get());
        }
      }
    }
    last_refresh_ = now;
    std::string errors;
    for (Node* candidate : candidates) {
      auto map = load_map(*candidate);
      if (map) {
        install(*map);
        refresh_needed_.store(false);
        bump(slot_map_loads_);
        return Status::ok();
      }
      errors += errors.empty() ? "" : "; ";
      errors += map.status().message();
    }
    bump(slot_map_failures_);
    return Status::unavailable(url_.redacted + ": no node gave the cluster's slot map: " + errors);
  }

  Expected<detail::SlotMap> load_map(Node& node) {
    auto lease = acquire(node);
    if (!lease) return lease.status();
    RedisConnection& connection = lease->connection();
    auto reply = connection.command({"CLUSTER", "SHARDS"});
    if (!reply) return failed(reply.status());
    const std::string& answering_host = connection.url().host;
    // CLUSTER SLOTS when CLUSTER SHARDS is refused: Redis 6 does not know it ("ERR Unknown
    // subcommand"), an ACL or a proxy may forbid it.
    const auto parse = [&]() -> Expected<detail::SlotMap> {
      if (!reply->is_error()) return detail::parse_cluster_shards(*reply, answering_host, connection.redacted_url());
      auto slots = connection.command({"CLUSTER", "SLOTS"});
      if (!slots) return failed(slots.status());
      if (slots->is_error()) {
        return connection.error_status(*slots, "CLUSTER SLOTS (after CLUSTER SHARDS said: " + reply->str + ")");
      }
      return detail::parse_cluster_slots(*slots, answering_host, connection.redacted_url());
    };
    auto map = parse();
    if (map && map->covered_slots() == 0) {
      return Status::unavailable(connection.redacted_url() + ": its slot map assigns no slot to any node");
    }
    return map;
  }

  void install(const detail::SlotMap& map) {
    auto routing = std::make_shared<Routing>();
    std::lock_guard lock(nodes_mutex_);
    for (const detail::SlotRange& range : map.ranges) {
      Node* primary = node_locked(range.primary.host, range.primary.port);
      for (std::size_t slot = range.first; slot <= range.last; ++slot) routing->owner[slot] = primary;
      if (std::find(routing->primaries.begin(), routing->primaries.end(), primary) == routing->primaries.end()) {
        routing->primaries.push_back(primary);
      }
      for (const detail::ClusterNode& replica : range.replicas) node_locked(replica.host, replica.port);
    }
    std::sort(routing->primaries.begin(), routing->primaries.end(),
              [](const Node* a, const Node* b) { return a->address() < b->address(); });
    routing_ = std::move(routing);
  }

  // Sends every command to the node that serves it and reads the replies, following
  // redirections (see the top of the file). On success every command holds its final reply
  // (which may be an error reply such as WRONGTYPE).
  Status run(std::vector<Command>& commands) {
    std::vector<std::size_t> pending(commands.size());
    for (std::size_t i = 0; i < pending.size(); ++i) pending[i] = i;
    for (int round = 0; !pending.empty(); ++round) {
      if (round == kMaxRounds) {
        const Command& command = commands[pending.front()];
        return Status::unavailable(url_.redacted + ": " + quoted(command.args.front(), command.key()) +
                                   " was still redirected after " + std::to_string(kMaxRounds - 1) +
                                   " redirections (slot " + std::to_string(command.slot) + ")");
      }
      auto routing = current_routing();
      if (!routing) return routing.status();
      // Per node, its commands in order; nodes in address order.
      std::map<std::string_view, std::pair<Node*, std::vector<std::size_t>>> groups;
      for (std::size_t index : pending) {
        Command& command = commands[index];
        Node* node = command.target ? command.target : (*routing)->owner[command.slot];
        if (node == nullptr) {
          refresh_needed_.store(true);
          return Status::unavailable(url_.redacted + ": slot " + std::to_string(command.slot) + " of '" +
                                     detail::printable_key(command.key()) + "' is served by no node (is the cluster down?)");
        }
        auto& group = groups[node->address()];
        group.first = node;
        group.second.push_back(index);
      }
      std::vector<Lease> leases;
      leases.reserve(groups.size());
      for (auto& [address, group] : groups) {
        auto lease = acquire(*group.first);
        if (!lease) return lease.status();
        leases.push_back(std::move(*lease));
      }
      // Every node gets its pipeline before any reply is read, so the nodes work at once.
      std::size_t lease_index = 0;
      for (auto& [address, group] : groups) {
        if (Status st = send(leases[lease_index++], group.second, commands); !st) return st;
      }
      std::vector<std::size_t> redirected;
      bool wait = false;
      lease_index = 0;
      for (auto& [address, group] : groups) {
        if (Status st = read(leases[lease_index++], group.second, commands, redirected, wait); !st) return st;
      }
      std::sort(redirected.begin(), redirected.end());
      pending = std::move(redirected);
      if (wait) std::this_thread::sleep_for(kTryAgainWait);
    }
    return Status::ok();
  }

  Status send(Lease& lease, const std::vector<std::size_t>& indexes, const std::vector<Command>& commands) {
    RedisConnection& connection = lease.connection();
    std::vector<std::string_view> argv;
    for (std::size_t index : indexes) {
      const Command& command = commands[index];
      if (command.asking) {
        if (Status st = connection.append({"ASKING"}); !st) return failed(st);
      }
      argv.assign(command.args.begin(), command.args.end());
      if (Status st = connection.append(argv); !st) return failed(st);
    }
    if (Status st = connection.flush(); !st) return failed(st);
    return Status::ok();
  }

  Status read(Lease& lease, const std::vector<std::size_t>& indexes, std::vector<Command>& commands,
              std::vector<std::size_t>& redirected, bool& wait) {
    RedisConnection& connection = lease.connection();
    Node& node = lease.node();
    std::uint64_t answered = 0;
    for (std::size_t index : indexes) {
      Command& command = commands[index];
      if (command.asking) {
        auto asking = connection.read_reply();  // +OK; a failure shows in the command's reply
        if (!asking) return failed(asking.status());
      }
      auto reply = connection.read_reply();
      if (!reply) return failed(reply.status());
      command.asking = false;
      if (reply->is_error()) {
        if (auto redirect = detail::parse_redirect(reply->str)) {
          const std::string host = redirect->host.empty() ? connection.url().host : redirect->host;
          command.target = this->node(host, redirect->port);
          if (redirect->kind == detail::Redirect::Kind::kMoved) {
            bump(moved_);
            refresh_needed_.store(true);
          } else {
            bump(asked_);
            command.asking = true;
          }
          redirected.push_back(index);
          continue;
        }
        if (reply->str.rfind("TRYAGAIN", 0) == 0) {
          bump(try_again_);
          command.target = &node;
          redirected.push_back(index);
          wait = true;
          continue;
        }
      }
      command.reply = std::move(*reply);
      command.served_by = &node;
      ++answered;
    }
    node.count_requests(answered);
    return Status::ok();
  }

  // One command, redirections followed; an error reply is the call's error.
  Expected<Reply> single(std::vector<std::string> args) {
    std::vector<Command> commands;
    commands.push_back(make_command(std::move(args)));
    if (Status st = run(commands); !st) return st;
    Command& command = commands.front();
    if (command.reply.is_error()) return reply_error(command, quoted(command.args.front(), command.key()));
    return std::move(command.reply);
  }

  // An error reply as a Status naming the node that gave it and `what`.
  static Status reply_error(const Command& command, const std::string& what) {
    return detail::error_reply_status(command.served_by->redacted_url(), what, command.reply.str);
  }

  Status unexpected(const Reply& reply, const std::string& what, std::string_view expected) const {
    return detail::unexpected_reply(url_.redacted, reply, what, expected);
  }


  Expected<StoreBatchResult> run_batch(const StoreBatch& batch) {
    std::vector<Command> commands;
    std::vector<std::pair<Role, std::size_t>> roles;  // per command: what it is, for which batch item
    auto add = [&](Role role, std::size_t item, std::vector<std::string> args) {
      commands.push_back(make_command(std::move(args)));
      roles.emplace_back(role, item);
    };
    std::string blob;
    for (std::size_t i = 0; i < batch.writes.size(); ++i) {
      const RecordWrite& write = batch.writes[i];
      if (write.fields.empty()) {
        add(Role::kWrite, i, {"DEL", write.key});
      } else if (detail::encode_record(write.fields, blob); write.ttl.count() > 0) {
        add(Role::kWrite, i, {"SET", write.key, blob, "PX", std::to_string(write.ttl.count())});
      } else {
        add(Role::kWrite, i, {"SET", write.key, blob});
      }
    }
    const std::vector<detail::MergedIncrement> adds = detail::merge_increments(batch.increments);
    for (std::size_t i = 0; i < adds.size(); ++i) {
      const std::string key(adds[i].key);
      add(Role::kIncrement, i,
          {"BITFIELD", key, "INCRBY", std::string(detail::kHitsType), std::string(detail::kHitsOffset),
           std::to_string(adds[i].count)});
      if (adds[i].ttl.count() > 0) {
        add(Role::kIncrement, i, {"PEXPIRE", key, std::to_string(adds[i].ttl.count()), "NX"});
      }
    }
    for (std::size_t i = 0; i < batch.deletes.size(); ++i) {
      add(Role::kDeleteLength, i, {"STRLEN", batch.deletes[i]});
      add(Role::kDelete, i, {"UNLINK", batch.deletes[i]});
    }
    for (std::size_t i = 0; i < batch.appends.size(); ++i) {
      const LogAppend& append = batch.appends[i];
      if (append.max_length > 0) {
        add(Role::kAppend, i,
            {"XADD", append.key, "MAXLEN", "~", std::to_string(append.max_length), "*", std::string(kPayloadField),
             append.payload});
      } else {
        add(Role::kAppend, i, {"XADD", append.key, "*", std::string(kPayloadField), append.payload});
      }
    }
    for (std::size_t i = 0; i < batch.reads.size(); ++i) add(Role::kRead, i, {"GET", batch.reads[i]});

    if (Status st = run(commands); !st) return st;
    return read_results(batch, commands, roles);
  }

  // The replies back into a result, judged as RedisStore judges them: an error reply to a
  // mutation is a refusal when the batch has reads (StoreBatchResult::refused); otherwise the
  // first error (in command order) fails the call.
  Expected<StoreBatchResult> read_results(const StoreBatch& batch, std::vector<Command>& commands,
                                          const std::vector<std::pair<Role, std::size_t>>& roles) {
    Status first_error;
    auto note = [&first_error](Status st) {
      if (first_error.is_ok()) first_error = std::move(st);
    };
    StoreBatchResult result;
    result.records.resize(batch.reads.size());
    result.counters.assign(batch.reads.size(), 0);
    result.appended_ids.reserve(batch.appends.size());
    for (std::size_t c = 0; c < commands.size(); ++c) {
      Command& command = commands[c];
      const auto [role, item] = roles[c];
      Reply& reply = command.reply;
      const bool read = role == Role::kRead;
      if (role == Role::kDeleteLength) {  // WRONGTYPE included: a log was deleted
        if (detail::held_record_or_log(reply)) ++result.deleted;
        continue;
      }
      const bool wrong_type = reply.is_error() && reply.str.find("WRONGTYPE") != std::string::npos;
      // RedisStore's MGET reads a key of another type as nil: no record, no counter.
      if (read && wrong_type) continue;
      if (reply.is_error()) {
        Status st = reply_error(command, quoted(command.args.front(), command.key()));
        if (read) {
          note(std::move(st));
        } else if (result.refused.is_ok()) {
          result.refused = std::move(st);
        }
        if (role == Role::kWrite) result.refused_writes.push_back(item);
        continue;
      }
      switch (role) {
        case Role::kWrite:
        case Role::kIncrement:
          break;
        case Role::kDeleteLength:
        case Role::kDelete:
          break;
        case Role::kAppend:
          if (reply.is_string()) {
            result.appended_ids.push_back(std::move(reply.str));
          } else {
            note(unexpected(reply, quoted("XADD", command.key()), "an id"));
          }
          break;
        case Role::kRead: {
          if (reply.is_nil()) break;
          if (!reply.is_string()) {
            note(unexpected(reply, quoted("GET", command.key()), "a record"));
            break;
          }
          auto stored = detail::decode_record(reply.str);
          if (!stored) {
            note(Status::bad_input(url_.redacted + ": '" + detail::printable_key(command.key()) +
                                   "' holds a value that is not a semcache record"));
          } else if (stored->record) {  // else a stray count, or a record of an earlier layout
            result.records[item] = std::move(stored->record);
            result.counters[item] = stored->hits;
          }
          break;
        }
      }
    }
    if (!first_error) return first_error;
    if (batch.reads.empty() && !result.refused) return result.refused;
    return result;
  }

  const ClusterUrl url_;
  const RedisStoreOptions options_;
  detail::AtomicStoreCounters counters_;
  std::atomic<std::uint64_t> moved_{0};
  std::atomic<std::uint64_t> asked_{0};
  std::atomic<std::uint64_t> try_again_{0};
  std::atomic<std::uint64_t> slot_map_loads_{0};
  std::atomic<std::uint64_t> slot_map_failures_{0};
  std::atomic<bool> refresh_needed_{true};

  mutable std::mutex nodes_mutex_;  // guards nodes_ and routing_
  std::map<std::string, std::unique_ptr<Node>> nodes_;  // by address; never removed
  std::shared_ptr<const Routing> routing_;

  std::mutex refresh_mutex_;     // one map load at a time; guards last_refresh_
  Clock::time_point last_refresh_{};
};

}  // namespace

Expected<std::shared_ptr<Store>> open_redis_cluster_store(const std::string& url, const RedisStoreOptions& options) {
  if (Status st = detail::validate(options, "redis cluster store"); !st) return st;
  auto parsed = parse_cluster_url(url);
  if (!parsed) return parsed.status();
  auto store = std::make_shared<RedisClusterStore>(std::move(*parsed), options);
  if (options.require_connection) {
    if (Status st = store->load_now(); !st) return st;
  }
  return std::shared_ptr<Store>(std::move(store));
}

Expected<std::shared_ptr<Store>> open_store_url(const std::string& url, const RedisStoreOptions& options) {
  if (is_cluster_url(url)) return open_redis_cluster_store(url, options);
  return open_redis_store(url, options);
}

bool is_cluster_url(std::string_view url) { return starts_with_nocase(url, kScheme); }

Expected<std::string> cluster_node_url(const std::string& cluster_url, std::string_view key,
                                       const RedisStoreOptions& options) {
  if (Status st = detail::validate(options, "redis cluster store"); !st) return st;
  auto parsed = parse_cluster_url(cluster_url);
  if (!parsed) return parsed.status();
  RedisClusterStore store(std::move(*parsed), options);
  if (Status st = store.load_now(); !st) return st;
  return store.owner_url(key);
}

std::optional<ClusterStats> cluster_stats(const Store& store) {
  const auto* cluster = dynamic_cast<const RedisClusterStore*>(&store);
  if (cluster == nullptr) return std::nullopt;
  return cluster->stats();
}

}  // namespace semcache
