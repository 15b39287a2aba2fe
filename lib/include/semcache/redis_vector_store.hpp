#pragma once
// The elements of one named vector set, kept in Redis: the source of truth from which a
// process rebuilds its in-memory VectorSet (see vector_set.hpp).
//
// Keys, with the default prefix "semcache" and the set name in a hash tag, so that every key
// of one set lives on one Redis Cluster slot (and one batch can be a MULTI/EXEC):
//   semcache:{vset:NAME}:meta      hash: dim, metric (cosine|ip|l2), quant (int8|f32|bin),
//                                  m, ef_construction, format_version
//   semcache:{vset:NAME}:ids       set of element ids
//   semcache:{vset:NAME}:el:<id>   hash: vector (dim float32, little-endian, raw bytes),
//                                  attributes (JSON text; absent when the element has none)
// Ids and attributes may hold any bytes. A set name may not contain '{' or '}'.
//
// Errors: a server that is down, slow (past the timeouts) or refuses our credentials is
// Status::unavailable, naming the URL with its password redacted; a malformed URL or set
// name is invalid_argument; data in Redis that contradicts the caller or is malformed is
// bad_input naming the key. After an unavailable error the store stays unusable (every call
// fails the same way): open a new one to retry.
//
// Thread model: one RedisVectorStore (one connection) is used by one thread at a time.
// Several processes may write one set at once; each put_batch() is atomic (MULTI/EXEC).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "semcache/metric.hpp"
#include "semcache/status.hpp"

namespace semcache {

namespace detail {
class RedisConnection;
}

struct RedisOptions {
  std::chrono::milliseconds connect_timeout{2000};
  std::chrono::milliseconds command_timeout{2000};  // bounds each read and write on the socket
  std::string prefix = "semcache";                  // first part of every key; no '{' or '}'
};

// What a process needs to rebuild the set: the vectors' shape and the index parameters.
struct VectorSetMeta {
  std::size_t dim = 0;
  Metric metric = Metric::kCosine;
  Quantization quantization = Quantization::kInt8;
  std::size_t m = 16;
  std::size_t ef_construction = 200;
};

// The layout written by this build; read_meta() refuses a set written with a newer one.
inline constexpr int kRedisVectorSetFormatVersion = 1;

class RedisVectorStore {
 public:
  // Parses `url` (see redis_url.hpp), connects, authenticates and selects the database. A
  // redis+cluster:// URL (redis_cluster_store.hpp) connects to the primary that owns the set's
  // slot now (cluster_node_url()); a set whose slot moves later (resharding, failover) fails
  // there (MOVED, or the node gone) until the store is opened again.
  static Expected<RedisVectorStore> open(const std::string& url, const std::string& set_name,
                                         const RedisOptions& options = {});
  RedisVectorStore(RedisVectorStore&& other) noexcept;
  RedisVectorStore& operator=(RedisVectorStore&& other) noexcept;
  RedisVectorStore(const RedisVectorStore&) = delete;
  RedisVectorStore& operator=(const RedisVectorStore&) = delete;
  ~RedisVectorStore();

  // Creates the set's meta, or updates quant/m/ef_construction of an existing set. Refuses
  // (bad_input) when a set of this name exists with another dim or metric. Atomic against
  // other writers (WATCH/MULTI/EXEC).
  Status write_meta(const VectorSetMeta& meta);
  // nullopt when the set does not exist.
  Expected<std::optional<VectorSetMeta>> read_meta();
  // The number of elements (SCARD of the id set).
  Expected<std::uint64_t> size();

  // Stores rows [0, ids.size()) of a row-major matrix of dim() floats, replacing elements
  // that exist (an element stored without attributes loses the ones it had). attributes is
  // empty (no element has any) or holds one entry per id, "" meaning none. Needs the meta
  // (write_meta() or an existing set). One round trip, atomic: every element or none. The
  // batch travels as one request that Redis queues until EXEC, so keep it to a few MB
  // (1,000 vectors of dim 768 are 3 MB).
  Status put_batch(std::span<const std::string> ids, std::span<const float> rows,
                   std::span<const std::string> attributes);

  // Streams every element back: on_batch(ids, rows, attributes) receives about batch_size
  // elements at a time (SSCAN's COUNT is a hint), rows row-major with dim() floats each and
  // one attributes entry per id ("" for none). The spans are valid during the call only. An
  // on_batch error stops the scan and is returned. Each element is delivered once even when
  // SSCAN repeats it; an element deleted while the scan runs may be missed. A missing set
  // is not_found; a vector blob of the wrong size is bad_input naming its key.
  using ScanBatchFn = std::function<Status(std::span<const std::string> ids, std::span<const float> rows,
                                           std::span<const std::string> attributes)>;
  Status scan(std::size_t batch_size, const ScanBatchFn& on_batch);

  // Deletes the set's keys: the elements listed in the id set, the id set and the meta.
  // Not atomic against a concurrent put_batch().
  Status drop();

  const std::string& set_name() const { return set_name_; }
  // The dim of the set once known (after write_meta() or a read_meta() that found it), else 0.
  std::size_t dim() const { return meta_ ? meta_->dim : 0; }
  // Network round trips since open(), the connection handshake included.
  std::uint64_t round_trips() const;
  std::string redacted_url() const;

 private:
  RedisVectorStore(std::unique_ptr<detail::RedisConnection> connection, std::string set_name, std::string key_base);
  Status require_meta();
  std::string element_key(std::string_view id) const;

  std::unique_ptr<detail::RedisConnection> connection_;
  std::string set_name_;
  std::string key_base_;  // "semcache:{vset:NAME}:"
  std::string meta_key_;
  std::string ids_key_;
  std::optional<VectorSetMeta> meta_;
};

}  // namespace semcache
