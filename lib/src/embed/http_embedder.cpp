// The HTTP embedder: an OpenAI-compatible /v1/embeddings endpoint behind the Embedder interface
// (the contract, URL rule and error codes are in semcache/http_embedder.hpp).
//
// Transport: cpp-httplib's blocking client (Debian's libcpp-httplib, built with OpenSSL, zlib
// and brotli, so https works and compressed replies are accepted). A call checks a Connection
// (an httplib client with keep-alive, plus the simdjson parser that reads its replies) out of a
// mutex-protected pool, uses it alone for all its batches, one after another, and puts it back.
// Keep-alive matters for https, where a new connection costs a TLS handshake of several round
// trips; a client per call would be simpler but pays that on every lookup (measured on loopback
// against the test server with a P-256 certificate, one text per call: 0.18 ms per call pooled,
// 5.4 ms with a new connection each time; over plain http both cost about 0.27 ms). At most
// kMaxIdleConnections idle connections are kept; more are closed when returned. httplib
// checks that a kept socket is still open before reusing it and reconnects otherwise; a
// connection the server closed just as we sent is a connection error, retried like any other
// (embedding requests are idempotent). A client whose request failed is reusable: httplib closes the
// broken socket and the next request reconnects.
//
// Deadline. Each embed() call has one deadline (now + http_deadline) for all its batches and
// retries. Before each attempt the remaining time caps the connect, read and write timeouts,
// but httplib's read timeout bounds each read, not the reply: a server that trickles a byte at
// a time (headers or body) would never trip it. So every request is also registered with a
// watchdog thread (one per embedder, asleep unless a deadline is near) that calls the
// client's stop() when the deadline passes, and again every kRestopInterval until the request
// has ended, which covers a stop() that lands before the request has even opened its socket.
// httplib's stop() is made for this: from another thread it shuts the socket down, the
// blocked read returns, and the request fails. stop() waits for a connect in progress (it
// holds the client's socket lock), which the connect timeout bounds; name resolution
// (getaddrinfo) happens under that lock too and is bounded only by the system resolver.
// Backoff sleeps never cross the deadline: a retry that cannot start before it is not made.
//
// Replies are parsed with simdjson's DOM into n x dim floats, placed by "index" and
// L2-normalised here (servers differ: OpenAI normalises, llama.cpp may not). The dimension is
// learned by the probe at open; dim_ and identity_ are then immutable, so every reply of
// another dimension is an error (never a silent change of the vectors a namespace holds).
//
// Secrets. The API key lives only in the Authorization header of each request. Messages show
// the endpoint without query string (where gateways put keys) and reply excerpts with every
// occurrence of the key replaced by "***", redacted before the excerpt is cut so that no part
// of a key survives at the cut.
//
// SIGPIPE. httplib 0.11 writes with send(2) without MSG_NOSIGNAL (and SSL_write), so a write to
// a server that has gone away raises SIGPIPE, whose default action kills the process; httplib's
// Server ignores SIGPIPE process-wide but its client does not. As in redis_connection.cpp,
// SIGPIPE is blocked on the calling thread around every use of a client (requests and the
// destruction of connections, which may send a TLS close_notify) and a pending one is consumed
// before the mask is restored; the watchdog thread blocks all signals for its lifetime.
//
// Locking: pool_mutex_ guards idle_; the watchdog's mutex guards its table. A request thread
// holds no lock of ours while it talks to the server. Counters are relaxed atomics
// (statistics, not synchronisation).

#include "semcache/http_embedder.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <ctime>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "embed/embedder_stats.hpp"
#include "embed/embedding_limits.hpp"

