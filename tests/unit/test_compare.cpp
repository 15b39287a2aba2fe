// compare: limit and requirement parsing, the Mann-Whitney noise test against a brute-force
// enumeration, run matching, verdicts with and without repetitions, the errors a gate must not
// swallow, and the three renderings.

#include <catch2/catch.hpp>

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "harness/compare_detail.hpp"
#include "semcache/compare.hpp"
#include "temp_dir.hpp"

using namespace semcache;

namespace {

// A recall result with one run per ef; `repeats` (may be empty) lists each repetition's qps.
struct RecallRun {
  int ef = 16;
  double recall = 0.95;
  double qps = 10000;
  double p99 = 50;
  std::vector<double> qps_repeats;
};

std::string recall_json(const std::vector<RecallRun>& runs, const std::string& quant = "int8") {
  std::string items;
  for (const RecallRun& r : runs) {
    std::string repeats;
    for (double q : r.qps_repeats) {
      repeats += fmt::format("{}{{\"qps\": {}, \"recall_at_k\": {}, \"latency_us\": {{\"p99\": {}}}}}",
                             repeats.empty() ? "" : ", ", q, r.recall, r.p99);
    }
    items += fmt::format(
        "{}{{\"ef\": {}, \"k\": 10, \"recall_at_k\": {}, \"qps\": {}, \"latency_us\": {{\"p50\": 20, \"p99\": {}}}{}}}",
        items.empty() ? "" : ", ", r.ef, r.recall, r.qps, r.p99,
        repeats.empty() ? "" : ", \"repeats\": [" + repeats + "]");
  }
  return fmt::format(R"({{"kind": "recall", "semcache_version": "0.1.0",
    "params": {{"base": "/data/{}/base.fvecs", "k": 10, "quant": "{}", "m": 16, "ef_construction": 200, "threads": 2, "n": 5000, "dim": 32}},
    "machine": {{"cores": 2, "cpu_model": "test", "simd_level": "avx2"}},
    "build": {{"seconds": 1.5, "vectors_per_second": 3333, "memory_bytes": 1600000}},
    "runs": [{}]}})",
                     quant == "int8" ? "a" : "b", quant, items);
}

Expected<CompareResult> compare(const std::string& base, const std::string& cur, const CompareOptions& options = {}) {
  return compare_result_texts(base, "base.json", cur, "cur.json", options);
}

CompareOptions with_limits(const std::string& limits) {
  CompareOptions options;
  auto parsed = parse_regression_limits(limits);
  REQUIRE(parsed);
  options.limits = *parsed;
  return options;
}

const FigureChange& figure(const CompareResult& result, const std::string& run, const std::string& name) {
  for (const RunComparison& r : result.runs) {
    if (r.label != run) continue;
    for (const FigureChange& f : r.figures) {
      if (f.figure == name) return f;
    }
  }
  FAIL("no figure " << name << " in run " << run);
  throw std::logic_error("unreachable");
}

// The oracle for the noise test: every split of the pooled values into samples of the same
// sizes, each equally likely, the statistic being the current sample's mid-rank sum.
double brute_force_p(const std::vector<double>& base, const std::vector<double>& cur, Better better) {
  std::vector<double> pooled = base;
  pooled.insert(pooled.end(), cur.begin(), cur.end());
  const std::size_t n = pooled.size();
  std::vector<double> rank(n);
  for (std::size_t i = 0; i < n; ++i) {
    double below = 0, equal = 0;
    for (double v : pooled) {
      below += v < pooled[i];
      equal += v == pooled[i];
    }
    rank[i] = below + (equal + 1) / 2;
  }
  double observed = 0;
  for (std::size_t i = base.size(); i < n; ++i) observed += rank[i];
  double total = 0, extreme = 0;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<std::size_t>(__builtin_popcount(mask)) != cur.size()) continue;
    double sum = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (mask & (1u << i)) sum += rank[i];
    }
    total += 1;
    if (better == Better::kHigher ? sum <= observed + 1e-9 : sum >= observed - 1e-9) extreme += 1;
  }
  return extreme / total;
}

}  // namespace

