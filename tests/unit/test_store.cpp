// The Store contract, checked against both stores: check_contract() runs on the in-memory store
// (with an injected clock) and on a real redis-server (with real time), so the two cannot
// drift apart. Then what only one of them has: LRU eviction and the expiry sweep (memory),
// connection faults (Redis: wrong password, server stopped, restarted, paused).

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "redis_server.hpp"
#include "store_calls.hpp"
#include "semcache/memory_store.hpp"
#include "semcache/redis_store.hpp"
#include "semcache/store.hpp"
#include "store/record_codec.hpp"
#include "store/redis_connection.hpp"

namespace {

using namespace semcache;
using namespace std::chrono_literals;
using testing::read_one;
using testing::run;
using testing::write_one;
using Clock = std::chrono::steady_clock;

// Lets time pass for TTLs: the memory store advances its injected clock, Redis sleeps.
using LetTimePass = std::function<void(std::chrono::milliseconds)>;

std::map<std::string, std::string> as_map(const Record& record) { return {record.begin(), record.end()}; }

std::pair<std::uint64_t, std::uint64_t> parse_id(const std::string& id) {
  const auto dash = id.find('-');
  REQUIRE(dash != std::string::npos);
  return {std::stoull(id.substr(0, dash)), std::stoull(id.substr(dash + 1))};
}

// Waits (through let_time_pass) until `key` is gone, at most 5 s of (real or fake) time.
bool wait_until_gone(Store& store, const std::string& key, const LetTimePass& let_time_pass) {
  for (int i = 0; i < 100; ++i) {
    if (!read_one(store, key)) return true;
    let_time_pass(50ms);
  }
  return false;
}

std::set<std::string> scan_all(Store& store, std::string_view prefix, std::size_t batch_size) {
  std::vector<std::string> seen;
  Status st = store.scan(prefix, batch_size, [&](std::span<const std::string> keys) {
    seen.insert(seen.end(), keys.begin(), keys.end());
    return Status::ok();
  });
  INFO(st.message());
  REQUIRE(st);
  std::set<std::string> unique(seen.begin(), seen.end());
  REQUIRE(unique.size() == seen.size());  // each key once
  return unique;
}

void check_records(Store& store) {
  write_one(store, "rec:1", {{"a", "1"}, {"b", "2"}});
  auto got = read_one(store, "rec:1");
  REQUIRE(got);
  CHECK(as_map(*got) == std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}});
  REQUIRE(find_field(*got, "b") != nullptr);
  CHECK(*find_field(*got, "b") == "2");
  CHECK(find_field(*got, "z") == nullptr);

  // A write replaces the whole record.
  write_one(store, "rec:1", {{"c", "3"}});
  got = read_one(store, "rec:1");
  REQUIRE(got);
  CHECK(as_map(*got) == std::map<std::string, std::string>{{"c", "3"}});

  // Reads answer in order, missing keys as nullopt; a write and a read of one batch: the read
  // sees the write.
  StoreBatch batch;
  batch.writes.push_back({"rec:2", {{"x", "y"}}, 0ms});
  batch.reads = {"rec:missing", "rec:2", "rec:1"};
  auto result = run(store, batch);
  REQUIRE(result.records.size() == 3);
  CHECK(!result.records[0]);
  REQUIRE(result.records[1]);
  CHECK(as_map(*result.records[1]) == std::map<std::string, std::string>{{"x", "y"}});
  REQUIRE(result.records[2]);

  // Every read comes with its record's counter: 0 for a fresh or a missing record.
  REQUIRE(result.counters.size() == 3);
  CHECK(result.counters == std::vector<std::int64_t>{0, 0, 0});

  // A record with no fields does not exist.
  write_one(store, "rec:2", {});
  CHECK(!read_one(store, "rec:2"));

  // Store::read() is a batch of reads.
  const std::vector<std::string> keys = {"rec:1", "rec:nope"};
  auto records = store.read(keys);
  REQUIRE(records);
  REQUIRE(records->size() == 2);
  CHECK((*records)[0].has_value());
  CHECK(!(*records)[1].has_value());
}

void check_binary(Store& store) {
  const std::string key("bin:\0\r\n*key", 11);
  const std::string field("f\0\r\n", 4);
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 131 + 7) % 256);
  const std::string small("\0\r\nv\r\n\0", 7);
  write_one(store, key, {{field, small}, {"big", big}});
  auto got = read_one(store, key);
  REQUIRE(got);
  REQUIRE(find_field(*got, field) != nullptr);
  CHECK(*find_field(*got, field) == small);
  REQUIRE(find_field(*got, "big") != nullptr);
  CHECK(*find_field(*got, "big") == big);
  // Another key sharing the text before the NUL is a different key.
  CHECK(!read_one(store, std::string("bin:")));
}

