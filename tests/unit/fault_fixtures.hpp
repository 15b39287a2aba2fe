#pragma once
// Fixtures for the fault tests (test_faults.cpp):
//
//   SilentServer   a loopback TCP server that accepts connections, reads what it is sent and
//                  never answers: a hung Redis (or a wrong service) from the client's side.
//   ObservedStore  a Store decorator that forwards every call and counts, on its own, what the
//                  callers asked for and what failed: the oracle for the store's own counters.
//   Watchdog       aborts the test binary with a message when a test body overruns its
//                  budget, so a hang is a loud failure rather than a stuck CI job.
//   admin_command  one command on a fresh connection of its own (CONFIG SET, CLIENT PAUSE,
//                  CLIENT KILL, INFO), outside the store under test.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "semcache/redis_url.hpp"
#include "semcache/store.hpp"
#include "store/redis_connection.hpp"

namespace semcache::testing {

class SilentServer {
 public:
  SilentServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    REQUIRE(::listen(listen_fd_, 64) == 0);
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~SilentServer() {
    stopping_.store(true);
    thread_.join();
    for (int fd : clients_) ::close(fd);
    ::close(listen_fd_);
  }
  SilentServer(const SilentServer&) = delete;
  SilentServer& operator=(const SilentServer&) = delete;

  int port() const { return port_; }
  std::string url(std::string_view userinfo = {}) const {
    return "redis://" + std::string(userinfo) + "127.0.0.1:" + std::to_string(port_);
  }
  std::size_t accepted() const { return accepted_.load(); }

 private:
  // Polls the listening socket and the clients every 20 ms so the destructor stops it quickly;
  // clients are kept open (a closed socket would be an answer of sorts) and their bytes dropped.
  void serve() {
    std::vector<char> sink(4096);
    while (!stopping_.load()) {
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      for (int fd : clients_) fds.push_back({fd, POLLIN, 0});
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      if (fds[0].revents & POLLIN) {
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0) {
          clients_.push_back(client);
          accepted_.fetch_add(1);
        }
      }
      for (std::size_t i = 1; i < fds.size(); ++i) {
        if (fds[i].revents & (POLLIN | POLLHUP | POLLERR)) {
          if (::recv(fds[i].fd, sink.data(), sink.size(), MSG_DONTWAIT) == 0) {
            // The client hung up: forget it (after this pass, so the indexes stay valid).
            closed_.push_back(fds[i].fd);
          }
        }
      }
      for (int fd : closed_) {
        clients_.erase(std::remove(clients_.begin(), clients_.end(), fd), clients_.end());
        ::close(fd);
      }
      closed_.clear();
    }
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::vector<int> clients_;  // serve()'s own; the destructor reads it after the join
  std::vector<int> closed_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> accepted_{0};
  std::thread thread_;
};

// What callers asked of the store, counted outside it. Failed calls are split by whether their
// message says "timed out" (the wording the Redis store counts timeouts by).
struct ObservedCounts {
  std::uint64_t batches = 0;
  std::uint64_t failed_batches = 0;
  std::uint64_t reads = 0;           // read requests in all batches
  std::uint64_t failed_reads = 0;    // read requests in failed batches
  std::uint64_t writes = 0;
  std::uint64_t dropped_writes = 0;
  std::uint64_t timed_out_calls = 0;  // failed calls of any kind whose message says "timed out"
  std::chrono::nanoseconds slowest_call{0};
};

class ObservedStore final : public Store {
 public:
  explicit ObservedStore(std::shared_ptr<Store> inner) : inner_(std::move(inner)) {}

  Expected<StoreBatchResult> execute(const StoreBatch& batch) override {
    const auto start = std::chrono::steady_clock::now();
    auto result = inner_->execute(batch);
    std::lock_guard lock(mutex_);
    counts_.batches += 1;
    counts_.reads += batch.reads.size();
    counts_.writes += batch.writes.size();
    if (!result) {
      counts_.failed_batches += 1;
      counts_.failed_reads += batch.reads.size();
      counts_.dropped_writes += batch.writes.size();
    } else {
      counts_.dropped_writes += result->refused_writes.size();
    }
    finish(start, result ? Status::ok() : result.status());
    return result;
  }

