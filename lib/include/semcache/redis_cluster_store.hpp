#pragma once
// The Redis Cluster store: the Redis store's data layout and contract (redis_store.hpp) on a
// Redis Cluster, each key routed to the primary that owns its hash slot.
//
// URL: redis+cluster://[user:password@]host:port[,host:port...]: the seed nodes (any nodes of
// the cluster; one is enough, more survive a seed being down) sharing one set of credentials.
// The port is required; there is no db (a cluster has only db 0). The scheme is
// case-insensitive. User and password are percent-decoded as in redis_url.hpp and never
// appear in messages or in describe() ("redis+cluster://user:***@h1:7000,h2:7001").
//
// The store learns the slot map from a seed (CLUSTER SHARDS, or CLUSTER SLOTS where that is
// refused: Redis 6, an ACL), keeps a connection pool per node with the options' pool size, timeouts and
// backoff (a node that is down turns calls that need it into Status::unavailable within the
// timeouts, and during its backoff at once), and follows the cluster as it changes: MOVED
// (the slot has a new owner: the command goes there, the map is reloaded), ASK (a slot in
// migration: ASKING and the command go to the importing node, the map stays), TRYAGAIN (a
// brief wait, then again). A node that fails makes the next call reload the map, so a replica
// promoted after a failover is used as soon as the cluster says so.
//
// Data and results are exactly those of open_redis_store(): the same record values, counter
// keys, TTLs and reset-on-write, so a cache written through one store kind reads back through
// the other after a resharding that keeps the keys. A batch's commands are grouped per node,
// one pipelined round trip per node; the order of the commands on any one key is the batch's.
// Unlike the single-node store, multi-key commands (DEL of the counters, UNLINK, MGET) are sent
// one key at a time, because a cluster refuses keys of different slots in one command.
//
// open_redis_cluster_store() fails on a malformed URL or options (invalid_argument) and, with
// require_connection, when no seed gives a usable slot map (unavailable, naming each seed's
// failure). Without require_connection the map is loaded on the first call.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "semcache/redis_store.hpp"
#include "semcache/store.hpp"

namespace semcache {

Expected<std::shared_ptr<Store>> open_redis_cluster_store(const std::string& url,
                                                          const RedisStoreOptions& options = {});

// A store for `url`: open_redis_cluster_store() for "redis+cluster://", open_redis_store()
// otherwise (which checks the scheme and says what it expected).
Expected<std::shared_ptr<Store>> open_store_url(const std::string& url, const RedisStoreOptions& options = {});

// Whether `url` has the redis+cluster:// scheme (case-insensitive).
bool is_cluster_url(std::string_view url);

// The plain "redis://[user:password@]host:port" URL of the primary that owns the hash slot of
// `key` now, learnt from the cluster's seeds as open_redis_cluster_store() does, with the
// cluster URL's credentials as written there. For code that keeps all its keys under one
// hash tag (redis_vector_store.hpp) and talks to that one node directly: the answer holds
// until the slot moves (a resharding or a failover), after which that node answers MOVED or
// is gone, and the caller asks again. Errors are those of open_redis_cluster_store() with
// require_connection, and unavailable when no node serves the slot.
Expected<std::string> cluster_node_url(const std::string& cluster_url, std::string_view key,
                                       const RedisStoreOptions& options = {});

// What a cluster store did besides StoreCounters, since it was opened.
struct ClusterStats {
  // Commands each node answered ("host:port"), redirections excluded, sorted by node.
  std::vector<std::pair<std::string, std::uint64_t>> node_requests;
  std::uint64_t moved = 0;              // MOVED replies followed
  std::uint64_t asked = 0;              // ASK replies followed
  std::uint64_t try_again = 0;          // TRYAGAIN replies retried
  std::uint64_t slot_map_loads = 0;     // slot maps loaded, the first one included
  std::uint64_t slot_map_failures = 0;  // attempts to load one that found no node able to give it
};

// The stats of a store made by open_redis_cluster_store(); nullopt for any other store.
std::optional<ClusterStats> cluster_stats(const Store& store);

}  // namespace semcache
