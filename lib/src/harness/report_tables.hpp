#pragma once
// The report's content independent of its format: for each result file a section with a few
// facts (what was measured, on what) and tables of figures as display strings. The text,
// Markdown and HTML renderers lay these out, so all three forms always show the same numbers.

#include <string>
#include <utility>
#include <vector>

#include "semcache/report.hpp"

namespace semcache::detail {

struct ReportTable {
  std::string caption;
  std::vector<std::string> headers;
  std::vector<std::vector<std::string>> rows;   // each as long as headers; numbers right-aligned
  std::vector<bool> numeric;                    // per column: right-align
  std::string note;                             // below the table; empty: none
};

struct ReportSection {
  std::string title;                            // e.g. "recall: results/r.json"
  std::vector<std::pair<std::string, std::string>> facts;
  std::vector<ReportTable> tables;
};

ReportSection describe(const ReportInput& input);

// A figure and, when the result has repetitions, their range: "12300 (11900–13000)".
// Non-finite values (null in the file) show as "-".
std::string with_spread(double value, const std::optional<ValueRange>& spread, std::string (*show)(double));

std::string show_count(double value);     // "12300"
std::string show_percent(double share);   // 0.1234 -> "12.34%"

// The indexes of the runs that no other run beats on both recall and QPS, by ascending recall
// (the recall/QPS plot's Pareto frontier).
std::vector<std::size_t> pareto_frontier(const ReportRecall& recall);

// The three layouts (render_report dispatches to them).
std::string render_text(const std::vector<ReportInput>& inputs);
std::string render_markdown(const std::vector<ReportInput>& inputs);
std::string render_html(const std::vector<ReportInput>& inputs);

}  // namespace semcache::detail
