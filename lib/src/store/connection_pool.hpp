#pragma once
// ConnectionPool: the connections to one Redis server that a store lends out, one per round
// trip (internal; RedisStore has one, RedisClusterStore one per node).
//
// Up to pool_size connections. The mutex guards the idle list, the count of open connections
// (idle, lent, or being connected) and the backoff; connects run outside it. A caller that
// finds no idle connection and the pool full waits at most command_timeout. A connection that
// broke (I/O error, timeout) is closed, and so are the idle ones: they talk to the same server,
// which has just gone away, restarted or stalled, and keeping them would fail one more call
// each. A connection given back with replies unread (its caller failed on another server
// mid-call) is out of step and closed alone. After a failed connect, calls fail at once
// ("reconnecting in N ms") until the backoff elapses; it doubles per failure up to max_backoff
// and resets on success. Connects, reconnects, connect failures, timeouts and round trips go to
// the store's counters.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "semcache/redis_store.hpp"
#include "semcache/redis_url.hpp"
#include "semcache/status.hpp"
#include "store/redis_connection.hpp"
#include "store/store_counters.hpp"

namespace semcache::detail {

class ConnectionPool {
 public:
  ConnectionPool(RedisUrl url, const RedisStoreOptions& options, AtomicStoreCounters& counters);

  // A borrowed connection: given back (or closed) when the lease ends, its round trips counted.
  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<RedisConnection> connection);
    Lease(Lease&& other) noexcept = default;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    RedisConnection& connection() { return *connection_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<RedisConnection> connection_;
    std::uint64_t round_trips_at_start_;
  };

  // An idle connection, a new one, or unavailable: during the backoff, on a failed connect, or
  // when the pool stays full for command_timeout.
  Expected<Lease> acquire();

  const RedisUrl& url() const { return url_; }
  const std::string& redacted_url() const { return redacted_url_; }

 private:
  void release(std::unique_ptr<RedisConnection> connection);

  const RedisUrl url_;
  const std::string redacted_url_;
  const RedisStoreOptions options_;
  const ConnectOptions connect_options_;
  AtomicStoreCounters& counters_;

  std::mutex mutex_;  // guards everything below
  std::condition_variable idle_freed_;
  std::vector<std::unique_ptr<RedisConnection>> idle_;
  std::size_t open_ = 0;  // idle + lent + being connected
  bool lost_ = false;     // a connection broke or a connect failed since the last successful connect
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point retry_at_{};
  std::string last_connect_error_;
};

}  // namespace semcache::detail
