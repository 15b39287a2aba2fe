// Fuzz target: parse_redis_url() and redacted() (lib/src/store/redis_url.cpp).
//
// Invariants checked on every input:
//   - a parsed URL has a host, a port in 1..65535 and a db in 0..kMaxRedisDb, and written back
//     as a URL (user and password percent-encoded, IPv6 in brackets) it parses to equal fields;
//   - redacted() is exactly "redis://[user:***@]host:port/db": the password never shows;
//   - the password cannot change the outcome: the same URL with the password replaced by as
//     many 'x' parses to the same fields (or fails with the very same message), so no error
//     message can depend on, and so reveal, the password. (A password whose percent-encoding
//     is malformed is the one exception: that is its own error.)

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_common.hpp"
#include "semcache/redis_url.hpp"

namespace {

using semcache::RedisUrl;
using semcache::fuzz::printable;

std::string percent_encode_all(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string host_part(const RedisUrl& url) {
  return url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
}

std::string to_url(const RedisUrl& url) {
  std::string out = "redis://";
  if (!url.user.empty() || !url.password.empty()) {
    out += percent_encode_all(url.user) + ":" + percent_encode_all(url.password) + "@";
  }
  return out + host_part(url) + ":" + std::to_string(url.port) + "/" + std::to_string(url.db);
}

std::string describe(const RedisUrl& url) {
  return "{host '" + printable(url.host) + "', port " + std::to_string(url.port) + ", user '" + printable(url.user) +
         "', password '" + printable(url.password) + "', db " + std::to_string(url.db) + "}";
}

bool same_except_password(const RedisUrl& a, const RedisUrl& b) {
  return a.host == b.host && a.port == b.port && a.user == b.user && a.db == b.db;
}

bool valid_percent_encoding(std::string_view text) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') continue;
    if (i + 2 >= text.size()) return false;
    if (!hex(text[i + 1]) || !hex(text[i + 2])) return false;
    i += 2;
  }
  return true;
}

// Where the password sits in `url` by the documented grammar: after "://", up to the last '@',
// after the first ':' of that user part (or all of it when it has no ':'). npos when none.
std::pair<std::size_t, std::size_t> password_span(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return {std::string_view::npos, 0};
  const std::size_t start = scheme_end + 3;
  const std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return {std::string_view::npos, 0};
  const std::size_t colon = url.substr(start, at - start).find(':');
  const std::size_t begin = colon == std::string_view::npos ? start : start + colon + 1;
  return {begin, at - begin};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view url = semcache::fuzz::as_text(data, size);
  const auto parsed = semcache::parse_redis_url(url, "fuzz");

  if (parsed) {
    const RedisUrl& u = *parsed;
    FUZZ_CHECK(!u.host.empty(), "empty host from '" + printable(url) + "'");
    FUZZ_CHECK(u.port >= 1, "port 0 from '" + printable(url) + "'");
    FUZZ_CHECK(u.db >= 0 && u.db <= semcache::kMaxRedisDb, "db out of range from '" + printable(url) + "'");

    const std::string rewritten = to_url(u);
    const auto again = semcache::parse_redis_url(rewritten, "fuzz");
    FUZZ_CHECK(again.has_value(), "'" + printable(url) + "' parsed to " + describe(u) + ", but its rewriting '" +
                                      printable(rewritten) + "' does not parse: " + again.status().message());
    FUZZ_CHECK(same_except_password(*again, u) && again->password == u.password,
               "round trip changed " + describe(u) + " into " + describe(*again));

    std::string expected = "redis://";
    if (!u.user.empty() || !u.password.empty()) expected += u.user + ":***@";
    expected += host_part(u) + ":" + std::to_string(u.port) + "/" + std::to_string(u.db);
    const std::string shown = semcache::redacted(u);
    FUZZ_CHECK(shown == expected, "redacted() gave '" + printable(shown) + "', expected '" + printable(expected) + "'");
  }

  const auto [begin, length] = password_span(url);
  if (begin == std::string_view::npos || length == 0 || !valid_percent_encoding(url.substr(begin, length))) return 0;
  std::string masked(url);
  masked.replace(begin, length, std::string(length, 'x'));
  const auto other = semcache::parse_redis_url(masked, "fuzz");
  FUZZ_CHECK(other.has_value() == parsed.has_value(),
             "changing the password changed the outcome: '" + printable(url) + "' -> " +
                 (parsed ? "ok" : parsed.status().message()) + ", '" + printable(masked) + "' -> " +
                 (other ? "ok" : other.status().message()));
  if (parsed) {
    FUZZ_CHECK(same_except_password(*other, *parsed),
               "changing the password changed other fields: " + describe(*parsed) + " vs " + describe(*other));
  } else {
    FUZZ_CHECK(other.status().message() == parsed.status().message(),
               "an error message depends on the password: '" + printable(parsed.status().message()) + "' vs '" +
                   printable(other.status().message()) + "'");
  }
  return 0;
}
