// RedisConnection: a blocking connection with timeouts, AUTH/SELECT and pipelining. hiredis
// connects (with its connect timeout and socket options); everything after that is done here
// on the socket.
//
// Blocking I/O with socket timeouts (SO_RCVTIMEO/SO_SNDTIMEO via redisSetTimeout) rather
// than an event loop: every caller in the library needs an answer before it can go on, and
// pipelining recovers the throughput that one-command-per-round-trip would lose. A pipeline is
// written whole before its replies are read, which cannot deadlock because Redis buffers the
// replies of a normal client without limit; callers keep batches to a few MB.
//
// Writing. Commands are formatted here as RESP with explicit lengths (never through a format
// string, so ids and vectors may hold any bytes, NUL included), all of a pipeline into one
// reused buffer (hiredis's redisAppendCommandArgv builds each argument with allocating sds
// calls: a tenth of the replay's client time), sent with send(MSG_NOSIGNAL): write(2) to a
// server that has gone away would raise SIGPIPE, whose default action kills the process, and
// a library must not change the process-wide disposition.
//
// Reading. recv() into RespReader, which parses each reply straight into a Reply: hiredis's
// reader built a redisReply tree that was then copied, and compacted its buffer after every
// reply: together a sixth of a replay worker's instructions under callgrind, under a tenth now.
//
// Errors. The first I/O failure or timeout closes the socket and records the message; every
// later call repeats it. A send() or recv() that fails with EAGAIN has waited out the command
// timeout (SO_SNDTIMEO/SO_RCVTIMEO) and is reported as a timeout. Error replies from Redis are
// data (Reply::kError), because in a pipeline one failing command must not hide the replies of
// the others.
//
// Passwords never reach a message: the URL is always the redacted form, and a server error
// that happens to quote the password has it replaced by "***".

#include "store/redis_connection.hpp"

#include "store/redis_commands.hpp"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <charconv>
#include <sys/time.h>

#include <cctype>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <utility>

