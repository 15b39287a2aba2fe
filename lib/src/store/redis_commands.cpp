#include "store/redis_commands.hpp"

#include <algorithm>
#include <unordered_map>

#include "store/printable.hpp"
#include "store/record_codec.hpp"

namespace semcache::detail {

std::string quoted(std::string_view command, std::string_view key) {
  return std::string(command) + " '" + printable(key, kMaxKeyInMessage) + "'";
}

bool valid_log_id(std::string_view id) {
  const std::size_t dash = id.find('-');
  auto digits = [](std::string_view text) {
    return !text.empty() && text.size() <= 20 &&
           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  return digits(id.substr(0, dash)) && (dash == std::string_view::npos || digits(id.substr(dash + 1)));
}

std::string log_range_start(std::string_view after_id) {
  return after_id == "0-0" ? std::string("-") : "(" + std::string(after_id);
}

std::string match_pattern(std::string_view prefix) {
  std::string pattern;
  pattern.reserve(prefix.size() + 8);
  for (char c : prefix) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') pattern += '\\';
    pattern += c;
  }
  pattern += '*';
  return pattern;
}

bool is_timeout(const Status& status) { return status.message().find("timed out") != std::string::npos; }

std::vector<MergedIncrement> merge_increments(std::span<const CounterIncrement> increments) {
  std::vector<MergedIncrement> merged;
  std::unordered_map<std::string_view, std::size_t> index;
  for (const CounterIncrement& increment : increments) {
    auto [it, fresh] = index.try_emplace(increment.key, merged.size());
    if (fresh) merged.push_back({increment.key, 0, increment.ttl});
    MergedIncrement& add = merged[it->second];
    ++add.count;
    add.ttl = std::max(add.ttl, increment.ttl);
  }
  return merged;
}

bool held_record_or_log(const Reply& strlen_reply) {
  if (strlen_reply.is_integer()) return strlen_reply.integer > static_cast<long long>(kStrayCountBytes);
  return strlen_reply.is_error() && strlen_reply.str.find("WRONGTYPE") != std::string::npos;
}

Status validate(const RedisStoreOptions& options, std::string_view store) {
  const std::string name(store);
  if (options.connect_timeout.count() <= 0) return Status::invalid_argument(name + ": connect_timeout must be > 0 ms");
  if (options.command_timeout.count() <= 0) return Status::invalid_argument(name + ": command_timeout must be > 0 ms");
  if (options.pool_size == 0) return Status::invalid_argument(name + ": pool_size must be >= 1");
  if (options.initial_backoff.count() <= 0 || options.max_backoff < options.initial_backoff) {
    return Status::invalid_argument(name + ": backoff must satisfy 0 < initial_backoff <= max_backoff, got " +
                                    std::to_string(options.initial_backoff.count()) + " ms and " +
                                    std::to_string(options.max_backoff.count()) + " ms");
  }
  return Status::ok();
}

Status error_reply_status(std::string_view where, std::string_view what, std::string_view error) {
  const std::string message = std::string(where) + ": " + std::string(what) + ": " + std::string(error);
  if (error.find("WRONGTYPE") != std::string_view::npos || error.find("not an integer") != std::string_view::npos ||
      error.find("overflow") != std::string_view::npos) {
    return Status::bad_input(message);
  }
  return Status::unavailable(message);
}

Status unexpected_reply(std::string_view where, const Reply& reply, std::string_view what, std::string_view expected) {
  return Status::unavailable(std::string(where) + ": " + std::string(what) + ": expected " + std::string(expected) +
                             ", got " + std::string(to_string(reply.type)));
}

Expected<std::vector<LogEntry>> parse_log_entries(Reply& reply, std::string_view where, std::string_view key) {
  std::vector<LogEntry> out;
  if (!reply.is_array()) return unexpected_reply(where, reply, quoted("XRANGE", key), "an array of entries");
  out.reserve(reply.elements.size());
  for (Reply& entry : reply.elements) {
    if (!entry.is_array() || entry.elements.size() != 2 || !entry.elements[0].is_string() ||
        !entry.elements[1].is_array()) {
      return unexpected_reply(where, entry, quoted("XRANGE", key), "[id, [field, value, ...]]");
    }
    LogEntry& out_entry = out.emplace_back();
    out_entry.id = std::move(entry.elements[0].str);
    auto& fields = entry.elements[1].elements;
    for (std::size_t i = 0; i + 1 < fields.size(); i += 2) {
      if (fields[i].str == kPayloadField) out_entry.payload = std::move(fields[i + 1].str);
    }
  }
  return out;
}

}  // namespace semcache::detail