namespace semcache {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kProbeDeadline{30000};
constexpr std::string_view kProbeText = "semcache dimension probe";
constexpr milliseconds kFirstBackoff{100};
constexpr milliseconds kMaxBackoff{2000};
constexpr milliseconds kRestopInterval{10};
// A failure this close to the deadline is the deadline's doing (a read timeout set to the
// remaining time fires at the deadline, give or take the clock's rounding).
constexpr milliseconds kDeadlineSlack{2};
constexpr std::size_t kMaxIdleConnections = 32;
constexpr std::size_t kExcerptBytes = 160;
constexpr std::string_view kExpectedReply = R"({"data": [{"embedding": [numbers], "index": i}, ...]})";

// Blocks SIGPIPE on this thread for its lifetime and swallows one raised meanwhile.
class SigpipeGuard {
 public:
  SigpipeGuard() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    sigpending(&pending);
    was_pending_ = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &old_mask_);
    was_blocked_ = sigismember(&old_mask_, SIGPIPE) == 1;
  }
  ~SigpipeGuard() {
    if (was_blocked_) return;
    if (!was_pending_) {
      sigset_t pending;
      sigemptyset(&pending);
      sigpending(&pending);
      if (sigismember(&pending, SIGPIPE) == 1) {
        const timespec no_wait{0, 0};
        while (sigtimedwait(&pipe_set_, nullptr, &no_wait) == -1 && errno == EINTR) {
        }
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_set_;
  sigset_t old_mask_;
  bool was_pending_ = false;
  bool was_blocked_ = false;
};

// Stops the clients of requests whose deadline has passed (see the top of the file).
class DeadlineWatchdog {
 public:
  DeadlineWatchdog() : thread_([this] { run(); }) {}
  ~DeadlineWatchdog() {
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_one();
    thread_.join();
  }
  DeadlineWatchdog(const DeadlineWatchdog&) = delete;
  DeadlineWatchdog& operator=(const DeadlineWatchdog&) = delete;

  // Watches one request for as long as it lives.
  class Watch {
   public:
    Watch(DeadlineWatchdog& watchdog, httplib::ClientImpl& client, Clock::time_point deadline)
        : watchdog_(watchdog), ticket_(watchdog.add(client, deadline)) {}
    ~Watch() { watchdog_.remove(ticket_); }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    DeadlineWatchdog& watchdog_;
    std::uint64_t ticket_;
  };

 private:
  struct Watched {
    httplib::ClientImpl* client;
    Clock::time_point next_stop;
  };

  std::uint64_t add(httplib::ClientImpl& client, Clock::time_point deadline) {
    std::uint64_t ticket = 0;
    {
      const std::lock_guard<std::mutex> lock(mutex_);
      ticket = next_ticket_++;
      watched_.emplace(ticket, Watched{&client, deadline});
    }
    changed_.notify_one();
    return ticket;
  }

  // After remove() returns, the watchdog no longer touches the client.
  void remove(std::uint64_t ticket) {
    const std::lock_guard<std::mutex> lock(mutex_);
    watched_.erase(ticket);
  }

  void run() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    std::unique_lock<std::mutex> lock(mutex_);
    while (!stopping_) {
      const Clock::time_point now = Clock::now();
      Clock::time_point wake = Clock::time_point::max();
      for (auto& [ticket, watched] : watched_) {
        if (watched.next_stop <= now) {
          watched.client->stop();
          watched.next_stop = now + kRestopInterval;
        }
        wake = std::min(wake, watched.next_stop);
      }
      if (wake == Clock::time_point::max()) {
        changed_.wait(lock);
      } else {
        changed_.wait_until(lock, wake);
      }
    }
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<std::uint64_t, Watched> watched_;
  std::uint64_t next_ticket_ = 0;
  bool stopping_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

// ---- URLs --------------------------------------------------------------------------------

struct Endpoint {
  std::string scheme;      // "http" or "https"
  std::string host;        // as httplib wants it: an IPv6 address without brackets
  std::string shown_host;  // as written in a URL: an IPv6 address in brackets
  int port = 0;
  std::string path;   // the request path, always ending in "/embeddings"
  std::string query;  // "" or "?...": sent, never shown

  std::string shown() const { return scheme + "://" + shown_host + ":" + std::to_string(port) + path; }
};

bool starts_with_no_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// The URL as a message may show it: without query string or fragment, credentials as "***".
std::string shown_url(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const std::size_t scheme_end = url.find("://");
  const std::size_t authority_start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const std::size_t authority_end = std::min(url.find('/', authority_start), url.size());
  const std::size_t at = url.substr(0, authority_end).rfind('@');
  if (at == std::string_view::npos || at < authority_start) return std::string(url);
  return std::string(url.substr(0, authority_start)) + "***" + std::string(url.substr(at));
}

bool printable_ascii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c > 0x20 && c < 0x7f; });
}

