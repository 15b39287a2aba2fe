// Integration tests for the Redis store layer (RedisConnection, RedisVectorStore) against a
// real redis-server that each test case starts on a free port (redis_server.hpp).
//
// The oracle is the data the test wrote: vectors are compared bit for bit, attributes byte
// for byte, and the key layout is checked with raw commands against the layout documented
// in redis_vector_store.hpp rather than through the store itself. Faults are real: a server
// that is stopped, paused (SIGSTOP) or never started, and a server that wants a password.

#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "redis_server.hpp"
#include "semcache/redis_url.hpp"
#include "semcache/redis_vector_store.hpp"
#include "store/redis_connection.hpp"

using semcache::ErrorCode;
using semcache::Metric;
using semcache::Quantization;
using semcache::RedisOptions;
using semcache::RedisVectorStore;
using semcache::Status;
using semcache::VectorSetMeta;
using semcache::detail::RedisConnection;
using semcache::detail::Reply;
using semcache::testing::RedisServer;

namespace {

RedisConnection raw_connection(const std::string& url) {
  auto parsed = semcache::parse_redis_url(url);
  REQUIRE(parsed);
  auto connection = RedisConnection::connect(*parsed);
  if (!connection) FAIL(connection.status().message());
  return std::move(*connection);
}

Reply raw(RedisConnection& connection, std::initializer_list<std::string_view> args) {
  auto reply = connection.command(args);
  if (!reply) FAIL(reply.status().message());
  return std::move(*reply);
}

RedisVectorStore open_store(const std::string& url, const std::string& name, const RedisOptions& options = {}) {
  auto store = RedisVectorStore::open(url, name, options);
  if (!store) FAIL(store.status().message());
  return std::move(*store);
}

VectorSetMeta meta_of(std::size_t dim, Metric metric = Metric::kCosine) {
  VectorSetMeta meta;
  meta.dim = dim;
  meta.metric = metric;
  return meta;
}

struct Element {
  std::vector<float> vector;
  std::string attributes;
};

// Ids that a text protocol or a naive key scheme would break: spaces, colons, quotes, CRLF,
// NUL and high bytes, braces (a second hash tag), and plain ones.
std::string awkward_id(std::size_t i) {
  const std::string n = std::to_string(i);
  switch (i % 7) {
    case 0: return "plain-" + n;
    case 1: return "with space " + n;
    case 2: return "colon:sep:" + n + ":";
    case 3: return "\"quoted\" 'single' " + n;
    case 4: return std::string("bin\0\xff\r\n", 7) + n;
    case 5: return "{brace}" + n + "}{";
    default: return "unicode-\xc3\xa9\xe2\x82\xac-" + n;
  }
}

std::map<std::string, Element> make_elements(std::size_t n, std::size_t dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::map<std::string, Element> out;
  for (std::size_t i = 0; i < n; ++i) {
    Element e;
    e.vector.resize(dim);
    for (float& x : e.vector) x = normal(rng);
    if (i % 11 == 0) {
      e.vector[0] = -0.0f;
      e.vector[1] = std::numeric_limits<float>::denorm_min();
      e.vector[2] = std::numeric_limits<float>::max();
    }
    if (i % 3 != 0) {
      e.attributes = "{\"n\": " + std::to_string(i) + ", \"tag\": \"a \\\"q\\\" b\", \"u\": \"\xc3\xa9\"}";
    }
    out.emplace(awkward_id(i), std::move(e));
  }
  return out;
}

// Writes the elements with put_batch() in batches of batch_size; returns the batch count.
std::size_t put_all(RedisVectorStore& store, const std::map<std::string, Element>& elements, std::size_t dim,
                    std::size_t batch_size) {
  std::vector<std::string> ids;
  std::vector<float> rows;
  std::vector<std::string> attributes;
  std::size_t batches = 0;
  auto flush = [&] {
    if (ids.empty()) return;
    Status st = store.put_batch(ids, rows, attributes);
    if (!st) FAIL(st.message());
    ++batches;
    ids.clear();
    rows.clear();
    attributes.clear();
  };
  for (const auto& [id, e] : elements) {
    REQUIRE(e.vector.size() == dim);
    ids.push_back(id);
    rows.insert(rows.end(), e.vector.begin(), e.vector.end());
    attributes.push_back(e.attributes);
    if (ids.size() == batch_size) flush();
  }
  flush();
  return batches;
}

struct ScanResult {
  std::map<std::string, Element> elements;
  std::size_t batches = 0;
  std::size_t largest_batch = 0;
  std::size_t repeats = 0;
};

Status scan_all(RedisVectorStore& store, std::size_t batch_size, ScanResult& out) {
  return store.scan(batch_size, [&](std::span<const std::string> ids, std::span<const float> rows,
                                    std::span<const std::string> attributes) {
    const std::size_t dim = store.dim();  // known once scan() has read the meta
    REQUIRE(ids.size() > 0);
    REQUIRE(dim > 0);
    REQUIRE(rows.size() == ids.size() * dim);
    REQUIRE(attributes.size() == ids.size());
    ++out.batches;
    out.largest_batch = std::max(out.largest_batch, ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      Element e;
      e.vector.assign(rows.begin() + static_cast<std::ptrdiff_t>(i * dim),
                      rows.begin() + static_cast<std::ptrdiff_t>((i + 1) * dim));
      e.attributes = attributes[i];
      if (!out.elements.emplace(ids[i], std::move(e)).second) ++out.repeats;
    }
    return Status::ok();
  });
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("RedisConnection: binary-safe commands, pipelining and round trips", "[redis][store]") {
  RedisServer server;
  RedisConnection redis = raw_connection(server.url());
  const std::uint64_t after_handshake = redis.round_trips();
  CHECK(after_handshake == 1);

  static constexpr char kKey[] = "k\0ey \r\n";
  static constexpr char kValue[] = "\0\x01\xff%s %b\r\n*1\r\n$4\r\nPING";
  const std::string key(kKey, sizeof(kKey) - 1);
  const std::string value(kValue, sizeof(kValue) - 1);
  Reply set = raw(redis, {"SET", key, value});
  CHECK(set.type == Reply::Type::kStatus);
  CHECK(set.str == "OK");
  Reply get = raw(redis, {"GET", key});
  REQUIRE(get.is_string());
  CHECK(get.str == value);
  CHECK(raw(redis, {"STRLEN", key}).integer == static_cast<long long>(value.size()));
  CHECK(raw(redis, {"GET", "missing"}).is_nil());
  Reply error = raw(redis, {"HGET", key, "field"});
  CHECK(error.is_error());
  CHECK_THAT(error.str, Catch::StartsWith("WRONGTYPE"));
  CHECK(redis.round_trips() == after_handshake + 5);

  auto replies = redis.pipeline({{"RPUSH", "list", "a", "b", ""}, {"LRANGE", "list", "0", "-1"}, {"INCR", "n"}});
  REQUIRE(replies);
  REQUIRE(replies->size() == 3);
  CHECK((*replies)[0].integer == 3);
  REQUIRE((*replies)[1].is_array());
  REQUIRE((*replies)[1].elements.size() == 3);
  CHECK((*replies)[1].elements[2].str.empty());
  CHECK((*replies)[2].integer == 1);
  CHECK(redis.round_trips() == after_handshake + 6);

  REQUIRE(redis.append({"INCR", "n"}));
  REQUIRE(redis.append({"INCR", "n"}));
  CHECK(redis.pending_replies() == 2);
  auto misuse = redis.command({"PING"});
  REQUIRE_FALSE(misuse);
  CHECK(misuse.status().code() == ErrorCode::kInternal);
  CHECK(redis.read_reply()->integer == 2);
  CHECK(redis.read_reply()->integer == 3);
  CHECK(redis.round_trips() == after_handshake + 7);
  auto nothing = redis.read_reply();
  REQUIRE_FALSE(nothing);
  CHECK(nothing.status().code() == ErrorCode::kInternal);
  CHECK_FALSE(redis.broken());
}

TEST_CASE("RedisVectorStore: meta round trip across connections", "[redis][store]") {
  RedisServer server;
  RedisVectorStore writer = open_store(server.url(), "docs");
  auto none = writer.read_meta();
  REQUIRE(none);
  CHECK_FALSE(none->has_value());
  CHECK(writer.dim() == 0);

  VectorSetMeta meta;
  meta.dim = 384;
  meta.metric = Metric::kInnerProduct;
  meta.quantization = Quantization::kBinary;
  meta.m = 24;
  meta.ef_construction = 300;
  REQUIRE(writer.write_meta(meta));
  CHECK(writer.dim() == 384);

  RedisVectorStore reader = open_store(server.url(), "docs");
  auto read = reader.read_meta();
  REQUIRE(read);
  REQUIRE(read->has_value());
  CHECK((*read)->dim == 384);
  CHECK((*read)->metric == Metric::kInnerProduct);
  CHECK((*read)->quantization == Quantization::kBinary);
  CHECK((*read)->m == 24);
  CHECK((*read)->ef_construction == 300);
  CHECK(reader.dim() == 384);
  CHECK(reader.size().value() == 0);

  RedisConnection redis = raw_connection(server.url());
  Reply hash = raw(redis, {"HGETALL", "semcache:{vset:docs}:meta"});
  REQUIRE(hash.is_array());
  std::map<std::string, std::string> fields;
  for (std::size_t i = 0; i + 1 < hash.elements.size(); i += 2) fields[hash.elements[i].str] = hash.elements[i + 1].str;
  CHECK(fields == std::map<std::string, std::string>{{"dim", "384"},
                                                      {"metric", "ip"},
                                                      {"quant", "bin"},
                                                      {"m", "24"},
                                                      {"ef_construction", "300"},
                                                      {"format_version", "1"}});

  auto other = open_store(server.url(), "other").read_meta();
  REQUIRE(other);
  CHECK_FALSE(other->has_value());
}

TEST_CASE("RedisVectorStore: 5,000 awkward elements survive put_batch and scan bit for bit", "[redis][store]") {
  RedisServer server;
  constexpr std::size_t kDim = 24;
  const auto elements = make_elements(5000, kDim, 42);
  REQUIRE(elements.size() == 5000);

  RedisVectorStore writer = open_store(server.url(), "awkward set: \"name\"");
  REQUIRE(writer.write_meta(meta_of(kDim, Metric::kL2)));
  const std::uint64_t before = writer.round_trips();
  const std::size_t batches = put_all(writer, elements, kDim, 1000);
  CHECK(batches == 5);
  CHECK(writer.round_trips() - before == batches);  // one round trip per batch
  CHECK(writer.size().value() == 5000);

  // Another connection, as another process would: it knows only the URL and the name.
  RedisVectorStore reader = open_store(server.url(), "awkward set: \"name\"");
  ScanResult scanned;
  Status st = scan_all(reader, 700, scanned);
  REQUIRE(st);
  CHECK(scanned.repeats == 0);
  CHECK(scanned.largest_batch <= 700);
  CHECK(scanned.batches >= 5000 / 700);
  REQUIRE(scanned.elements.size() == elements.size());
  std::size_t mismatches = 0;
  for (const auto& [id, e] : elements) {
    auto it = scanned.elements.find(id);
    if (it == scanned.elements.end() || !same_bits(it->second.vector, e.vector) ||
        it->second.attributes != e.attributes) {
      ++mismatches;
    }
  }
  CHECK(mismatches == 0);

  // The documented layout, read with raw commands: little-endian float32 bytes.
  RedisConnection redis = raw_connection(server.url());
  const std::string binary_id = awkward_id(4);
  const std::string el_key = "semcache:{vset:awkward set: \"name\"}:el:" + binary_id;
  Reply blob = raw(redis, {"HGET", el_key, "vector"});
  REQUIRE(blob.is_string());
  REQUIRE(blob.str.size() == kDim * 4);
  const std::vector<float>& expected = elements.at(binary_id).vector;
  for (std::size_t i = 0; i < kDim; ++i) {
    const auto* b = reinterpret_cast<const unsigned char*>(blob.str.data() + 4 * i);
    const std::uint32_t le = std::uint32_t{b[0]} | std::uint32_t{b[1]} << 8 | std::uint32_t{b[2]} << 16 |
                             std::uint32_t{b[3]} << 24;
    CHECK(le == std::bit_cast<std::uint32_t>(expected[i]));
  }
  CHECK(raw(redis, {"HGET", el_key, "attributes"}).str == elements.at(binary_id).attributes);
  CHECK(raw(redis, {"HEXISTS", "semcache:{vset:awkward set: \"name\"}:el:" + awkward_id(0), "attributes"}).integer == 0);
  CHECK(raw(redis, {"TYPE", "semcache:{vset:awkward set: \"name\"}:ids"}).str == "set");
  CHECK(raw(redis, {"SISMEMBER", "semcache:{vset:awkward set: \"name\"}:ids", binary_id}).integer == 1);

  // Replacing elements: new vectors, and no attributes where they had some.
  std::vector<std::string> ids = {awkward_id(1), awkward_id(2)};
  std::vector<float> rows(2 * kDim, 0.5f);
  rows[kDim] = -7.0f;
  REQUIRE(writer.put_batch(ids, rows, {}));
  CHECK(writer.size().value() == 5000);
  ScanResult again;
  REQUIRE(scan_all(reader, 4096, again));
  REQUIRE(again.elements.size() == 5000);
  CHECK(again.elements.at(awkward_id(1)).attributes.empty());
  CHECK(again.elements.at(awkward_id(1)).vector == std::vector<float>(kDim, 0.5f));
  CHECK(again.elements.at(awkward_id(2)).vector[0] == -7.0f);
  CHECK(again.elements.at(awkward_id(5)).attributes == elements.at(awkward_id(5)).attributes);
}

TEST_CASE("RedisVectorStore: scan stops at the first on_batch error", "[redis][store]") {
  RedisServer server;
  RedisVectorStore store = open_store(server.url(), "s");
  REQUIRE(store.write_meta(meta_of(4)));
  put_all(store, make_elements(300, 4, 7), 4, 100);
  int calls = 0;
  Status st = store.scan(50, [&](std::span<const std::string>, std::span<const float>, std::span<const std::string>) {
    ++calls;
    return Status::bad_input("stop here");
  });
  CHECK(calls == 1);
  CHECK(st.code() == ErrorCode::kBadInput);
  CHECK(st.message() == "stop here");
  CHECK(store.size().value() == 300);  // the connection is still in step
}

TEST_CASE("RedisVectorStore: a set of another dim or metric is refused", "[redis][store]") {
  RedisServer server;
  RedisVectorStore first = open_store(server.url(), "docs");
  REQUIRE(first.write_meta(meta_of(8)));

  RedisVectorStore second = open_store(server.url(), "docs");
  Status other_dim = second.write_meta(meta_of(16));
  CHECK(other_dim.code() == ErrorCode::kBadInput);
  CHECK_THAT(other_dim.message(), Catch::Contains("semcache:{vset:docs}:meta"));
  CHECK_THAT(other_dim.message(), Catch::Contains("dim 8"));
  CHECK_THAT(other_dim.message(), Catch::Contains("dim 16"));
  CHECK(semcache::exit_code_for(other_dim) == 2);

  CHECK(second.write_meta(meta_of(8, Metric::kL2)).code() == ErrorCode::kBadInput);

  VectorSetMeta same = meta_of(8);
  same.quantization = Quantization::kF32;
  same.m = 32;
  REQUIRE(second.write_meta(same));
  auto read = first.read_meta();
  REQUIRE(read);
  CHECK((*read)->quantization == Quantization::kF32);
  CHECK((*read)->m == 32);

  // The refusal left no WATCH behind: the next transaction on that connection succeeds.
  std::vector<std::string> ids = {"a"};
  std::vector<float> row(8, 1.0f);
  REQUIRE(second.write_meta(meta_of(16)).code() == ErrorCode::kBadInput);
  RedisConnection redis = raw_connection(server.url());
  raw(redis, {"HSET", "semcache:{vset:docs}:meta", "m", "40"});
  REQUIRE(second.put_batch(ids, row, {}));
  CHECK(second.size().value() == 1);
}

TEST_CASE("RedisVectorStore: malformed data in Redis is bad_input naming the key", "[redis][store]") {
  RedisServer server;
  RedisConnection redis = raw_connection(server.url());
  RedisVectorStore store = open_store(server.url(), "x");
  REQUIRE(store.write_meta(meta_of(4)));
  raw(redis, {"HSET", "semcache:{vset:x}:el:short", "vector", "abc"});
  raw(redis, {"SADD", "semcache:{vset:x}:ids", "short"});
  Status st = store.scan(10, [](auto, auto, auto) { return Status::ok(); });
  CHECK(st.code() == ErrorCode::kBadInput);
  CHECK_THAT(st.message(), Catch::Contains("semcache:{vset:x}:el:short"));
  CHECK_THAT(st.message(), Catch::Contains("3 bytes, expected 16"));

  raw(redis, {"HSET", "semcache:{vset:y}:meta", "dim", "abc", "metric", "cosine"});
  auto bad_dim = open_store(server.url(), "y").read_meta();
  REQUIRE_FALSE(bad_dim);
  CHECK(bad_dim.status().code() == ErrorCode::kBadInput);
  CHECK_THAT(bad_dim.status().message(), Catch::Contains("semcache:{vset:y}:meta: field 'dim'"));

  raw(redis, {"HSET", "semcache:{vset:z}:meta", "dim", "4", "metric", "cosine", "format_version", "2"});
  auto newer = open_store(server.url(), "z").read_meta();
  REQUIRE_FALSE(newer);
  CHECK_THAT(newer.status().message(), Catch::Contains("newer semcache"));

  raw(redis, {"SET", "semcache:{vset:w}:meta", "a string"});
  auto wrong_type = open_store(server.url(), "w").read_meta();
  REQUIRE_FALSE(wrong_type);
  CHECK(wrong_type.status().code() == ErrorCode::kBadInput);
  CHECK_THAT(wrong_type.status().message(), Catch::Contains("WRONGTYPE"));

  // An id whose element hash is gone (deleted after it was listed) is skipped, not an error.
  raw(redis, {"DEL", "semcache:{vset:x}:el:short"});
  std::vector<std::string> ids = {"ok"};
  std::vector<float> row = {1, 2, 3, 4};
  REQUIRE(store.put_batch(ids, row, {}));
  std::size_t seen = 0;
  REQUIRE(store.scan(10, [&](std::span<const std::string> got, auto, auto) {
    seen += got.size();
    CHECK(got[0] == "ok");
    return Status::ok();
  }));
  CHECK(seen == 1);
}

TEST_CASE("RedisVectorStore: argument checks", "[redis][store]") {
  RedisServer server;
  for (const std::string& name : {std::string(), std::string("a{b"), std::string("a}b")}) {
    auto store = RedisVectorStore::open(server.url(), name);
    REQUIRE_FALSE(store);
    CHECK(store.status().code() == ErrorCode::kInvalidArgument);
  }
  RedisOptions braced;
  braced.prefix = "app{1}";
  CHECK(RedisVectorStore::open(server.url(), "s", braced).status().code() == ErrorCode::kInvalidArgument);
  auto bad_url = RedisVectorStore::open("redis://127.0.0.1:0", "s");
  REQUIRE_FALSE(bad_url);
  CHECK(bad_url.status().message() == "--redis: 'redis://127.0.0.1:0': port must be 1..65535");

  RedisVectorStore store = open_store(server.url(), "s");
  std::vector<std::string> ids = {"a", "b"};
  std::vector<float> rows(8, 1.0f);
  Status no_meta = store.put_batch(ids, rows, {});
  CHECK(no_meta.code() == ErrorCode::kInvalidArgument);
  CHECK_THAT(no_meta.message(), Catch::Contains("write_meta"));
  CHECK(store.scan(10, [](auto, auto, auto) { return Status::ok(); }).code() == ErrorCode::kNotFound);

  REQUIRE(store.write_meta(meta_of(4)));
  CHECK(store.write_meta(meta_of(0)).code() == ErrorCode::kInvalidArgument);
  CHECK(store.put_batch(ids, std::span<const float>(rows).first(7), {}).code() == ErrorCode::kInvalidArgument);
  std::vector<std::string> one_attribute = {"{}"};
  CHECK(store.put_batch(ids, rows, one_attribute).code() == ErrorCode::kInvalidArgument);
  REQUIRE(store.put_batch({}, {}, {}));
  REQUIRE(store.put_batch(ids, rows, {}));
  CHECK(store.size().value() == 2);
}

TEST_CASE("RedisVectorStore: a custom prefix and a database other than 0", "[redis][store]") {
  RedisServer server;
  RedisOptions options;
  options.prefix = "myapp";
  RedisVectorStore store = open_store(server.url({}, 3), "docs", options);
  CHECK(store.redacted_url() == "redis://127.0.0.1:" + std::to_string(server.port()) + "/3");
  REQUIRE(store.write_meta(meta_of(2)));
  std::vector<std::string> ids = {"e"};
  std::vector<float> row = {1, 2};
  REQUIRE(store.put_batch(ids, row, {}));

  RedisConnection db3 = raw_connection(server.url({}, 3));
  CHECK(raw(db3, {"EXISTS", "myapp:{vset:docs}:meta", "myapp:{vset:docs}:ids", "myapp:{vset:docs}:el:e"}).integer == 3);
  RedisConnection db0 = raw_connection(server.url());
  CHECK(raw(db0, {"DBSIZE"}).integer == 0);
}

TEST_CASE("RedisVectorStore: drop removes every key of the set and nothing else", "[redis][store]") {
  RedisServer server;
  RedisConnection redis = raw_connection(server.url());
  raw(redis, {"SET", "unrelated", "1"});
  RedisVectorStore keep = open_store(server.url(), "keep");
  REQUIRE(keep.write_meta(meta_of(3)));
  put_all(keep, make_elements(10, 3, 1), 3, 10);

  RedisVectorStore store = open_store(server.url(), "gone");
  REQUIRE(store.write_meta(meta_of(3)));
  put_all(store, make_elements(2500, 3, 2), 3, 500);  // several SSCAN pages to drop
  CHECK(raw(redis, {"DBSIZE"}).integer == 1 + 12 + 2502);

  REQUIRE(store.drop());
  CHECK(raw(redis, {"DBSIZE"}).integer == 1 + 12);
  Reply left = raw(redis, {"KEYS", "semcache:{vset:gone}*"});
  REQUIRE(left.is_array());
  CHECK(left.elements.empty());
  auto meta = store.read_meta();
  REQUIRE(meta);
  CHECK_FALSE(meta->has_value());
  CHECK(store.scan(10, [](auto, auto, auto) { return Status::ok(); }).code() == ErrorCode::kNotFound);
  REQUIRE(store.drop());  // dropping what is not there is fine
  CHECK(keep.size().value() == 10);
}

TEST_CASE("RedisVectorStore: wrong credentials are unavailable and never echo the password", "[redis][store]") {
  RedisServer server({"--requirepass", "right-pass-123"});
  auto wrong = RedisVectorStore::open(server.url(":wrong-pass-987@"), "s");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.status().code() == ErrorCode::kUnavailable);
  CHECK(semcache::exit_code_for(wrong.status()) == 3);
  CHECK_THAT(wrong.status().message(), !Catch::Contains("wrong-pass-987"));
  CHECK_THAT(wrong.status().message(), !Catch::Contains("right-pass-123"));
  CHECK_THAT(wrong.status().message(), Catch::Contains(":***@127.0.0.1"));
  CHECK_THAT(wrong.status().message(), Catch::Contains("AUTH failed"));

  auto none = RedisVectorStore::open(server.url(), "s");
  REQUIRE_FALSE(none);
  CHECK(none.status().code() == ErrorCode::kUnavailable);
  CHECK_THAT(none.status().message(), Catch::Contains("NOAUTH"));

  RedisVectorStore right = open_store(server.url(":right-pass-123@", 2), "s");
  REQUIRE(right.write_meta(meta_of(2)));
  CHECK_THAT(right.redacted_url(), !Catch::Contains("right-pass-123"));
}

TEST_CASE("RedisVectorStore: ACL users authenticate with AUTH user password", "[redis][store]") {
  RedisServer server({"--user", "alice", "on", ">alice%pw@1", "~*", "&*", "+@all"});
  RedisVectorStore alice = open_store(server.url("alice:alice%25pw%401@"), "s");
  REQUIRE(alice.write_meta(meta_of(2)));

  auto wrong = RedisVectorStore::open(server.url("alice:nope-nope@"), "s");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.status().code() == ErrorCode::kUnavailable);
  CHECK_THAT(wrong.status().message(), Catch::Contains("WRONGPASS"));
  CHECK_THAT(wrong.status().message(), !Catch::Contains("nope-nope"));
}