  Status scan(std::string_view prefix, std::size_t batch_size,
              const std::function<Status(std::span<const std::string> keys)>& on_keys) override {
    const auto start = std::chrono::steady_clock::now();
    Status st = inner_->scan(prefix, batch_size, on_keys);
    std::lock_guard lock(mutex_);
    finish(start, st);
    return st;
  }

  Expected<std::vector<LogEntry>> log_read(std::string_view key, std::string_view after_id,
                                           std::size_t count) override {
    const auto start = std::chrono::steady_clock::now();
    auto result = inner_->log_read(key, after_id, count);
    std::lock_guard lock(mutex_);
    finish(start, result ? Status::ok() : result.status());
    return result;
  }

  Expected<std::string> log_last_id(std::string_view key) override {
    const auto start = std::chrono::steady_clock::now();
    auto result = inner_->log_last_id(key);
    std::lock_guard lock(mutex_);
    finish(start, result ? Status::ok() : result.status());
    return result;
  }

  StoreCounters counters() const override { return inner_->counters(); }
  std::string describe() const override { return inner_->describe(); }

  ObservedCounts observed() const {
    std::lock_guard lock(mutex_);
    return counts_;
  }

 private:
  void finish(std::chrono::steady_clock::time_point start, const Status& status) {
    counts_.slowest_call = std::max(counts_.slowest_call, std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                              std::chrono::steady_clock::now() - start));
    // A call refused during the reconnect backoff quotes the connect error that started it
    // ("reconnecting in 40 ms after: connect timed out"): it is not a timeout of its own.
    const std::string& message = status.message();
    if (!status && message.find("timed out") != std::string::npos &&
        message.find("reconnecting in") == std::string::npos) {
      counts_.timed_out_calls += 1;
    }
  }

  std::shared_ptr<Store> inner_;
  mutable std::mutex mutex_;
  ObservedCounts counts_;
};

// The store's own counters against what ObservedStore saw, for a store used only through it.
inline void check_counters_match(const StoreCounters& counted, const ObservedCounts& seen) {
  CHECK(counted.batches == seen.batches);
  CHECK(counted.failed_batches == seen.failed_batches);
  CHECK(counted.records_read + counted.failed_reads == seen.reads);
  CHECK(counted.failed_reads == seen.failed_reads);
  CHECK(counted.records_written + counted.dropped_writes == seen.writes);
  CHECK(counted.dropped_writes == seen.dropped_writes);
  CHECK(counted.timeouts == seen.timed_out_calls);
}

class Watchdog {
 public:
  Watchdog(std::chrono::seconds budget, std::string what) : what_(std::move(what)) {
    thread_ = std::thread([this, budget] {
      std::unique_lock lock(mutex_);
      if (!done_cv_.wait_for(lock, budget, [this] { return done_; })) {
        std::fprintf(stderr, "WATCHDOG: '%s' still running after %lld s: a hang\n", what_.c_str(),
                     static_cast<long long>(budget.count()));
        std::abort();
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    done_cv_.notify_all();
    thread_.join();
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

 private:
  std::string what_;
  std::mutex mutex_;
  std::condition_variable done_cv_;
  bool done_ = false;
  std::thread thread_;
};

// One command on a connection of its own; REQUIREs that it was answered (any reply, errors
// included, is returned).
inline detail::Reply admin_command(const std::string& url, std::initializer_list<std::string_view> args,
                                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto parsed = parse_redis_url(url);
  REQUIRE(parsed);
  auto connection = detail::RedisConnection::connect(*parsed, {timeout, timeout});
  INFO(connection.status().message());
  REQUIRE(connection);
  auto reply = connection->command(args);
  INFO(reply.status().message());
  REQUIRE(reply);
  return std::move(*reply);
}

// A number from INFO's "name:value" lines, or -1 when absent.
inline long long info_field(const std::string& info, std::string_view name) {
  const std::string needle = "\n" + std::string(name) + ":";
  const auto at = ("\n" + info).find(needle);
  if (at == std::string::npos) return -1;
  return std::atoll(info.c_str() + at + needle.size() - 1);
}

}  // namespace semcache::testing