TEST_CASE("compare: regression limits parse relative, absolute and prefix forms", "[compare]") {
  auto limits = parse_regression_limits("qps=10%,recall_at_k=0.005,latency_us.*=25%");
  REQUIRE(limits);
  REQUIRE(limits->size() == 3);
  CHECK((*limits)[0].figure == "qps");
  CHECK((*limits)[0].relative);
  CHECK((*limits)[0].amount == Approx(0.10));
  CHECK((*limits)[1].figure == "recall_at_k");
  CHECK_FALSE((*limits)[1].relative);
  CHECK((*limits)[1].amount == Approx(0.005));
  CHECK((*limits)[2].figure == "latency_us.*");

  for (const char* bad : {"qps", "=10%", "qps=", "qps=%", "qps=ten%", "qps=-5%", "qps=10%,", "qps=10%,qps=5%", "qps=1e999", "q ps=10%", ".*=5%"}) {
    INFO(bad);
    auto parsed = parse_regression_limits(bad);
    REQUIRE_FALSE(parsed);
    CHECK(parsed.status().code() == ErrorCode::kInvalidArgument);
    CHECK_THAT(parsed.status().message(), Catch::Contains("FIGURE=AMOUNT"));
  }
}

TEST_CASE("compare: requirements parse every operator and refuse malformed ones", "[compare]") {
  auto r = parse_requirement("recall_at_k>=0.95");
  REQUIRE(r);
  CHECK(r->figure == "recall_at_k");
  CHECK(r->op == Requirement::Op::kGreaterEqual);
  CHECK(r->value == Approx(0.95));
  CHECK(parse_requirement(" latency_us.p99 <= 200 ")->op == Requirement::Op::kLessEqual);
  CHECK(parse_requirement(" latency_us.p99 <= 200 ")->figure == "latency_us.p99");
  CHECK(parse_requirement("qps>100")->op == Requirement::Op::kGreater);
  CHECK(parse_requirement("errors<1")->op == Requirement::Op::kLess);
  for (const char* bad : {"recall_at_k", "recall_at_k>=", ">=0.9", "recall_at_k>=x", "recall_at_k=>0.9", "qps>=1 2"}) {
    INFO(bad);
    auto parsed = parse_requirement(bad);
    REQUIRE_FALSE(parsed);
    CHECK_THAT(parsed.status().message(), Catch::Contains("FIGURE OP VALUE"));
  }
}

TEST_CASE("compare: the Mann-Whitney p-value equals a brute-force enumeration, ties included", "[compare]") {
  const std::vector<std::vector<double>> samples = {
      {100, 110, 120}, {80, 85, 90}, {105, 95, 115}, {100, 100, 100}, {100, 90, 100, 110}, {1, 2, 2, 3, 5}, {7}};
  for (const auto& base : samples) {
    for (const auto& cur : samples) {
      for (Better better : {Better::kHigher, Better::kLower}) {
        CHECK(detail::mann_whitney_worse_p(base, cur, better) == Approx(brute_force_p(base, cur, better)).epsilon(1e-12));
      }
    }
  }
  // Three a side with no overlap: the smallest one-sided p, 1 / C(6,3) = 0.05, in the worse direction only.
  CHECK(detail::mann_whitney_worse_p({100, 110, 120}, {80, 85, 90}, Better::kHigher) == Approx(0.05));
  CHECK(detail::mann_whitney_worse_p({100, 110, 120}, {80, 85, 90}, Better::kLower) == Approx(1.0));
  CHECK(detail::mann_whitney_worse_p({1, 2, 3, 4}, {5, 6, 7, 8}, Better::kLower) == Approx(1.0 / 70));
  CHECK(detail::mann_whitney_worse_p({5, 5, 5}, {5, 5, 5}, Better::kHigher) == Approx(1.0));
  CHECK(detail::mann_whitney_worse_p({}, {5, 5, 5}, Better::kHigher) == 1.0);
}

