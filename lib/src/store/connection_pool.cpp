#include "store/connection_pool.hpp"

#include <algorithm>
#include <utility>

#include "store/redis_commands.hpp"

namespace semcache::detail {

using Clock = std::chrono::steady_clock;

ConnectionPool::ConnectionPool(RedisUrl url, const RedisStoreOptions& options, AtomicStoreCounters& counters)
    : url_(std::move(url)),
      redacted_url_(redacted(url_)),
      options_(options),
      connect_options_{options.connect_timeout, options.command_timeout},
      counters_(counters),
      backoff_(options.initial_backoff) {}

ConnectionPool::Lease::Lease(ConnectionPool& pool, std::unique_ptr<RedisConnection> connection)
    : pool_(&pool), connection_(std::move(connection)), round_trips_at_start_(connection_->round_trips()) {}

ConnectionPool::Lease::~Lease() {
  if (!connection_) return;
  bump(pool_->counters_.round_trips, connection_->round_trips() - round_trips_at_start_);
  pool_->release(std::move(connection_));
}

Expected<ConnectionPool::Lease> ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  const auto deadline = Clock::now() + options_.command_timeout;
  while (idle_.empty() && open_ >= options_.pool_size) {
    if (idle_freed_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
        open_ >= options_.pool_size) {
      bump(counters_.timeouts);
      return Status::unavailable(redacted_url_ + ": timed out after " +
                                 std::to_string(options_.command_timeout.count()) + " ms waiting for one of " +
                                 std::to_string(options_.pool_size) + " busy connections");
    }
  }
  if (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    return Lease(*this, std::move(connection));
  }
  if (const auto now = Clock::now(); now < retry_at_) {
    const auto wait_ms = std::chrono::ceil<std::chrono::milliseconds>(retry_at_ - now).count();
    return Status::unavailable(redacted_url_ + ": reconnecting in " + std::to_string(wait_ms) + " ms after: " +
                               last_connect_error_);
  }
  ++open_;
  lock.unlock();
  auto connection = RedisConnection::connect(url_, connect_options_);
  lock.lock();
  if (!connection) {
    --open_;
    bump(counters_.connect_failures);
    lost_ = true;
    retry_at_ = Clock::now() + backoff_;
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    Status status = connection.status();
    const std::string prefix = redacted_url_ + ": ";
    const std::string& message = status.message();
    last_connect_error_ = message.rfind(prefix, 0) == 0 ? message.substr(prefix.size()) : message;
    idle_freed_.notify_one();  // a waiter may now try (and fail fast) itself
    if (is_timeout(status)) bump(counters_.timeouts);
    return status;
  }
  bump(counters_.connects);
  if (lost_) bump(counters_.reconnects);
  lost_ = false;
  backoff_ = options_.initial_backoff;
  retry_at_ = {};
  bump(counters_.round_trips, connection->round_trips());  // the handshake
  return Lease(*this, std::make_unique<RedisConnection>(std::move(*connection)));
}

void ConnectionPool::release(std::unique_ptr<RedisConnection> connection) {
  std::lock_guard lock(mutex_);
  if (!connection->broken() && connection->pending_replies() == 0) {
    idle_.push_back(std::move(connection));
    idle_freed_.notify_one();
    return;
  }
  if (!connection->broken()) {  // replies left unread: out of step, closed alone
    --open_;
    idle_freed_.notify_one();
    return;
  }
  lost_ = true;
  open_ -= 1 + idle_.size();
  idle_.clear();
  idle_freed_.notify_all();
}

}  // namespace semcache::detail
