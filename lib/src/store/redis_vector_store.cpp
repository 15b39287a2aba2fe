// RedisVectorStore: a vector set's elements as plain Redis hashes and a set of ids.
//
// Why plain hashes rather than Redis 8 vector sets or RediSearch: the index lives in the
// process (our own HNSW), so Redis only has to hold the elements durably and hand them back
// in bulk; any Redis >= 4 will do, including managed ones without modules. The vector is
// stored as its raw little-endian float32 bytes (binary-safe bulk strings), so a rebuild
// copies bytes instead of parsing text, and another client can read it with a struct unpack.
//
// Every key of a set carries the hash tag {vset:NAME}, so a set lives on one Cluster slot.
// That is what lets put_batch() wrap a whole batch in MULTI/EXEC: a batch is written
// entirely or not at all, even in a cluster, and the invariant "every id in the id set has
// its element hash" holds at every instant, whoever crashes. Elements are written before
// their ids inside the transaction; a reader that nevertheless finds an id without its hash
// (a concurrent delete, later a TTL) skips it instead of failing.
//
// write_meta() is a check-then-set guarded by WATCH, so two loaders that race to create the
// same set with different dims cannot both win. Any early return after WATCH sends UNWATCH,
// or the next MULTI/EXEC on this connection could abort for no reason of its own.
//
// Round trips: put_batch() 1; write_meta() 2 (WATCH+HGETALL, MULTI+HSET+EXEC); scan() one
// SSCAN plus one pipelined HMGET per batch; drop() pipelines each page's DEL with the next
// SSCAN. scan() remembers the ids it has delivered, because SSCAN may return an id twice;
// that costs memory in proportion to the ids, not to the vectors.

#include "semcache/redis_vector_store.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <unordered_set>
#include <utility>
#include <vector>

#include "store/printable.hpp"
#include "store/redis_connection.hpp"
#include "semcache/redis_cluster_store.hpp"
#include "semcache/redis_url.hpp"