void check_ttl(Store& store, const LetTimePass& let_time_pass) {
  write_one(store, "ttl:short", {{"v", "1"}}, 150ms);
  write_one(store, "ttl:none", {{"v", "2"}});
  CHECK(read_one(store, "ttl:short"));
  CHECK(wait_until_gone(store, "ttl:short", let_time_pass));
  CHECK(read_one(store, "ttl:none"));
  // A replacement without a TTL does not keep the old TTL.
  write_one(store, "ttl:replaced", {{"v", "1"}}, 150ms);
  write_one(store, "ttl:replaced", {{"v", "2"}});
  let_time_pass(300ms);
  CHECK(read_one(store, "ttl:replaced"));
}

void check_increments(Store& store, const LetTimePass& let_time_pass) {
  write_one(store, "inc:1", {{"text", "abc"}});
  StoreBatch batch;
  batch.increments = {{"inc:1", 0ms}, {"inc:1", 0ms}, {"inc:missing", 0ms}};
  batch.reads = {"inc:1", "inc:missing"};
  auto result = run(store, batch);
  REQUIRE(result.records.size() == 2);
  REQUIRE(result.counters.size() == 2);
  REQUIRE(result.records[0]);
  CHECK(as_map(*result.records[0]) == std::map<std::string, std::string>{{"text", "abc"}});  // fields untouched
  CHECK(result.counters[0] == 2);
  CHECK(!result.records[1]);  // a missing record is not created
  CHECK(result.counters[1] == 0);

  // A write resets the counter; so does a delete followed by a write.
  write_one(store, "inc:1", {{"text", "new"}});
  StoreBatch read_back;
  read_back.increments = {{"inc:1", 0ms}};
  read_back.reads = {"inc:1"};
  CHECK(run(store, read_back).counters == std::vector<std::int64_t>{1});
  StoreBatch remove;
  remove.deletes = {"inc:1"};
  run(store, remove);
  write_one(store, "inc:1", {{"text", "again"}});
  StoreBatch plain_read;
  plain_read.reads = {"inc:1"};
  CHECK(run(store, plain_read).counters == std::vector<std::int64_t>{0});

  // An expired record is not brought back by an increment, and its counter does not survive
  // into the next record of the key.
  write_one(store, "inc:ttl", {{"v", "5"}}, 150ms);
  StoreBatch early;
  early.increments = {{"inc:ttl", 150ms}};
  run(store, early);
  REQUIRE(wait_until_gone(store, "inc:ttl", let_time_pass));
  StoreBatch late;
  late.increments = {{"inc:ttl", 150ms}};
  late.reads = {"inc:ttl"};
  auto after_expiry = run(store, late);
  CHECK(!after_expiry.records[0]);
  CHECK(after_expiry.counters[0] == 0);
  write_one(store, "inc:ttl", {{"v", "6"}});
  StoreBatch fresh;
  fresh.reads = {"inc:ttl"};
  CHECK(run(store, fresh).counters == std::vector<std::int64_t>{0});
}

void check_deletes(Store& store) {
  write_one(store, "del:a", {{"v", "1"}});
  write_one(store, "del:b", {{"v", "1"}});
  StoreBatch batch;
  batch.deletes = {"del:a", "del:b", "del:missing"};
  batch.reads = {"del:a", "del:b"};
  auto result = run(store, batch);
  CHECK(result.deleted == 2);
  CHECK(!result.records[0]);
  CHECK(!result.records[1]);

  // Mutations apply in order: writes, then deletes, then reads.
  StoreBatch ordered;
  ordered.writes.push_back({"del:c", {{"v", "1"}}, 0ms});
  ordered.deletes = {"del:c"};
  ordered.reads = {"del:c"};
  result = run(store, ordered);
  CHECK(result.deleted == 1);
  CHECK(!result.records[0]);
}