TEST_CASE("compare: large samples use the normal approximation consistently with the exact test", "[compare]") {
  // 25 + 25 values is the last exact size, 26 + 26 the first approximated one: on the same
  // shifted samples the two must agree closely.
  const auto sample = [](std::size_t n, double shift) {
    std::vector<double> v;
    for (std::size_t i = 0; i < n; ++i) v.push_back(shift + static_cast<double>((i * 37) % 100));
    return v;
  };
  const double exact = detail::mann_whitney_worse_p(sample(25, 0), sample(25, -15), Better::kHigher);
  const double approximated = detail::mann_whitney_worse_p(sample(26, 0), sample(26, -15), Better::kHigher);
  CHECK(exact < 0.2);
  CHECK(approximated == Approx(exact).margin(0.05));
  CHECK(detail::mann_whitney_worse_p(sample(40, 0), sample(40, -60), Better::kHigher) < 1e-6);
  CHECK(detail::mann_whitney_worse_p(sample(40, 0), sample(40, 0), Better::kHigher) == Approx(0.5).margin(0.05));
  CHECK(detail::mann_whitney_worse_p(std::vector<double>(40, 1.0), std::vector<double>(40, 1.0), Better::kHigher) == 1.0);
}

TEST_CASE("compare: identical results pass with every figure unchanged", "[compare]") {
  const std::string json = recall_json({{16, 0.95, 10000, 50, {}}, {64, 0.99, 4000, 90, {}}});
  auto result = compare(json, json, with_limits("qps=10%,recall_at_k=0.005,latency_us.*=20%"));
  REQUIRE(result);
  CHECK(result->passed());
  CHECK(result->kind == "recall");
  REQUIRE(result->runs.size() == 3);  // two ef values and the build
  CHECK(result->runs[0].label == "ef=16 k=10");
  CHECK(result->runs[2].label == "build");
  for (const RunComparison& run : result->runs) {
    for (const FigureChange& f : run.figures) CHECK(f.verdict == Verdict::kUnchanged);
  }
  CHECK(figure(*result, "build", "build.memory_bytes").better == Better::kLower);
  // Paths compare by file name; threads never define the experiment.
  CHECK(std::find(result->params.begin(), result->params.end(), "base=base.fvecs") != result->params.end());
  CHECK(result->unmatched_baseline.empty());
  CHECK(result->unmatched_current.empty());
}

TEST_CASE("compare: a QPS cut by 20% fails a 10% limit, a 5% cut passes, gains are better", "[compare]") {
  const std::string base = recall_json({{16, 0.95, 10000, 50, {}}});
  auto cut = compare(base, recall_json({{16, 0.95, 8000, 50, {}}}), with_limits("qps=10%"));
  REQUIRE(cut);
  CHECK_FALSE(cut->passed());
  const FigureChange& qps = figure(*cut, "ef=16 k=10", "qps");
  CHECK(qps.verdict == Verdict::kRegression);
  CHECK(qps.change == Approx(-2000));
  CHECK(qps.relative_change == Approx(-0.2));
  CHECK_FALSE(qps.p_value);
  REQUIRE(cut->failures.size() == 1);
  CHECK_THAT(cut->failures[0], Catch::Contains("ef=16 k=10: qps regressed 10000 -> 8000") &&
                                   Catch::Contains("-20.0%") && Catch::Contains("limit 10%") &&
                                   Catch::Contains("no noise estimate"));

  auto small = compare(base, recall_json({{16, 0.95, 9500, 50, {}}}), with_limits("qps=10%"));
  REQUIRE(small);
  CHECK(small->passed());
  CHECK(figure(*small, "ef=16 k=10", "qps").verdict == Verdict::kWorse);

  // Lower latency and higher QPS are better; without a limit a worse figure never fails.
  auto mixed = compare(base, recall_json({{16, 0.90, 12000, 40, {}}}));
  REQUIRE(mixed);
  CHECK(mixed->passed());
  CHECK(figure(*mixed, "ef=16 k=10", "qps").verdict == Verdict::kBetter);
  CHECK(figure(*mixed, "ef=16 k=10", "latency_us.p99").verdict == Verdict::kBetter);
  CHECK(figure(*mixed, "ef=16 k=10", "recall_at_k").verdict == Verdict::kWorse);
}

