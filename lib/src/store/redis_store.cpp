// RedisStore: the Store on a Redis server, one pipelined round trip per batch.
//
// Layout. A record is one string value (record_codec.hpp: its hit count and every field in one
// blob), so a write is one SET that replaces the record atomically and completely (its count
// back at 0), a read one GET, and counting a hit a BITFIELD INCRBY of the count's 8 bytes in
// place, without reading or rewriting the record. Measured on this project's 2-core machine
// (redis-benchmark -P 64, 1 KB values): GET 500k/s, SET 310k/s, while the first layout (a hash
// of 8 fields) gave HMGET 210k/s and a MULTI/DEL/HSET/PEXPIRE write, with Lua-guarded HINCRBY
// for hits, about a third of SET. The second kept the count in a key of its own, "{KEY}#n",
// read by the MGET beside every record: with the count inside the record an exact replay of
// 100,000 requests (`semcache replay LOG --mode exact --pace max --concurrency 2`, alternated 8
// times with the build before) ran at 303k requests/s against 275k (medians), and Redis spent
// 16% less CPU on it.
//
// A batch goes out as one pipeline, in the order of the contract:
//   MSET k1 blob1 k2 blob2 ...                            the writes, when none has a TTL or is
//                                                         empty; otherwise, per write:
//   SET k blob [PX ttl] (or DEL k for an empty record)
//   BITFIELD k INCRBY i64 8 n [+ PEXPIRE k ttl NX]        per incremented record (n: its count)
//   STRLEN k per delete, then UNLINK k...                 all deletes (STRLEN tells records and
//                                                         logs from stray counts: `deleted`)
//   XADD k [MAXLEN ~ n] * p payload                       per append
//   MGET k1 k2 ...                                        the reads
// Few commands for many keys: Redis spends much of its time per command rather than per key
// (parsing, lookup, ACL and statistics, resetting the client). Under callgrind, an exact replay
// of 20,000 requests cost Redis 249M instructions with a GET per read and a SET per write,
// 211M with one MGET for the reads, 175M with one MSET for the writes as well.
// MGET answers nil for a key of another type, so such a key reads as no record (and the next
// write replaces it), where GET would have failed with WRONGTYPE.
// Increments are not guarded by a script (EXISTS, then BITFIELD): that costs Redis ~3 us a key.
// So an increment racing with its record's expiry or deletion (after the read that found the
// hit) creates a stray count under the key: 9 bytes that read as no record and that the key's
// next write replaces. PEXPIRE NX, sent with increments that carry a TTL, gives a stray that
// TTL and leaves a record written with a TTL as it is (processes sharing a namespace share
// its TTL: a record written without one would take it from its first hit by a process
// configured with one). PEXPIRE NX needs Redis 7.
// Every reply is read even after an error reply, so the connection stays in step; the first
// error (naming the command and key) fails the batch. WRONGTYPE (a write or an increment on a
// key of another type) and a value that is not a record are bad_input (the data is not what
// the caller expects); other error replies (OOM, READONLY, LOADING, ...) are unavailable.
//
// Pool (connection_pool.hpp): a caller borrows one connection for its round trip (scan()
// borrows one per SCAN page and returns it before calling on_keys, which may call back into the
// store); a broken connection closes the idle ones, and failed connects back off. There
// is no automatic retry of a failed batch: it may have been applied, and increments and appends
// are not idempotent.
//
// Timeouts are recognised by RedisConnection's wording ("timed out", for both connect and
// command timeouts), since it reports them as unavailable like any other I/O failure.
//
// Passwords: every message comes from RedisConnection (which redacts) or uses the redacted
// URL; describe() is the redacted URL.

#include "semcache/redis_store.hpp"

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include "semcache/redis_url.hpp"
#include "store/connection_pool.hpp"
#include "store/printable.hpp"
#include "store/store_counters.hpp"
#include "store/record_codec.hpp"
#include "store/redis_commands.hpp"
#include "store/redis_connection.hpp"

