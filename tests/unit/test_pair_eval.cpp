// Tests of labelled-pair evaluation (semcache/pair_eval.hpp) and threshold tuning
// (semcache/threshold_tuning.hpp). Oracles: ROC AUC and confusion counts worked out by hand on
// small distance lists with ties, a Wilson-bounded recommendation whose bounds were computed
// independently (Python, the formula of statistics.cpp), error messages with line numbers on
// malformed pair files, a tiny hand-made log with precomputed embeddings whose nearest earlier
// requests are worked out by hand, and the blocked multi-threaded search against a naive one.

#include <catch2/catch.hpp>

#include <cmath>
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "semcache/embedder.hpp"
#include "semcache/pair_eval.hpp"
#include "semcache/prompt_generator.hpp"
#include "semcache/prompt_log.hpp"
#include "semcache/threshold_tuning.hpp"
#include "temp_dir.hpp"

using namespace semcache;

namespace {

using semcache::testing::TempDir;

std::vector<ScoredPair> pairs_of(const std::vector<double>& positives, const std::vector<double>& negatives) {
  std::vector<ScoredPair> pairs;
  for (double d : positives) pairs.push_back({d, true});
  for (double d : negatives) pairs.push_back({d, false});
  return pairs;
}

std::string pair_error(const std::string& text) {
  TempDir dir;
  const std::string path = dir.write("pairs.jsonl", text);
  auto embedder = make_hash_embedder(64);
  auto result = embed_pairs(path, *embedder);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.status().code() == ErrorCode::kBadInput);
  const std::string message = result.status().message();
  REQUIRE(message.rfind(path + ":", 0) == 0);
  return message.substr(path.size() + 1);
}

PairReadOptions read_options(std::size_t limit, std::size_t batch_pairs, bool skip) {
  PairReadOptions o;
  o.limit = limit;
  o.batch_pairs = batch_pairs;
  o.skip_bad_lines = skip;
  return o;
}

LogTuningOptions log_options(std::size_t threads, bool skip = false, std::size_t batch_texts = 256) {
  LogTuningOptions o;
  o.threads = threads;
  o.log.skip_bad_lines = skip;
  o.batch_texts = batch_texts;
  return o;
}

}  // namespace

TEST_CASE("pair eval: ROC AUC counts ties one half, worked by hand", "[pair_eval]") {
  // Positives {0.1, 0.2, 0.3}, negatives {0.2, 0.4}: of the 6 (positive, negative) pairs the
  // positive is closer in (0.1,0.2) (0.1,0.4) (0.2,0.4) (0.3,0.4), tied in (0.2,0.2), farther in
  // (0.3,0.2): (4 + 0.5) / 6 = 0.75.
  CHECK(roc_auc(pairs_of({0.1, 0.2, 0.3}, {0.2, 0.4})) == Approx(0.75));
  // Every distance tied: (0 + 6 * 0.5) / 6.
  CHECK(roc_auc(pairs_of({0.3, 0.3, 0.3}, {0.3, 0.3})) == Approx(0.5));
  CHECK(roc_auc(pairs_of({0.1, 0.2}, {0.3, 0.4, 0.5})) == Approx(1.0));
  CHECK(roc_auc(pairs_of({0.3, 0.4, 0.5}, {0.1, 0.2})) == Approx(0.0));
  // Positives {0, 0.5, 0.5}, negatives {0.5, 1}: (0,0.5)=1 (0,1)=1 (0.5,0.5)=0.5 twice
  // (0.5,1)=1 twice: 5 / 6.
  CHECK(roc_auc(pairs_of({0.0, 0.5, 0.5}, {0.5, 1.0})) == Approx(5.0 / 6.0));
  CHECK(std::isnan(roc_auc(pairs_of({0.1, 0.2}, {}))));
  CHECK(std::isnan(roc_auc(pairs_of({}, {0.1}))));
}