void check_logs(Store& store) {
  CHECK(*store.log_last_id("log:missing") == "0-0");
  auto empty = store.log_read("log:missing", "0-0", 10);
  REQUIRE(empty);
  CHECK(empty->empty());

  StoreBatch batch;
  for (int i = 0; i < 5; ++i) batch.appends.push_back({"log:a", "e" + std::to_string(i), 0});
  batch.appends.push_back({"log:a", std::string("bin\0\r\n", 6), 0});
  auto result = run(store, batch);
  REQUIRE(result.appended_ids.size() == 6);
  for (std::size_t i = 1; i < result.appended_ids.size(); ++i) {
    CHECK(parse_id(result.appended_ids[i - 1]) < parse_id(result.appended_ids[i]));
  }
  CHECK(*store.log_last_id("log:a") == result.appended_ids.back());

  auto all = store.log_read("log:a", "0-0", 100);
  REQUIRE(all);
  REQUIRE(all->size() == 6);
  for (std::size_t i = 0; i < 5; ++i) {
    CHECK((*all)[i].id == result.appended_ids[i]);
    CHECK((*all)[i].payload == "e" + std::to_string(i));
  }
  CHECK((*all)[5].payload == std::string("bin\0\r\n", 6));

  auto after = store.log_read("log:a", result.appended_ids[1], 100);
  REQUIRE(after);
  REQUIRE(after->size() == 4);
  CHECK(after->front().id == result.appended_ids[2]);
  auto limited = store.log_read("log:a", result.appended_ids[1], 2);
  REQUIRE(limited);
  REQUIRE(limited->size() == 2);
  CHECK((*limited)[1].id == result.appended_ids[3]);
  auto at_end = store.log_read("log:a", result.appended_ids.back(), 10);
  REQUIRE(at_end);
  CHECK(at_end->empty());

  auto bad_id = store.log_read("log:a", "not-an-id", 10);
  REQUIRE(!bad_id);
  CHECK(bad_id.status().code() == ErrorCode::kInvalidArgument);

  // Trimming keeps the newest entries, at least max_length of them (Redis "~" trims whole
  // nodes of 100 entries, so it needs a few hundred to show).
  StoreBatch trim;
  for (int i = 0; i < 350; ++i) trim.appends.push_back({"log:trim", std::to_string(i), 10});
  result = run(store, trim);
  auto kept = store.log_read("log:trim", "0-0", 1000);
  REQUIRE(kept);
  CHECK(kept->size() >= 10);
  CHECK(kept->size() < 350);
  CHECK(kept->back().payload == "349");
  CHECK(kept->back().id == result.appended_ids.back());
  for (std::size_t i = 0; i < kept->size(); ++i) {
    CHECK((*kept)[i].payload == std::to_string(350 - kept->size() + i));
  }

  // A key holds a record or a log, not both.
  write_one(store, "log:record", {{"v", "1"}});
  StoreBatch wrong;
  wrong.appends.push_back({"log:record", "x", 0});
  auto failed = store.execute(wrong);
  REQUIRE(!failed);
  CHECK(failed.status().code() == ErrorCode::kBadInput);
  StoreBatch read_log;  // a log is no record
  read_log.reads = {"log:a"};
  auto no_record = store.execute(read_log);
  REQUIRE(no_record);
  CHECK(!no_record->records.at(0));
  StoreBatch increment_log;  // a log has no counter
  increment_log.increments = {{"log:a", 0ms}};
  auto not_counted = store.execute(increment_log);
  REQUIRE(!not_counted);
  CHECK(not_counted.status().code() == ErrorCode::kBadInput);
  CHECK(store.log_last_id("log:record").status().code() == ErrorCode::kBadInput);
}

void check_scan(Store& store) {
  std::set<std::string> expected;
  {
    StoreBatch batch;
    for (int i = 0; i < 300; ++i) {
      const std::string key = "scan:many:" + std::to_string(i);
      batch.writes.push_back({key, {{"v", "1"}}, 0ms});
      expected.insert(key);
    }
    batch.writes.push_back({"scan:other", {{"v", "1"}}, 0ms});
    run(store, batch);
  }
  CHECK(scan_all(store, "scan:many:", 7) == expected);
  CHECK(scan_all(store, "scan:many:", 1000) == expected);
  CHECK(scan_all(store, "scan:nothing:", 10).empty());

  // Glob characters in the prefix are literal: each decoy would match the unescaped pattern.
  const std::string glob = "g:a*[b]?";
  const std::string backslash = "g:back\\slash";
  for (const std::string& key : {glob + "1", glob + "2", std::string("g:aXXb!3"), std::string("g:ab?4"),
                                 backslash + "5", std::string("g:backslash6")}) {
    write_one(store, key, {{"v", "1"}});
  }
  CHECK(scan_all(store, glob, 10) == std::set<std::string>{glob + "1", glob + "2"});
  CHECK(scan_all(store, backslash, 10) == std::set<std::string>{backslash + "5"});

  // A log is a key too.
  StoreBatch append;
  append.appends.push_back({"scan:many:log", "x", 0});
  run(store, append);
  expected.insert("scan:many:log");
  CHECK(scan_all(store, "scan:many:", 50) == expected);

  // An error from on_keys stops the scan and is returned.
  int calls = 0;
  Status st = store.scan("scan:many:", 10, [&](std::span<const std::string>) {
    ++calls;
    return Status::not_found("stop here");
  });
  CHECK(calls == 1);
  CHECK(st.code() == ErrorCode::kNotFound);
  CHECK(st.message() == "stop here");
}

