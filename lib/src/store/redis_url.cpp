// Parsing redis:// URLs by hand rather than with a general URI parser.
//
// The grammar is small and the messages matter more than generality: each failure says which
// part is wrong and what was expected, and the URL it quotes has gone through redact_raw()
// first, because a URL that fails to parse may still carry a real password. redact_raw()
// works on text that did not parse, so it is deliberately coarse: everything between the
// first ':' after "://" and the last '@' is a password.
//
// The host starts after the last '@', not the first, so that a password with a raw '@' or
// '/' (common in generated secrets, rarely percent-encoded by hand) still works. Only the
// user and the password are percent-decoded; a host never needs it.

#include "semcache/redis_url.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace semcache {
namespace {

constexpr std::string_view kExpectedForm = "redis://[user:password@]host[:port][/db]";

std::string redact_raw(std::string_view url) {
  const std::size_t scheme_end = url.find("://");
  const std::size_t start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  const std::size_t at = url.rfind('@');
  if (at == std::string_view::npos || at < start) return std::string(url);
  const std::string_view userinfo = url.substr(start, at - start);
  const std::size_t colon = userinfo.find(':');
  const std::string_view user = colon == std::string_view::npos ? std::string_view() : userinfo.substr(0, colon);
  std::string out(url.substr(0, start));
  out += user;
  out += colon == std::string_view::npos ? "***" : ":***";
  out += url.substr(at);
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int high = hex_value(text[i + 1]);
    const int low = hex_value(text[i + 2]);
    if (high < 0 || low < 0) return std::nullopt;
    out += static_cast<char>(high * 16 + low);
    i += 2;
  }
  return out;
}

bool all_digits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Decimal digits only, at most max_digits of them (so the value cannot overflow).
std::optional<unsigned> parse_small_number(std::string_view text, std::size_t max_digits) {
  if (!all_digits(text) || text.size() > max_digits) return std::nullopt;
  unsigned value = 0;
  for (char c : text) value = value * 10 + static_cast<unsigned>(c - '0');
  return value;
}

bool is_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_';
}

bool is_ipv6_char(char c) { return hex_value(c) >= 0 || c == ':' || c == '.'; }

}  // namespace

Expected<RedisUrl> parse_redis_url(std::string_view url, std::string_view source) {
  auto fail = [&](std::string_view reason) {
    std::string message;
    if (!source.empty()) message.append(source).append(": ");
    message.append("'").append(redact_raw(url)).append("': ").append(reason);
    return Status::invalid_argument(std::move(message));
  };

  if (url.empty()) return fail("expected " + std::string(kExpectedForm) + ", got an empty string");
  const std::size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return fail("expected " + std::string(kExpectedForm));
  std::string scheme(url.substr(0, scheme_end));
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (scheme == "rediss") return fail("TLS (rediss://) is not supported; use redis://");
  if (scheme != "redis") return fail("scheme '" + scheme + "://' is not supported; expected " + std::string(kExpectedForm));

  RedisUrl out;
  std::string_view rest = url.substr(scheme_end + 3);
  const std::size_t at = rest.rfind('@');
  if (at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    const std::size_t colon = userinfo.find(':');
    const std::string_view user = colon == std::string_view::npos ? std::string_view() : userinfo.substr(0, colon);
    const std::string_view password = colon == std::string_view::npos ? userinfo : userinfo.substr(colon + 1);
    auto decoded_user = percent_decode(user);
    if (!decoded_user) return fail("bad percent-encoding in the user name; expected %XX with two hex digits");
    auto decoded_password = percent_decode(password);
    if (!decoded_password) return fail("bad percent-encoding in the password; expected %XX with two hex digits");
    out.user = std::move(*decoded_user);
    out.password = std::move(*decoded_password);
    rest = rest.substr(at + 1);
  }

  if (rest.find_first_of("?#") != std::string_view::npos) {
    return fail("query strings and fragments are not supported; expected " + std::string(kExpectedForm));
  }
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);

  std::string_view host;
  std::optional<std::string_view> port_text;
  if (!authority.empty() && authority.front() == '[') {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return fail("IPv6 address is missing its closing ']'");
    host = authority.substr(1, close - 1);
    if (host.empty() || !std::all_of(host.begin(), host.end(), is_ipv6_char)) {
      return fail("expected an IPv6 address between '[' and ']'");
    }
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return fail("expected ':port' after ']'");
      port_text = after.substr(1);
    }
  } else {
    const std::size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text->find(':') != std::string_view::npos) {
        return fail("an IPv6 address must be in brackets, e.g. redis://[::1]:6379");
      }
    }
    if (host.empty()) return fail("host is missing; expected " + std::string(kExpectedForm));
    auto bad = std::find_if_not(host.begin(), host.end(), is_host_char);
    if (bad != host.end()) {
      return fail("host contains '" + std::string(1, *bad) + "'; expected a host name or an IP address");
    }
  }
  out.host = std::string(host);

  if (port_text) {
    if (port_text->empty()) return fail("port is missing after ':'; expected a port 1..65535");
    auto port = parse_small_number(*port_text, 5);
    if (!port || *port < 1 || *port > 65535) return fail("port must be 1..65535");
    out.port = static_cast<std::uint16_t>(*port);
  }

  if (path.size() > 1) {
    auto db = parse_small_number(path.substr(1), 2);
    if (!db || *db > static_cast<unsigned>(kMaxRedisDb)) {
      return fail("database must be 0.." + std::to_string(kMaxRedisDb) + " after '/'");
    }
    out.db = static_cast<int>(*db);
  }
  return out;
}

std::string redacted(const RedisUrl& url) {
  std::string out = "redis://";
  if (!url.user.empty() || !url.password.empty()) out += url.user + ":***@";
  const bool ipv6 = url.host.find(':') != std::string::npos;
  if (ipv6) out += '[';
  out += url.host;
  if (ipv6) out += ']';
  out += ':' + std::to_string(url.port) + '/' + std::to_string(url.db);
  return out;
}

}  // namespace semcache
