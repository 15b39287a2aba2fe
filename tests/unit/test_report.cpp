// semcache report (semcache/report.hpp): reading result JSON into the model, the three
// renderers, the SVG plotter, escaping of hostile strings, and the errors for bad files.
// The result texts below are trimmed copies of files written by `semcache bench recall --json`,
// `semcache replay --json`, `semcache eval pairs --json` and `semcache tune --json`; the CLI test
// tests/cli/report_html.sh runs the whole path on freshly generated results.

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "harness/report_tables.hpp"
#include "harness/svg_plot.hpp"
#include "semcache/report.hpp"
#include "semcache/statistics.hpp"
#include "temp_dir.hpp"

namespace {

using semcache::ReportFormat;
using semcache::ReportInput;

const char* const kRecall = R"({
  "kind": "recall", "tool": "semcache", "semcache_version": "0.1.0",
  "params": {"base": "data/base.fvecs", "k": 10, "metric": "cosine", "quant": "int8", "m": 16,
             "ef_construction": 200, "n": 20000, "dim": 64, "queries_count": 1000},
  "machine": {"cores": 2, "cpu_model": "AMD EPYC", "simd_level": "avx2", "cpu_flags": ["avx2"]},
  "build": {"seconds": 3.85, "vectors_per_second": 5189.1, "memory_bytes": 7054084, "ground_truth_seconds": 0},
  "runs": [
    {"ef": 16, "k": 10, "recall_at_k": 0.8483, "qps": 26546.7, "qps_repeats": [26546.7, 24293.8, 32719.8],
     "latency_us": {"p50": 12.3315, "p90": 18.0395, "p99": 33.9995, "p999": 6322.1755, "max": 12276.437, "mean": 36.4}},
    {"ef": 64, "k": 10, "recall_at_k": 0.9601, "qps": 6659.6, "qps_repeats": [6659.6, 7416.9, 4510.3],
     "latency_us": {"p50": 45.4875, "p90": 73.6955, "p99": 4261.8875, "p999": 12161.0235, "max": 57913.213, "mean": 168.9}},
    {"ef": 128, "k": 10, "recall_at_k": 0.9808, "qps": 9446.0, "qps_repeats": [4970.0, 9446.0, 10055.9],
     "latency_us": {"p50": 72.9275, "p90": 99.4235, "p99": 1754.6235, "p999": 8966.1435, "max": 12223.849, "mean": 90.1}}
  ]
})";

// Two thresholds; the second has no false_hit_rate_ci95 (older files), so it is computed.
const char* const kReplay = R"({
  "kind": "replay", "tool": "semcache", "semcache_version": "0.1.0",
  "params": {"log": "/tmp/p.jsonl", "store": "memory", "mode": "both", "thresholds": [0.05, 0.2], "embedder": "hash-v1/256"},
  "machine": {"cores": 2, "cpu_model": "AMD EPYC", "simd_level": "avx2"},
  "requests": 5000,
  "per_threshold": [
    {"threshold": 0.05, "similarity": 0.95, "requests": 5000, "hits": {"exact": 742, "semantic": 915}, "misses": 3343,
     "hit_rate": 0.3314, "judged_hits": 1657, "false_hits": 9, "false_hit_rate": 0.0018,
     "false_hit_rate_ci95": {"low": 0.0009472826989451401, "high": 0.0034176836101402633}, "precision": 0.9945684972842487,
     "latency_us": {"lookup": {"p50": 37.9675, "p90": 77.9195, "p99": 149.5675, "p999": 2421.7595, "max": 4138.754, "mean": 48.4},
                    "end_to_end": {"p50": 1677197.3, "p90": 4863295.4, "p99": 9399435.2, "p999": 14944305.1, "max": 23537152.5, "mean": 2061375.5}},
     "throughput_rps": 8812.7, "tokens_saved": 231816, "cost_saved_usd": 0.3761, "errors": 0,
     "timeline": [{"requests": 2500, "ts": 1735732802.7, "hit_rate": 0.25}, {"requests": 5000, "ts": 1735732900.1, "hit_rate": 0.41}],
     "repeats": [{"seconds": 0.6, "throughput_rps": 8000.75, "hit_rate": 0.3314, "errors": 0},
                 {"seconds": 0.5, "throughput_rps": 9100.25, "hit_rate": 0.3314, "errors": 0}]},
    {"threshold": 0.2, "similarity": 0.8, "requests": 5000, "hits": {"exact": 656, "semantic": 1725}, "misses": 2619,
     "hit_rate": 0.4762, "judged_hits": 2381, "false_hits": 316, "false_hit_rate": 0.0632, "precision": 0.8673,
     "latency_us": {"lookup": {"p50": 37.1, "p90": 70.2, "p99": 119.8, "p999": 268.4, "max": 1200.5, "mean": 40.0},
                    "end_to_end": {"p50": 1017900.0, "p90": 4000000.0, "p99": 9139400.0, "p999": 14000000.0, "max": 23000000.0, "mean": 1900000.0}},
     "throughput_rps": 11676.0, "tokens_saved": 349235, "cost_saved_usd": 0.6067, "errors": 0,
     "timeline": [{"requests": 2500, "ts": 1735732802.7, "hit_rate": 0.35}, {"requests": 5000, "ts": 1735732900.1, "hit_rate": 0.6}]}
  ]
})";