void check_counters(Store& store, bool is_redis) {
  const StoreCounters before = store.counters();
  StoreBatch batch;
  batch.writes.push_back({"cnt:1", {{"v", "1"}}, 0ms});
  batch.writes.push_back({"cnt:2", {{"v", "1"}}, 1000s});
  batch.increments = {{"cnt:1", 0ms}};
  batch.deletes = {"cnt:2"};
  batch.appends.push_back({"cnt:log", "x", 5});
  batch.reads = {"cnt:1", "cnt:2", "cnt:3"};
  run(store, batch);
  const StoreCounters after = store.counters();
  CHECK(after.batches == before.batches + 1);
  CHECK(after.records_written == before.records_written + 2);
  CHECK(after.records_read == before.records_read + 3);
  CHECK(after.failed_batches == before.failed_batches);
  CHECK(after.round_trips == before.round_trips + (is_redis ? 1 : 0));  // the whole batch: one round trip
}

// A refused mutation (an append to a key that holds a record: a wrong type) fails a batch
// without reads. In a batch with reads the other mutations still apply, the reads are answered,
// and the refusal comes beside them, naming the key; the counters count no failure.
void check_refusals(Store& store) {
  write_one(store, "ref:record", {{"v", "1"}});
  StoreBatch alone;
  alone.appends.push_back({"ref:record", "x", 0});
  auto failed = store.execute(alone);
  REQUIRE_FALSE(failed);
  CHECK(failed.status().message().find("ref:record") != std::string::npos);

  const StoreCounters before = store.counters();
  StoreBatch mixed;
  mixed.writes.push_back({"ref:other", {{"v", "2"}}, 0ms});
  mixed.increments = {{"ref:record", 0ms}};
  mixed.appends.push_back({"ref:record", "x", 0});
  mixed.reads = {"ref:record", "ref:other"};
  const StoreBatchResult result = run(store, mixed);
  CHECK_FALSE(result.refused.is_ok());
  CHECK(result.refused.message().find("ref:record") != std::string::npos);
  CHECK(result.refused_writes.empty());
  CHECK(result.appended_ids.empty());
  REQUIRE(result.records[0]);
  CHECK(result.counters[0] == 1);
  REQUIRE(result.records[1]);
  CHECK(as_map(*result.records[1]) == std::map<std::string, std::string>{{"v", "2"}});
  const StoreCounters after = store.counters();
  CHECK(after.failed_batches == before.failed_batches);
  CHECK(after.records_written == before.records_written + 1);
  CHECK(after.dropped_writes == before.dropped_writes);
  CHECK(after.records_read == before.records_read + 2);
}

void check_contract(const std::shared_ptr<Store>& store, const LetTimePass& let_time_pass, bool is_redis) {
  check_records(*store);
  check_binary(*store);
  check_ttl(*store, let_time_pass);
  check_increments(*store, let_time_pass);
  check_deletes(*store);
  check_logs(*store);
  check_refusals(*store);
  check_scan(*store);
  check_counters(*store, is_redis);
}

