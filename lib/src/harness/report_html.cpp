// The HTML layout of a report: one self-contained page (inline CSS and SVG, no script, no
// network; a Content-Security-Policy that forbids both makes that checkable in a browser).
//
// Order: when several files share a kind, a comparison section first overlays them (recall/QPS
// frontiers of every recall result; hit rate and false-hit rate against threshold of every
// replay); then one section per file with its plots and then its tables (describe(), the same
// tables as the text and Markdown forms).
//
// Plots per kind:
//   recall      recall@k against QPS (log) with the Pareto frontier and each point's ef; latency
//               percentiles against ef (log-log); the latency CDF per ef.
//   replay      hit rate against threshold (with the repetitions' range when present);
//               false-hit rate against threshold with its Wilson 95% interval; hit rate over the
//               replay (timeline); the lookup latency CDF per threshold.
//   eval-pairs, tune   hit rate (recall), precision and false-hit rate against threshold, with the
//               chosen threshold marked; the false-hit rate alone on its own scale.
// The CDFs are drawn through the five percentiles a result records (p50, p90, p99, p99.9, max),
// and their captions say so: between those points the line is an interpolation, not data.
//
// Every string from an input (paths, names) goes through xml_escape, in text and attributes.

#include <algorithm>
#include <cmath>
#include <map>

#include <fmt/format.h>

#include "harness/report_tables.hpp"
#include "harness/svg_plot.hpp"