namespace semcache {
namespace {

using detail::bump;
using detail::is_timeout;
using detail::kPayloadField;
using detail::match_pattern;
using detail::MergedIncrement;
using detail::quoted;
using detail::valid_log_id;
using detail::RedisConnection;
using detail::Reply;

// What send_batch() builds a batch's commands in, kept per thread so that a busy store does
// not allocate them per batch.
struct BatchBuffers {
  std::vector<std::string_view> argv;
  std::vector<std::string> values;  // the encoded records of the batch's writes
};

class RedisStore final : public Store {
 public:
  RedisStore(RedisUrl url, const RedisStoreOptions& options)
      : redacted_url_(redacted(url)), pool_(std::move(url), options, counters_) {}

  // The first connect of open() with require_connection: its error is open()'s.
  Status connect_now() {
    auto lease = pool_.acquire();
    return lease ? Status::ok() : lease.status();
  }

  Expected<StoreBatchResult> execute(const StoreBatch& batch) override {
    auto result = batch.empty() ? Expected<StoreBatchResult>(StoreBatchResult{}) : run_batch(batch);
    counters_.count_batch(batch, result);
    return result;
  }

  Status scan(std::string_view prefix, std::size_t batch_size,
              const std::function<Status(std::span<const std::string> keys)>& on_keys) override {
    if (batch_size == 0) return Status::invalid_argument(redacted_url_ + ": scan batch size must be > 0");
    const std::string pattern = match_pattern(prefix);
    const std::string count = std::to_string(batch_size);
    const std::string what = "SCAN MATCH " + detail::printable_key(pattern);
    std::unordered_set<std::string> delivered;
    std::vector<std::string> fresh;
    std::string cursor = "0";
    do {
      Reply reply;
      {
        auto lease = pool_.acquire();
        if (!lease) return lease.status();
        RedisConnection& connection = lease->connection();
        auto page = connection.command({"SCAN", cursor, "MATCH", pattern, "COUNT", count});
        if (!page) return failed(page.status());
        reply = std::move(*page);
        if (!reply.is_array() || reply.elements.size() != 2 || !reply.elements[0].is_string() ||
            !reply.elements[1].is_array()) {
          return connection.unexpected_reply(reply, what, "[cursor, keys]");
        }
      }
      cursor = std::move(reply.elements[0].str);
      fresh.clear();
      for (Reply& key : reply.elements[1].elements) {
        if (key.is_string() && delivered.insert(key.str).second) fresh.push_back(std::move(key.str));
      }
      if (!fresh.empty()) {
        if (Status st = on_keys(fresh); !st) return st;
      }
    } while (cursor != "0");
    return Status::ok();
  }

  Expected<std::vector<LogEntry>> log_read(std::string_view key, std::string_view after_id,
                                           std::size_t count) override {
    if (!valid_log_id(after_id)) {
      return Status::invalid_argument(redacted_url_ + ": log_read of '" + detail::printable_key(key) + "': after id '" +
                                      detail::printable_key(after_id) + "' is not of the form ms-seq");
    }
    std::vector<LogEntry> out;
    if (count == 0) return out;
    auto reply = command({"XRANGE", key, detail::log_range_start(after_id), "+", "COUNT", std::to_string(count)},
                         quoted("XRANGE", key));
    if (!reply) return reply.status();
    return detail::parse_log_entries(*reply, redacted_url_, key);
  }

  Expected<std::string> log_last_id(std::string_view key) override {
    auto reply = command({"XREVRANGE", key, "+", "-", "COUNT", "1"}, quoted("XREVRANGE", key));
    if (!reply) return reply.status();
    auto entries = detail::parse_log_entries(*reply, redacted_url_, key);
    if (!entries) return entries.status();
    return entries->empty() ? std::string("0-0") : std::move(entries->front().id);
  }

  StoreCounters counters() const override { return counters_.snapshot(); }

  std::string describe() const override { return redacted_url_; }

 private:
  Status failed(Status status) {
    if (is_timeout(status)) bump(counters_.timeouts);
    return status;
  }

  Expected<Reply> command(std::initializer_list<std::string_view> args, const std::string& what) {
    auto lease = pool_.acquire();
    if (!lease) return lease.status();
    RedisConnection& connection = lease->connection();
    auto reply = connection.command(args);
    if (!reply) return failed(reply.status());
    if (reply->is_error()) return connection.error_status(*reply, what);
    return reply;
  }

