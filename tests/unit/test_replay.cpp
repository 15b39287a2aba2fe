// Tests of the replay engine (semcache/replay.hpp) on synthetic logs of known truth (the prompt
// generator) and on small hand-written logs. Oracles: an independent recount of exact repeats
// from the log, the per-request path against the pipelined one, a replay of one threshold
// against the same threshold inside a multi-threshold replay, and hand-computed figures.

#include <catch2/catch.hpp>

#include <simdjson.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <algorithm>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <unistd.h>

#include "generated_log.hpp"
#include "redis_server.hpp"
#include "semcache/prompt_generator.hpp"
#include "semcache/prompt_log.hpp"
#include "semcache/replay.hpp"
#include "temp_dir.hpp"

using namespace semcache;

namespace {

using testing::TempDir;
using testing::generated_log;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

ReplayResult replay_ok(const std::string& path, const ReplayOptions& options) {
  auto result = run_replay(path, options);
  INFO((result ? std::string() : result.status().message()));
  REQUIRE(result.has_value());
  return std::move(*result);
}

Status replay_error(const std::string& path, const ReplayOptions& options) {
  auto result = run_replay(path, options);
  REQUIRE_FALSE(result.has_value());
  return result.status();
}

void check_balanced(const ReplayFigures& f) {
  CHECK(f.requests == f.exact_hits + f.semantic_hits + f.misses + f.errors);
  CHECK(f.lookup_ns.count() == f.requests);
  CHECK(f.end_to_end_ns.count() == f.requests);
  if (!f.timeline.empty()) CHECK(f.timeline.back().requests == f.requests);
}

// The exact cache's hits, recounted from the log: a request whose (tenant, model, canonical
// request) appeared on an earlier line.
std::uint64_t count_exact_repeats(const std::string& path) {
  auto reader = PromptLogReader::open(path);
  REQUIRE(reader.has_value());
  std::set<std::tuple<std::string, std::string, std::string>> seen;
  std::uint64_t repeats = 0;
  PromptRecord record;
  while (true) {
    auto got = (*reader)->next(record);
    REQUIRE(got.has_value());
    if (!*got) break;
    if (!seen.emplace(record.tenant, record.model, canonical_request(record)).second) ++repeats;
  }
  return repeats;
}

}  // namespace

TEST_CASE("replay: exact hits equal an independent recount of repeated requests", "[replay]") {
  TempDir dir;
  const std::string log = generated_log(dir, 3000, 600, 7);
  ReplayOptions options;
  options.mode = CacheMode::kExact;
  const ReplayResult r = replay_ok(log, options);
  REQUIRE(r.runs.size() == 1);
  const ReplayFigures& f = r.runs.front();
  check_balanced(f);
  CHECK(r.lines == 3000);
  CHECK(f.requests == 3000);
  CHECK(f.errors == 0);
  CHECK(f.semantic_hits == 0);
  CHECK(f.exact_hits == count_exact_repeats(log));
  CHECK(f.exact_hits > 0);
  // An exact hit is the same request, so it is never judged false here (the generator gives one
  // group per prompt text).
  CHECK(f.has_groups);
  CHECK(f.false_hits == 0);
  CHECK(f.judged_hits == f.exact_hits);
  CHECK(f.timeline.size() == options.timeline_points);
  CHECK(r.embedder.empty());
}

TEST_CASE("replay: the pipelined exact path decides exactly like per-request lookups", "[replay][concurrency]") {
  TempDir dir;
  const std::string log = generated_log(dir, 2000, 400, 3);
  ReplayOptions batched;
  batched.mode = CacheMode::kExact;
  batched.batch_size = 64;
  batched.decisions_path = dir.path("batched.jsonl");
  const ReplayResult a = replay_ok(log, batched);

  // Recorded pacing at a huge speed: one worker, one lookup and store per request, no waiting.
  ReplayOptions single = batched;
  single.pace = Pace::kRecorded;
  single.speed = 1e9;
  single.decisions_path = dir.path("single.jsonl");
  const ReplayResult b = replay_ok(log, single);

  CHECK(a.runs[0].exact_hits == b.runs[0].exact_hits);
  CHECK(a.runs[0].misses == b.runs[0].misses);
  CHECK(a.runs[0].prompt_tokens_saved == b.runs[0].prompt_tokens_saved);
  CHECK(a.runs[0].cost_saved_usd == Approx(b.runs[0].cost_saved_usd));
  // Line by line, the same outcome and the same source line.
  CHECK(read_file(batched.decisions_path) == read_file(single.decisions_path));

  // Three workers, each owning a share of the keys: the same decisions (in another order).
  ReplayOptions routed = batched;
  routed.concurrency = 3;
  routed.decisions_path = dir.path("routed.jsonl");
  const ReplayResult c = replay_ok(log, routed);
  CHECK(c.runs[0].exact_hits == b.runs[0].exact_hits);
  auto sorted_lines = [](const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::sort(lines.begin(), lines.end());
    return lines;
  };
  CHECK(sorted_lines(read_file(routed.decisions_path)) == sorted_lines(read_file(single.decisions_path)));
}

