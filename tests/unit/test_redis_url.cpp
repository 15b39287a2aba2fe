// Tests for parse_redis_url() and redacted() (semcache/redis_url.hpp): a table of valid URLs
// with every field they must yield, a table of malformed ones with the reason each message
// must give, and the rule that no message and no redacted form ever shows a password.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "semcache/redis_url.hpp"

using semcache::ErrorCode;
using semcache::parse_redis_url;
using semcache::redacted;
using semcache::RedisUrl;

namespace {

struct ValidCase {
  std::string url;
  std::string host;
  int port;
  std::string user;
  std::string password;
  int db;
  std::string redacted;
};

struct InvalidCase {
  std::string url;
  std::string reason;  // must appear in the message
};

}  // namespace

TEST_CASE("parse_redis_url accepts every documented form", "[redis_url]") {
  const std::vector<ValidCase> cases = {
      {"redis://localhost", "localhost", 6379, "", "", 0, "redis://localhost:6379/0"},
      {"redis://127.0.0.1:6390", "127.0.0.1", 6390, "", "", 0, "redis://127.0.0.1:6390/0"},
      {"redis://127.0.0.1:6390/", "127.0.0.1", 6390, "", "", 0, "redis://127.0.0.1:6390/0"},
      {"redis://127.0.0.1:6390/3", "127.0.0.1", 6390, "", "", 3, "redis://127.0.0.1:6390/3"},
      {"redis://cache.internal:1/15", "cache.internal", 1, "", "", 15, "redis://cache.internal:1/15"},
      {"redis://my_host-2:65535", "my_host-2", 65535, "", "", 0, "redis://my_host-2:65535/0"},
      {"REDIS://Host", "Host", 6379, "", "", 0, "redis://Host:6379/0"},
      {"redis://alice:s3cret@host:7000/2", "host", 7000, "alice", "s3cret", 2, "redis://alice:***@host:7000/2"},
      {"redis://:s3cret@host", "host", 6379, "", "s3cret", 0, "redis://:***@host:6379/0"},
      {"redis://s3cret@host", "host", 6379, "", "s3cret", 0, "redis://:***@host:6379/0"},
      {"redis://alice:@host", "host", 6379, "alice", "", 0, "redis://alice:***@host:6379/0"},
      {"redis://@host", "host", 6379, "", "", 0, "redis://host:6379/0"},
      {"redis://al%40ice:p%3Aa%2Fss%25@host", "host", 6379, "al@ice", "p:a/ss%", 0, "redis://al@ice:***@host:6379/0"},
      {"redis://u:p@ss/w:rd@host:6380", "host", 6380, "u", "p@ss/w:rd", 0, "redis://u:***@host:6380/0"},
      {"redis://[::1]", "::1", 6379, "", "", 0, "redis://[::1]:6379/0"},
      {"redis://[::1]:6390/1", "::1", 6390, "", "", 1, "redis://[::1]:6390/1"},
      {"redis://u:pw@[fe80::1:2]:7/4", "fe80::1:2", 7, "u", "pw", 4, "redis://u:***@[fe80::1:2]:7/4"},
  };
  for (const ValidCase& c : cases) {
    INFO(c.url);
    auto parsed = parse_redis_url(c.url);
    REQUIRE(parsed);
    CHECK(parsed->host == c.host);
    CHECK(parsed->port == c.port);
    CHECK(parsed->user == c.user);
    CHECK(parsed->password == c.password);
    CHECK(parsed->db == c.db);
    CHECK(redacted(*parsed) == c.redacted);
  }
}