  // Whether the writes go out as one MSET: when none has a TTL or deletes its record. MSET
  // sets every key atomically, and a key written twice keeps its last value, as with SETs.
  static bool writes_as_one_mset(const StoreBatch& batch) {
    return batch.writes.size() > 1 && std::all_of(batch.writes.begin(), batch.writes.end(), [](const RecordWrite& write) {
             return write.ttl.count() <= 0 && !write.fields.empty();
           });
  }

  Expected<StoreBatchResult> run_batch(const StoreBatch& batch) {
    const std::vector<MergedIncrement> adds = detail::merge_increments(batch.increments);
    auto lease = pool_.acquire();
    if (!lease) return lease.status();
    RedisConnection& connection = lease->connection();
    if (Status st = send_batch(connection, batch, adds); !st) return failed(st);
    return read_batch(connection, batch, adds);
  }

  Status send_batch(RedisConnection& connection, const StoreBatch& batch, const std::vector<MergedIncrement>& adds) {
    thread_local BatchBuffers buffers;
    std::vector<std::string_view>& argv = buffers.argv;
    std::vector<std::string>& values = buffers.values;
    // COMMAND followed by `keys`.
    auto append_keys = [&](std::string_view command, const std::vector<std::string>& keys) {
      argv.assign({command});
      argv.insert(argv.end(), keys.begin(), keys.end());
      return connection.append(argv);
    };

    values.resize(std::max(values.size(), batch.writes.size()));
    for (std::size_t i = 0; i < batch.writes.size(); ++i) detail::encode_record(batch.writes[i].fields, values[i]);
    if (writes_as_one_mset(batch)) {
      argv.assign({"MSET"});
      for (std::size_t i = 0; i < batch.writes.size(); ++i) {
        argv.push_back(batch.writes[i].key);
        argv.push_back(values[i]);
      }
      if (Status st = connection.append(argv); !st) return st;
    } else {
      for (std::size_t i = 0; i < batch.writes.size(); ++i) {
        const RecordWrite& write = batch.writes[i];
        Status st;
        if (write.fields.empty()) {
          st = connection.append({"DEL", write.key});
        } else if (write.ttl.count() > 0) {
          st = connection.append({"SET", write.key, values[i], "PX", std::to_string(write.ttl.count())});
        } else {
          st = connection.append({"SET", write.key, values[i]});
        }
        if (!st) return st;
      }
    }
    for (const MergedIncrement& add : adds) {
      if (Status st = connection.append({"BITFIELD", add.key, "INCRBY", detail::kHitsType, detail::kHitsOffset,
                                         std::to_string(add.count)});
          !st) {
        return st;
      }
      if (add.ttl.count() > 0) {
        if (Status st = connection.append({"PEXPIRE", add.key, std::to_string(add.ttl.count()), "NX"}); !st) {
          return st;
        }
      }
    }
    for (const std::string& key : batch.deletes) {
      if (Status st = connection.append({"STRLEN", key}); !st) return st;
    }
    if (!batch.deletes.empty()) {
      if (Status st = append_keys("UNLINK", batch.deletes); !st) return st;
    }
    for (const LogAppend& append : batch.appends) {
      Status st;
      if (append.max_length > 0) {
        st = connection.append(
            {"XADD", append.key, "MAXLEN", "~", std::to_string(append.max_length), "*", kPayloadField, append.payload});
      } else {
        st = connection.append({"XADD", append.key, "*", kPayloadField, append.payload});
      }
      if (!st) return st;
    }
    if (!batch.reads.empty()) {
      if (Status st = append_keys("MGET", batch.reads); !st) return st;
    }
    return Status::ok();
  }