TEST_CASE("replay: each threshold replays as if run alone", "[replay]") {
  TempDir dir;
  const std::string log = generated_log(dir, 1500, 300, 11);
  ReplayOptions several;
  several.mode = CacheMode::kBoth;
  several.thresholds = {0.05, 0.1, 0.2};
  const ReplayResult all = replay_ok(log, several);
  REQUIRE(all.runs.size() == 3);
  ReplayOptions alone = several;
  alone.thresholds = {0.1};
  const ReplayResult one = replay_ok(log, alone);
  const ReplayFigures& a = all.runs[1];
  const ReplayFigures& b = one.runs[0];
  CHECK(a.threshold == 0.1);
  CHECK(a.exact_hits == b.exact_hits);
  CHECK(a.semantic_hits == b.semantic_hits);
  CHECK(a.misses == b.misses);
  CHECK(a.false_hits == b.false_hits);
  CHECK(a.judged_hits == b.judged_hits);
  for (const ReplayFigures& f : all.runs) check_balanced(f);
  // A looser threshold accepts everything a tighter one does, and the exact part does not move.
  CHECK(all.runs[0].hits() <= all.runs[1].hits());
  CHECK(all.runs[1].hits() <= all.runs[2].hits());
  CHECK(all.runs[2].semantic_hits > 0);
  CHECK(all.runs[0].exact_hits > 0);
  CHECK(all.embedder == "hash-v1/256");
  CHECK(all.dim == 256);
}

TEST_CASE("replay: precomputed embeddings are used, and their dimension is enforced", "[replay]") {
  TempDir dir;
  // Lines 1 and 2 share nothing in their text but carry the same vector: only the embeddings
  // can make line 2 a semantic hit. Line 3 points elsewhere.
  const std::string log = dir.write("emb.jsonl",
                                    R"({"model":"m","prompt":"alpha beta","response":"A","group":"a","embedding":[1,0,0,0]})" "\n"
                                    R"({"model":"m","prompt":"zzz qqq xxx","response":"B","group":"b","embedding":[1,0,0,0.01]})" "\n"
                                    R"({"model":"m","prompt":"gamma","response":"C","embedding":[0,1,0,0]})" "\n");
  ReplayOptions options;
  options.mode = CacheMode::kSemantic;
  options.decisions_path = dir.path("d.jsonl");
  const ReplayResult r = replay_ok(log, options);
  CHECK(r.embedder == "precomputed");
  CHECK(r.dim == 4);
  const ReplayFigures& f = r.runs.front();
  CHECK(f.semantic_hits == 1);
  CHECK(f.misses == 2);
  CHECK(f.judged_hits == 1);
  CHECK(f.false_hits == 1);  // group b served group a's answer
  CHECK(f.precision() == 0.0);
  CHECK(f.embed_ns == 0);
  const std::string decisions = read_file(options.decisions_path);
  CHECK(decisions.find(R"("line":2,"outcome":"semantic","source_line":1)") != std::string::npos);

  SECTION("an embedding of another size names the line and the first embedding's") {
    const std::string bad = dir.write("bad.jsonl", read_file(log) + R"({"prompt":"p","embedding":[1,2,3]})" "\n");
    const Status st = replay_error(bad, options);
    CHECK(st.code() == ErrorCode::kBadInput);
    CHECK_THAT(st.message(), Catch::Contains("bad.jsonl:4: embedding has 3 values, expected 4") &&
                                 Catch::Contains("line 1"));
    // Exact mode does not use vectors but still refuses an inconsistent log.
    options.mode = CacheMode::kExact;
    CHECK(replay_error(bad, options).code() == ErrorCode::kBadInput);
    // With skip, the line is counted and the rest replayed.
    options.log.skip_bad_lines = true;
    const ReplayResult skipped = replay_ok(bad, options);
    CHECK(skipped.skipped_lines == 1);
    CHECK(skipped.runs[0].requests == 3);
    REQUIRE(skipped.skipped_messages.size() == 1);
    CHECK_THAT(skipped.skipped_messages[0], Catch::Contains("bad.jsonl:4: embedding has 3 values"));
  }
  SECTION("a line without embedding is embedded only when the embedder's dimension fits") {
    const std::string mixed = dir.write("mixed.jsonl", read_file(log) + R"({"prompt":"no vector here"})" "\n");
    const Status st = replay_error(mixed, options);
    CHECK_THAT(st.message(), Catch::Contains("mixed.jsonl:4: no embedding") && Catch::Contains("hash:4"));
    options.embedder = "hash:8";
    CHECK(replay_error(mixed, options).code() == ErrorCode::kBadInput);
    const std::string mixed8 = dir.write(
        "mixed8.jsonl", R"({"prompt":"a","embedding":[1,0,0,0,0,0,0,0]})" "\n" R"({"prompt":"no vector here"})" "\n");
    const ReplayResult ok = replay_ok(mixed8, options);
    CHECK(ok.runs[0].requests == 2);
    CHECK(ok.runs[0].embed_ns > 0);
  }
}