TEST_CASE("compare: absolute limits, prefix limits and the most specific limit", "[compare]") {
  const std::string base = recall_json({{16, 0.95, 10000, 50, {}}});
  const std::string cur = recall_json({{16, 0.94, 10000, 65, {}}});  // recall -0.01, p99 +30%
  auto absolute = compare(base, cur, with_limits("recall_at_k=0.005"));
  REQUIRE(absolute);
  CHECK(figure(*absolute, "ef=16 k=10", "recall_at_k").verdict == Verdict::kRegression);
  CHECK(compare(base, cur, with_limits("recall_at_k=0.02"))->passed());
  CHECK(compare(base, cur, with_limits("recall_at_k=0.5%"))->failures.size() == 1);  // 0.01 / 0.95 = 1.05%

  auto prefix = compare(base, cur, with_limits("latency_us.*=20%"));
  REQUIRE(prefix);
  CHECK(figure(*prefix, "ef=16 k=10", "latency_us.p99").verdict == Verdict::kRegression);
  CHECK(figure(*prefix, "ef=16 k=10", "latency_us.p50").verdict == Verdict::kUnchanged);
  auto specific = compare(base, cur, with_limits("latency_us.*=20%,latency_us.p99=40%"));
  REQUIRE(specific);
  CHECK(specific->passed());
  CHECK(figure(*specific, "ef=16 k=10", "latency_us.p99").limit->amount == Approx(0.4));
}

TEST_CASE("compare: requirements apply to every matched run that has the figure", "[compare]") {
  const std::string base = recall_json({{16, 0.95, 10000, 50, {}}, {64, 0.99, 4000, 90, {}}});
  const std::string cur = recall_json({{16, 0.93, 10000, 50, {}}, {64, 0.99, 4000, 90, {}}});
  CompareOptions options;
  options.requirements.push_back(*parse_requirement("recall_at_k>=0.95"));
  auto result = compare(base, cur, options);
  REQUIRE(result);
  CHECK_FALSE(result->passed());
  REQUIRE(result->requirement_checks.size() == 2);
  CHECK_FALSE(result->requirement_checks[0].passed);
  CHECK(result->requirement_checks[1].passed);
  REQUIRE(result->failures.size() == 1);
  CHECK_THAT(result->failures[0], Catch::Contains("ef=16 k=10: recall_at_k = 0.93, required recall_at_k >= 0.95"));

  options.requirements = {*parse_requirement("build.memory_bytes<2000000")};
  CHECK(compare(base, cur, options)->passed());
  options.requirements = {*parse_requirement("qps_parallel>=1")};  // a known figure no run has
  auto missing = compare(base, cur, options);
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.status().message(), Catch::Contains("qps_parallel>=1") && Catch::Contains("no matched run"));
}

TEST_CASE("compare: a change inside the measured noise passes, one outside it fails", "[compare]") {
  // The baseline's repetitions spread from 8000 to 12000 QPS; the current median is 15% lower
  // but its repetitions overlap the baseline's: not a regression at a 10% limit.
  const std::string base = recall_json({{16, 0.95, 10000, 50, {10000, 8000, 12000}}});
  const std::string noisy = recall_json({{16, 0.95, 8500, 50, {8500, 11000, 7000}}});
  auto within = compare(base, noisy, with_limits("qps=10%"));
  REQUIRE(within);
  CHECK(within->passed());
  const FigureChange& qps = figure(*within, "ef=16 k=10", "qps");
  CHECK(qps.verdict == Verdict::kWithinNoise);
  CHECK(qps.relative_change == Approx(-0.15));
  CHECK(qps.baseline_repeats == 3);
  REQUIRE(qps.p_value);
  CHECK(*qps.p_value > 0.05);

  // Every current repetition below every baseline one: p = 0.05, a regression.
  const std::string clear = recall_json({{16, 0.95, 7000, 50, {7000, 6500, 7500}}});
  auto outside = compare(base, clear, with_limits("qps=10%"));
  REQUIRE(outside);
  CHECK_FALSE(outside->passed());
  CHECK(figure(*outside, "ef=16 k=10", "qps").verdict == Verdict::kRegression);
  CHECK(*figure(*outside, "ef=16 k=10", "qps").p_value == Approx(0.05));
  CHECK_THAT(outside->failures[0], Catch::Contains("outside the noise: p=0.05 over 3 vs 3 repeats"));

  // A figure constant across repetitions (recall) that drops is outside the noise too.
  const std::string recall_drop = recall_json({{16, 0.90, 10000, 50, {10000, 8000, 12000}}});
  CHECK(figure(*compare(base, recall_drop, with_limits("recall_at_k=0.01")), "ef=16 k=10", "recall_at_k").verdict ==
        Verdict::kRegression);

  // Two repetitions on a side are too few to judge: the limit alone decides.
  const std::string two = recall_json({{16, 0.95, 8500, 50, {8500, 11000}}});
  auto few = compare(base, two, with_limits("qps=10%"));
  REQUIRE(few);
  const FigureChange& undecided = figure(*few, "ef=16 k=10", "qps");
  CHECK(undecided.verdict == Verdict::kRegression);
  CHECK_FALSE(undecided.p_value);
}