TEST_CASE("pair eval: counts, rates and best accuracy at thresholds, worked by hand", "[pair_eval]") {
  // Sorted: 0.1 P, 0.2 P, 0.2 N, 0.3 P, 0.4 N (5 pairs, 3 positive).
  const std::vector<ScoredPair> pairs = pairs_of({0.3, 0.1, 0.2}, {0.4, 0.2});
  const std::vector<double> thresholds = {0.05, 0.2, 0.35, 1.0};
  const PairEvaluation e = evaluate_pairs(pairs, thresholds);
  CHECK(e.pairs == 5);
  CHECK(e.positives == 3);
  CHECK(e.roc_auc == Approx(0.75));
  // Accuracy at each distinct distance: 0.1: (1 + 2) / 5, 0.2: (2 + 1) / 5, 0.3: (3 + 1) / 5,
  // 0.4: (3 + 0) / 5.
  CHECK(e.best_threshold == 0.3);
  CHECK(e.best_accuracy == Approx(0.8));
  REQUIRE(e.per_threshold.size() == 4);
  const PairThresholdFigures& none = e.per_threshold[0];
  CHECK(none.accepted() == 0);
  CHECK(none.recall() == 0);
  CHECK(none.precision() == 1);  // nothing served, nothing wrong (as replay's precision)
  CHECK(none.false_hit_rate() == 0);
  CHECK(none.accuracy() == Approx(0.4));
  const PairThresholdFigures& at_tie = e.per_threshold[1];  // <= 0.2 takes both pairs at 0.2
  CHECK(at_tie.threshold == 0.2);
  CHECK(at_tie.true_hits == 2);
  CHECK(at_tie.false_hits == 1);
  CHECK(at_tie.recall() == Approx(2.0 / 3.0));
  CHECK(at_tie.precision() == Approx(2.0 / 3.0));
  CHECK(at_tie.false_hit_rate() == Approx(1.0 / 5.0));
  CHECK(at_tie.accuracy() == Approx(3.0 / 5.0));
  const Interval fhr = at_tie.false_hit_rate_interval();
  CHECK(fhr.low == Approx(wilson_interval(1, 5).low));
  CHECK(fhr.high == Approx(wilson_interval(1, 5).high));
  CHECK(at_tie.recall_interval().high == Approx(wilson_interval(2, 3).high));
  CHECK(at_tie.precision_interval().high == Approx(wilson_interval(2, 3).high));
  CHECK(e.per_threshold[2].true_hits == 3);
  CHECK(e.per_threshold[2].false_hits == 1);
  CHECK(e.per_threshold[3].accepted() == 5);
  CHECK(e.per_threshold[3].false_hit_rate() == Approx(2.0 / 5.0));
  // DESIGN.md's curve: 0, 0.005, ..., 1.
  REQUIRE(e.curve.size() == 201);
  CHECK(e.curve.front().threshold == 0);
  CHECK(e.curve[40].threshold == Approx(0.2));
  CHECK(e.curve.back().threshold == 1);
  CHECK(e.curve.back().recall() == 1);
  const std::vector<double> grid = default_thresholds();
  REQUIRE(grid.size() == 25);
  CHECK(grid.front() == Approx(0.02));
  CHECK(grid.back() == Approx(0.5));
}