TEST_CASE("RedisVectorStore: a server that is not running is unavailable", "[redis][store]") {
  const int port = semcache::testing::find_free_port();
  RedisOptions options;
  options.connect_timeout = std::chrono::milliseconds(500);
  auto store = RedisVectorStore::open("redis://:pw-not-shown@127.0.0.1:" + std::to_string(port), "s", options);
  REQUIRE_FALSE(store);
  CHECK(store.status().code() == ErrorCode::kUnavailable);
  CHECK(semcache::exit_code_for(store.status()) == 3);
  CHECK_THAT(store.status().message(), Catch::StartsWith("redis://:***@127.0.0.1:" + std::to_string(port) + "/0: "));
  CHECK_THAT(store.status().message(), !Catch::Contains("pw-not-shown"));
}

TEST_CASE("RedisVectorStore: a server that goes away leaves the store broken, not hung", "[redis][store]") {
  RedisServer server;
  RedisVectorStore store = open_store(server.url(), "s");
  constexpr std::size_t kDim = 1024;
  REQUIRE(store.write_meta(meta_of(kDim)));
  server.stop();

  // 4 MB: more than one write(2), so the second one meets the reset connection and would
  // raise SIGPIPE (killing this process) if the store let it through.
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.push_back(std::to_string(i));
  std::vector<float> rows(ids.size() * kDim, 0.25f);
  Status st = store.put_batch(ids, rows, {});
  CHECK(st.code() == ErrorCode::kUnavailable);
  CHECK_THAT(st.message(), Catch::StartsWith(store.redacted_url() + ": "));
  auto meta = store.read_meta();
  REQUIRE_FALSE(meta);
  CHECK(meta.status().message() == st.message());  // broken: every call repeats the first error

  server.restart();
  CHECK(store.size().status().code() == ErrorCode::kUnavailable);  // no reconnect (yet)
  RedisVectorStore fresh = open_store(server.url(), "s");
  CHECK(fresh.size().value() == 0);
}

TEST_CASE("RedisVectorStore: a hung server times out after the command timeout", "[redis][store]") {
  RedisServer server;
  RedisOptions options;
  options.command_timeout = std::chrono::milliseconds(200);
  RedisVectorStore store = open_store(server.url(), "s", options);
  server.pause();
  auto meta = store.read_meta();
  server.resume();
  REQUIRE_FALSE(meta);
  CHECK(meta.status().code() == ErrorCode::kUnavailable);
  CHECK_THAT(meta.status().message(), Catch::Contains("timed out after 200 ms"));
}
