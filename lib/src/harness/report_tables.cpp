// What each result kind shows (report_tables.hpp): the facts and tables of one section, as
// display strings. The renderers only lay them out, so text, Markdown and HTML agree figure for
// figure.
//
// Units are in the column headers (µs, ms, req/s) and percentages carry a % sign, so a table
// copied out of its context still reads correctly. A figure with repetitions shows the median
// the harness reported and the min–max of the repetitions in parentheses; a null figure is "-".

#include "harness/report_tables.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace semcache::detail {
namespace {

std::string show_us(double v) { return std::isfinite(v) ? fmt::format("{:.1f}", v) : "-"; }
std::string show_ms(double v) { return std::isfinite(v) ? fmt::format("{:.1f}", v / 1000) : "-"; }
std::string show_ratio(double v) { return std::isfinite(v) ? fmt::format("{:.4f}", v) : "-"; }

std::string show_threshold(const std::optional<double>& t) { return t ? fmt::format("{:.3f}", *t) : "-"; }
std::string show_similarity(const std::optional<double>& t) { return t ? fmt::format("{:.3f}", 1 - *t) : "-"; }

std::string show_bytes(std::uint64_t bytes) {
  if (bytes >= (1ull << 30)) return fmt::format("{:.2f} GiB", static_cast<double>(bytes) / (1ull << 30));
  if (bytes >= (1ull << 20)) return fmt::format("{:.1f} MiB", static_cast<double>(bytes) / (1ull << 20));
  return fmt::format("{:.1f} KiB", static_cast<double>(bytes) / 1024);
}

void add_common_facts(ReportSection& s, const ReportInput& input) {
  if (!input.machine.empty()) s.facts.emplace_back("machine", input.machine);
  if (!input.semcache_version.empty()) s.facts.emplace_back("semcache", input.semcache_version);
}

void describe_recall(ReportSection& s, const ReportRecall& r) {
  if (!r.base.empty()) {
    s.facts.emplace_back("dataset", fmt::format("{} ({} vectors x {} dims, {} queries)", r.base, r.n, r.dim, r.queries));
  }
  s.facts.emplace_back("index", fmt::format("HNSW, {} vectors, metric {}, M {}, ef_construction {}",
                                            r.quant.empty() ? "-" : r.quant, r.metric.empty() ? "-" : r.metric, r.m,
                                            r.ef_construction));
  if (r.build_seconds > 0) {
    s.facts.emplace_back("build", fmt::format("{:.2f} s, {:.0f} vectors/s, {}", r.build_seconds, r.vectors_per_second,
                                              show_bytes(r.memory_bytes)));
  }
  const bool parallel = std::any_of(r.runs.begin(), r.runs.end(), [](const ReportRecallRun& x) { return x.qps_parallel > 0; });
  const bool spread = std::any_of(r.runs.begin(), r.runs.end(), [](const ReportRecallRun& x) { return x.qps_spread.has_value(); });
  ReportTable t;
  t.caption = "recall@k, QPS and query latency per ef";
  t.headers = {"ef", "k", "recall@k", spread ? "QPS (min–max)" : "QPS"};
  if (parallel) t.headers.push_back("QPS parallel");
  for (const char* h : {"p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs"}) t.headers.push_back(h);
  t.numeric.assign(t.headers.size(), true);
  for (const ReportRecallRun& run : r.runs) {
    std::vector<std::string> row = {std::to_string(run.ef), std::to_string(run.k), show_ratio(run.recall_at_k),
                                    with_spread(run.qps, run.qps_spread, show_count)};
    if (parallel) row.push_back(run.qps_parallel > 0 ? show_count(run.qps_parallel) : "-");
    for (double v : {run.latency_us.p50, run.latency_us.p90, run.latency_us.p99, run.latency_us.p999, run.latency_us.max}) {
      row.push_back(show_us(v));
    }
    t.rows.push_back(std::move(row));
  }
  t.note = "QPS and latency: one thread, one query at a time";
  if (spread) t.note += "; QPS is the median of the repetitions, their range in parentheses";
  s.tables.push_back(std::move(t));
}

void describe_replay(ReportSection& s, const ReportReplay& r) {
  if (!r.log.empty()) s.facts.emplace_back("log", r.log);
  s.facts.emplace_back("cache", fmt::format("mode {}, store {}{}", r.mode.empty() ? "-" : r.mode, r.store.empty() ? "-" : r.store,
                                            r.embedder.empty() ? "" : ", embedder " + r.embedder));
  const bool judged = std::any_of(r.runs.begin(), r.runs.end(), [](const ReportReplayRun& x) { return x.judged; });
  const bool hit_spread = std::any_of(r.runs.begin(), r.runs.end(), [](const ReportReplayRun& x) { return x.hit_rate_spread.has_value(); });
  const bool rps_spread = std::any_of(r.runs.begin(), r.runs.end(), [](const ReportReplayRun& x) { return x.throughput_spread.has_value(); });

  ReportTable hits;
  hits.caption = "hits and false hits per threshold (cosine distance; similarity = 1 - distance)";
  hits.headers = {"threshold", "similarity", "requests", "exact hits", "semantic hits", "misses", "errors",
                  hit_spread ? "hit rate (min–max)" : "hit rate"};
  if (judged) {
    for (const char* h : {"false hits", "false-hit rate [95% CI]", "precision"}) hits.headers.push_back(h);
  }
  hits.numeric.assign(hits.headers.size(), true);
  for (const ReportReplayRun& run : r.runs) {
    std::vector<std::string> row = {show_threshold(run.threshold), show_similarity(run.threshold), std::to_string(run.requests),
                                    std::to_string(run.exact_hits),  std::to_string(run.semantic_hits),   std::to_string(run.misses),
                                    std::to_string(run.errors),      with_spread(run.hit_rate, run.hit_rate_spread, show_percent)};
    if (judged) {
      row.push_back(run.judged ? std::to_string(run.false_hits) : "-");
      row.push_back(run.judged ? fmt::format("{} [{}, {}]", show_percent(run.false_hit_rate), show_percent(run.false_hit_rate_ci95.low),
                                             show_percent(run.false_hit_rate_ci95.high))
                               : "-");
      row.push_back(run.judged ? show_percent(run.precision) : "-");
    }
    hits.rows.push_back(std::move(row));
  }
  if (judged) hits.note = "false-hit rate: hits served from another group / requests, with its Wilson 95% interval";
  s.tables.push_back(std::move(hits));

  ReportTable cost;
  cost.caption = "latency, throughput and savings per threshold";
  cost.headers = {"threshold", "lookup p50 µs", "lookup p99 µs", "lookup p99.9 µs", "end-to-end p50 ms", "end-to-end p99 ms",
                  rps_spread ? "req/s (min–max)" : "req/s", "tokens saved", "cost saved USD"};
  cost.numeric.assign(cost.headers.size(), true);
  for (const ReportReplayRun& run : r.runs) {
    cost.rows.push_back({show_threshold(run.threshold), show_us(run.lookup_us.p50), show_us(run.lookup_us.p99),
                         show_us(run.lookup_us.p999), show_ms(run.end_to_end_us.p50), show_ms(run.end_to_end_us.p99),
                         with_spread(run.throughput_rps, run.throughput_spread, show_count), std::to_string(run.tokens_saved),
                         std::isfinite(run.cost_saved_usd) ? fmt::format("{:.4f}", run.cost_saved_usd) : "-"});
  }
  cost.note = "end-to-end: what the user would have waited: the lookup for a hit; the lookup, the logged model latency and the store for a miss";
  s.tables.push_back(std::move(cost));
}

void describe_curve(ReportSection& s, const ReportThresholdCurve& c) {
  if (!c.source.empty()) s.facts.emplace_back("input", c.source);
  if (!c.embedder.empty()) s.facts.emplace_back("embedder", c.embedder);
  for (const auto& fact : c.summary) s.facts.push_back(fact);
  const bool precision = std::any_of(c.curve.begin(), c.curve.end(), [](const ReportCurvePoint& p) { return p.precision.has_value(); });
  ReportTable t;
  t.caption = fmt::format("{} and false-hit rate against the threshold (cosine distance)", c.hit_rate_name);
  t.headers = {"threshold", "similarity", c.hit_rate_name};
  if (precision) t.headers.push_back("precision");
  t.headers.push_back("false-hit rate");
  t.numeric.assign(t.headers.size(), true);
  // The curve has hundreds of points; the table shows about twenty, evenly spaced, and the last.
  const std::size_t step = std::max<std::size_t>(1, c.curve.size() / 20);
  for (std::size_t i = 0; i < c.curve.size(); ++i) {
    if (i % step != 0 && i + 1 != c.curve.size()) continue;
    const ReportCurvePoint& p = c.curve[i];
    std::vector<std::string> row = {fmt::format("{:.3f}", p.threshold), fmt::format("{:.3f}", 1 - p.threshold), show_percent(p.hit_rate)};
    if (precision) row.push_back(p.precision ? show_percent(*p.precision) : "-");
    row.push_back(show_percent(p.false_hit_rate));
    t.rows.push_back(std::move(row));
  }
  if (step > 1) t.note = fmt::format("every {}th of the curve's {} points", step, c.curve.size());
  s.tables.push_back(std::move(t));
}

}  // namespace