Expected<Endpoint> parse_endpoint(std::string_view url, const std::string& api_key_env) {
  const std::string context = "http embedder URL '" + shown_url(url) + "'";
  Endpoint endpoint;
  if (starts_with_no_case(url, "https://")) {
    endpoint.scheme = "https";
    endpoint.port = 443;
  } else if (starts_with_no_case(url, "http://")) {
    endpoint.scheme = "http";
    endpoint.port = 80;
  } else {
    return Status::invalid_argument(context + ": must start with http:// or https://");
  }
  const std::string_view rest = url.substr(endpoint.scheme.size() + 3);
  const std::size_t authority_end = std::min(rest.find_first_of("/?#"), rest.size());
  const std::string_view authority = rest.substr(0, authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return Status::invalid_argument(context + ": credentials in the URL are not accepted; put the API key in the " +
                                    "environment variable " + api_key_env + " (sent as a bearer token)");
  }
  std::string_view host = authority;
  std::optional<std::string_view> port;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::invalid_argument(context + ": '[' without ']' in the host");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) {
        return Status::invalid_argument(context + ": expected ':port' after the bracketed host");
      }
      port = after.substr(1);
    }
    endpoint.shown_host = "[" + std::string(host) + "]";
  } else {
    const std::size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      if (authority.find(':', colon + 1) != std::string_view::npos) {
        return Status::invalid_argument(context + ": an IPv6 host must be written in brackets, e.g. http://[::1]:8080");
      }
      host = authority.substr(0, colon);
      port = authority.substr(colon + 1);
    }
    endpoint.shown_host = std::string(host);
  }
  if (host.empty() || !printable_ascii(host)) {
    return Status::invalid_argument(context + ": expected a host name or address after '" + endpoint.scheme + "://'");
  }
  endpoint.host = std::string(host);
  if (port) {
    int parsed = 0;
    const auto [end, error] = std::from_chars(port->data(), port->data() + port->size(), parsed);
    if (port->empty() || error != std::errc() || end != port->data() + port->size() || parsed < 1 || parsed > 65535) {
      return Status::invalid_argument(context + ": the port must be a number from 1 to 65535");
    }
    endpoint.port = parsed;
  }
  std::string_view path_and_query = rest.substr(authority_end);
  path_and_query = path_and_query.substr(0, path_and_query.find('#'));
  const std::size_t question = path_and_query.find('?');
  std::string_view path = path_and_query.substr(0, question);
  if (question != std::string_view::npos) endpoint.query = std::string(path_and_query.substr(question));
  if (!printable_ascii(path) || !printable_ascii(endpoint.query)) {
    return Status::invalid_argument(context + ": spaces and control characters must be percent-encoded");
  }
  while (path.ends_with('/')) path.remove_suffix(1);
  endpoint.path = std::string(path);
  if (!path.ends_with("/embeddings")) endpoint.path += path.ends_with("/v1") ? "/embeddings" : "/v1/embeddings";
  return endpoint;
}

// ---- JSON ------------------------------------------------------------------------------

// The length of the valid UTF-8 sequence that starts at text[i] (a byte >= 0x80), or 0 when
// there is none (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
std::size_t utf8_sequence_length(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  std::size_t length = 0;
  unsigned char low = 0x80;  // the range of the second byte, narrowed for some lead bytes
  unsigned char high = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) low = 0xA0;   // overlong
    if (lead == 0xED) high = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) low = 0x90;   // overlong
    if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size() || byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return length;
}