TEST_CASE("pair eval: pair files are read with their labels, and bad lines named by line", "[pair_eval]") {
  TempDir dir;
  auto embedder = make_hash_embedder(64);
  SECTION("good lines: 0/1 and true/false labels, extra fields, blank lines, identical and empty texts") {
    const std::string path = dir.write(
        "pairs.jsonl",
        "{\"text_a\": \"how do I sort a list\", \"text_b\": \"how do I sort a list\", \"label\": 1, \"id\": [1, {\"x\": null}]}\n"
        "\n"
        "{\"label\": false, \"text_b\": \"\", \"text_a\": \"capital of France\"}\n"
        "{\"text_a\": \"a\", \"text_b\": \"b\", \"label\": true}\n"
        "{\"text_a\": \"x y z\", \"text_b\": \"q r s\", \"label\": 0}");  // no final newline
    auto result = embed_pairs(path, *embedder, read_options(0, 2, false));
    REQUIRE(result.has_value());
    CHECK(result->lines == 5);
    CHECK(result->dim == 64);
    CHECK(result->embedder == embedder->identity());
    REQUIRE(result->pairs.size() == 4);
    CHECK(result->pairs[0].positive);
    CHECK(result->pairs[0].distance == Approx(0.0).margin(1e-6));  // the same text
    CHECK_FALSE(result->pairs[1].positive);
    CHECK(result->pairs[1].distance == 1.0);  // an empty text embeds to the zero vector
    CHECK(result->pairs[2].positive);
    CHECK_FALSE(result->pairs[3].positive);
    auto limited = embed_pairs(path, *embedder, read_options(2, 256, false));
    REQUIRE(limited.has_value());
    CHECK(limited->pairs.size() == 2);
  }
  SECTION("bad lines name the line and what was expected") {
    const std::string good = R"({"text_a": "a", "text_b": "b", "label": 1})";
    CHECK(pair_error(good + "\n\n" + R"({"text_a": "a", "text_b": "b", "label": "yes"})" + "\n") ==
          "3: field \"label\" must be 0, 1, true or false, got string");
    CHECK(pair_error(R"({"text_a": "a", "text_b": "b", "label": 2})") ==
          "1: field \"label\" must be 0, 1, true or false, got number 2");
    CHECK(pair_error(good + "\n" + R"({"text_a": 5, "text_b": "b", "label": 1})") ==
          "2: field \"text_a\" must be a string, got number");
    CHECK(pair_error(R"({"text_a": "a", "label": 1})") ==
          "1: missing field \"text_b\"; expected {\"text_a\": \"...\", \"text_b\": \"...\", \"label\": 0 or 1}");
    CHECK(pair_error(R"({"text_a": "a", "text_b": "b", "label": 1, "label": 0})") == "1: field \"label\" appears twice");
    CHECK(pair_error(R"(["a", "b", 1])").rfind("1: the line is a JSON array, not an object", 0) == 0);
    CHECK(pair_error(good + "\n" + R"({"text_a": "a", "text_b": "b", "label": 1)").rfind("2: not valid JSON (", 0) == 0);
    // A defect in a field that is not used still makes the line bad.
    CHECK(pair_error(R"({"text_a": "a", "text_b": "b", "label": 1, "note": [1, 2,]})").rfind("1: not valid JSON", 0) == 0);
  }
  SECTION("--on-error skip counts bad lines and goes on") {
    const std::string path = dir.write("mixed.jsonl",
                                       "{\"text_a\": \"a\", \"text_b\": \"b\", \"label\": 1}\n"
                                       "not json\n"
                                       "{\"text_a\": \"c\", \"text_b\": \"d\", \"label\": 7}\n"
                                       "{\"text_a\": \"e\", \"text_b\": \"f\", \"label\": 0}\n");
    auto result = embed_pairs(path, *embedder, read_options(0, 256, true));
    REQUIRE(result.has_value());
    CHECK(result->pairs.size() == 2);
    CHECK(result->skipped_lines == 2);
    REQUIRE(result->skipped_messages.size() == 2);
    CHECK(result->skipped_messages[0].rfind(path + ":2: not valid JSON", 0) == 0);
    CHECK(result->skipped_messages[1] == path + ":3: field \"label\" must be 0, 1, true or false, got number 7");
  }
  SECTION("a file without pairs, and a missing file") {
    const std::string path = dir.write("empty.jsonl", "\n\n");
    auto empty = embed_pairs(path, *embedder);
    REQUIRE_FALSE(empty.has_value());
    CHECK(empty.status().code() == ErrorCode::kBadInput);
    CHECK(empty.status().message().rfind(path + ": no labelled pairs in 2 lines", 0) == 0);
    auto missing = embed_pairs(path + ".nope", *embedder);
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.status().code() == ErrorCode::kNotFound);
  }
}