const char* const kEvalPairs = R"({
  "kind": "eval-pairs", "semcache_version": "0.1.0",
  "params": {"pairs_file": "pairs.jsonl", "embedder": "hash-v1/256"},
  "pairs": 400, "positives": 200, "roc_auc": 0.91, "best_threshold": 0.2, "best_accuracy": 0.85,
  "curve": [{"threshold": 0, "precision": null, "recall": 0, "false_hit_rate": 0},
            {"threshold": 0.2, "precision": 0.9, "recall": 0.8, "false_hit_rate": 0.044},
            {"threshold": 1, "precision": 0.5, "recall": 1, "false_hit_rate": 0.5}]
})";

const char* const kTune = R"({
  "kind": "tune", "semcache_version": "0.1.0",
  "params": {"source": "log", "log": "p.jsonl", "embedder": "hash-v1/256", "max_false_hit_rate": 0.01},
  "threshold": 0.1, "similarity": 0.9, "expected_hit_rate": 0.3, "expected_false_hit_rate": 0.006,
  "expected_false_hit_rate_upper": 0.009,
  "curve": [{"threshold": 0.05, "hit_rate": 0.2, "false_hit_rate": 0.001},
            {"threshold": 0.1, "hit_rate": 0.3, "false_hit_rate": 0.006},
            {"threshold": 0.3, "hit_rate": 0.5, "false_hit_rate": 0.1}]
})";

ReportInput parse(const std::string& json, const std::string& name) {
  auto input = semcache::parse_report_input(json, name);
  INFO(input.status().message());
  REQUIRE(input);
  return *input;
}