// Appends text as a JSON string: quotes, backslashes and control characters escaped, each
// byte that is not part of valid UTF-8 replaced by U+FFFD.
void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const std::size_t length = utf8_sequence_length(text, i);
      if (length == 0) {
        out += "\xEF\xBF\xBD";
        ++i;
      } else {
        out.append(text.substr(i, length));
        i += length;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xf]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
  if (from.empty()) return text;
  for (std::size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// Delta-seconds of a Retry-After header; nullopt for an HTTP date or anything else.
std::optional<Clock::duration> parse_retry_after(std::string_view value) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  unsigned seconds = 0;
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (value.empty() || error != std::errc() || end != value.data() + value.size()) return std::nullopt;
  return std::chrono::seconds(seconds);
}

// Exponential backoff with "equal jitter": half the step fixed, half random, so that callers
// who failed together do not retry together.
Clock::duration backoff(std::size_t attempt) {
  const std::size_t doublings = std::min<std::size_t>(attempt - 1, 16);
  const milliseconds step = std::min(milliseconds(kFirstBackoff.count() << doublings), kMaxBackoff);
  thread_local std::minstd_rand random(std::random_device{}());
  std::uniform_int_distribution<long long> jitter(0, step.count() / 2);
  return step / 2 + milliseconds(jitter(random));
}

// httplib's own names for its errors are terse ("Connection"); these say what happened.
std::string describe(httplib::Error error) {
  switch (error) {
    case httplib::Error::Connection: return "could not connect (refused, unreachable, or the name did not resolve)";
    case httplib::Error::ConnectionTimeout: return "the connection timed out";
    case httplib::Error::Read: return "the connection broke while reading the reply";
    case httplib::Error::Write: return "the connection broke while sending the request";
    case httplib::Error::SSLConnection: return "the TLS handshake failed";
    case httplib::Error::SSLLoadingCerts: return "the system's CA certificates could not be loaded";
    case httplib::Error::SSLServerVerification: return "the server's TLS certificate did not verify";
    case httplib::Error::Compression: return "the reply could not be decompressed";
    default: return "request failed (" + httplib::to_string(error) + ")";
  }
}

// A timeout in httplib's (seconds, microseconds) form, at least 1 ms: zero would fail at once.
std::pair<time_t, time_t> seconds_and_micros(Clock::duration duration) {
  const long long micros =
      std::max<long long>(std::chrono::duration_cast<std::chrono::microseconds>(duration).count(), 1000);
  return {static_cast<time_t>(micros / 1000000), static_cast<time_t>(micros % 1000000)};
}

// ---- the embedder ------------------------------------------------------------------------

class HttpEmbedder final : public Embedder {
 public:
  HttpEmbedder(Endpoint endpoint, const EmbedderOptions& options, std::string api_key)
      : endpoint_(std::move(endpoint)),
        model_(options.http_model),
        api_key_env_(options.http_api_key_env),
        api_key_(std::move(api_key)),
        requested_dim_(options.dim),
        connect_timeout_(options.http_connect_timeout),
        deadline_(options.http_deadline),
        batch_size_(options.http_batch_size),
        max_retries_(options.http_max_retries) {
    headers_.emplace("Accept", "application/json");
    if (!api_key_.empty()) headers_.emplace("Authorization", "Bearer " + api_key_);
  }

  ~HttpEmbedder() override {
    const SigpipeGuard sigpipe;
    idle_.clear();
  }

  HttpEmbedder(const HttpEmbedder&) = delete;
  HttpEmbedder& operator=(const HttpEmbedder&) = delete;

  // Learns the dimension with one request; called once, before the embedder is shared.
  Status probe() {
    const SigpipeGuard sigpipe;
    const std::string_view texts[] = {kProbeText};
    std::vector<float> values;
    std::uint64_t tokens = 0;
    auto connection = acquire();
    if (!connection->client->is_valid()) return Status::internal(prefix() + "could not set up a TLS context");
    const Clock::time_point deadline = Clock::now() + std::max(deadline_, kProbeDeadline);
    Status status = request_batch(*connection, texts, deadline, values, tokens);
    release(std::move(connection));
    if (!status) return status;
    if (requested_dim_ != 0 && dim_ != requested_dim_) {
      return Status::invalid_argument(prefix() + "the endpoint returns " + std::to_string(dim_) +
                                      "-dimensional vectors, but dimension " + std::to_string(requested_dim_) +
                                      " was requested (OpenAI's text-embedding-3 models honour the request; " +
                                      "other models have one dimension: leave it unset)");
    }
    identity_ = "http-v1:" + model_ + "@" + endpoint_.shown() + "/" + std::to_string(dim_);
    return Status::ok();
  }