TEST_CASE("tune: the recommendation maximises hits under the Wilson upper bound, checked by hand", "[pair_eval][tune]") {
  // Wilson 95% upper bounds over 400 trials (computed independently): 0 false hits 0.009513,
  // 1: 0.014024, 2: 0.018045, 3: 0.021816. At a 2% target at most 2 false hits are allowed.
  SECTION("log-like sample: every served request is a hit") {
    TuningSample sample;
    sample.source = TuningSource::kLog;
    sample.items = 400;
    sample.hit_trials = 400;
    for (int i = 1; i <= 300; ++i) sample.candidates.push_back({i / 1000.0, true, i % 50 == 0});
    const std::vector<double> table = {0.1, 0.2};
    const TuningResult r = tune_threshold(sample, 0.02, table);
    CHECK(r.thresholds_scanned == 300);
    REQUIRE(r.found);
    // The third false hit, at 0.150, breaks the bound: the last threshold before it is 0.149.
    CHECK(r.recommended.threshold == 0.149);
    CHECK(r.recommended.hits == 149);
    CHECK(r.recommended.false_hits == 2);
    CHECK(r.recommended.hit_rate == Approx(149.0 / 400.0));
    CHECK(r.recommended.false_hit_rate == Approx(2.0 / 400.0));
    CHECK(r.recommended.false_hit_rate_ci95.high == Approx(0.018045289972));
    CHECK(r.bound_without_false_hits == Approx(0.009512640600));
    REQUIRE(r.per_threshold.size() == 2);
    CHECK(r.per_threshold[0].false_hits == 2);
    CHECK(r.per_threshold[0].within_target);
    CHECK(r.per_threshold[1].false_hits == 4);
    CHECK(r.per_threshold[1].false_hit_rate_ci95.high == Approx(0.025426966994));
    CHECK_FALSE(r.per_threshold[1].within_target);
    // A looser target admits one more false hit: up to 0.199.
    const TuningResult looser = tune_threshold(sample, 0.022, table);
    REQUIRE(looser.found);
    CHECK(looser.recommended.threshold == 0.199);
  }
  SECTION("pairs: a threshold that adds only false hits is not taken") {
    // 400 pairs: 100 positives at 0.001..0.100, negatives at 0.0505 and 0.1005 and 298 beyond 0.5.
    std::vector<ScoredPair> pairs;
    for (int i = 1; i <= 100; ++i) pairs.push_back({i / 1000.0, true});
    pairs.push_back({0.0505, false});
    pairs.push_back({0.1005, false});
    for (int i = 0; i < 298; ++i) pairs.push_back({0.5 + i / 1000.0, false});
    PairDistances source;
    source.pairs = pairs;
    const TuningSample sample = tuning_sample_from_pairs(source);
    CHECK(sample.items == 400);
    CHECK(sample.hit_trials == 100);
    const TuningResult r = tune_threshold(sample, 0.02, {});
    REQUIRE(r.found);
    // 0.1005 keeps the bound (2 false hits) but adds no hit: 0.100 serves as many with fewer.
    CHECK(r.recommended.threshold == 0.1);
    CHECK(r.recommended.hits == 100);
    CHECK(r.recommended.hit_rate == 1.0);
    CHECK(r.recommended.false_hits == 1);
    CHECK(r.recommended.false_hit_rate_ci95.high == Approx(0.014023640967));
  }
  SECTION("a sample too small to show the target") {
    TuningSample sample;
    sample.items = 100;
    sample.hit_trials = 100;
    sample.candidates.push_back({0.01, true, false});
    const TuningResult r = tune_threshold(sample, 0.02, {});
    CHECK_FALSE(r.found);
    CHECK(r.bound_without_false_hits == Approx(0.036994807476));
    const std::string json = tune_result_json(r, sample, {});
    CHECK(json.find("\"threshold\": null") != std::string::npos);
  }
}

