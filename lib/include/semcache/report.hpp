#pragma once
// `semcache report`: reads result JSON files (DESIGN.md "Result JSON") into a small model of
// their figures and renders them as aligned text tables, Markdown tables, or one self-contained
// HTML page with inline SVG plots (no network, no JavaScript).
//
//   auto input = read_report_input("recall.json");            // Expected<ReportInput>
//   std::string html = render_report({*input}, ReportFormat::kHtml);

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "semcache/latency_histogram.hpp"
#include "semcache/statistics.hpp"
#include "semcache/status.hpp"

namespace semcache {

// The smallest and largest value over a result's repetitions (repeats[]); the figure shown
// next to it is the median the harness reported.
struct ValueRange {
  double min = 0;
  double max = 0;
};

// ---- "kind": "recall" -----------------------------------------------------------------------

struct ReportRecallRun {
  std::size_t ef = 0;
  std::size_t k = 0;
  double recall_at_k = 0;
  double qps = 0;
  std::optional<ValueRange> qps_spread;      // over repetitions, when the result has them
  double qps_parallel = 0;                   // 0: not measured
  LatencySummary latency_us;
};

struct ReportRecall {
  std::string base;                          // params.base: the dataset
  std::string quant;
  std::string metric;
  std::size_t m = 0;
  std::size_t ef_construction = 0;
  std::size_t n = 0;
  std::size_t dim = 0;
  std::size_t queries = 0;
  double build_seconds = 0;
  double vectors_per_second = 0;
  std::uint64_t memory_bytes = 0;
  std::vector<ReportRecallRun> runs;         // in file order (usually ascending ef)
};

// ---- "kind": "replay" -----------------------------------------------------------------------

struct ReportTimelinePoint {
  std::uint64_t requests = 0;                // requests replayed at the end of the window
  double hit_rate = 0;                       // hits / requests within the window
};

struct ReportReplayRun {
  std::optional<double> threshold;           // none in exact mode (no threshold applies)
  std::uint64_t requests = 0;
  std::uint64_t exact_hits = 0;
  std::uint64_t semantic_hits = 0;
  std::uint64_t misses = 0;
  std::uint64_t errors = 0;
  double hit_rate = 0;
  std::optional<ValueRange> hit_rate_spread;
  bool judged = false;                       // the log carried ground-truth groups
  std::uint64_t false_hits = 0;
  double false_hit_rate = 0;
  Interval false_hit_rate_ci95;              // Wilson 95%; computed from the counts when absent
  double precision = 0;
  LatencySummary lookup_us;
  LatencySummary end_to_end_us;
  double throughput_rps = 0;
  std::optional<ValueRange> throughput_spread;
  std::uint64_t tokens_saved = 0;
  double cost_saved_usd = 0;
  std::vector<ReportTimelinePoint> timeline;
};

struct ReportReplay {
  std::string log;
  std::string store;
  std::string mode;
  std::string embedder;
  std::vector<ReportReplayRun> runs;         // one per threshold
};

// ---- "kind": "eval-pairs" and "tune" ----------------------------------------------------------

struct ReportCurvePoint {
  double threshold = 0;
  double hit_rate = 0;                       // eval-pairs: recall; tune: hit rate
  double false_hit_rate = 0;
  std::optional<double> precision;           // eval-pairs only
};

struct ReportThresholdCurve {
  std::string source;                        // the pairs file or the log
  std::string embedder;
  std::string hit_rate_name;                 // "recall" (eval-pairs) or "hit rate" (tune)
  // eval-pairs: its best-accuracy threshold; tune: the recommended one (none: nothing met the bound).
  std::optional<double> chosen_threshold;
  std::vector<std::pair<std::string, std::string>> summary;  // label, value: the headline figures
  std::vector<ReportCurvePoint> curve;
};

// One result file.
struct ReportInput {
  std::string path;
  std::string kind;                          // "recall", "replay", "eval-pairs" or "tune"
  std::string semcache_version;
  std::string machine;                       // e.g. "AMD EPYC, 2 cores, avx2"
  std::variant<ReportRecall, ReportReplay, ReportThresholdCurve> figures;
};

// The kinds read_report_input understands, for messages: "recall, replay, eval-pairs, tune".
std::string_view report_kinds();

// Reads and parses one result file. Errors (bad input) name the file: malformed JSON with its
// line and column, a kind that is not a result kind, a figure of the wrong type.
Expected<ReportInput> read_report_input(const std::string& path);
// The same from text already in memory; `name` stands for the file in messages.
Expected<ReportInput> parse_report_input(std::string_view json, const std::string& name);

enum class ReportFormat { kText, kMarkdown, kHtml };

// "text", "md" (or "markdown"), "html".
Expected<ReportFormat> parse_report_format(std::string_view name);

// One section per input, in order; with several inputs of one kind the HTML also overlays them
// in shared plots. Every string from the inputs is escaped for the format.
std::string render_report(const std::vector<ReportInput>& inputs, ReportFormat format);

}  // namespace semcache
