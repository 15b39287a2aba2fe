// RedisConnection: a blocking hiredis context with timeouts, AUTH/SELECT and pipelining.
//
// Blocking I/O with socket timeouts (SO_RCVTIMEO/SO_SNDTIMEO via redisSetTimeout) rather
// than an event loop: every caller in the library needs an answer before it can go on, and
// pipelining recovers the throughput that one-command-per-round-trip would lose. hiredis
// writes the whole output buffer before reading, which cannot deadlock because Redis buffers
// the replies of a normal client without limit; callers keep batches to a few MB.
//
// Commands are formatted here as RESP with explicit lengths (never through a format string, so
// ids and vectors may hold any bytes, NUL included), all of a pipeline into one reused buffer
// sent at the first read: hiredis's own redisAppendCommandArgv builds each argument with
// allocating sds calls, which showed up as a tenth of the replay's client time.
//
// Errors. hiredis reports I/O failures through c->err/c->errstr and leaves the context
// unusable, so the first one frees the context and records the message; every later call
// repeats it. A timed-out read surfaces as EAGAIN ("Resource temporarily unavailable") and
// is reworded as a timeout. Error replies from Redis are data (Reply::kError), because in a
// pipeline one failing command must not hide the replies of the others.
//
// Writing. The formatted commands go to the socket with send(MSG_NOSIGNAL), not through
// hiredis, which would copy them into its output buffer (freed and regrown every pipeline)
// and write them with write(2): a write to a server that has gone away would raise SIGPIPE,
// whose default action kills the process, and a library must not change the process-wide
// disposition. hiredis only reads. The socket is blocking with SO_SNDTIMEO, so a stalled
// server makes send() fail with EAGAIN after the command timeout, reported as a timeout.
//
// Passwords never reach a message: the URL is always the redacted form, and a server error
// that happens to quote the password has it replaced by "***".

#include "store/redis_connection.hpp"

#include <hiredis/hiredis.h>

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

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  if (ms.count() > 0) {
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  }
  return tv;
}

Reply convert(const redisReply& r) {
  Reply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::kString;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::kStatus;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::kError;
      out.str.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i) out.elements.push_back(convert(*r.element[i]));
      break;
    default:
      out.type = Reply::Type::kNil;
      break;
  }
  return out;
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
  // Keep the reply buffer between pipelines: by default hiredis frees it whenever it empties
  // with more than 16 KB allocated, so every large batch would allocate it again.
  context->reader->maxbuf = 0;
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

Status RedisConnection::fail_io(int error_number) {
  std::string reason;
  if (!context_) {
    reason = "not connected";
  } else if (context_->err == REDIS_ERR_IO && (error_number == EAGAIN || error_number == EWOULDBLOCK)) {
    reason = "timed out after " + std::to_string(options_.command_timeout.count()) + " ms (command timeout)";
  } else if (context_->err == REDIS_ERR_EOF) {
    reason = "server closed the connection";
  } else if (context_->err == REDIS_ERR_IO && (error_number == EPIPE || error_number == ECONNRESET)) {
    reason = "connection lost (" + lower_first(context_->errstr) + ")";
  } else {
    reason = lower_first(context_->errstr[0] != '\0' ? context_->errstr : "I/O error");
  }
  return broken(reason);
}

Status RedisConnection::broken(const std::string& reason) {
  broken_reason_ = redacted_url_ + ": " + reason;
  context_.reset();
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

Expected<Reply> RedisConnection::read_reply() {
  if (!context_ || broken()) return broken_status();
  if (pending_replies_ == 0) return Status::internal("RedisConnection::read_reply: no command is waiting for a reply");
  if (unsent_) {
    ++round_trips_;
    unsent_ = false;
    if (Status st = send_unsent(); !st) return st;
  }
  void* raw = nullptr;
  const int rc = redisGetReply(context_.get(), &raw);
  const int error_number = errno;
  if (rc != REDIS_OK || raw == nullptr) {
    if (raw != nullptr) freeReplyObject(raw);
    return fail_io(error_number);
  }
  Reply reply = convert(*static_cast<redisReply*>(raw));
  freeReplyObject(raw);
  --pending_replies_;
  return reply;
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
  std::string message = redacted_url_ + ": " + std::string(what) + ": " + scrub(reply.str, url_.password);
  if (reply.str.rfind("WRONGTYPE", 0) == 0) return Status::bad_input(std::move(message));
  return Status::unavailable(std::move(message));
}

Status RedisConnection::unexpected_reply(const Reply& reply, std::string_view what, std::string_view expected) const {
  if (reply.is_error()) return error_status(reply, what);
  return Status::unavailable(redacted_url_ + ": " + std::string(what) + ": expected " + std::string(expected) +
                             ", got " + std::string(to_string(reply.type)));
}

}  // namespace semcache::detail