TEST_CASE("compare: runs match by ef and k, the others are listed, none matching is an error", "[compare]") {
  const std::string base = recall_json({{16, 0.95, 10000, 50, {}}, {32, 0.97, 7000, 60, {}}});
  const std::string cur = recall_json({{32, 0.97, 7000, 60, {}}, {128, 0.995, 2000, 150, {}}});
  auto result = compare(base, cur);
  REQUIRE(result);
  REQUIRE(result->runs.size() == 2);
  CHECK(result->runs[0].label == "ef=32 k=10");
  CHECK(result->unmatched_baseline == std::vector<std::string>{"ef=16 k=10"});
  CHECK(result->unmatched_current == std::vector<std::string>{"ef=128 k=10"});

  // Only the build would match: no ef in common is still a comparison of the build alone, so a
  // file without a build and without a shared ef matches nothing.
  std::string no_build = recall_json({{256, 0.99, 1000, 300, {}}});
  no_build.replace(no_build.find("\"build\""), std::string("\"build\"").size(), "\"building\"");
  auto none = compare(base, no_build);
  REQUIRE_FALSE(none);
  CHECK(none.status().code() == ErrorCode::kBadInput);
  CHECK_THAT(none.status().message(), Catch::Contains("no run of base.json (ef=16 k=10, ef=32 k=10, build) matches") &&
                                          Catch::Contains("ef=256 k=10"));
}

TEST_CASE("compare: different experiment params are an error unless ignored", "[compare]") {
  const std::string base = recall_json({{16, 0.95, 10000, 50, {}}});
  const std::string f32 = recall_json({{16, 0.97, 9000, 50, {}}}, "f32");
  auto refused = compare(base, f32);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.status().message(),
             Catch::Contains("measure different experiments") && Catch::Contains("quant int8 vs f32") &&
                 Catch::Contains("--ignore-param"));
  CompareOptions options;
  options.ignored_params = {"quant"};
  auto allowed = compare(base, f32, options);
  REQUIRE(allowed);
  CHECK(allowed->notes == std::vector<std::string>{"param quant differs: int8 vs f32 (ignored)"});

  std::string other_machine = base;
  other_machine.replace(other_machine.find("\"cores\": 2"), 10, "\"cores\": 8");
  CHECK(compare(base, other_machine)->notes == std::vector<std::string>{"the machines differ: cores 2 vs 8"});
}

