#pragma once
// Where a Redis server is: redis://[user:password@]host[:port][/db].
//
// The forms accepted are those of redis-cli -u: "redis://host" (port 6379, db 0),
// "redis://host:port/db", "redis://:password@host" (AUTH password),
// "redis://user:password@host" (ACL: AUTH user password) and "redis://password@host" (no
// colon: the whole user part is the password, as redis-cli reads it). User and password are
// percent-decoded ("p%40ss" is "p@ss"); a raw '@' in a password also works, because the
// host starts after the last '@'. IPv6 literals go in brackets: "redis://[::1]:6380". The
// scheme is case-insensitive; "rediss://" (TLS) is refused, as are query strings.
//
// A password never appears in a message: errors quote the URL with its password replaced
// by "***", and redacted() is the form to log.

#include <cstdint>
#include <string>
#include <string_view>

#include "semcache/status.hpp"

namespace semcache {

inline constexpr std::uint16_t kDefaultRedisPort = 6379;
inline constexpr int kMaxRedisDb = 15;

struct RedisUrl {
  std::string host;                    // a name or an IP literal; IPv6 without the brackets
  std::uint16_t port = kDefaultRedisPort;
  std::string user;                    // empty: no ACL user (AUTH password, or no AUTH)
  std::string password;                // empty: no AUTH unless a user is given
  int db = 0;                          // 0..kMaxRedisDb
};

// Parses `url`. A malformed URL is Status::invalid_argument with a message that starts with
// `source` (the option or setting the URL came from), quotes the URL with its password
// redacted and says what was expected:
//   --redis: 'redis://host:99999': port must be 1..65535
Expected<RedisUrl> parse_redis_url(std::string_view url, std::string_view source = "--redis");

// "redis://host:port/db", or "redis://user:***@host:port/db" when there are credentials;
// the password is never shown, not even its length.
std::string redacted(const RedisUrl& url);

}  // namespace semcache