namespace semcache {
namespace {

using detail::RedisConnection;
using detail::Reply;

constexpr std::size_t kMaxDim = 65536;
constexpr int kMaxMetaAttempts = 8;
constexpr std::string_view kDropPageSize = "1000";

using detail::printable;

Status validate_name(std::string_view name, std::string_view what) {
  if (name.empty()) return Status::invalid_argument(std::string(what) + " is empty");
  if (name.find_first_of("{}") != std::string_view::npos) {
    return Status::invalid_argument(std::string(what) + " '" + printable(name) +
                                    "' must not contain '{' or '}' (they delimit the Redis Cluster hash tag)");
  }
  return Status::ok();
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

std::string_view float_bytes(std::span<const float> row, std::vector<char>& scratch) {
  if constexpr (std::endian::native == std::endian::little) {
    return {reinterpret_cast<const char*>(row.data()), row.size_bytes()};
  } else {
    scratch.resize(row.size_bytes());
    for (std::size_t i = 0; i < row.size(); ++i) {
      const auto swapped = __builtin_bswap32(std::bit_cast<std::uint32_t>(row[i]));
      std::memcpy(scratch.data() + i * 4, &swapped, 4);
    }
    return {scratch.data(), scratch.size()};
  }
}

void append_floats(std::string_view bytes, std::vector<float>& rows) {
  const std::size_t count = bytes.size() / sizeof(float);
  const std::size_t at = rows.size();
  rows.resize(at + count);
  std::memcpy(rows.data() + at, bytes.data(), count * sizeof(float));
  if constexpr (std::endian::native != std::endian::little) {
    for (std::size_t i = at; i < rows.size(); ++i) {
      rows[i] = std::bit_cast<float>(__builtin_bswap32(std::bit_cast<std::uint32_t>(rows[i])));
    }
  }
}

// SSCAN's reply: [next cursor, [member, ...]].
Status parse_scan_page(const RedisConnection& connection, const Reply& reply, std::string_view key,
                       std::string& cursor, std::vector<std::string>& members) {
  if (!reply.is_array() || reply.elements.size() != 2 || !reply.elements[0].is_string() ||
      !reply.elements[1].is_array()) {
    return connection.unexpected_reply(reply, "SSCAN " + printable(key), "[cursor, members]");
  }
  cursor = reply.elements[0].str;
  members.clear();
  for (const Reply& member : reply.elements[1].elements) {
    if (!member.is_string()) return connection.unexpected_reply(member, "SSCAN " + printable(key), "a string member");
    members.push_back(member.str);
  }
  return Status::ok();
}

}  // namespace

RedisVectorStore::RedisVectorStore(std::unique_ptr<detail::RedisConnection> connection, std::string set_name,
                                   std::string key_base)
    : connection_(std::move(connection)),
      set_name_(std::move(set_name)),
      key_base_(std::move(key_base)),
      meta_key_(key_base_ + "meta"),
      ids_key_(key_base_ + "ids") {}

RedisVectorStore::RedisVectorStore(RedisVectorStore&& other) noexcept = default;
RedisVectorStore& RedisVectorStore::operator=(RedisVectorStore&& other) noexcept = default;
RedisVectorStore::~RedisVectorStore() = default;

Expected<RedisVectorStore> RedisVectorStore::open(const std::string& url, const std::string& set_name,
                                                  const RedisOptions& options) {
  if (Status st = validate_name(set_name, "vector set name"); !st) return st;
  if (Status st = validate_name(options.prefix, "Redis key prefix"); !st) return st;
  std::string node_url = url;
  if (is_cluster_url(url)) {
    // Every key of the set shares the hash tag, so the set lives on the one primary of its slot.
    RedisStoreOptions cluster_options;
    cluster_options.connect_timeout = options.connect_timeout;
    cluster_options.command_timeout = options.command_timeout;
    auto owner = cluster_node_url(url, "{vset:" + set_name + "}", cluster_options);
    if (!owner) return owner.status();
    node_url = std::move(*owner);
  }
  auto parsed = parse_redis_url(node_url);
  if (!parsed) return parsed.status();
  auto connection = RedisConnection::connect(*parsed, {options.connect_timeout, options.command_timeout});
  if (!connection) return connection.status();
  return RedisVectorStore(std::make_unique<RedisConnection>(std::move(*connection)), set_name,
                          options.prefix + ":{vset:" + set_name + "}:");
}

std::string RedisVectorStore::element_key(std::string_view id) const {
  std::string key;
  key.reserve(key_base_.size() + 3 + id.size());
  key.append(key_base_).append("el:").append(id);
  return key;
}

std::uint64_t RedisVectorStore::round_trips() const { return connection_ ? connection_->round_trips() : 0; }

std::string RedisVectorStore::redacted_url() const { return connection_ ? connection_->redacted_url() : std::string(); }

namespace {

// HGETALL of a meta hash; nullopt for an empty reply (no such key).
Expected<std::optional<VectorSetMeta>> parse_meta(const RedisConnection& connection, const Reply& reply,
                                                  const std::string& key) {
  if (!reply.is_array() || reply.elements.size() % 2 != 0) {
    return connection.unexpected_reply(reply, "HGETALL " + printable(key), "field/value pairs");
  }
  if (reply.elements.empty()) return std::optional<VectorSetMeta>();
  const std::string where = connection.redacted_url() + ": " + printable(key);
  VectorSetMeta meta;
  bool has_dim = false;
  bool has_metric = false;
  for (std::size_t i = 0; i < reply.elements.size(); i += 2) {
    const std::string& field = reply.elements[i].str;
    const std::string& value = reply.elements[i + 1].str;
    auto bad = [&](std::string_view expected) {
      return Status::bad_input(where + ": field '" + printable(field) + "' must be " + std::string(expected) +
                               ", got '" + printable(value) + "'");
    };
    if (field == "dim") {
      auto dim = parse_unsigned(value);
      if (!dim || *dim < 1 || *dim > kMaxDim) return bad("an integer 1.." + std::to_string(kMaxDim));
      meta.dim = static_cast<std::size_t>(*dim);
      has_dim = true;
    } else if (field == "metric") {
      auto metric = parse_metric(value);
      if (!metric) return bad("cosine, ip or l2");
      meta.metric = *metric;
      has_metric = true;
    } else if (field == "quant") {
      auto quantization = parse_quantization(value);
      if (!quantization) return bad("int8, f32 or bin");
      meta.quantization = *quantization;
    } else if (field == "m" || field == "ef_construction") {
      auto number = parse_unsigned(value);
      if (!number || *number < 1 || *number > 1'000'000) return bad("an integer 1..1000000");
      (field == "m" ? meta.m : meta.ef_construction) = static_cast<std::size_t>(*number);
    } else if (field == "format_version") {
      auto version = parse_unsigned(value);
      if (!version || *version < 1) return bad("a positive integer");
      if (*version > static_cast<std::uint64_t>(kRedisVectorSetFormatVersion)) {
        return Status::bad_input(where + ": format_version " + value + " was written by a newer semcache; this build reads " +
                                 std::to_string(kRedisVectorSetFormatVersion));
      }
    }
  }
  if (!has_dim || !has_metric) {
    return Status::bad_input(where + ": the hash lacks field '" + std::string(has_dim ? "metric" : "dim") +
                             "'; expected dim, metric, quant, m, ef_construction, format_version");
  }
  return std::optional<VectorSetMeta>(meta);
}

}  // namespace

Expected<std::optional<VectorSetMeta>> RedisVectorStore::read_meta() {
  if (!connection_) return Status::internal("RedisVectorStore used after move");
  auto reply = connection_->command({"HGETALL", meta_key_});
  if (!reply) return reply.status();
  auto meta = parse_meta(*connection_, *reply, meta_key_);
  if (meta && meta->has_value()) meta_ = **meta;
  return meta;
}

Status RedisVectorStore::write_meta(const VectorSetMeta& meta) {
  if (!connection_) return Status::internal("RedisVectorStore used after move");
  if (meta.dim < 1 || meta.dim > kMaxDim) {
    return Status::invalid_argument("vector set '" + printable(set_name_) + "': dim must be 1.." +
                                    std::to_string(kMaxDim) + ", got " + std::to_string(meta.dim));
  }
  if (meta.m < 1 || meta.ef_construction < 1) {
    return Status::invalid_argument("vector set '" + printable(set_name_) + "': m and ef_construction must be >= 1");
  }
  RedisConnection& redis = *connection_;
  auto unwatch_and = [&](Status status) {
    if (!redis.broken()) (void)redis.command({"UNWATCH"});
    return status;
  };
  const std::string dim = std::to_string(meta.dim);
  const std::string m = std::to_string(meta.m);
  const std::string ef = std::to_string(meta.ef_construction);
  const std::string version = std::to_string(kRedisVectorSetFormatVersion);
  for (int attempt = 0; attempt < kMaxMetaAttempts; ++attempt) {
    auto replies = redis.pipeline({{"WATCH", meta_key_}, {"HGETALL", meta_key_}});
    if (!replies) return replies.status();
    if ((*replies)[0].is_error()) return unwatch_and(redis.error_status((*replies)[0], "WATCH " + printable(meta_key_)));
    auto existing = parse_meta(redis, (*replies)[1], meta_key_);
    if (!existing) return unwatch_and(existing.status());
    if (existing->has_value()) {
      const VectorSetMeta& old = **existing;
      if (old.dim != meta.dim || old.metric != meta.metric) {
        return unwatch_and(Status::bad_input(
            redis.redacted_url() + ": " + printable(meta_key_) + ": vector set '" + printable(set_name_) +
            "' exists with dim " + std::to_string(old.dim) + ", metric " + std::string(to_string(old.metric)) +
            "; refusing dim " + dim + ", metric " + std::string(to_string(meta.metric)) +
            " (drop the set or choose another name)"));
      }
    }
    auto written = redis.pipeline({{"MULTI"},
                                   {"HSET", meta_key_, "dim", dim, "metric", to_string(meta.metric), "quant",
                                    to_string(meta.quantization), "m", m, "ef_construction", ef, "format_version",
                                    version},
                                   {"EXEC"}});
    if (!written) return written.status();
    for (const Reply& reply : *written) {
      if (reply.is_error()) return redis.error_status(reply, "HSET " + printable(meta_key_));
    }
    const Reply& exec = written->back();
    if (exec.is_nil()) continue;  // another writer touched the meta between WATCH and EXEC
    if (!exec.is_array()) return redis.unexpected_reply(exec, "EXEC", "an array");
    for (const Reply& reply : exec.elements) {
      if (reply.is_error()) return redis.error_status(reply, "HSET " + printable(meta_key_));
    }
    meta_ = meta;
    return Status::ok();
  }
  return Status::unavailable(redis.redacted_url() + ": " + printable(meta_key_) + ": still changing after " +
                             std::to_string(kMaxMetaAttempts) + " attempts (concurrent writers)");
}

Expected<std::uint64_t> RedisVectorStore::size() {
  if (!connection_) return Status::internal("RedisVectorStore used after move");
  auto reply = connection_->command({"SCARD", ids_key_});
  if (!reply) return reply.status();
  if (!reply->is_integer() || reply->integer < 0) {
    return connection_->unexpected_reply(*reply, "SCARD " + printable(ids_key_), "an integer");
  }
  return static_cast<std::uint64_t>(reply->integer);
}

Status RedisVectorStore::require_meta() {
  if (meta_) return Status::ok();
  auto meta = read_meta();
  if (!meta) return meta.status();
  if (!meta->has_value()) {
    return Status::not_found(connection_->redacted_url() + ": vector set '" + printable(set_name_) +
                             "' not found (no key " + printable(meta_key_) + ")");
  }
  return Status::ok();
}

Status RedisVectorStore::put_batch(std::span<const std::string> ids, std::span<const float> rows,
                                   std::span<const std::string> attributes) {
  if (!connection_) return Status::internal("RedisVectorStore used after move");
  if (Status st = require_meta(); !st) {
    if (st.code() != ErrorCode::kNotFound) return st;
    return Status::invalid_argument(st.message() + "; write_meta() must come before put_batch()");
  }
  const std::size_t dim = meta_->dim;
  const std::size_t n = ids.size();
  if (rows.size() != n * dim) {
    return Status::invalid_argument("vector set '" + printable(set_name_) + "': put_batch got " +
                                    std::to_string(rows.size()) + " floats for " + std::to_string(n) +
                                    " ids of dim " + std::to_string(dim));
  }
  if (!attributes.empty() && attributes.size() != n) {
    return Status::invalid_argument("vector set '" + printable(set_name_) + "': put_batch got " +
                                    std::to_string(attributes.size()) + " attributes for " + std::to_string(n) + " ids");
  }
  if (n == 0) return Status::ok();

  RedisConnection& redis = *connection_;
  // Which element each queued command writes, so that an error inside EXEC names its key;
  // n stands for the id set.
  std::vector<std::size_t> owners;
  owners.reserve(2 * n + 1);
  std::vector<char> scratch;
  std::string key;
  if (Status st = redis.append({"MULTI"}); !st) return st;
  for (std::size_t i = 0; i < n; ++i) {
    key.assign(key_base_).append("el:").append(ids[i]);
    const std::string_view blob = float_bytes(rows.subspan(i * dim, dim), scratch);
    const bool has_attributes = !attributes.empty() && !attributes[i].empty();
    Status st = has_attributes ? redis.append({"HSET", key, "vector", blob, "attributes", attributes[i]})
                               : redis.append({"HSET", key, "vector", blob});
    if (!st) return st;
    owners.push_back(i);
    if (!has_attributes) {
      if (Status del = redis.append({"HDEL", key, "attributes"}); !del) return del;
      owners.push_back(i);
    }
  }
  std::vector<std::string_view> sadd;
  sadd.reserve(n + 2);
  sadd.push_back("SADD");
  sadd.push_back(ids_key_);
  for (const std::string& id : ids) sadd.push_back(id);
  if (Status st = redis.append(sadd); !st) return st;
  owners.push_back(n);
  if (Status st = redis.append({"EXEC"}); !st) return st;

  auto key_of = [&](std::size_t command) {
    return owners[command] == n ? printable(ids_key_) : printable(element_key(ids[owners[command]]));
  };
  // Every reply must be read, error or not, to keep the connection in step.
  Status first_error;
  const std::size_t replies = owners.size() + 2;
  for (std::size_t r = 0; r < replies; ++r) {
    auto reply = redis.read_reply();
    if (!reply) return reply.status();
    const bool is_exec = r + 1 == replies;
    if (!first_error.is_ok()) continue;
    if (!is_exec) {
      if (reply->is_error()) first_error = redis.error_status(*reply, r == 0 ? std::string("MULTI") : key_of(r - 1));
      continue;
    }
    if (!reply->is_array()) {
      first_error = redis.unexpected_reply(*reply, "EXEC", "an array");
    } else {
      for (std::size_t c = 0; c < reply->elements.size() && c < owners.size(); ++c) {
        if (reply->elements[c].is_error()) {
          first_error = redis.error_status(reply->elements[c], key_of(c));
          break;
        }
      }
    }
  }
  return first_error;
}

Status RedisVectorStore::scan(std::size_t batch_size, const ScanBatchFn& on_batch) {
  if (!connection_) return Status::internal("RedisVectorStore used after move");
  if (Status st = require_meta(); !st) return st;
  batch_size = std::max<std::size_t>(batch_size, 1);
  RedisConnection& redis = *connection_;
  const std::size_t dim = meta_->dim;
  const std::size_t blob_bytes = dim * sizeof(float);
  const std::string count = std::to_string(batch_size);

  std::unordered_set<std::string> delivered;
  std::vector<std::string> listed;  // ids from SSCAN not yet fetched
  std::vector<std::string> page;
  std::vector<std::string> batch_ids;
  std::vector<std::string> batch_attributes;
  std::vector<float> batch_rows;
  std::string key;

  auto fetch_and_deliver = [&](std::span<const std::string> chunk) -> Status {
    for (const std::string& id : chunk) {
      key.assign(key_base_).append("el:").append(id);
      if (Status st = redis.append({"HMGET", key, "vector", "attributes"}); !st) return st;
    }
    batch_ids.clear();
    batch_attributes.clear();
    batch_rows.clear();
    Status first_error;
    for (const std::string& id : chunk) {
      auto reply = redis.read_reply();
      if (!reply) return reply.status();
      if (!first_error.is_ok()) continue;
      if (!reply->is_array() || reply->elements.size() != 2) {
        first_error = redis.unexpected_reply(*reply, "HMGET " + printable(element_key(id)), "[vector, attributes]");
        continue;
      }
      const Reply& vector = reply->elements[0];
      const Reply& attributes = reply->elements[1];
      if (vector.is_nil()) continue;  // deleted since SSCAN listed it
      if (!vector.is_string() || vector.str.size() != blob_bytes) {
        first_error = Status::bad_input(redis.redacted_url() + ": " + printable(element_key(id)) +
                                        ": field 'vector' has " + std::to_string(vector.str.size()) +
                                        " bytes, expected " + std::to_string(blob_bytes) + " (dim " +
                                        std::to_string(dim) + " x float32)");
        continue;
      }
      batch_ids.push_back(id);
      append_floats(vector.str, batch_rows);
      batch_attributes.push_back(attributes.is_string() ? attributes.str : std::string());
    }
    if (!first_error.is_ok()) return first_error;
    if (batch_ids.empty()) return Status::ok();
    return on_batch(batch_ids, batch_rows, batch_attributes);
  };

  std::string cursor = "0";
  do {
    auto reply = redis.command({"SSCAN", ids_key_, cursor, "COUNT", count});
    if (!reply) return reply.status();
    if (Status st = parse_scan_page(redis, *reply, ids_key_, cursor, page); !st) return st;
    for (std::string& id : page) {
      if (delivered.insert(id).second) listed.push_back(std::move(id));
    }
    const bool last_page = cursor == "0";
    std::size_t done = 0;
    while (listed.size() - done >= batch_size || (last_page && done < listed.size())) {
      const std::size_t take = std::min(batch_size, listed.size() - done);
      if (Status st = fetch_and_deliver(std::span<const std::string>(listed).subspan(done, take)); !st) return st;
      done += take;
    }
    listed.erase(listed.begin(), listed.begin() + static_cast<std::ptrdiff_t>(done));
  } while (cursor != "0");
  return Status::ok();
}

Status RedisVectorStore::drop() {
  if (!connection_) return Status::internal("RedisVectorStore used after move");
  RedisConnection& redis = *connection_;
  std::vector<std::string> page;
  std::vector<std::string> keys;
  std::vector<std::string_view> del;
  std::string cursor = "0";
  if (Status st = redis.append({"SSCAN", ids_key_, cursor, "COUNT", kDropPageSize}); !st) return st;
  for (;;) {
    auto reply = redis.read_reply();
    if (!reply) return reply.status();
    Status parsed = parse_scan_page(redis, *reply, ids_key_, cursor, page);
    if (!parsed) {
      while (redis.pending_replies() > 0) {
        if (auto rest = redis.read_reply(); !rest) return rest.status();
      }
      return parsed;
    }
    const bool del_sent = !page.empty();
    if (del_sent) {
      keys.clear();
      for (const std::string& id : page) keys.push_back(element_key(id));
      del.assign({"DEL"});
      for (const std::string& k : keys) del.push_back(k);
      if (Status st = redis.append(del); !st) return st;
    }
    if (cursor != "0") {
      if (Status st = redis.append({"SSCAN", ids_key_, cursor, "COUNT", kDropPageSize}); !st) return st;
    }
    if (del_sent) {
      auto deleted = redis.read_reply();
      if (!deleted) return deleted.status();
      if (deleted->is_error()) {
        Status st = redis.error_status(*deleted, "DEL elements of " + printable(ids_key_));
        while (redis.pending_replies() > 0) {
          if (auto rest = redis.read_reply(); !rest) return rest.status();
        }
        return st;
      }
    }
    if (cursor == "0") break;
  }
  auto reply = redis.command({"DEL", meta_key_, ids_key_});
  if (!reply) return reply.status();
  if (reply->is_error()) return redis.error_status(*reply, "DEL " + printable(meta_key_));
  meta_.reset();
  return Status::ok();
}

}  // namespace semcache