TEST_CASE("compare: malformed, mismatched and unknown inputs are clear errors", "[compare]") {
  const std::string recall = recall_json({{16, 0.95, 10000, 50, {}}});
  const std::string replay = R"({"kind": "replay", "params": {"mode": "both"}, "threshold": 0.1, "hit_rate": 0.3})";
  const auto message = [&](const std::string& base, const std::string& cur, const CompareOptions& options = {}) {
    auto result = compare(base, cur, options);
    REQUIRE_FALSE(result);
    CHECK(exit_code_for(result.status()) == 2);
    return result.status().message();
  };
  CHECK_THAT(message("{\"kind\": \"recall\",", recall), Catch::StartsWith("base.json: not valid JSON"));
  CHECK_THAT(message(recall, "[1, 2]"), Catch::StartsWith("cur.json: not a semcache result"));
  CHECK_THAT(message(recall, replay),
             Catch::Contains("base.json is a recall result and cur.json a replay result"));
  CHECK_THAT(message(R"({"kind": "eval", "roc_auc": 0.9})", recall), Catch::Contains("\"eval\""));
  CHECK_THAT(message(R"({"kind": "recall", "runs": [{"k": 10, "qps": 5}]})", recall),
             Catch::Contains("base.json: runs[0]: field \"ef\" is missing"));
  CHECK_THAT(message(R"({"kind": "recall", "runs": [{"ef": "16", "k": 10}]})", recall),
             Catch::Contains("field \"ef\" must be a number, got \"16\""));
  CHECK_THAT(message(R"({"kind": "recall"})", recall), Catch::Contains("array \"runs\""));
  CHECK_THAT(message(R"({"kind": "recall", "runs": [{"ef": 16, "k": 10, "repeats": [5]}]})", recall),
             Catch::Contains("runs[0]: repeats[0] must be an object"));
  CHECK_THAT(message(recall, recall, with_limits("qpz=10%")),
             Catch::Contains("unknown figure 'qpz' for recall results; known: recall_at_k, qps,") &&
                 Catch::Contains("build.memory_bytes"));
  CHECK_THAT(message(recall, recall, with_limits("hit_rate=1%")), Catch::Contains("unknown figure 'hit_rate'"));
  CHECK_THAT(message(recall, recall, with_limits("qps_parallel=5%")), Catch::Contains("no matched run"));
  CompareOptions unknown_requirement;
  unknown_requirement.requirements = {*parse_requirement("recall>=0.9")};
  CHECK_THAT(message(recall, recall, unknown_requirement), Catch::Contains("unknown figure 'recall'"));

  testing::TempDir dir;
  auto missing = compare_result_files(dir.path("nope.json"), dir.write("r.json", recall), {});
  REQUIRE_FALSE(missing);
  CHECK(exit_code_for(missing.status()) == 2);
  CHECK_THAT(missing.status().message(), Catch::Contains("nope.json: no such file"));
  CHECK(compare_result_files(dir.path("r.json"), dir.path("r.json"), {})->passed());
}

TEST_CASE("compare: replay runs match by threshold, one-threshold results included", "[compare]") {
  const auto replay = [](double hit_rate_01, double throughput_01, const std::string& repeats) {
    return fmt::format(R"({{"kind": "replay", "params": {{"log": "/tmp/x/p.jsonl", "mode": "both", "thresholds": [0.1, 0.2]}},
      "threshold": 0.1, "hit_rate": {0},
      "per_threshold": [
        {{"threshold": 0.1, "hit_rate": {0}, "false_hit_rate": 0.01, "throughput_rps": {1}, "errors": 0,
          "latency_us": {{"lookup": {{"p99": 80}}, "end_to_end": {{"p99": 900}}}}{2}}},
        {{"threshold": 0.2, "hit_rate": 0.4, "false_hit_rate": 0.04, "throughput_rps": 9000, "errors": 0,
          "latency_us": {{"lookup": {{"p99": 90}}, "end_to_end": {{"p99": 950}}}}}}]}})",
                       hit_rate_01, throughput_01, repeats);
  };
  const std::string base = replay(0.3, 10000, R"(, "repeats": [{"throughput_rps": 10000}, {"throughput_rps": 9000}, {"throughput_rps": 11000}])");
  const std::string cur = replay(0.28, 8800, R"(, "repeats": [{"throughput_rps": 8800}, {"throughput_rps": 9500}, {"throughput_rps": 8600}])");
  auto result = compare(base, cur, with_limits("throughput_rps=10%,hit_rate=0.01,latency_us.*=5%"));
  REQUIRE(result);
  REQUIRE(result->runs.size() == 2);
  CHECK(result->runs[0].label == "threshold=0.1");
  CHECK(figure(*result, "threshold=0.1", "throughput_rps").verdict == Verdict::kWithinNoise);
  CHECK(figure(*result, "threshold=0.1", "hit_rate").verdict == Verdict::kRegression);
  CHECK(figure(*result, "threshold=0.1", "latency_us.lookup.p99").verdict == Verdict::kUnchanged);
  CHECK(figure(*result, "threshold=0.2", "false_hit_rate").better == Better::kLower);
  CHECK(result->failures.size() == 1);
  // The log is matched by file name, wherever it lies.
  CHECK(std::find(result->params.begin(), result->params.end(), "log=p.jsonl") != result->params.end());

  // A one-threshold replay (no per_threshold[]) matches the same threshold of a sweep.
  const std::string single = R"({"kind": "replay", "params": {"log": "p.jsonl", "mode": "both", "thresholds": [0.2]},
      "threshold": 0.2, "hit_rate": 0.5, "errors": 2})";
  auto one = compare(base, single);
  REQUIRE(one);
  REQUIRE(one->runs.size() == 1);
  CHECK(one->runs[0].label == "threshold=0.2");
  CHECK(figure(*one, "threshold=0.2", "hit_rate").verdict == Verdict::kBetter);
  CHECK(figure(*one, "threshold=0.2", "throughput_rps").verdict == Verdict::kOnlyBaseline);
  CHECK(one->unmatched_baseline == std::vector<std::string>{"threshold=0.1"});
  // errors went from 0 to 2: a relative limit on a zero baseline is exceeded by any increase.
  auto errors = compare(base, single, with_limits("errors=50%"));
  REQUIRE(errors);
  CHECK(figure(*errors, "threshold=0.2", "errors").verdict == Verdict::kRegression);
  CHECK(std::isinf(figure(*errors, "threshold=0.2", "errors").relative_change));
}