std::string show_count(double value) { return std::isfinite(value) ? fmt::format("{:.0f}", value) : "-"; }
std::string show_percent(double share) { return std::isfinite(share) ? fmt::format("{:.2f}%", 100 * share) : "-"; }

std::string with_spread(double value, const std::optional<ValueRange>& spread, std::string (*show)(double)) {
  if (!spread) return show(value);
  return fmt::format("{} ({}–{})", show(value), show(spread->min), show(spread->max));
}

std::vector<std::size_t> pareto_frontier(const ReportRecall& r) {
  std::vector<std::size_t> frontier;
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const ReportRecallRun& p = r.runs[i];
    const bool dominated = std::any_of(r.runs.begin(), r.runs.end(), [&](const ReportRecallRun& q) {
      return q.recall_at_k >= p.recall_at_k && q.qps >= p.qps && (q.recall_at_k > p.recall_at_k || q.qps > p.qps);
    });
    if (!dominated) frontier.push_back(i);
  }
  std::sort(frontier.begin(), frontier.end(),
            [&](std::size_t a, std::size_t b) { return r.runs[a].recall_at_k < r.runs[b].recall_at_k; });
  return frontier;
}

ReportSection describe(const ReportInput& input) {
  ReportSection s;
  s.title = fmt::format("{}: {}", input.kind, input.path);
  if (const auto* recall = std::get_if<ReportRecall>(&input.figures)) describe_recall(s, *recall);
  if (const auto* replay = std::get_if<ReportReplay>(&input.figures)) describe_replay(s, *replay);
  if (const auto* curve = std::get_if<ReportThresholdCurve>(&input.figures)) describe_curve(s, *curve);
  add_common_facts(s, input);
  return s;
}

}  // namespace semcache::detail