  const std::string& identity() const override { return identity_; }
  std::size_t dim() const override { return dim_; }

  Status embed(std::span<const std::string_view> texts, std::span<float> out) override {
    if (Status st = detail::check_output_size(identity_, texts.size(), dim_, out.size()); !st) return st;
    if (texts.empty()) return Status::ok();
    const SigpipeGuard sigpipe;
    const Clock::time_point start = Clock::now();
    const Clock::time_point deadline = start + deadline_;
    auto connection = acquire();
    std::vector<float> values;
    Status status;
    for (std::size_t first = 0; first < texts.size(); first += batch_size_) {
      const std::size_t count = std::min(batch_size_, texts.size() - first);
      std::uint64_t tokens = 0;
      status = request_batch(*connection, texts.subspan(first, count), deadline, values, tokens);
      if (!status) break;
      std::copy(values.begin(), values.end(), out.begin() + static_cast<std::ptrdiff_t>(first * dim_));
      stats_.add_texts(count, tokens);
    }
    release(std::move(connection));
    if (!status) failed_calls_.fetch_add(1, std::memory_order_relaxed);
    stats_.add_time_since(start);
    return status;
  }

  EmbedderCounters counters() const override { return stats_.snapshot(); }

  HttpEmbedderCounters http_counters() const {
    return {requests_.load(std::memory_order_relaxed), retries_.load(std::memory_order_relaxed),
            failed_calls_.load(std::memory_order_relaxed), deadline_exceeded_.load(std::memory_order_relaxed)};
  }

 private:
  struct Connection {
    std::unique_ptr<httplib::ClientImpl> client;
    simdjson::dom::parser parser;
  };

  // What one request brought back: a transport error, or a status and a body.
  struct Exchange {
    httplib::Error error = httplib::Error::Success;
    int status = 0;
    std::string body;
    std::string retry_after;
    std::string location;
  };

  std::string prefix() const { return "http embedder " + endpoint_.shown() + ": "; }

  std::unique_ptr<Connection> acquire() {
    {
      const std::lock_guard<std::mutex> lock(pool_mutex_);
      if (!idle_.empty()) {
        std::unique_ptr<Connection> connection = std::move(idle_.back());
        idle_.pop_back();
        return connection;
      }
    }
    auto connection = std::make_unique<Connection>();
    if (endpoint_.scheme == "https") {
      connection->client = std::make_unique<httplib::SSLClient>(endpoint_.host, endpoint_.port);
    } else {
      connection->client = std::make_unique<httplib::ClientImpl>(endpoint_.host, endpoint_.port);
    }
    httplib::ClientImpl& client = *connection->client;
    client.set_keep_alive(true);
    client.set_tcp_nodelay(true);  // the request goes out as two writes (headers, body)
    client.set_url_encode(false);  // the path is sent as the user wrote it
    client.set_follow_location(false);
    return connection;
  }

  void release(std::unique_ptr<Connection> connection) {
    {
      const std::lock_guard<std::mutex> lock(pool_mutex_);
      if (idle_.size() < kMaxIdleConnections) {
        idle_.push_back(std::move(connection));
        return;
      }
    }
    // Over the limit, the connection closes here, outside the lock (under the caller's
    // SigpipeGuard).
  }

  Exchange post(Connection& connection, const std::string& body, Clock::time_point deadline) {
    httplib::ClientImpl& client = *connection.client;
    const Clock::duration remaining = deadline - Clock::now();
    const auto [connect_s, connect_us] = seconds_and_micros(std::min<Clock::duration>(connect_timeout_, remaining));
    const auto [io_s, io_us] = seconds_and_micros(remaining);
    client.set_connection_timeout(connect_s, connect_us);
    client.set_read_timeout(io_s, io_us);
    client.set_write_timeout(io_s, io_us);
    requests_.fetch_add(1, std::memory_order_relaxed);
    httplib::Result result = [&] {
      const DeadlineWatchdog::Watch watch(watchdog_, client, deadline);
      return client.Post(endpoint_.path + endpoint_.query, headers_, body, "application/json");
    }();
    Exchange exchange;
    if (!result) {
      exchange.error = result.error();
      return exchange;
    }
    exchange.status = result->status;
    exchange.body = std::move(result->body);
    exchange.retry_after = result->get_header_value("Retry-After");
    exchange.location = result->get_header_value("Location");
    return exchange;
  }