  // Reads the replies in the order send_batch() appended the commands. Every reply is read,
  // even after an error reply, so the connection stays usable; an I/O error ends it at once.
  // An error reply to a mutation is a refusal (StoreBatchResult::refused) when the batch has
  // reads and they are answered; any other error fails the call.
  Expected<StoreBatchResult> read_batch(RedisConnection& connection, const StoreBatch& batch,
                                        const std::vector<MergedIncrement>& adds) {
    StoreBatchResult result;
    Status first_error;  // of the reads, or of anything that is not an error reply to a mutation
    auto note = [&first_error](Status st) {
      if (first_error.is_ok()) first_error = std::move(st);
    };
    // Reads the next reply; a Redis error reply is noted against `what()`, as a refusal when
    // `mutation` and as an error otherwise.
    auto next = [&](auto&& what, bool mutation = true) -> Expected<Reply> {
      auto reply = connection.read_reply();
      if (!reply) return failed(reply.status());
      if (reply->is_error()) {
        Status st = connection.error_status(*reply, what());
        if (!mutation) {
          note(std::move(st));
        } else if (result.refused.is_ok()) {
          result.refused = std::move(st);
        }
      }
      return reply;
    };

    if (writes_as_one_mset(batch)) {
      auto reply = next([&] { return "MSET of " + std::to_string(batch.writes.size()) + " records"; });
      if (!reply) return reply.status();
      if (reply->is_error()) {
        for (std::size_t i = 0; i < batch.writes.size(); ++i) result.refused_writes.push_back(i);
      }
    } else {
      for (std::size_t i = 0; i < batch.writes.size(); ++i) {
        auto reply = next([&] { return "write of '" + detail::printable_key(batch.writes[i].key) + "'"; });
        if (!reply) return reply.status();
        if (reply->is_error()) result.refused_writes.push_back(i);
      }
    }
    for (const MergedIncrement& add : adds) {
      for (int i = add.ttl.count() > 0 ? 2 : 1; i > 0; --i) {
        auto reply = next([&] { return quoted("BITFIELD", add.key); });
        if (!reply) return reply.status();
      }
    }

    for (std::size_t i = 0; i < batch.deletes.size(); ++i) {
      auto length = connection.read_reply();
      if (!length) return failed(length.status());
      if (detail::held_record_or_log(*length)) ++result.deleted;
    }
    if (!batch.deletes.empty()) {
      auto reply = next([&] { return "UNLINK of " + std::to_string(batch.deletes.size()) + " keys"; });
      if (!reply) return reply.status();
    }

    result.appended_ids.reserve(batch.appends.size());
    for (const LogAppend& append : batch.appends) {
      auto reply = next([&] { return quoted("XADD", append.key); });
      if (!reply) return reply.status();
      if (reply->is_string()) {
        result.appended_ids.push_back(std::move(reply->str));
      } else if (!reply->is_error()) {
        note(detail::unexpected_reply(redacted_url_, *reply, quoted("XADD", append.key), "an id"));
      }
    }

    if (batch.reads.empty()) {
      if (!first_error) return first_error;
      if (!result.refused) return result.refused;
      return result;
    }
    auto values = next([&] { return "MGET of " + std::to_string(batch.reads.size()) + " records"; }, false);
    if (!values) return values.status();
    if (values->is_error()) return first_error;
    if (!values->is_array() || values->elements.size() != batch.reads.size()) {
      return detail::unexpected_reply(redacted_url_, *values, "MGET", "a value per key");
    }
    result.records.resize(batch.reads.size());
    result.counters.assign(batch.reads.size(), 0);
    for (std::size_t i = 0; i < batch.reads.size(); ++i) {
      const Reply& value = values->elements[i];
      if (value.is_nil()) continue;
      auto stored = value.is_string() ? detail::decode_record(value.str) : std::nullopt;
      if (!stored) {
        note(Status::bad_input(redacted_url_ + ": '" + detail::printable_key(batch.reads[i]) +
                               "' holds a value that is not a semcache record"));
        continue;
      }
      if (!stored->record) continue;  // a stray count, or a record of an earlier layout
      result.records[i] = std::move(stored->record);
      result.counters[i] = stored->hits;
    }
    if (!first_error) return first_error;
    return result;
  }

  const std::string redacted_url_;
  detail::AtomicStoreCounters counters_;
  detail::ConnectionPool pool_;
};

}  // namespace

Expected<std::shared_ptr<Store>> open_redis_store(const std::string& url, const RedisStoreOptions& options) {
  if (Status st = detail::validate(options, "redis store"); !st) return st;
  auto parsed = parse_redis_url(url);
  if (!parsed) return parsed.status();
  auto store = std::make_shared<RedisStore>(std::move(*parsed), options);
  if (options.require_connection) {
    if (Status st = store->connect_now(); !st) return st;
  }
  return std::shared_ptr<Store>(std::move(store));
}

}  // namespace semcache
