#pragma once
// One blocking connection to Redis (internal): the only code in the library that touches
// hiredis, which it uses to connect. Replies are read by RespReader, straight into Reply.
//
// Thread model: a RedisConnection is used by one thread at a time. Lifetime: a Reply owns
// its data and outlives the connection. Once an I/O error or a timeout has happened the
// connection is broken: every later call fails with the same message (reconnecting is the
// caller's business, see broken()).
// A failure caused by a connect or command timeout says "timed out" in its message (the store
// counts timeouts by it).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/redis_url.hpp"
#include "semcache/status.hpp"
#include "store/reply.hpp"
#include "store/resp_reader.hpp"

struct redisContext;

namespace semcache::detail {


struct ConnectOptions {
  std::chrono::milliseconds connect_timeout{2000};  // <= 0: wait as long as the OS does
  std::chrono::milliseconds command_timeout{2000};  // per read or write; <= 0: no timeout
};

class RedisConnection {
 public:
  // Connects, sets the command timeout, then in one round trip sends AUTH (when the URL has
  // credentials) and SELECT (when db != 0), or PING when it needs neither, so that a wrong
  // password or a server that is not Redis fails here rather than on first use.
  // Failures are Status::unavailable: "redis://:***@127.0.0.1:6390/0: connection refused".
  static Expected<RedisConnection> connect(const RedisUrl& url, const ConnectOptions& options = {});

  RedisConnection(RedisConnection&& other) noexcept;
  RedisConnection& operator=(RedisConnection&& other) noexcept;
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;
  ~RedisConnection();

  // Sends one command and waits for its reply: one round trip. Every argument goes out as a
  // length-prefixed bulk string, so any bytes are safe. A Redis error reply ("WRONGTYPE ...")
  // is a Reply of type kError, not a failed Expected: only I/O errors and timeouts fail.
  // Refused (internal) while pipelined replies are unread.
  Expected<Reply> command(std::initializer_list<std::string_view> args);
  Expected<Reply> command(std::span<const std::string_view> args);

  // Pipelining: append() only buffers; the first read_reply() after appends sends them all
  // (one round trip) and returns the first reply; later calls return the rest in order.
  Status append(std::initializer_list<std::string_view> args);
  Status append(std::span<const std::string_view> args);
  Expected<Reply> read_reply();
  // Sends the appended commands now, without waiting for their replies (read_reply() would
  // send them first anyway): a caller with pipelines to several servers sends to all of them,
  // then reads, so the servers work at the same time.
  Status flush();
  // append() every command, then read every reply: one round trip.
  Expected<std::vector<Reply>> pipeline(const std::vector<std::vector<std::string_view>>& commands);

  std::size_t pending_replies() const { return pending_replies_; }
  bool broken() const { return !broken_reason_.empty(); }
  // Network round trips since connect(), the handshake included.
  std::uint64_t round_trips() const { return round_trips_; }
  const RedisUrl& url() const { return url_; }
  const std::string& redacted_url() const { return redacted_url_; }
  const ConnectOptions& options() const { return options_; }

  // A Redis error reply as a Status naming the connection and `what` (e.g. the key), judged by
  // error_reply_status() (redis_commands.hpp): WRONGTYPE, "not an integer" and overflow are
  // bad_input, anything else unavailable. A password the error quotes is replaced by "***".
  Status error_status(const Reply& reply, std::string_view what) const;
  // Status::unavailable "<url>: <what>: expected <expected>, got <reply type>".
  Status unexpected_reply(const Reply& reply, std::string_view what, std::string_view expected) const;

 private:
  struct ContextDeleter {
    void operator()(redisContext* context) const;
  };

  RedisConnection(std::unique_ptr<redisContext, ContextDeleter> context, RedisUrl url, ConnectOptions options);
  Status handshake();
  Status fail_receive(int error_number);  // errno as the failed recv() left it
  Status send_unsent();              // writes unsent_commands_ to the socket
  Status broken(const std::string& reason);  // closes the connection for good with this reason
  Status broken_status() const;

  std::unique_ptr<redisContext, ContextDeleter> context_;
  RedisUrl url_;
  ConnectOptions options_;
  std::string redacted_url_;
  std::string broken_reason_;  // empty while healthy
  std::size_t pending_replies_ = 0;
  bool unsent_ = false;        // appended commands not yet written
  std::uint64_t round_trips_ = 0;
  std::string unsent_commands_;  // the RESP of the appended commands, sent at flush() or the first read
  RespReader reader_;

};

}  // namespace semcache::detail