  // Sends one batch, retrying as the policy allows, and parses the reply into values
  // (texts.size() x dim_, normalised); learns dim_ when it is still 0 (the probe).
  Status request_batch(Connection& connection, std::span<const std::string_view> texts, Clock::time_point deadline,
                       std::vector<float>& values, std::uint64_t& tokens) {
    const std::string body = request_body(texts);
    const std::size_t attempts = 1 + max_retries_;
    std::string last_failure = "no request was sent";
    for (std::size_t attempt = 1;; ++attempt) {
      if (Clock::now() + kDeadlineSlack >= deadline) return deadline_exceeded(attempt - 1, last_failure);
      Exchange exchange = post(connection, body, deadline);
      if (exchange.error == httplib::Error::Success && exchange.status >= 200 && exchange.status < 300) {
        return parse_reply(connection.parser, exchange.body, texts.size(), values, tokens);
      }
      const bool transport_error = exchange.error != httplib::Error::Success;
      if (transport_error && Clock::now() + kDeadlineSlack >= deadline) {
        return deadline_exceeded(attempt, "the request was cut at the deadline");
      }
      last_failure = transport_error ? describe(exchange.error)
                                     : "HTTP " + std::to_string(exchange.status) + ", reply: " + excerpt(exchange.body);
      const bool retryable =
          transport_error ? exchange.error != httplib::Error::SSLServerVerification &&
                                exchange.error != httplib::Error::SSLLoadingCerts
                          : exchange.status == 429 || exchange.status >= 500;
      if (!retryable) return refusal(exchange, last_failure);
      if (attempt == attempts) {
        return Status::unavailable(prefix() + last_failure + " (attempt " + std::to_string(attempt) + " of " +
                                   std::to_string(attempts) + ")");
      }
      const std::optional<Clock::duration> asked = parse_retry_after(exchange.retry_after);
      const Clock::duration delay = asked ? *asked : backoff(attempt);
      if (Clock::now() + delay + kDeadlineSlack >= deadline) {
        const std::string why = asked ? "the server asked to wait " + exchange.retry_after + " s before retrying"
                                      : "no time is left for a retry";
        return deadline_exceeded(attempt, last_failure + "; " + why);
      }
      std::this_thread::sleep_for(delay);
      retries_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  Status deadline_exceeded(std::size_t attempts_made, const std::string& last_failure) {
    deadline_exceeded_.fetch_add(1, std::memory_order_relaxed);
    return Status::unavailable(prefix() + "no embedding within the deadline of " + std::to_string(deadline_.count()) +
                               " ms after " + std::to_string(attempts_made) + " attempt(s); last: " + last_failure);
  }

  // A failure that retrying cannot cure.
  Status refusal(const Exchange& exchange, const std::string& what) const {
    if (exchange.error != httplib::Error::Success) {
      return Status::invalid_argument(prefix() + what + " (check the server's certificate, or the system's CA store)");
    }
    std::string hint;
    if (exchange.status >= 300 && exchange.status < 400) {
      hint = " (redirects to '" + shown_url(exchange.location) + "': use that URL)";
    } else if (exchange.status == 401 || exchange.status == 403) {
      hint = api_key_.empty() ? " (no API key was sent: $" + api_key_env_ + " is unset or empty)"
                              : " (check the API key in $" + api_key_env_ + ")";
    } else if (exchange.status == 404) {
      hint = " (check the URL's path and the model name)";
    }
    return Status::invalid_argument(prefix() + "the endpoint refused the request: " + what + hint);
  }

  std::string request_body(std::span<const std::string_view> texts) const {
    std::size_t size = 64 + model_.size();
    for (const std::string_view text : texts) size += text.size() + 3;
    std::string body;
    body.reserve(size);
    body += '{';
    if (!model_.empty()) {
      body += "\"model\":";
      append_json_string(body, model_);
      body += ',';
    }
    if (requested_dim_ != 0) body += "\"dimensions\":" + std::to_string(requested_dim_) + ",";
    body += "\"input\":[";
    for (std::size_t i = 0; i < texts.size(); ++i) {
      if (i > 0) body += ',';
      append_json_string(body, texts[i]);
    }
    body += "]}";
    return body;
  }

  // A short excerpt of a reply for a message: the key redacted, control bytes as \xNN.
  std::string excerpt(std::string_view body) const {
    static constexpr char kHex[] = "0123456789abcdef";
    const std::string redacted = replace_all(std::string(body), api_key_, "***");
    const std::string_view shown = std::string_view(redacted).substr(0, kExcerptBytes);
    std::string out = "'";
    for (const char c : shown) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7f) {
        out += "\\x";
        out.push_back(kHex[byte >> 4]);
        out.push_back(kHex[byte & 0xf]);
      } else {
        out.push_back(c);
      }
    }
    out += shown.size() < redacted.size() ? "'..." : "'";
    return out;
  }