TEST_CASE("parse_redis_url refuses malformed URLs and says what was expected", "[redis_url]") {
  const std::vector<InvalidCase> cases = {
      {"", "got an empty string"},
      {"localhost:6379", "expected redis://[user:password@]host[:port][/db]"},
      {"http://localhost", "scheme 'http://' is not supported"},
      {"rediss://localhost:6380", "TLS (rediss://) is not supported"},
      {"unix:///tmp/redis.sock", "is not supported"},
      {"redis://", "host is missing"},
      {"redis://:6379", "host is missing"},
      {"redis://user:pw@", "host is missing"},
      {"redis://host:", "port is missing after ':'"},
      {"redis://host:0", "port must be 1..65535"},
      {"redis://host:65536", "port must be 1..65535"},
      {"redis://host:99999999999999999999", "port must be 1..65535"},
      {"redis://host:63a9", "port must be 1..65535"},
      {"redis://host:-1", "port must be 1..65535"},
      {"redis://host:6379/16", "database must be 0..15"},
      {"redis://host:6379/-1", "database must be 0..15"},
      {"redis://host:6379/db", "database must be 0..15"},
      {"redis://host:6379/1/2", "database must be 0..15"},
      {"redis://host:6379/007", "database must be 0..15"},
      {"redis://host/0?timeout=1", "query strings and fragments are not supported"},
      {"redis://host#x", "query strings and fragments are not supported"},
      {"redis://[::1", "missing its closing ']'"},
      {"redis://[]:6379", "expected an IPv6 address"},
      {"redis://[::1]6379", "expected ':port' after ']'"},
      {"redis://::1:6379", "must be in brackets"},
      {"redis://ho st", "host contains ' '"},
      {"redis://u:p%zz@host", "bad percent-encoding in the password"},
      {"redis://u:p%4@host", "bad percent-encoding in the password"},
      {"redis://u%@host", "bad percent-encoding in the password"},
      {"redis://u%g0:p@host", "bad percent-encoding in the user name"},
  };
  for (const InvalidCase& c : cases) {
    INFO(c.url);
    auto parsed = parse_redis_url(c.url);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.status().code() == ErrorCode::kInvalidArgument);
    CHECK(parsed.status().message().rfind("--redis: '", 0) == 0);
    CHECK_THAT(parsed.status().message(), Catch::Contains(c.reason));
  }
}

TEST_CASE("parse_redis_url messages follow the documented shape", "[redis_url]") {
  auto parsed = parse_redis_url("redis://host:99999");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.status().message() == "--redis: 'redis://host:99999': port must be 1..65535");

  auto other_source = parse_redis_url("redis://host:0", "SEMCACHE_REDIS");
  REQUIRE_FALSE(other_source);
  CHECK(other_source.status().message() == "SEMCACHE_REDIS: 'redis://host:0': port must be 1..65535");

  auto tls = parse_redis_url("rediss://h");
  REQUIRE_FALSE(tls);
  CHECK(semcache::exit_code_for(tls.status()) == 2);
}

TEST_CASE("no message and no redacted form shows a password", "[redis_url]") {
  const std::string secret = "hunter2-Zq9";
  const std::vector<std::string> bad_urls = {
      "redis://alice:" + secret + "@host:99999",
      "redis://:" + secret + "@host:0",
      "redis://" + secret + "@host/16",
      "redis://" + secret + "@[::1",
      "rediss://alice:" + secret + "@host",
      "redis://alice:" + secret + "%zz@host",
      "redis://alice:" + secret + "@ho st",
      "redis://alice:" + secret + "@host?x=1",
      "http://alice:" + secret + "@host",
      "alice:" + secret + "@host:6379",
  };
  for (const std::string& url : bad_urls) {
    INFO(url);
    auto parsed = parse_redis_url(url);
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.status().message(), !Catch::Contains(secret));
    CHECK_THAT(parsed.status().message(), Catch::Contains("***"));
  }

  const std::vector<std::string> good_urls = {
      "redis://alice:" + secret + "@host:6379/1",
      "redis://:" + secret + "@host",
      "redis://" + secret + "@host",
      "redis://alice:" + secret + "@[::1]:6380",
  };
  for (const std::string& url : good_urls) {
    INFO(url);
    auto parsed = parse_redis_url(url);
    REQUIRE(parsed);
    CHECK(parsed->password == secret);
    CHECK_THAT(redacted(*parsed), !Catch::Contains(secret));
    CHECK_THAT(redacted(*parsed), Catch::Contains(":***@"));
  }

  RedisUrl url;
  url.host = "h";
  url.password = "x";
  CHECK(redacted(url) == "redis://:***@h:6379/0");
}
