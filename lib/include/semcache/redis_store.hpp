#pragma once
// The Redis store: a record is one string value (its counter and all its fields encoded in one
// blob: SET, or one MSET for a batch of writes without TTL; one MGET reads a batch; BITFIELD
// INCRBY counts a hit in place), logs are streams (XADD MAXLEN ~, XRANGE); the layout and its
// reasons are at the top of redis_store.cpp. Every argument is sent binary-safe
// (length-prefixed), never formatted into a command string. For Redis Cluster see
// redis_cluster_store.hpp.
//
// A small pool of connections serves concurrent callers: a call borrows one connection for its
// one pipelined round trip. Connect and command timeouts bound every call. A connection that
// fails is closed; the next call reconnects, but after a failed connect further attempts wait
// out an exponential backoff (initial_backoff doubling up to max_backoff), and calls made
// during the backoff fail at once with Status::unavailable rather than waiting: a lookup
// against a dead Redis is a fast miss. A restarted Redis is used again on the first call after
// the backoff; nothing needs restarting.
//
// open() fails when the URL is malformed (invalid_argument) or, with require_connection, when
// the first connect fails (unavailable: "redis://:***@127.0.0.1:6390/0: connection refused",
// or "...: AUTH failed: WRONGPASS ..." for bad credentials). Passwords never appear in
// messages or in describe().

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "semcache/store.hpp"

namespace semcache {

struct RedisStoreOptions {
  std::chrono::milliseconds connect_timeout{500};
  std::chrono::milliseconds command_timeout{500};   // bounds each socket read and write
  std::size_t pool_size = 4;                         // connections kept open at most
  std::chrono::milliseconds initial_backoff{50};
  std::chrono::milliseconds max_backoff{1000};
  bool require_connection = true;                    // open() fails if Redis cannot be reached now
};

Expected<std::shared_ptr<Store>> open_redis_store(const std::string& url, const RedisStoreOptions& options = {});

}  // namespace semcache