TEST_CASE("compare: text, Markdown and JSON say the same verdicts", "[compare]") {
  const std::string base = recall_json({{16, 0.95, 10000, 50, {10000, 9900, 10100}}, {64, 0.99, 4000, 90, {}}});
  const std::string cur = recall_json({{16, 0.95, 8000, 50, {8000, 7900, 8100}}});
  CompareOptions options = with_limits("qps=10%");
  options.requirements = {*parse_requirement("recall_at_k>=0.9")};
  auto result = compare(base, cur, options);
  REQUIRE(result);

  const std::string text = compare_result_text(*result);
  CHECK_THAT(text, Catch::Contains("compare recall results: baseline base.json -> current cur.json"));
  CHECK_THAT(text, Catch::Contains("REGRESSION (limit 10%)"));
  CHECK_THAT(text, Catch::Contains("p=0.05 (3v3)"));
  CHECK_THAT(text, Catch::Contains("only in the baseline (not compared): ef=64 k=10"));
  CHECK_THAT(text, Catch::Contains("ok   recall_at_k>=0.9: ef=16 k=10 = 0.95"));
  CHECK_THAT(text, Catch::Contains("Mann-Whitney"));
  CHECK_THAT(text, Catch::Contains("FAILED: 1 regression, 0 failed requirements"));

  const std::string md = compare_result_markdown(*result);
  CHECK_THAT(md, Catch::StartsWith("### semcache compare (recall): FAILED"));
  CHECK_THAT(md, Catch::Contains("| run | figure | baseline | current | change | change % | noise | verdict |"));
  CHECK_THAT(md, Catch::Contains("| ef=16 k=10 | `qps` | 10000 | 8000 | -2000 | -20.0% | p=0.05 (3v3) | **REGRESSION (limit 10%)** |"));
  CHECK_THAT(md, Catch::Contains("**Failures**"));

  simdjson::dom::parser parser;
  const std::string json = compare_result_json(*result);
  simdjson::dom::element doc;
  REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
  CHECK(std::string_view(doc["kind"]) == "compare");
  CHECK(bool(doc["passed"]) == false);
  simdjson::dom::element qps = doc["runs"].at(0)["figures"].at(1);
  CHECK(std::string_view(qps["figure"]) == "qps");
  CHECK(std::string_view(qps["verdict"]) == "REGRESSION");
  CHECK(double(qps["p_value"]) == Approx(0.05));
  CHECK(double(qps["relative_change"]) == Approx(-0.2));
  CHECK(std::string_view(doc["unmatched"]["baseline"].at(0)) == "ef=64 k=10");
  CHECK(doc["failures"].get_array().size() == 1);
}