std::string parse_error(const std::string& json, const std::string& name = "bad.json") {
  auto input = semcache::parse_report_input(json, name);
  REQUIRE_FALSE(input);
  CHECK(input.status().code() == semcache::ErrorCode::kBadInput);
  return input.status().message();
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + needle.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("report: a recall result reads into the model, with the QPS spread of its repetitions", "[report]") {
  const ReportInput input = parse(kRecall, "recall.json");
  CHECK(input.kind == "recall");
  CHECK(input.machine == "AMD EPYC, 2 cores, avx2");
  const auto& r = std::get<semcache::ReportRecall>(input.figures);
  CHECK(r.n == 20000);
  CHECK(r.dim == 64);
  CHECK(r.quant == "int8");
  CHECK(r.memory_bytes == 7054084);
  REQUIRE(r.runs.size() == 3);
  CHECK(r.runs[1].ef == 64);
  CHECK(r.runs[1].recall_at_k == Approx(0.9601));
  CHECK(r.runs[1].latency_us.p999 == Approx(12161.0235));
  REQUIRE(r.runs[1].qps_spread);
  CHECK(r.runs[1].qps_spread->min == Approx(4510.3));
  CHECK(r.runs[1].qps_spread->max == Approx(7416.9));

  // The future form: repeats[] objects with qps. Without either there is no spread.
  std::string json = kRecall;
  const std::string list = R"("qps_repeats": [26546.7, 24293.8, 32719.8])";
  json.replace(json.find(list), list.size(), R"("repeats": [{"qps": 20000.5}, {"qps": 30000.25}])");
  const ReportInput again_input = parse(json, "r.json");
  const auto& again = std::get<semcache::ReportRecall>(again_input.figures);
  REQUIRE(again.runs[0].qps_spread);
  CHECK(again.runs[0].qps_spread->min == 20000.5);
  CHECK(again.runs[0].qps_spread->max == 30000.25);
}

TEST_CASE("report: a replay result reads per threshold, a missing Wilson interval is computed", "[report]") {
  const ReportInput r_input = parse(kReplay, "replay.json");
  const auto& r = std::get<semcache::ReportReplay>(r_input.figures);
  CHECK(r.mode == "both");
  REQUIRE(r.runs.size() == 2);
  CHECK(r.runs[0].threshold == 0.05);
  CHECK(r.runs[0].exact_hits == 742);
  CHECK(r.runs[0].semantic_hits == 915);
  CHECK(r.runs[0].judged);
  CHECK(r.runs[0].false_hit_rate_ci95.high == Approx(0.0034176836101402633));
  CHECK(r.runs[0].lookup_us.p99 == Approx(149.5675));
  REQUIRE(r.runs[0].timeline.size() == 2);
  CHECK(r.runs[0].timeline[1].requests == 5000);
  REQUIRE(r.runs[0].throughput_spread);
  CHECK(r.runs[0].throughput_spread->min == 8000.75);
  CHECK(r.runs[0].throughput_spread->max == 9100.25);
  CHECK_FALSE(r.runs[1].throughput_spread);
  const semcache::Interval expected = semcache::wilson_interval(316, 5000);
  CHECK(r.runs[1].false_hit_rate_ci95.low == Approx(expected.low));
  CHECK(r.runs[1].false_hit_rate_ci95.high == Approx(expected.high));
}

TEST_CASE("report: an exact-mode replay without per_threshold has no threshold and no false-hit plot", "[report]") {
  const std::string json = R"({"kind": "replay", "params": {"mode": "exact", "log": "p.jsonl"}, "threshold": 0.1,
    "requests": 10, "hits": {"exact": 4, "semantic": 0}, "misses": 6, "hit_rate": 0.4,
    "latency_us": {"lookup": {"p50": 1, "p90": 2, "p99": 3, "p999": 4, "max": 5},
                   "end_to_end": {"p50": 1, "p90": 2, "p99": 3, "p999": 4, "max": 5}}})";
  const ReportInput input = parse(json, "exact.json");
  const auto& r = std::get<semcache::ReportReplay>(input.figures);
  REQUIRE(r.runs.size() == 1);
  CHECK_FALSE(r.runs[0].threshold);
  CHECK_FALSE(r.runs[0].judged);
  const std::string html = semcache::render_report({input}, ReportFormat::kHtml);
  CHECK(html.find("false-hit rate against threshold") == std::string::npos);
  CHECK(html.find("hit rate over the replay") != std::string::npos);
}

TEST_CASE("report: eval-pairs and tune results read their curves and chosen threshold", "[report]") {
  const ReportInput pairs_input = parse(kEvalPairs, "pairs.json");
  const auto& pairs = std::get<semcache::ReportThresholdCurve>(pairs_input.figures);
  CHECK(pairs.hit_rate_name == "recall");
  REQUIRE(pairs.curve.size() == 3);
  CHECK(pairs.curve[1].precision == 0.9);
  CHECK(std::isnan(*pairs.curve[0].precision));  // null: no pair accepted at distance 0
  CHECK(pairs.chosen_threshold == 0.2);
  const ReportInput tune_input = parse(kTune, "tune.json");
  const auto& tune = std::get<semcache::ReportThresholdCurve>(tune_input.figures);
  CHECK(tune.hit_rate_name == "hit rate");
  CHECK(tune.chosen_threshold == 0.1);
  CHECK_FALSE(tune.curve[0].precision);
  const std::string text = semcache::render_report({parse(kTune, "tune.json")}, ReportFormat::kText);
  CHECK(text.find("0.100 (similarity 0.900)") != std::string::npos);
  const std::string html = semcache::render_report({parse(kEvalPairs, "pairs.json"), parse(kTune, "tune.json")}, ReportFormat::kHtml);
  CHECK(count(html, "<svg") == 4);
  CHECK(html.find("chosen 0.200") != std::string::npos);
  CHECK(html.find(">recall, precision and false-hit rate against threshold</text>") != std::string::npos);
  CHECK(html.find(">hit rate and false-hit rate against threshold</text>") != std::string::npos);  // tune: no precision
}