TEST_CASE("replay: bad lines are fatal with their line number, or skipped and counted", "[replay]") {
  TempDir dir;
  const std::string log = dir.write("bad.jsonl",
                                    R"({"prompt":"one","response":"1"})" "\n"
                                    R"({"response":"no prompt"})" "\n"
                                    R"({"prompt":"one","response":"1"})" "\n"
                                    "{not json\n"
                                    R"({"prompt":"one","response":"1"})" "\n");
  ReplayOptions options;
  options.mode = CacheMode::kExact;
  const Status st = replay_error(log, options);
  CHECK(st.code() == ErrorCode::kBadInput);
  CHECK_THAT(st.message(), Catch::StartsWith(log + ":2:"));

  options.log.skip_bad_lines = true;
  const ReplayResult r = replay_ok(log, options);
  CHECK(r.lines == 5);
  CHECK(r.skipped_lines == 2);
  CHECK(r.skipped_messages.size() == 2);
  CHECK(r.runs[0].requests == 3);
  CHECK(r.runs[0].exact_hits == 2);
  CHECK(r.runs[0].misses == 1);
}

TEST_CASE("replay: saved tokens and money come from the request served and the price table", "[replay]") {
  TempDir dir;
  const std::string log =
      dir.write("p.jsonl",
                R"({"model":"gpt-x","prompt":"q","response":"a","prompt_tokens":100,"completion_tokens":1000})" "\n"
                R"({"model":"gpt-x","prompt":"q","response":"a","prompt_tokens":200,"completion_tokens":2000})" "\n"
                R"({"model":"mystery","prompt":"q","response":"a","prompt_tokens":7,"completion_tokens":9})" "\n"
                R"({"model":"mystery","prompt":"q","response":"a","prompt_tokens":7,"completion_tokens":9})" "\n");
  auto prices = PriceTable::parse(R"({"gpt-x": {"input": 1.0, "output": 10.0}})", "prices.json");
  REQUIRE(prices.has_value());
  ReplayOptions options;
  options.mode = CacheMode::kExact;
  options.prices = *prices;
  const ReplayResult r = replay_ok(log, options);
  const ReplayFigures& f = r.runs.front();
  CHECK(f.exact_hits == 2);
  CHECK(f.prompt_tokens_saved == 207);
  CHECK(f.completion_tokens_saved == 2009);
  CHECK(f.cost_saved_usd == Approx((200 * 1.0 + 2000 * 10.0) / 1e6));
  CHECK(f.unpriced_hits == 1);
  CHECK(r.unpriced_models == std::vector<std::string>{"mystery"});

  options.prices_required = true;
  const Status st = replay_error(log, options);
  CHECK(st.code() == ErrorCode::kBadInput);
  CHECK_THAT(st.message(), Catch::Contains("p.jsonl:3:") && Catch::Contains("\"mystery\"") &&
                               Catch::Contains("prices.json"));
  options.log.skip_bad_lines = true;
  const ReplayResult skipped = replay_ok(log, options);
  CHECK(skipped.runs[0].requests == 2);
  CHECK(skipped.skipped_lines == 2);
  CHECK(skipped.unpriced_models.empty());
}