namespace semcache::detail {
namespace {

constexpr std::size_t kReceiveChunk = 64 * 1024;

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  if (ms.count() > 0) {
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  }
  return tv;
}

std::string lower_first(std::string text) {
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

std::string scrub(std::string text, const std::string& secret) {
  if (secret.empty()) return text;
  for (std::size_t at = text.find(secret); at != std::string::npos; at = text.find(secret, at + 3)) {
    text.replace(at, secret.size(), "***");
  }
  return text;
}

}  // namespace

std::string_view to_string(Reply::Type type) {
  switch (type) {
    case Reply::Type::kNil: return "nil";
    case Reply::Type::kString: return "string";
    case Reply::Type::kStatus: return "status";
    case Reply::Type::kError: return "error";
    case Reply::Type::kInteger: return "integer";
    case Reply::Type::kArray: return "array";
  }
  return "?";
}

void RedisConnection::ContextDeleter::operator()(redisContext* context) const { redisFree(context); }

RedisConnection::RedisConnection(std::unique_ptr<redisContext, ContextDeleter> context, RedisUrl url,
                                 ConnectOptions options)
    : context_(std::move(context)), url_(std::move(url)), options_(options), redacted_url_(redacted(url_)) {}

RedisConnection::RedisConnection(RedisConnection&& other) noexcept = default;
RedisConnection& RedisConnection::operator=(RedisConnection&& other) noexcept = default;
RedisConnection::~RedisConnection() = default;

Expected<RedisConnection> RedisConnection::connect(const RedisUrl& url, const ConnectOptions& options) {
  const std::string where = redacted(url);
  redisContext* raw = options.connect_timeout.count() > 0
                          ? redisConnectWithTimeout(url.host.c_str(), url.port, to_timeval(options.connect_timeout))
                          : redisConnect(url.host.c_str(), url.port);
  if (raw == nullptr) return Status::unavailable(where + ": cannot allocate a connection");
  std::unique_ptr<redisContext, ContextDeleter> context(raw);
  if (context->err != 0) {
    std::string reason = lower_first(context->errstr);
    if (reason.find("timed out") != std::string::npos) {
      reason = "connect timed out after " + std::to_string(options.connect_timeout.count()) + " ms";
    }
    return Status::unavailable(where + ": " + reason);
  }
  if (redisSetTimeout(context.get(), to_timeval(options.command_timeout)) != REDIS_OK) {
    return Status::unavailable(where + ": cannot set the command timeout: " + lower_first(context->errstr));
  }
  RedisConnection connection(std::move(context), url, options);
  Status st = connection.handshake();
  if (!st) return st;
  return connection;
}

Status RedisConnection::handshake() {
  std::vector<std::string> names;
  if (!url_.user.empty()) {
    if (Status st = append({"AUTH", url_.user, url_.password}); !st) return st;
    names.push_back("AUTH");
  } else if (!url_.password.empty()) {
    if (Status st = append({"AUTH", url_.password}); !st) return st;
    names.push_back("AUTH");
  }
  const std::string db = std::to_string(url_.db);
  if (url_.db != 0) {
    if (Status st = append({"SELECT", db}); !st) return st;
    names.push_back("SELECT " + db);
  }
  if (names.empty()) {
    if (Status st = append({"PING"}); !st) return st;
    names.push_back("PING");
  }
  Status first_error;
  for (const std::string& name : names) {
    auto reply = read_reply();
    if (!reply) return reply.status();
    if (reply->is_error() && first_error.is_ok()) {
      first_error = Status::unavailable(redacted_url_ + ": " + name + " failed: " + scrub(reply->str, url_.password));
    }
  }
  return first_error;
}

Status RedisConnection::broken_status() const {
  if (broken_reason_.empty()) return Status::unavailable(redacted_url_ + ": not connected");
  return Status::unavailable(broken_reason_);
}

Status RedisConnection::send_unsent() {
  std::size_t sent = 0;
  while (sent < unsent_commands_.size()) {
    const ssize_t n = ::send(context_->fd, unsent_commands_.data() + sent, unsent_commands_.size() - sent, MSG_NOSIGNAL);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (errno == EINTR) continue;
    const int error_number = errno;
    if (error_number == EAGAIN || error_number == EWOULDBLOCK) {
      return broken("timed out after " + std::to_string(options_.command_timeout.count()) +
                    " ms (command timeout) sending commands");
    }
    return broken("connection lost (" + lower_first(std::strerror(error_number)) + ")");
  }
  unsent_commands_.clear();
  return Status::ok();
}

Status RedisConnection::fail_receive(int error_number) {
  if (error_number == EAGAIN || error_number == EWOULDBLOCK) {
    return broken("timed out after " + std::to_string(options_.command_timeout.count()) + " ms (command timeout)");
  }
  if (error_number == EPIPE || error_number == ECONNRESET) {
    return broken("connection lost (" + lower_first(std::strerror(error_number)) + ")");
  }
  return broken(lower_first(std::strerror(error_number)));
}

Status RedisConnection::broken(const std::string& reason) {
  broken_reason_ = redacted_url_ + ": " + reason;
  context_.reset();
  reader_.clear();
  pending_replies_ = 0;
  unsent_ = false;
  unsent_commands_.clear();
  return Status::unavailable(broken_reason_);
}

Status RedisConnection::append(std::initializer_list<std::string_view> args) {
  return append(std::span<const std::string_view>(args.begin(), args.size()));
}

Status RedisConnection::append(std::span<const std::string_view> args) {
  if (!context_ || broken()) return broken_status();
  if (args.empty()) return Status::internal("RedisConnection::append: empty command");
  // RESP, formatted here into one buffer per pipeline: *N, then $len and the bytes per argument.
  std::size_t size = 16;
  for (std::string_view arg : args) size += arg.size() + 16;
  unsent_commands_.reserve(unsent_commands_.size() + size);
  auto append_header = [this](char kind, std::size_t number) {
    char text[24];
    text[0] = kind;
    char* end = std::to_chars(text + 1, text + sizeof text - 2, number).ptr;
    *end++ = '\r';
    *end++ = '\n';
    unsent_commands_.append(text, end);
  };
  append_header('*', args.size());
  for (std::string_view arg : args) {
    append_header('$', arg.size());
    unsent_commands_.append(arg);
    unsent_commands_.append("\r\n", 2);
  }
  ++pending_replies_;
  unsent_ = true;
  return Status::ok();
}

Status RedisConnection::flush() {
  if (!context_ || broken()) return broken_status();
  if (!unsent_) return Status::ok();
  ++round_trips_;
  unsent_ = false;
  return send_unsent();
}

Expected<Reply> RedisConnection::read_reply() {
  if (!context_ || broken()) return broken_status();
  if (pending_replies_ == 0) return Status::internal("RedisConnection::read_reply: no command is waiting for a reply");
  if (Status st = flush(); !st) return st;
  Reply reply;
  std::string error;
  while (true) {
    switch (reader_.next(reply, error)) {
      case RespReader::Result::kReply:
        --pending_replies_;
        return reply;
      case RespReader::Result::kProtocolError:
        return broken("protocol error: " + error);
      case RespReader::Result::kIncomplete:
        break;
    }
    // Reads grow with what is pending, so a large reply arrives in a few reads.
    const std::span<char> room = reader_.space(std::max(kReceiveChunk, reader_.buffered()));
    const ssize_t n = ::recv(context_->fd, room.data(), room.size(), 0);
    if (n > 0) {
      reader_.commit(static_cast<std::size_t>(n));
    } else if (n == 0) {
      return broken("server closed the connection");
    } else if (errno != EINTR) {
      return fail_receive(errno);
    }
  }
}

Expected<Reply> RedisConnection::command(std::initializer_list<std::string_view> args) {
  return command(std::span<const std::string_view>(args.begin(), args.size()));
}

Expected<Reply> RedisConnection::command(std::span<const std::string_view> args) {
  if (pending_replies_ != 0) {
    return Status::internal("RedisConnection::command: " + std::to_string(pending_replies_) +
                            " pipelined replies are still unread");
  }
  if (Status st = append(args); !st) return st;
  return read_reply();
}

Expected<std::vector<Reply>> RedisConnection::pipeline(const std::vector<std::vector<std::string_view>>& commands) {
  if (pending_replies_ != 0) {
    return Status::internal("RedisConnection::pipeline: " + std::to_string(pending_replies_) +
                            " pipelined replies are still unread");
  }
  for (const auto& args : commands) {
    if (Status st = append(args); !st) return st;
  }
  std::vector<Reply> replies;
  replies.reserve(commands.size());
  for (std::size_t i = 0; i < commands.size(); ++i) {
    auto reply = read_reply();
    if (!reply) return reply.status();
    replies.push_back(std::move(*reply));
  }
  return replies;
}

Status RedisConnection::error_status(const Reply& reply, std::string_view what) const {
  return error_reply_status(redacted_url_, what, scrub(reply.str, url_.password));
}

Status RedisConnection::unexpected_reply(const Reply& reply, std::string_view what, std::string_view expected) const {
  if (reply.is_error()) return error_status(reply, what);
  return detail::unexpected_reply(redacted_url_, reply, what, expected);
}

}  // namespace semcache::detail