  Status malformed(std::string_view body, const std::string& what) const {
    return Status::bad_input(prefix() + "the reply is not " + std::string(kExpectedReply) + ": " + what +
                             "; the reply starts " + excerpt(body));
  }

  // Reads the reply into values (n x dim_, in input order, L2-normalised). The rows are
  // located first, so that nothing is written before the whole reply has been checked.
  Status parse_reply(simdjson::dom::parser& parser, std::string& body, std::size_t n, std::vector<float>& values,
                     std::uint64_t& tokens) {
    body.reserve(body.size() + simdjson::SIMDJSON_PADDING);  // lets simdjson parse in place
    simdjson::dom::element root;
    if (const auto error = parser.parse(body).get(root); error) {
      return malformed(body, std::string("it is not JSON (") + simdjson::error_message(error) + ")");
    }
    simdjson::dom::object object;
    if (root.get_object().get(object)) return malformed(body, "it is not a JSON object");
    simdjson::dom::array data;
    if (object["data"].get_array().get(data)) return malformed(body, "it has no \"data\" array");
    std::vector<simdjson::dom::array> rows(n);
    std::vector<bool> seen(n, false);
    std::size_t position = 0;
    for (const simdjson::dom::element item : data) {
      if (position >= n) break;  // counted below
      const std::string where = "data[" + std::to_string(position) + "]";
      simdjson::dom::object fields;
      if (item.get_object().get(fields)) return malformed(body, where + " is not an object");
      std::uint64_t index = position;
      const auto index_field = fields["index"];
      if (index_field.error() != simdjson::NO_SUCH_FIELD && index_field.get_uint64().get(index)) {
        return malformed(body, where + ".index is not a non-negative integer");
      }
      if (index >= n || seen[index]) {
        return malformed(body, where + ".index " + std::to_string(index) + " is " +
                                   (index >= n ? "out of range for " + std::to_string(n) + " inputs" : "repeated"));
      }
      simdjson::dom::element embedding;
      if (fields["embedding"].get(embedding)) return malformed(body, where + " has no \"embedding\"");
      if (embedding.is_string()) {
        return malformed(body, where + ".embedding is a string (base64?), expected an array of numbers");
      }
      if (embedding.get_array().get(rows[index])) return malformed(body, where + ".embedding is not an array");
      seen[index] = true;
      ++position;
    }
    std::size_t items = 0;
    for ([[maybe_unused]] const simdjson::dom::element item : data) ++items;
    if (items != n) {
      return malformed(body, "\"data\" holds " + std::to_string(items) + " items for " + std::to_string(n) + " inputs");
    }
    for (std::size_t i = 0; i < n; ++i) {
      std::size_t row_dim = 0;
      for ([[maybe_unused]] const simdjson::dom::element value : rows[i]) ++row_dim;
      if (dim_ == 0) {
        if (row_dim == 0 || row_dim > detail::kMaxEmbeddingDim) {
          return malformed(body, "the embedding has " + std::to_string(row_dim) + " dimensions, expected 1 to " +
                                     std::to_string(detail::kMaxEmbeddingDim));
        }
        dim_ = row_dim;
      }
      if (row_dim != dim_) {
        return Status::bad_input(prefix() + "the endpoint returned a " + std::to_string(row_dim) +
                                 "-dimensional embedding, but its dimension is " + std::to_string(dim_) +
                                 " (learned at open): the model behind the endpoint has changed; reopen the " +
                                 "embedder (its identity, and with it the cache namespace, names the dimension)");
      }
    }
    values.assign(n * dim_, 0.0f);
    for (std::size_t i = 0; i < n; ++i) {
      float* row = values.data() + i * dim_;
      std::size_t d = 0;
      double norm = 0;
      for (const simdjson::dom::element value : rows[i]) {
        double x = 0;
        if (value.get_double().get(x) || !std::isfinite(static_cast<float>(x))) {
          return malformed(body, "embedding " + std::to_string(i) + " holds a value at [" + std::to_string(d) +
                                     "] that is not a finite 32-bit number");
        }
        row[d++] = static_cast<float>(x);
        norm += x * x;
      }
      norm = std::sqrt(norm);
      if (norm > 0) {
        for (std::size_t k = 0; k < dim_; ++k) row[k] = static_cast<float>(row[k] / norm);
      }
    }
    std::uint64_t prompt_tokens = 0;
    if (!object.at_pointer("/usage/prompt_tokens").get_uint64().get(prompt_tokens)) tokens += prompt_tokens;
    return Status::ok();
  }