TEST_CASE("replay: recorded pacing follows the log's clock divided by speed", "[replay]") {
  TempDir dir;
  std::string text;
  for (int i = 0; i < 5; ++i) {
    text += R"({"ts":)" + std::to_string(1000 + i) + R"(,"prompt":"p)" + std::to_string(i % 2) + R"(","response":"r"})" "\n";
  }
  const std::string log = dir.write("t.jsonl", text);
  ReplayOptions options;
  options.mode = CacheMode::kExact;
  options.pace = Pace::kRecorded;
  options.speed = 20;  // 4 s of log in 0.2 s
  options.concurrency = 2;
  const ReplayResult r = replay_ok(log, options);
  const ReplayFigures& f = r.runs.front();
  check_balanced(f);
  CHECK(f.requests == 5);
  CHECK(f.exact_hits == 3);
  CHECK(f.seconds >= 0.19);  // the last request was not due before 0.2 s
  CHECK(f.timeline.back().ts == 1004);

  const std::string no_ts = dir.write("n.jsonl", text + R"({"prompt":"late"})" "\n");
  const Status st = replay_error(no_ts, options);
  CHECK_THAT(st.message(), Catch::Contains("n.jsonl:6:") && Catch::Contains("ts"));
}

TEST_CASE("replay: bad options are invalid_argument before any work", "[replay]") {
  TempDir dir;
  const std::string log = dir.write("one.jsonl", R"({"prompt":"q","response":"a"})" "\n");
  ReplayOptions options;
  options.thresholds = {2.5};
  CHECK(replay_error(log, options).code() == ErrorCode::kInvalidArgument);
  options.thresholds = {0.1};
  options.embedder = "nope";
  CHECK(replay_error(log, options).code() == ErrorCode::kInvalidArgument);
  options.embedder = "hash";
  options.concurrency = 0;
  CHECK(replay_error(log, options).code() == ErrorCode::kInvalidArgument);
  const ReplayOptions defaults;  // a named object: GCC 12 warns falsely about a temporary's map
  CHECK(replay_error(dir.path("missing.jsonl"), defaults).code() != ErrorCode::kOk);
}

TEST_CASE("replay: on Redis the outcomes equal the embedded store's, and a dead Redis is unavailable", "[replay][redis]") {
  TempDir dir;
  const std::string log = generated_log(dir, 800, 200, 5);
  testing::RedisServer server;
  ReplayOptions options;
  options.mode = CacheMode::kBoth;
  options.thresholds = {0.1, 0.2};
  options.decisions_path = dir.path("memory.jsonl");
  const ReplayResult memory = replay_ok(log, options);
  options.redis_url = server.url();
  options.decisions_path = dir.path("redis.jsonl");
  const ReplayResult redis = replay_ok(log, options);
  CHECK_THAT(redis.store, Catch::Contains(std::to_string(server.port())));
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(redis.runs[i].exact_hits == memory.runs[i].exact_hits);
    CHECK(redis.runs[i].semantic_hits == memory.runs[i].semantic_hits);
    CHECK(redis.runs[i].errors == 0);
    CHECK(redis.runs[i].store.round_trips > 0);
  }
  CHECK(read_file(options.decisions_path) == read_file(dir.path("memory.jsonl")));

  // Exact mode pipelines: far fewer round trips than requests.
  options.mode = CacheMode::kExact;
  options.thresholds = {0.1};
  options.batch_size = 100;
  const ReplayResult exact = replay_ok(log, options);
  CHECK(exact.runs[0].store.round_trips < exact.runs[0].requests / 4);

  server.stop();
  const Status st = replay_error(log, options);
  CHECK(st.code() == ErrorCode::kUnavailable);
  CHECK_THAT(st.message(), Catch::Contains(std::to_string(server.port())));
}