// 8 threads, each with its own keys plus one shared counter record and one shared log; the
// final state is known exactly.
void check_concurrency(const std::shared_ptr<Store>& store) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 100;
  write_one(*store, "conc:shared", {{"n", "0"}});
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string mine = "conc:t" + std::to_string(t) + ":";
      for (int round = 0; round < kRounds; ++round) {
        StoreBatch batch;
        batch.writes.push_back({mine + std::to_string(round), {{"round", std::to_string(round)}, {"t", mine}}, 0ms});
        batch.increments.push_back({"conc:shared", 0ms});
        if (round > 0 && round % 2 == 0) batch.deletes.push_back(mine + std::to_string(round - 1));
        batch.appends.push_back({"conc:log", mine + std::to_string(round), 0});
        batch.reads = {mine + std::to_string(round), "conc:shared"};
        auto result = store->execute(batch);
        if (!result || result->records.size() != 2 || !result->records[0] ||
            *find_field(*result->records[0], "round") != std::to_string(round) || !result->records[1] ||
            (round > 0 && round % 2 == 0 && result->deleted != 1)) {
          ++failures;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);
  StoreBatch shared;
  shared.reads = {"conc:shared"};
  auto counted = store->execute(shared);
  REQUIRE(counted);
  REQUIRE(counted->records[0]);
  CHECK(counted->counters[0] == kThreads * kRounds);
  auto log = store->log_read("conc:log", "0-0", 100000);
  REQUIRE(log);
  CHECK(log->size() == static_cast<std::size_t>(kThreads * kRounds));
  for (std::size_t i = 1; i < log->size(); ++i) CHECK(parse_id((*log)[i - 1].id) < parse_id((*log)[i].id));
  // Odd rounds below the last even one were deleted; the others remain.
  std::set<std::string> expected;
  for (int t = 0; t < kThreads; ++t) {
    for (int round = 0; round < kRounds; ++round) {
      const bool deleted = round % 2 == 1 && round + 1 < kRounds;
      if (!deleted) expected.insert("conc:t" + std::to_string(t) + ":" + std::to_string(round));
    }
  }
  CHECK(scan_all(*store, "conc:t", 100) == expected);

  // A record write is atomic: readers see {a, b} with equal values, never a mix of two writes
  // nor the old fields of a replaced record.
  std::atomic<bool> writing{true};
  std::atomic<int> torn{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&] {
      while (writing) {
        auto got = store->read(std::vector<std::string>{"conc:atomic"});
        if (!got || got->size() != 1) {
          ++torn;
        } else if (const auto& record = (*got)[0]; record) {
          const std::string* a = find_field(*record, "a");
          if (record->size() != 2 || a == nullptr || find_field(*record, "b") == nullptr ||
              *a != *find_field(*record, "b")) {
            ++torn;
          }
        }
      }
    });
  }
  for (int i = 0; i < 300; ++i) {
    Record fields = i % 2 == 0 ? Record{{"a", std::to_string(i)}, {"b", std::to_string(i)}}
                               : Record{{"b", std::to_string(i)}, {"a", std::to_string(i)}};
    write_one(*store, "conc:atomic", std::move(fields));
  }
  writing = false;
  for (auto& reader : readers) reader.join();
  CHECK(torn == 0);
}

struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> now = std::make_shared<std::atomic<std::int64_t>>(1'000'000);
  std::function<std::int64_t()> function() const {
    return [now = now] { return now->load(); };
  }
  LetTimePass advancer() const {
    return [now = now](std::chrono::milliseconds ms) { *now += ms.count(); };
  }
};

MemoryStoreOptions capped_options(std::size_t max_records, std::size_t max_bytes) {
  MemoryStoreOptions options;
  options.max_records = max_records;
  options.max_bytes = max_bytes;
  return options;
}

StoreBatch reads_of(const std::string& key) {
  StoreBatch batch;
  batch.reads.push_back(key);
  return batch;
}

std::shared_ptr<Store> open_redis(const testing::RedisServer& server, RedisStoreOptions options = {}) {
  auto store = open_redis_store(server.url(), options);
  INFO(store.status().message());
  REQUIRE(store);
  return *store;
}

LetTimePass sleeper() {
  return [](std::chrono::milliseconds ms) { std::this_thread::sleep_for(ms); };
}