TEST_CASE("report: text, Markdown and HTML show the same figures", "[report]") {
  const std::vector<ReportInput> inputs = {parse(kRecall, "recall.json"), parse(kReplay, "replay.json")};
  for (const ReportFormat format : {ReportFormat::kText, ReportFormat::kMarkdown, ReportFormat::kHtml}) {
    std::string out = semcache::render_report(inputs, format);
    // Markdown escapes its metacharacters ("\[95% CI\]"); the figures are what is compared.
    if (format == ReportFormat::kMarkdown) out.erase(std::remove(out.begin(), out.end(), '\\'), out.end());
    INFO(out);
    for (const char* figure : {"0.9601", "6660 (4510–7417)", "33.14%", "0.18% [0.09%, 0.34%]", "6.32% [5.68%, 7.03%]",
                               "8813 (8001–9100)", "149.6", "231816"}) {
      CHECK(out.find(figure) != std::string::npos);
    }
  }
  const std::string text = semcache::render_report(inputs, ReportFormat::kText);
  // Columns line up: every row of the recall table is as wide as its header (µs and – count once).
  const std::size_t header = text.find(" ef ");
  REQUIRE(header != std::string::npos);
  const auto line_width = [&](std::size_t at) {
    const std::size_t start = text.rfind('\n', at) + 1;
    const std::string line = text.substr(start, text.find('\n', at) - start);
    return std::count_if(line.begin(), line.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
  };
  CHECK(line_width(header) == line_width(text.find("26547 (")));
  const std::string md = semcache::render_report(inputs, ReportFormat::kMarkdown);
  CHECK(md.find("| ef | k | recall@k |") != std::string::npos);
  CHECK(md.find("| ---: |") != std::string::npos);
}

TEST_CASE("report: the HTML page is self-contained and its plots have labelled axes and legends", "[report]") {
  const std::vector<ReportInput> inputs = {parse(kRecall, "a.json"), parse(kRecall, "b.json"), parse(kReplay, "replay.json")};
  const std::string html = semcache::render_report(inputs, ReportFormat::kHtml);
  CHECK(html.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // only the SVG namespace name
  CHECK(html.find("https://") == std::string::npos);
  CHECK(count(html, "class=\"axis-label") == 2 * count(html, "<svg"));
  // 1 comparison (two recall files) + 3 per recall file + 4 for the replay.
  CHECK(count(html, "<svg") == 1 + 3 + 3 + 4);
  CHECK(count(html, "</svg>") == count(html, "<svg"));
  CHECK(count(html, "<g") == count(html, "</g>"));
  CHECK(html.find("2 recall results compared") != std::string::npos);
  CHECK(html.find("a.json: Pareto frontier") != std::string::npos);
  for (const char* label : {"QPS (queries/s, log scale)", "recall@k (share of the true k nearest found)", "latency (µs, log scale)",
                            "threshold (cosine distance; similarity = 1 - distance)", "requests replayed"}) {
    CHECK(html.find(label) != std::string::npos);
  }
  CHECK(html.find("no full histogram") != std::string::npos);  // the CDF caption says how it was drawn
  CHECK(count(html, "class=\"error-bar\"") >= 3 + 3 + 2);      // QPS spreads and Wilson intervals
}

TEST_CASE("report: the Pareto frontier keeps the runs nothing beats on both recall and QPS", "[report]") {
  semcache::ReportRecall r;
  for (const auto& [recall, qps] : {std::pair{0.80, 100.0}, {0.90, 50.0}, {0.85, 40.0}, {0.95, 60.0}, {0.95, 55.0}}) {
    semcache::ReportRecallRun run;
    run.recall_at_k = recall;
    run.qps = qps;
    r.runs.push_back(run);
  }
  CHECK(semcache::detail::pareto_frontier(r) == std::vector<std::size_t>{0, 3});
}

TEST_CASE("report: SVG plots have ticks on linear and log axes, labels, a legend, and skip unplottable points", "[report][svg]") {
  using namespace semcache::detail;
  Plot plot;
  plot.title = "t";
  plot.x = {"x (ms)", AxisScale::kLinear, false, std::nullopt, std::nullopt};
  plot.y = {"y (req/s, log scale)", AxisScale::kLog, false, std::nullopt, std::nullopt};
  PlotSeries s{"series one", {}, true, true, false, -1};
  s.points = {{0.0, 3000.0, {}, {}, "a"}, {0.3, 30000.0, 20000.0, 40000.0, ""}, {0.2, 0.0, {}, {}, ""},
              {std::nan(""), 5.0, {}, {}, ""}};
  plot.series.push_back(s);
  const std::string svg = render_svg(plot);
  // y: 3000..40000 widens to 1000..100000, two decades: 1, 2, 5 per decade.
  for (const char* tick : {">1000<", ">2000<", ">5000<", ">10k<", ">20k<", ">50k<", ">100k<"}) CHECK(svg.find(tick) != std::string::npos);
  for (const char* tick : {">0<", ">0.05<", ">0.1<", ">0.3<"}) CHECK(svg.find(tick) != std::string::npos);
  CHECK(svg.find(">x (ms)</text>") != std::string::npos);
  CHECK(svg.find(">y (req/s, log scale)</text>") != std::string::npos);
  CHECK(svg.find(">series one</text>") != std::string::npos);
  CHECK(count(svg, "<title>") == 1 + 2);  // the plot's, and one per plotted point (y=0 and NaN skipped)
  CHECK(count(svg, "class=\"error-bar\"") == 1);
  CHECK(svg.find("nan") == std::string::npos);
  CHECK(svg.find("inf") == std::string::npos);
}

TEST_CASE("report: hostile strings from result files are escaped in every format", "[report]") {
  std::string json = kReplay;
  const std::string log = R"("log": "/tmp/p.jsonl")";
  json.replace(json.find(log), log.size(), R"("log": "/tmp/<script>alert('x')</script>|*_\u001b[31m.jsonl")");
  const std::vector<ReportInput> inputs = {parse(json, "<img src=x onerror=alert(1)>.json")};
  const std::string html = semcache::render_report(inputs, ReportFormat::kHtml);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("<img") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("&lt;img src=x onerror=alert(1)&gt;.json") != std::string::npos);
  const std::string md = semcache::render_report(inputs, ReportFormat::kMarkdown);
  CHECK(md.find("<script") == std::string::npos);
  CHECK(md.find("<img") == std::string::npos);
  CHECK(md.find("\\|\\*\\_") != std::string::npos);
  const std::string text = semcache::render_report(inputs, ReportFormat::kText);
  CHECK(text.find('\x1b') == std::string::npos);
}

TEST_CASE("report: malformed JSON names the file, line and column", "[report][errors]") {
  CHECK(parse_error("{\n  \"kind\": \"recall\",\n  \"runs\": [1 2]\n}") == "bad.json:3:14: not valid JSON: expected ',' or ']'");
  CHECK(parse_error("{\"kind\": \"recall\", \"runs\": [") == "bad.json:1:29: not valid JSON: the file ends early (expected a value)");
  CHECK(parse_error("{\"kind\": \"replay\"}\n{}") == "bad.json:2:1: not valid JSON: expected end of document after the top-level value");
  CHECK(parse_error("{\"kind\": tru}").find("bad.json:1:10: not valid JSON: expected 'true'") == 0);
  CHECK(parse_error("") == "bad.json:1:1: not valid JSON: the file ends early (expected a value)");
}

TEST_CASE("report: files that are not results give errors naming the file and what was expected", "[report][errors]") {
  CHECK(parse_error(R"({"kind": "latency"})") ==
        "bad.json: kind \"latency\" has no report (supported kinds: recall, replay, eval-pairs, tune)");
  CHECK(parse_error(R"({"runs": []})") ==
        "bad.json: no \"kind\": not a semcache result file (expected one of the kinds recall, replay, eval-pairs, tune)");
  CHECK(parse_error("[1, 2]").find("must be a JSON object with \"kind\"") != std::string::npos);
  CHECK(parse_error(R"({"kind": "recall"})") == "bad.json: runs is missing (expected an array)");
  CHECK(parse_error(R"({"kind": "recall", "runs": []})") == "bad.json: runs is empty (expected one object per ef)");
  std::string json = kRecall;
  json.replace(json.find("\"qps\": 9446.0"), 13, "\"qps\": \"fast\"");
  CHECK(parse_error(json) == "bad.json: runs[2].qps must be a number, got string");
  CHECK(parse_error(R"({"kind": "replay", "requests": 1, "hits": {"exact": 1}, "misses": 0, "hit_rate": 1})") ==
        "bad.json: hits.semantic is missing (expected a number)");

  semcache::testing::TempDir dir;
  auto missing = semcache::read_report_input(dir.path("nope.json"));
  REQUIRE_FALSE(missing);
  CHECK(missing.status().message() == dir.path("nope.json") + ": cannot open the result file");
  CHECK(semcache::exit_code_for(missing.status()) == 2);
  auto read = semcache::read_report_input(dir.write("ok.json", kTune));
  REQUIRE(read);
  CHECK(read->path == dir.path("ok.json"));

  CHECK(semcache::parse_report_format("md").value() == ReportFormat::kMarkdown);
  CHECK_FALSE(semcache::parse_report_format("pdf"));
}