TEST_CASE("replay: Redis dying mid-replay is counted, not fatal, and a restarted Redis is used again",
          "[replay][redis]") {
  TempDir dir;
  const std::string log = generated_log(dir, 2000, 300, 9);  // about 100 s of log at 20 requests/s
  testing::RedisServer server;
  ReplayOptions options;
  options.mode = CacheMode::kExact;
  options.redis_url = server.url();
  options.redis.command_timeout = std::chrono::milliseconds(200);
  options.pace = Pace::kRecorded;
  options.speed = 50;  // about 2 s
  options.timeline_points = 10;
  std::optional<Expected<ReplayResult>> outcome;
  std::thread replay([&] { outcome.emplace(run_replay(log, options)); });
  // The server is stopped and restarted (empty) from this thread, which owns the fixture.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  server.stop();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  server.restart();
  replay.join();
  REQUIRE(outcome.has_value());
  INFO((*outcome ? std::string() : outcome->status().message()));
  REQUIRE(outcome->has_value());
  const ReplayFigures& f = (*outcome)->runs.front();
  check_balanced(f);
  CHECK(f.requests == 2000);
  CHECK(f.errors > 0);
  CHECK(f.dropped_stores > 0);
  CHECK(f.store.reconnects + f.store.connects >= 2);
  // The last tenth starts about 1 s after the restart: hits again.
  CHECK(f.timeline.back().hit_rate > 0);
}

TEST_CASE("replay: several workers decide every request once and the counts balance", "[replay][concurrency]") {
  TempDir dir;
  const std::string log = generated_log(dir, 1200, 300, 13);
  ReplayOptions options;
  options.mode = CacheMode::kBoth;
  options.concurrency = 4;
  options.thresholds = {0.1, 0.2};
  options.decisions_path = dir.path("d.jsonl");
  const ReplayResult r = replay_ok(log, options);
  for (const ReplayFigures& f : r.runs) {
    check_balanced(f);
    CHECK(f.requests == 1200);
    CHECK(f.hits() > 0);
  }
  // Each (threshold, line) pair is decided exactly once.
  std::ifstream in(options.decisions_path);
  std::set<std::string> seen;
  std::size_t count = 0;
  for (std::string line; std::getline(in, line); ++count) {
    const std::size_t outcome = line.find(",\"outcome\"");
    REQUIRE(outcome != std::string::npos);
    seen.insert(line.substr(0, outcome));
  }
  CHECK(count == 2400);
  CHECK(seen.size() == 2400);
}

TEST_CASE("replay: repeat replays each threshold again and reports the median-throughput repetition", "[replay]") {
  TempDir dir;
  const std::string log = generated_log(dir, 800, 200, 21);
  ReplayOptions options;
  options.mode = CacheMode::kExact;
  options.thresholds = {0.1, 0.2};
  options.repeat = 3;
  options.decisions_path = dir.path("d.jsonl");
  const ReplayResult r = replay_ok(log, options);
  REQUIRE(r.runs.size() == 2);
  for (const ReplayFigures& f : r.runs) {
    check_balanced(f);
    REQUIRE(f.repeats.size() == 3);
    // Every repetition starts from an empty namespace: the same outcomes each time.
    for (const ReplayRepetition& rep : f.repeats) {
      CHECK(rep.hit_rate == f.hit_rate());
      CHECK(rep.errors == 0);
      CHECK(rep.lookup_us.count == f.requests);
    }
    std::vector<double> rps;
    for (const ReplayRepetition& rep : f.repeats) rps.push_back(rep.throughput_rps);
    std::sort(rps.begin(), rps.end());
    CHECK(f.throughput_rps() == rps[1]);
  }
  // Decisions come from the first repetition only: one line per (threshold, request).
  std::ifstream in(options.decisions_path);
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) ++lines;
  CHECK(lines == 1600);
  const std::string json = replay_result_json(r, options);
  auto doc = simdjson::padded_string(json);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(doc).get(root) == simdjson::SUCCESS);
  CHECK(root["params"]["repeat"].get_uint64().value() == 3);
  CHECK(root["repeats"].get_array().size() == 3);
  CHECK(root["per_threshold"].at(1)["repeats"].get_array().size() == 3);

  options.repeat = 0;
  CHECK(replay_error(log, options).code() == ErrorCode::kInvalidArgument);
}