TEST_CASE("tune: a log's candidates are the nearest earlier requests of the same tenant and model", "[pair_eval][tune]") {
  TempDir dir;
  // Precomputed 2-d embeddings make the distances exact: 1 - cos.
  const std::string path = dir.write(
      "log.jsonl",
      R"({"prompt": "p1", "tenant": "a", "model": "m1", "group": "g1", "embedding": [1, 0]})" "\n"
      R"({"prompt": "p2", "tenant": "a", "model": "m1", "group": "g1", "embedding": [0.8, 0.6]})" "\n"
      R"({"prompt": "p3", "tenant": "b", "model": "m1", "group": "g1", "embedding": [2, 0]})" "\n"
      R"({"prompt": "p4", "tenant": "a", "model": "m1", "group": "g2", "embedding": [0.6, 0.8]})" "\n"
      R"({"prompt": "p5", "tenant": "a", "model": "m1", "embedding": [0, 1]})" "\n"
      R"({"prompt": "p6", "tenant": "a", "model": "m2", "group": "g2", "embedding": [1, 0]})" "\n"
      R"({"prompt": "p7", "tenant": "b", "model": "m1", "group": "g3", "embedding": [-1, 0]})" "\n");
  // By hand: p1, p3 (tenant b), p6 (model m2) start their scopes; p2 -> p1 at 0.2, same group;
  // p4 -> p2 at 1 - 0.96 = 0.04 (p1 is at 0.4), another group: a false hit; p5 -> p4 at 0.2,
  // unjudged (no group); p7 -> p3 at 2 (opposite), another group.
  auto embedder = make_hash_embedder(64);
  for (std::size_t threads : {1, 3}) {
    auto sample = tuning_sample_from_log(path, *embedder, log_options(threads));
    REQUIRE(sample.has_value());
    CHECK(sample->items == 7);
    CHECK(sample->scopes == 3);
    CHECK(sample->judged == 3);
    CHECK(sample->embedded == 0);
    CHECK(sample->embedder == "precomputed");
    CHECK(sample->dim == 2);
    REQUIRE(sample->candidates.size() == 4);
    std::vector<double> distances;
    for (const TuningCandidate& c : sample->candidates) {
      CHECK(c.counts_as_hit);
      distances.push_back(c.distance);
    }
    std::sort(distances.begin(), distances.end());
    CHECK(distances[0] == Approx(0.04).margin(1e-6));
    CHECK(distances[1] == Approx(0.2).margin(1e-6));
    CHECK(distances[2] == Approx(0.2).margin(1e-6));
    CHECK(distances[3] == Approx(2.0).margin(1e-6));
    const std::vector<double> table = {0.1, 0.3, 2.0};
    const TuningResult r = tune_threshold(*sample, 0.5, table);
    CHECK(r.per_threshold[0].served == 1);
    CHECK(r.per_threshold[0].false_hits == 1);
    CHECK(r.per_threshold[1].served == 3);
    CHECK(r.per_threshold[1].false_hits == 1);
    CHECK(r.per_threshold[1].hit_rate == Approx(3.0 / 7.0));
    CHECK(r.per_threshold[1].false_hit_rate == Approx(1.0 / 7.0));
    CHECK(r.per_threshold[2].served == 4);
    CHECK(r.per_threshold[2].false_hits == 2);
    // A cache that stores only misses, by hand. At 0.3: p1 stored; p2 served by p1; p4's nearest
    // (p2) was a hit, so not stored, and p1 is at 0.4: a miss, stored; p5 served by p4
    // (unjudged); p3, p6, p7 misses (p7 is at 2 from p3). At 0.5: p4 is served by p1 (another
    // group); p5's nearest stored is then p1 at 1: a miss. At 2: p5 served by p1, p7 by p3.
    REQUIRE(r.simulated);
    REQUIRE(r.per_threshold_simulated.size() == 3);
    const TuningPoint at_03 = simulate_cache(*sample, 0.3, 0.5);
    CHECK(at_03.served == 2);
    CHECK(at_03.false_hits == 0);
    CHECK(at_03.hit_rate == Approx(2.0 / 7.0));
    const TuningPoint at_05 = simulate_cache(*sample, 0.5, 0.5);
    CHECK(at_05.served == 2);
    CHECK(at_05.false_hits == 1);
    const TuningPoint at_2 = simulate_cache(*sample, 2.0, 0.5);
    CHECK(at_2.served == 4);
    CHECK(at_2.false_hits == 2);
    CHECK(r.per_threshold_simulated[2].served == 4);
    // At 0.1 p2 (0.2 from p1) is a miss, so stored, and serves p4 at 0.04: a false hit.
    CHECK(r.per_threshold_simulated[0].served == 1);
    CHECK(r.per_threshold_simulated[0].false_hits == 1);
  }
  SECTION("bad logs") {
    const std::string no_groups = dir.write("nogroups.jsonl", R"({"prompt": "a"})" "\n" R"({"prompt": "b"})" "\n");
    auto a = tuning_sample_from_log(no_groups, *embedder);
    REQUIRE_FALSE(a.has_value());
    CHECK(a.status().code() == ErrorCode::kBadInput);
    CHECK(a.status().message().rfind(no_groups + ": no request has a \"group\" field", 0) == 0);
    const std::string wrong_dim = dir.write(
        "dims.jsonl", R"({"prompt": "a", "group": "g", "embedding": [1, 0]})" "\n"
                      R"({"prompt": "b", "group": "g", "embedding": [1, 0, 0]})" "\n");
    auto b = tuning_sample_from_log(wrong_dim, *embedder);
    REQUIRE_FALSE(b.has_value());
    CHECK(b.status().message() == wrong_dim + ":2: \"embedding\" has 3 dimensions, expected 2 (the log's first vector)");
    auto skipped = tuning_sample_from_log(wrong_dim, *embedder, log_options(0, true));
    REQUIRE(skipped.has_value());
    CHECK(skipped->items == 1);
    CHECK(skipped->skipped_lines == 1);
    const std::string bad_line = dir.write("bad.jsonl", R"({"prompt": "a", "group": "g"})" "\n" R"({"prompt": 5})" "\n");
    auto c = tuning_sample_from_log(bad_line, *embedder);
    REQUIRE_FALSE(c.has_value());
    CHECK(c.status().message().rfind(bad_line + ":2:", 0) == 0);
  }
}