namespace semcache::detail {
namespace {

constexpr const char* kCdfCaption =
    "The CDF is drawn through the five percentiles the result records (p50, p90, p99, p99.9, max); the "
    "result has no full histogram, so the lines between them are interpolated.";

constexpr const char* kStyle = R"css(
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 20px; max-width: 1180px; }
h1 { font-size: 22px; margin: 0 0 6px 0; }
h2 { font-size: 18px; margin: 28px 0 6px 0; border-bottom: 2px solid #0072B2; padding-bottom: 3px; word-break: break-all; }
p.files { font-size: 13px; color: #444; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: max-content auto; gap: 2px 12px; font-size: 13px; margin: 8px 0; }
dl.facts dt { font-weight: bold; }
dl.facts dd { margin: 0; word-break: break-all; }
figure { display: inline-block; vertical-align: top; margin: 8px 12px 12px 0; }
figcaption { font-size: 12px; color: #555; max-width: 540px; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { padding: 3px 8px; border-bottom: 1px solid #ddd; white-space: nowrap; }
th { background: #f3f6f9; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
p.note { font-size: 12px; color: #555; margin: 2px 0 14px 0; }
)css";

std::string short_name(const ReportInput& input) {
  const std::size_t slash = input.path.find_last_of('/');
  return slash == std::string::npos ? input.path : input.path.substr(slash + 1);
}

std::string figure(const Plot& plot, const std::string& caption) {
  return "<figure>\n" + render_svg(plot) + "<figcaption>" + xml_escape(caption) + "</figcaption>\n</figure>\n";
}

std::string recall_qps_figure(const std::vector<const ReportInput*>& inputs) {
  Plot plot;
  plot.title = "recall@k against QPS";
  plot.x = {"recall@k (share of the true k nearest found)", AxisScale::kLinear, false, std::nullopt, std::nullopt};
  plot.y = {"QPS (queries/s, log scale)", AxisScale::kLog, false, std::nullopt, std::nullopt};
  bool spread = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    const auto& r = std::get<ReportRecall>(inputs[i]->figures);
    const std::string name = inputs.size() > 1 ? short_name(*inputs[i]) + ": " : "";
    PlotSeries runs{name + "runs (labelled with ef)", {}, false, true, false, static_cast<int>(i)};
    for (const ReportRecallRun& run : r.runs) {
      PlotPoint p{run.recall_at_k, run.qps, std::nullopt, std::nullopt, fmt::format("ef={}", run.ef)};
      if (run.qps_spread) {
        p.y_low = run.qps_spread->min;
        p.y_high = run.qps_spread->max;
        spread = true;
      }
      runs.points.push_back(p);
    }
    PlotSeries frontier{name + "Pareto frontier", {}, true, false, true, static_cast<int>(i)};
    for (std::size_t k : pareto_frontier(r)) frontier.points.push_back({r.runs[k].recall_at_k, r.runs[k].qps, {}, {}, ""});
    plot.series.push_back(std::move(runs));
    plot.series.push_back(std::move(frontier));
  }
  std::string caption =
      "Up and to the right is better. The dashed line joins the runs that no other run beats on both recall and QPS. "
      "QPS: one thread, one query at a time.";
  if (spread) caption += " Bars: the range of QPS over the repetitions.";
  return figure(plot, caption);
}

std::string latency_per_ef_figure(const ReportRecall& r) {
  Plot plot;
  plot.title = "query latency percentiles per ef";
  plot.x = {"ef (candidate list size, log scale)", AxisScale::kLog, false, std::nullopt, std::nullopt};
  plot.y = {"latency (µs, log scale)", AxisScale::kLog, false, std::nullopt, std::nullopt};
  const std::pair<const char*, double LatencySummary::*> percentiles[] = {
      {"p50", &LatencySummary::p50}, {"p90", &LatencySummary::p90}, {"p99", &LatencySummary::p99},
      {"p99.9", &LatencySummary::p999}, {"max", &LatencySummary::max}};
  for (const auto& [name, member] : percentiles) {
    PlotSeries s{name, {}, true, true, false, -1};
    for (const ReportRecallRun& run : r.runs) s.points.push_back({static_cast<double>(run.ef), run.latency_us.*member, {}, {}, ""});
    plot.series.push_back(std::move(s));
  }
  return figure(plot, "Latency of single queries on one thread, by percentile.");
}

PlotSeries cdf_series(const std::string& name, const LatencySummary& s) {
  PlotSeries series{name, {}, true, true, false, -1};
  for (const auto& [value, share] : {std::pair{s.p50, 0.5}, {s.p90, 0.9}, {s.p99, 0.99}, {s.p999, 0.999}, {s.max, 1.0}}) {
    series.points.push_back({value, share, {}, {}, ""});
  }
  return series;
}

Plot cdf_plot(const std::string& title, const std::string& what) {
  Plot plot;
  plot.title = title;
  plot.x = {"latency (µs, log scale)", AxisScale::kLog, false, std::nullopt, std::nullopt};
  plot.y = {"share of " + what + " answered within", AxisScale::kLinear, true, 0.5, 1.0};
  return plot;
}

std::string recall_latency_cdf_figure(const ReportRecall& r) {
  Plot plot = cdf_plot("query latency CDF per ef", "queries");
  for (const ReportRecallRun& run : r.runs) plot.series.push_back(cdf_series(fmt::format("ef={}", run.ef), run.latency_us));
  return figure(plot, kCdfCaption);
}

bool has_thresholds(const ReportReplay& r) {
  return std::any_of(r.runs.begin(), r.runs.end(), [](const ReportReplayRun& run) { return run.threshold.has_value(); });
}

std::string threshold_axis_label() { return "threshold (cosine distance; similarity = 1 - distance)"; }

std::string hit_rate_figure(const std::vector<const ReportInput*>& inputs) {
  Plot plot;
  plot.title = "hit rate against threshold";
  plot.x = {threshold_axis_label(), AxisScale::kLinear, false, std::nullopt, std::nullopt};
  plot.y = {"hit rate (hits / requests)", AxisScale::kLinear, true, 0.0, std::nullopt};
  bool spread = false;
  for (const ReportInput* input : inputs) {
    const auto& r = std::get<ReportReplay>(input->figures);
    PlotSeries s{inputs.size() > 1 ? short_name(*input) : "hit rate", {}, true, true, false, -1};
    for (const ReportReplayRun& run : r.runs) {
      if (!run.threshold) continue;
      PlotPoint p{*run.threshold, run.hit_rate, std::nullopt, std::nullopt, ""};
      if (run.hit_rate_spread) {
        p.y_low = run.hit_rate_spread->min;
        p.y_high = run.hit_rate_spread->max;
        spread = true;
      }
      s.points.push_back(p);
    }
    plot.series.push_back(std::move(s));
  }
  std::string caption = "Share of requests answered from the cache (exact and semantic hits), each threshold replayed on its own empty cache.";
  if (spread) caption += " Bars: the range over the repetitions.";
  return figure(plot, caption);
}

std::string false_hit_figure(const std::vector<const ReportInput*>& inputs) {
  Plot plot;
  plot.title = "false-hit rate against threshold";
  plot.x = {threshold_axis_label(), AxisScale::kLinear, false, std::nullopt, std::nullopt};
  plot.y = {"false-hit rate (wrong answers / requests)", AxisScale::kLinear, true, 0.0, std::nullopt};
  for (const ReportInput* input : inputs) {
    const auto& r = std::get<ReportReplay>(input->figures);
    PlotSeries s{inputs.size() > 1 ? short_name(*input) : "false-hit rate, Wilson 95% interval", {}, true, true, false,
                 inputs.size() > 1 ? -1 : 1};
    for (const ReportReplayRun& run : r.runs) {
      if (!run.threshold || !run.judged) continue;
      s.points.push_back({*run.threshold, run.false_hit_rate, run.false_hit_rate_ci95.low, run.false_hit_rate_ci95.high, ""});
    }
    plot.series.push_back(std::move(s));
  }
  return figure(plot,
                "A false hit serves a cached answer from another ground-truth group. Bars: the Wilson 95% interval of "
                "false hits / requests.");
}

std::string timeline_figure(const ReportReplay& r) {
  Plot plot;
  plot.title = "hit rate over the replay";
  plot.x = {"requests replayed", AxisScale::kLinear, false, 0.0, std::nullopt};
  plot.y = {"hit rate in the window", AxisScale::kLinear, true, 0.0, std::nullopt};
  for (const ReportReplayRun& run : r.runs) {
    PlotSeries s{run.threshold ? fmt::format("threshold {:.3f}", *run.threshold) : std::string("exact"), {}, true, false, false, -1};
    for (const ReportTimelinePoint& p : run.timeline) s.points.push_back({static_cast<double>(p.requests), p.hit_rate, {}, {}, ""});
    plot.series.push_back(std::move(s));
  }
  return figure(plot, "Hits / requests within each window of the log: the cache warms up as it fills.");
}

std::string replay_latency_cdf_figure(const ReportReplay& r) {
  Plot plot = cdf_plot("lookup latency CDF", "lookups");
  for (const ReportReplayRun& run : r.runs) {
    plot.series.push_back(cdf_series(run.threshold ? fmt::format("threshold {:.3f}", *run.threshold) : "exact", run.lookup_us));
  }
  return figure(plot, std::string("Lookup latency, embedding and store round trips included. ") + kCdfCaption);
}

std::string curve_figures(const ReportThresholdCurve& c) {
  Plot plot;
  const bool has_precision = std::any_of(c.curve.begin(), c.curve.end(), [](const ReportCurvePoint& p) { return p.precision.has_value(); });
  plot.title = fmt::format("{}{} and false-hit rate against threshold", c.hit_rate_name, has_precision ? ", precision" : "");
  plot.x = {threshold_axis_label(), AxisScale::kLinear, false, 0.0, 1.0};
  plot.y = {"share", AxisScale::kLinear, true, 0.0, 1.0};
  PlotSeries hit{c.hit_rate_name, {}, true, false, false, 0};
  PlotSeries precision{"precision", {}, true, false, false, 2};
  PlotSeries false_hits{"false-hit rate", {}, true, false, false, 1};
  for (const ReportCurvePoint& p : c.curve) {
    hit.points.push_back({p.threshold, p.hit_rate, {}, {}, ""});
    if (p.precision) precision.points.push_back({p.threshold, *p.precision, {}, {}, ""});
    false_hits.points.push_back({p.threshold, p.false_hit_rate, {}, {}, ""});
  }
  Plot zoom;
  zoom.title = "false-hit rate against threshold";
  zoom.x = plot.x;
  zoom.y = {"false-hit rate", AxisScale::kLinear, true, 0.0, std::nullopt};
  zoom.series.push_back(false_hits);
  plot.series.push_back(std::move(hit));
  if (has_precision) plot.series.push_back(std::move(precision));
  plot.series.push_back(std::move(false_hits));
  if (c.chosen_threshold) {
    const PlotMarkerLine marker{*c.chosen_threshold, fmt::format("chosen {:.3f}", *c.chosen_threshold)};
    plot.x_markers.push_back(marker);
    zoom.x_markers.push_back(marker);
  }
  return figure(plot, "A pair or request is accepted when its cosine distance is at most the threshold.") +
         figure(zoom, "The false-hit rate on its own scale.");
}

std::string html_table(const ReportTable& t) {
  std::string out = "<table>\n<caption>" + xml_escape(t.caption) + "</caption>\n<thead><tr>";
  for (std::size_t c = 0; c < t.headers.size(); ++c) {
    out += fmt::format("<th{}>{}</th>", t.numeric[c] ? " class=\"num\"" : "", xml_escape(t.headers[c]));
  }
  out += "</tr></thead>\n<tbody>\n";
  for (const auto& row : t.rows) {
    out += "<tr>";
    for (std::size_t c = 0; c < row.size(); ++c) {
      out += fmt::format("<td{}>{}</td>", c < t.numeric.size() && t.numeric[c] ? " class=\"num\"" : "", xml_escape(row[c]));
    }
    out += "</tr>\n";
  }
  out += "</tbody>\n</table>\n";
  if (!t.note.empty()) out += "<p class=\"note\">" + xml_escape(t.note) + "</p>\n";
  return out;
}

std::string file_section(const ReportInput& input) {
  const ReportSection s = describe(input);
  std::string out = fmt::format("<section class=\"result\" data-kind=\"{}\">\n<h2>{}</h2>\n<dl class=\"facts\">\n",
                                xml_escape(input.kind), xml_escape(s.title));
  for (const auto& [label, value] : s.facts) out += "<dt>" + xml_escape(label) + "</dt><dd>" + xml_escape(value) + "</dd>\n";
  out += "</dl>\n<div class=\"plots\">\n";
  if (const auto* recall = std::get_if<ReportRecall>(&input.figures)) {
    out += recall_qps_figure({&input}) + latency_per_ef_figure(*recall) + recall_latency_cdf_figure(*recall);
  } else if (const auto* replay = std::get_if<ReportReplay>(&input.figures)) {
    if (has_thresholds(*replay)) {
      out += hit_rate_figure({&input});
      if (std::any_of(replay->runs.begin(), replay->runs.end(), [](const ReportReplayRun& r) { return r.judged; })) {
        out += false_hit_figure({&input});
      }
    }
    out += timeline_figure(*replay) + replay_latency_cdf_figure(*replay);
  } else if (const auto* curve = std::get_if<ReportThresholdCurve>(&input.figures)) {
    out += curve_figures(*curve);
  }
  out += "</div>\n";
  for (const ReportTable& t : s.tables) out += html_table(t);
  out += "</section>\n";
  return out;
}

// Overlay plots for kinds with more than one file.
std::string comparison_sections(const std::vector<ReportInput>& inputs) {
  std::map<std::string, std::vector<const ReportInput*>> by_kind;
  for (const ReportInput& input : inputs) by_kind[input.kind].push_back(&input);
  std::string out;
  for (const auto& [kind, group] : by_kind) {
    if (group.size() < 2) continue;
    std::string plots;
    if (kind == "recall") {
      plots = recall_qps_figure(group);
    } else if (kind == "replay") {
      std::vector<const ReportInput*> with_thresholds;
      for (const ReportInput* input : group) {
        if (has_thresholds(std::get<ReportReplay>(input->figures))) with_thresholds.push_back(input);
      }
      if (with_thresholds.size() >= 2) plots = hit_rate_figure(with_thresholds) + false_hit_figure(with_thresholds);
    }
    if (plots.empty()) continue;
    out += fmt::format("<section class=\"comparison\" data-kind=\"{0}\">\n<h2>{1} {0} results compared</h2>\n<div class=\"plots\">\n",
                       xml_escape(kind), group.size());
    out += plots + "</div>\n</section>\n";
  }
  return out;
}

}  // namespace

std::string render_html(const std::vector<ReportInput>& inputs) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>semcache report</title>\n<style>";
  out += kStyle;
  out += "</style>\n</head>\n<body>\n<h1>semcache report</h1>\n<p class=\"files\">";
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    out += (i == 0 ? "" : ", ") + xml_escape(inputs[i].path) + " (" + xml_escape(inputs[i].kind) + ")";
  }
  out += "</p>\n";
  out += comparison_sections(inputs);
  for (const ReportInput& input : inputs) out += file_section(input);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace semcache::detail