// Polls execute() with a one-read batch until it succeeds or 5 s pass.
bool eventually_succeeds(Store& store) {
  const auto deadline = Clock::now() + 5s;
  StoreBatch batch;
  batch.reads = {"probe"};
  while (Clock::now() < deadline) {
    if (store.execute(batch)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace

TEST_CASE("memory store: the store contract", "[store]") {
  FakeClock clock;
  check_contract(make_memory_store({.now_ms = clock.function()}), clock.advancer(), false);
  CHECK(make_memory_store()->describe() == "memory");
}

TEST_CASE("redis store: the store contract", "[store][redis]") {
  testing::RedisServer server;
  auto store = open_redis(server);
  check_contract(store, sleeper(), true);
  CHECK(store->describe() == server.url() + "/0");
  CHECK(store->counters().connects >= 1);
}

TEST_CASE("memory store: expiry is counted, and swept as the store fills", "[store]") {
  FakeClock clock;
  auto store = make_memory_store({.now_ms = clock.function()});
  StoreBatch batch;
  for (int i = 0; i < 1000; ++i) batch.writes.push_back({"old:" + std::to_string(i), {{"v", "1"}}, 100ms});
  run(*store, batch);
  clock.advancer()(100ms);
  CHECK(!read_one(*store, "old:0"));
  CHECK(store->counters().expirations == 1);
  // Writes alone, without touching the expired records, sweep them (each shard once it has
  // taken as many writes as it holds entries, at least 256).
  StoreBatch more;
  for (int i = 0; i < 8000; ++i) more.writes.push_back({"new:" + std::to_string(i), {{"v", "1"}}, 0ms});
  run(*store, more);
  CHECK(store->counters().expirations == 1000);
  CHECK(scan_all(*store, "old:", 100).empty());
}

TEST_CASE("memory store: evicts the least recently used record under max_records", "[store]") {
  auto store = make_memory_store(capped_options(3, 0));
  write_one(*store, "a", {{"v", "1"}});
  write_one(*store, "b", {{"v", "1"}});
  write_one(*store, "c", {{"v", "1"}});
  CHECK(read_one(*store, "a"));  // a is now more recent than b
  write_one(*store, "d", {{"v", "1"}});
  CHECK(store->counters().evictions == 1);
  CHECK(scan_all(*store, "", 10) == std::set<std::string>{"a", "c", "d"});
  StoreBatch increment;  // an increment is a use too
  increment.increments = {{"c", 0ms}};
  run(*store, increment);
  write_one(*store, "e", {{"v", "1"}});
  CHECK(scan_all(*store, "", 10) == std::set<std::string>{"c", "d", "e"});
  CHECK(store->counters().evictions == 2);
  // Logs are not records: they neither count nor get evicted.
  StoreBatch append;
  append.appends.push_back({"log", "x", 0});
  run(*store, append);
  CHECK(scan_all(*store, "", 10) == std::set<std::string>{"c", "d", "e", "log"});
}

TEST_CASE("memory store: evicts the least recently used records under max_bytes", "[store]") {
  // Each record is key (2) + field (1) + value (7) = 10 bytes.
  auto store = make_memory_store(capped_options(0, 30));
  for (const char* key : {"k1", "k2", "k3"}) write_one(*store, key, {{"v", "1234567"}});
  CHECK(store->counters().evictions == 0);
  CHECK(read_one(*store, "k1"));
  write_one(*store, "k4", {{"v", "1234567"}});
  CHECK(store->counters().evictions == 1);
  CHECK(scan_all(*store, "k", 10) == std::set<std::string>{"k1", "k3", "k4"});
  // A 25-byte record leaves room for none of the others.
  write_one(*store, "k5", {{"v", std::string(22, 'x')}});
  CHECK(store->counters().evictions == 4);
  CHECK(scan_all(*store, "k", 10) == std::set<std::string>{"k5"});
  // Replacing a record replaces its size.
  write_one(*store, "k5", {{"v", "1"}});
  write_one(*store, "k6", {{"v", "1234567"}});
  write_one(*store, "k7", {{"v", "1234567"}});
  CHECK(store->counters().evictions == 4);
  CHECK(scan_all(*store, "k", 10) == std::set<std::string>{"k5", "k6", "k7"});
}

TEST_CASE("memory store: concurrent batches keep a consistent state", "[store][concurrency]") {
  check_concurrency(make_memory_store());
  // With a cap, eviction runs concurrently with batches; the cap holds at the end.
  auto capped = make_memory_store(capped_options(50, 0));
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&capped, t] {
      for (int i = 0; i < 200; ++i) {
        StoreBatch batch;
        batch.writes.push_back({"cap:" + std::to_string(t) + ":" + std::to_string(i), {{"v", "1"}}, 0ms});
        batch.reads = {"cap:" + std::to_string(t) + ":" + std::to_string(i / 2)};
        (void)capped->execute(batch);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(scan_all(*capped, "cap:", 100).size() == 50);
  CHECK(capped->counters().evictions == 8 * 200 - 50);
}

TEST_CASE("redis store: a record is one value holding its hit count, foreign values are refused", "[store][redis]") {
  testing::RedisServer server;
  auto store = open_redis(server);
  auto url = parse_redis_url(server.url());
  REQUIRE(url);
  auto admin = detail::RedisConnection::connect(*url);
  REQUIRE(admin);
  auto raw = [&](std::initializer_list<std::string_view> args) {
    auto reply = admin->command(args);
    REQUIRE(reply);
    return *reply;
  };
  auto value_of = [&](std::string_view key) { return raw({"GET", key}).str; };
  auto encoded = [](const Record& record, std::int64_t hits) {
    std::string bytes;
    detail::encode_record(record, bytes, hits);
    return bytes;
  };

  // The layout other processes rely on: one string value with the count in bytes 1-8, which
  // increments change in place; the record's TTL stays.
  write_one(*store, "k", {{"n", "1"}}, 60s);
  CHECK(raw({"TYPE", "k"}).str == "string");
  CHECK(value_of("k") == encoded({{"n", "1"}}, 0));
  StoreBatch increment;
  increment.increments = {{"k", 60s}};
  run(*store, increment);
  run(*store, increment);
  CHECK(value_of("k") == encoded({{"n", "1"}}, 2));
  CHECK(raw({"BITFIELD", "k", "GET", "i64", "8"}).elements.at(0).integer == 2);
  const long long ttl = raw({"PTTL", "k"}).integer;
  CHECK(ttl > 0);
  CHECK(ttl <= 60000);
  CHECK(raw({"DBSIZE"}).integer == 1);  // no key beside the record

  // A count made for a record that has gone reads as no record, expires with the TTL it was
  // given, and the key's next write replaces it.
  StoreBatch stray;
  stray.increments = {{"gone", 60s}};
  run(*store, stray);
  CHECK(value_of("gone").size() == 9);
  CHECK(raw({"PTTL", "gone"}).integer > 0);
  StoreBatch read_gone;
  read_gone.reads = {"gone"};
  const StoreBatchResult gone = run(*store, read_gone);
  CHECK(!gone.records.at(0));
  CHECK(gone.counters.at(0) == 0);
  write_one(*store, "gone", {{"n", "2"}});
  CHECK(value_of("gone") == encoded({{"n", "2"}}, 0));
  CHECK(raw({"PTTL", "gone"}).integer == -1);
  // Without a TTL a stray count stays until that write, or a delete, which does not count it.
  StoreBatch stray_forever;
  stray_forever.increments = {{"gone-too", 0ms}};
  run(*store, stray_forever);
  CHECK(raw({"PTTL", "gone-too"}).integer == -1);
  CHECK(!read_one(*store, "gone-too"));
  StoreBatch remove;
  remove.deletes = {"gone-too", "k"};
  CHECK(run(*store, remove).deleted == 1);
  CHECK(raw({"EXISTS", "gone-too"}).integer == 0);
  write_one(*store, "k", {{"n", "1"}}, 60s);

  // A record of the previous layout (its count in a key of its own) reads as no record.
  raw({"SET", "layout1", std::string("\xB1\x00\x00\x00\x00", 5)});
  CHECK(!read_one(*store, "layout1"));

  // A string semcache did not write is bad_input naming the key, and the connection stays
  // usable; a value of another type reads as no record (MGET), and a write replaces it.
  raw({"SET", "plain", "x"});
  auto wrong = store->read(std::vector<std::string>{"plain"});
  REQUIRE(!wrong);
  CHECK(wrong.status().code() == ErrorCode::kBadInput);
  CHECK(wrong.status().message().find("'plain'") != std::string::npos);
  raw({"HSET", "hash", "f", "v"});
  CHECK(!read_one(*store, "hash"));
  write_one(*store, "hash", {{"n", "1"}}, 60s);
  CHECK(raw({"TYPE", "hash"}).str == "string");

  // A write resets the count.
  run(*store, increment);
  write_one(*store, "k", {{"n", "3"}}, 60s);
  CHECK(value_of("k") == encoded({{"n", "3"}}, 0));
}

TEST_CASE("redis store: concurrent batches keep a consistent state", "[store][redis][concurrency]") {
  testing::RedisServer server;
  check_concurrency(open_redis(server));
}

TEST_CASE("redis store: bad URL, options and password are refused without showing the password", "[store][redis]") {
  testing::RedisServer server({"--requirepass", "s3cret-Pa55"});
  auto wrong = open_redis_store(server.url(":hunter2-xyzzy@"));
  REQUIRE(!wrong);
  CHECK(wrong.status().code() == ErrorCode::kUnavailable);
  CHECK(wrong.status().message().find("AUTH failed") != std::string::npos);
  CHECK(wrong.status().message().find("hunter2-xyzzy") == std::string::npos);

  auto right = open_redis_store(server.url(":s3cret-Pa55@"));
  REQUIRE(right);
  CHECK((*right)->describe().find("s3cret") == std::string::npos);
  write_one(**right, "k", {{"v", "1"}});
  CHECK(read_one(**right, "k"));

  auto malformed = open_redis_store("redis://:s3cret-Pa55@127.0.0.1:99999");
  REQUIRE(!malformed);
  CHECK(malformed.status().code() == ErrorCode::kInvalidArgument);
  CHECK(malformed.status().message().find("s3cret") == std::string::npos);

  auto no_pool = open_redis_store(server.url(), {.pool_size = 0});
  REQUIRE(!no_pool);
  CHECK(no_pool.status().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("redis store: a stopped server fails fast, a restarted one is used again", "[store][redis]") {
  testing::RedisServer server;
  const RedisStoreOptions options{.connect_timeout = 300ms, .command_timeout = 300ms};
  auto store = open_redis(server, options);
  write_one(*store, "k", {{"v", "1"}});
  server.stop();

  const StoreCounters before = store->counters();
  StoreBatch batch;
  batch.writes.push_back({"k2", {{"v", "1"}}, 0ms});
  batch.writes.push_back({"k3", {{"v", "1"}}, 0ms});
  batch.reads = {"k", "k2", "k3"};
  for (int i = 0; i < 3; ++i) {  // a broken pooled connection, a refused connect, the backoff
    const auto start = Clock::now();
    auto result = store->execute(batch);
    const auto elapsed = Clock::now() - start;
    REQUIRE(!result);
    CHECK(result.status().code() == ErrorCode::kUnavailable);
    CHECK(elapsed < options.connect_timeout + options.command_timeout + 1s);
  }
  const StoreCounters after = store->counters();
  CHECK(after.failed_batches == before.failed_batches + 3);
  CHECK(after.dropped_writes == before.dropped_writes + 6);
  CHECK(after.failed_reads == before.failed_reads + 9);
  CHECK(after.connect_failures >= 1);

  // During the backoff, calls fail at once and say so.
  auto backing_off = store->execute(batch);
  REQUIRE(!backing_off);
  CHECK(backing_off.status().message().find("reconnecting in") != std::string::npos);

  server.restart();
  REQUIRE(eventually_succeeds(*store));
  CHECK(store->counters().reconnects >= 1);
  write_one(*store, "k", {{"v", "2"}});
  CHECK(*find_field(*read_one(*store, "k"), "v") == "2");
}

TEST_CASE("redis store: open without require_connection, then the server appears", "[store][redis]") {
  testing::RedisServer server;
  server.stop();
  auto store = open_redis_store(server.url(), {.require_connection = false});
  REQUIRE(store);
  StoreBatch batch;
  batch.reads = {"k"};
  auto result = (*store)->execute(batch);
  REQUIRE(!result);
  CHECK(result.status().code() == ErrorCode::kUnavailable);
  server.restart();
  CHECK(eventually_succeeds(**store));
}

TEST_CASE("redis store: a paused server times out, and is used again after it resumes", "[store][redis]") {
  testing::RedisServer server;
  const RedisStoreOptions options{.connect_timeout = 300ms, .command_timeout = 300ms};
  auto store = open_redis(server, options);
  write_one(*store, "k", {{"v", "1"}});
  server.pause();
  const StoreCounters before = store->counters();
  for (int i = 0; i < 2; ++i) {  // a pooled connection, then a new connect whose handshake times out
    const auto start = Clock::now();
    auto result = store->execute(reads_of("k"));
    const auto elapsed = Clock::now() - start;
    REQUIRE(!result);
    CHECK(result.status().code() == ErrorCode::kUnavailable);
    CHECK(result.status().message().find("timed out") != std::string::npos);
    CHECK(elapsed < options.command_timeout + 1s);
  }
  CHECK(store->counters().timeouts >= before.timeouts + 2);
  server.resume();
  REQUIRE(eventually_succeeds(*store));
  CHECK(read_one(*store, "k"));
}

TEST_CASE("redis store: a pool of one connection serves many threads in turn", "[store][redis]") {
  testing::RedisServer server;
  auto store = open_redis(server, {.command_timeout = 200ms, .pool_size = 1});
  // A scan callback holds no connection, so it may call the store (pool of one) freely.
  write_one(*store, "p:1", {{"v", "1"}});
  Status st = store->scan("p:", 10, [&](std::span<const std::string> keys) {
    for (const auto& key : keys) {
      if (!read_one(*store, key)) return Status::internal("missing " + key);
    }
    return Status::ok();
  });
  CHECK(st);
  // Eight threads share one connection: each waits its turn, all succeed.
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20; ++i) {
        if (store->execute(reads_of("p:1"))) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(ok == 160);
  CHECK(store->counters().connects == 1);
}