  DeadlineWatchdog watchdog_;
  const Endpoint endpoint_;
  const std::string model_;
  const std::string api_key_env_;
  const std::string api_key_;
  const std::size_t requested_dim_;
  const milliseconds connect_timeout_;
  const milliseconds deadline_;
  const std::size_t batch_size_;
  const std::size_t max_retries_;
  httplib::Headers headers_;
  std::size_t dim_ = 0;   // set by probe(), then immutable
  std::string identity_;  // likewise

  std::mutex pool_mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;

  detail::EmbedderStats stats_;
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> failed_calls_{0};
  std::atomic<std::uint64_t> deadline_exceeded_{0};
};

}  // namespace

Expected<std::shared_ptr<Embedder>> open_http_embedder(std::string_view url, const EmbedderOptions& options) {
  Expected<Endpoint> endpoint = parse_endpoint(url, options.http_api_key_env);
  if (!endpoint) return endpoint.status();
  const std::string context = "http embedder " + endpoint->shown() + ": ";
  if (options.http_batch_size == 0) return Status::invalid_argument(context + "the batch size must be at least 1");
  if (options.http_deadline.count() <= 0 || options.http_connect_timeout.count() <= 0) {
    return Status::invalid_argument(context + "the deadline and the connect timeout must be positive");
  }
  if (options.dim > detail::kMaxEmbeddingDim) {
    return Status::invalid_argument(context + "dimension " + std::to_string(options.dim) + " is above " +
                                    std::to_string(detail::kMaxEmbeddingDim));
  }
  std::string api_key;
  if (!options.http_api_key_env.empty()) {
    const char* value = std::getenv(options.http_api_key_env.c_str());
    if (value != nullptr) api_key = value;
  }
  if (!printable_ascii(api_key)) {
    return Status::invalid_argument(context + "the API key in $" + options.http_api_key_env +
                                    " holds spaces or control characters (not shown)");
  }
  auto embedder = std::make_shared<HttpEmbedder>(std::move(*endpoint), options, std::move(api_key));
  if (Status status = embedder->probe(); !status) return status;
  return std::shared_ptr<Embedder>(std::move(embedder));
}

std::optional<HttpEmbedderCounters> http_embedder_counters(const Embedder& embedder) {
  const auto* http = dynamic_cast<const HttpEmbedder*>(&embedder);
  if (http == nullptr) return std::nullopt;
  return http->http_counters();
}

}  // namespace semcache