TEST_CASE("tune: the blocked, threaded nearest-earlier search equals a naive one on a generated log", "[pair_eval][tune]") {
  TempDir dir;
  std::string text;
  std::vector<GeneratedPrompt> records;
  GeneratePromptsOptions options;
  options.n = 700;
  options.groups = 150;
  options.seed = 7;
  options.tenants = 2;
  REQUIRE(generate_prompts(options, [&](const GeneratedPrompt& r) {
            records.push_back(r);
            text += prompt_record_json(r) + "\n";
          }).has_value());
  const std::string path = dir.write("generated.jsonl", text);
  auto embedder = make_hash_embedder(128);
  // Naive oracle: embed one by one, compare with every earlier request of the scope.
  std::vector<std::vector<float>> vectors;
  for (const GeneratedPrompt& r : records) {
    std::vector<float> v(embedder->dim());
    const std::string_view prompt = r.prompt;
    REQUIRE(embedder->embed(std::span<const std::string_view>(&prompt, 1), v).is_ok());
    vectors.push_back(v);
  }
  std::vector<TuningCandidate> expected;
  for (std::size_t i = 0; i < records.size(); ++i) {
    double best = 3;
    std::size_t from = 0;
    for (std::size_t j = 0; j < i; ++j) {
      if (records[j].tenant != records[i].tenant || records[j].model != records[i].model) continue;
      const double d = cosine_distance(vectors[i], vectors[j]);
      if (d < best) {
        best = d;
        from = j;
      }
    }
    if (best < 3) expected.push_back({best, true, records[from].group != records[i].group});
  }
  const auto by_distance = [](const TuningCandidate& a, const TuningCandidate& b) {
    return a.distance != b.distance ? a.distance < b.distance : a.false_hit < b.false_hit;
  };
  std::sort(expected.begin(), expected.end(), by_distance);
  // Naive misses-only cache: each request against every stored request of its scope.
  const auto simulate_naive = [&](double threshold) {
    std::vector<std::size_t> stored;
    std::pair<std::uint64_t, std::uint64_t> served_false{0, 0};
    for (std::size_t i = 0; i < records.size(); ++i) {
      double best = 3;
      std::size_t from = 0;
      for (std::size_t j : stored) {
        if (records[j].tenant != records[i].tenant || records[j].model != records[i].model) continue;
        const double d = cosine_distance(vectors[i], vectors[j]);
        if (d < best) {
          best = d;
          from = j;
        }
      }
      if (best <= threshold) {
        ++served_false.first;
        served_false.second += records[from].group != records[i].group ? 1 : 0;
      } else {
        stored.push_back(i);
      }
    }
    return served_false;
  };
  for (std::size_t threads : {1, 2, 4}) {
    auto sample = tuning_sample_from_log(path, *embedder, log_options(threads, false, 100));
    REQUIRE(sample.has_value());
    CHECK(sample->embedded == records.size());
    std::vector<TuningCandidate> got = sample->candidates;
    std::sort(got.begin(), got.end(), by_distance);
    REQUIRE(got.size() == expected.size());
    std::size_t false_expected = 0, false_got = 0;
    for (std::size_t k = 0; k < got.size(); ++k) {
      CHECK(got[k].distance == Approx(expected[k].distance).margin(1e-5));
      false_expected += expected[k].false_hit ? 1 : 0;
      false_got += got[k].false_hit ? 1 : 0;
    }
    CHECK(false_got == false_expected);
    CHECK(false_expected > 0);  // the log has hard negatives: the oracle is not trivially empty
    for (double threshold : {0.05, 0.15, 0.3}) {
      const auto [served, false_hits] = simulate_naive(threshold);
      const TuningPoint point = simulate_cache(*sample, threshold, 0.02);
      CHECK(point.served == served);
      CHECK(point.false_hits == false_hits);
    }
    // The log's recommendation is the simulated cache's, within the target, and never above
    // the every-request-cached one.
    const TuningResult r = tune_threshold(*sample, 0.05, {});
    REQUIRE(r.found);
    REQUIRE(r.nearest_earlier_found);
    CHECK(r.simulated);
    CHECK(r.recommended.within_target);
    CHECK(r.recommended.threshold <= r.nearest_earlier.threshold);
    CHECK(simulate_cache(*sample, r.recommended.threshold, 0.05).served == r.recommended.served);
  }
}
