#pragma once
// What the two Redis stores (redis_store.cpp, one server; redis_cluster_store.cpp, a cluster)
// say to Redis and how they judge its answers, in one place so that both keep one data layout
// and one wording (internal).

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/redis_store.hpp"
#include "semcache/status.hpp"
#include "semcache/store.hpp"
#include "store/reply.hpp"

namespace semcache::detail {

// The stream field that holds a log entry's payload: XADD key * p PAYLOAD.
inline constexpr std::string_view kPayloadField = "p";

// "COMMAND 'key'" for messages, the key made printable and shortened.
std::string quoted(std::string_view command, std::string_view key);

// "ms-seq" or "ms" with decimal numbers: the ids XRANGE accepts.
bool valid_log_id(std::string_view id);
// The first XRANGE bound for the entries after `after_id`: "-" for "0-0", else "(after_id".
std::string log_range_start(std::string_view after_id);

// A key prefix as a SCAN MATCH pattern: glob specials escaped, then '*'.
std::string match_pattern(std::string_view prefix);

// Whether a failure was a connect or command timeout (RedisConnection says "timed out").
bool is_timeout(const Status& status);

// The options' own errors (invalid_argument, naming `store`: "redis store", ...).
Status validate(const RedisStoreOptions& options, std::string_view store);

// A Redis error reply as a Status: "<where>: <what>: <the error>". WRONGTYPE, "not an integer"
// and overflow are bad_input (the data is not what the caller expects); anything else (NOAUTH,
// OOM, READONLY, LOADING, CLUSTERDOWN, ...) is unavailable: the server cannot serve us now.
Status error_reply_status(std::string_view where, std::string_view what, std::string_view error);

// Status::unavailable "<where>: <what>: expected <expected>, got <reply type>".
Status unexpected_reply(std::string_view where, const Reply& reply, std::string_view what, std::string_view expected);

// One incremented record of a batch: its key (a view into the batch), how many increments it
// got, and the longest TTL they carry.
struct MergedIncrement {
  std::string_view key;
  std::int64_t count = 0;
  std::chrono::milliseconds ttl{0};
};
// The batch's increments merged per record, in order of first appearance: one BITFIELD each.
std::vector<MergedIncrement> merge_increments(std::span<const CounterIncrement> increments);

// Whether a key held a record or a log, from the reply to STRLEN of it: a string longer than a
// stray count (record_codec.hpp), or another type (WRONGTYPE). What a delete counts as deleted.
bool held_record_or_log(const Reply& strlen_reply);

// The entries of an XRANGE / XREVRANGE reply ([[id, [field, value, ...]], ...]), each with its
// kPayloadField value; `where` and `key` name them in an error.
Expected<std::vector<LogEntry>> parse_log_entries(Reply& reply, std::string_view where, std::string_view key);

}  // namespace semcache::detail
