#pragma once
// Comparing two result files (`semcache compare BASELINE.json CURRENT.json`): runs matched by
// their parameters, each figure's change with the direction that is better for it, and a gate
// (regression limits, requirements) whose verdict respects the measured noise of repetitions.
//
//   CompareOptions options;
//   options.limits = *parse_regression_limits("qps=10%,latency_us.p99=20%");
//   options.requirements.push_back(*parse_requirement("recall_at_k>=0.95"));
//   auto result = compare_result_files("baseline.json", "current.json", options);
//   if (result && !result->passed()) { /* result->failures says why */ }
//
// Noise: when both sides carry >= min_repeats repetitions of a figure (`repeats[]`), a change
// beyond its limit is a regression only if a one-sided exact Mann-Whitney U test finds the
// current repetitions worse than the baseline's at p <= alpha (0.05); otherwise it is "within
// noise". Without repetitions the limit alone decides.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/status.hpp"

namespace semcache {

// Which way a figure improves.
enum class Better { kHigher, kLower };

// How far one figure may get worse: `figure` is a figure name or a prefix pattern ending in
// ".*" (e.g. "latency_us.*"); `relative` amounts are fractions of the baseline (0.1 = 10%),
// absolute ones are in the figure's unit.
struct RegressionLimit {
  std::string figure;
  double amount = 0;
  bool relative = true;
};

// `figure OP value` with OP one of >=, <=, >, <; checked on the current side of every matched run
// that has the figure.
struct Requirement {
  enum class Op { kGreaterEqual, kLessEqual, kGreater, kLess };
  std::string figure;
  Op op = Op::kGreaterEqual;
  double value = 0;
  std::string text;  // as written, for messages
};

// "qps=10%,recall_at_k=0.005" -> limits; a number with % is relative, without it absolute.
Expected<std::vector<RegressionLimit>> parse_regression_limits(std::string_view text);
// "recall_at_k>=0.95" -> a requirement.
Expected<Requirement> parse_requirement(std::string_view text);

struct CompareOptions {
  std::vector<RegressionLimit> limits;
  std::vector<Requirement> requirements;
  std::vector<std::string> ignored_params;  // params that may differ between the files
  double alpha = 0.05;                      // significance of the noise test
  std::size_t min_repeats = 3;              // repetitions per side needed to judge noise
};

enum class Verdict {
  kUnchanged,
  kBetter,
  kWorse,         // worse, but no limit applies or it stays within its limit
  kRegression,    // worse beyond its limit (and outside the noise when noise was measured)
  kWithinNoise,   // worse beyond its limit, but not distinguishable from the repetitions' noise
  kOnlyBaseline,  // the figure is missing from the current run
  kOnlyCurrent,   // the figure is missing from the baseline run
};
std::string_view to_string(Verdict verdict);

struct FigureChange {
  std::string figure;  // path inside the run object, e.g. "latency_us.p99"
  Better better = Better::kHigher;
  std::optional<double> baseline;
  std::optional<double> current;
  double change = 0;           // current - baseline (0 when a side is missing)
  double relative_change = 0;  // change / |baseline|: +-inf when the baseline is 0 and current is not
  std::optional<RegressionLimit> limit;
  std::size_t baseline_repeats = 0;
  std::size_t current_repeats = 0;
  std::optional<double> p_value;  // one-sided "current is worse", when both sides have enough repeats
  Verdict verdict = Verdict::kUnchanged;
};

struct RunComparison {
  std::string label;  // the run's key, e.g. "ef=64 k=10" or "threshold=0.1"
  std::vector<FigureChange> figures;
};

struct RequirementCheck {
  Requirement requirement;
  std::string run;
  double value = 0;
  bool passed = true;
};

struct CompareResult {
  std::string kind;  // "recall" or "replay"
  std::string baseline_path;
  std::string current_path;
  std::vector<std::string> params;  // the experiment params both files share, "name=value"
  std::vector<std::string> notes;   // params present on one side only, different machines
  std::vector<RunComparison> runs;
  std::vector<std::string> unmatched_baseline;  // run labels with no counterpart
  std::vector<std::string> unmatched_current;
  std::vector<RequirementCheck> requirement_checks;
  std::vector<std::string> failures;  // one line per regression or failed requirement
  double alpha = 0.05;
  std::size_t min_repeats = 3;

  bool passed() const { return failures.empty(); }
};

// Reads, matches and judges two result files. Errors (bad_input / not_found): a file missing or
// not valid JSON, not a recall or replay result, kinds that differ, no run matching, a limit or
// requirement naming an unknown figure or one that no matched run has.
Expected<CompareResult> compare_result_files(const std::string& baseline_path, const std::string& current_path,
                                             const CompareOptions& options);
// The same on JSON text already in memory; the names stand for the files in messages.
Expected<CompareResult> compare_result_texts(std::string_view baseline_json, const std::string& baseline_name,
                                             std::string_view current_json, const std::string& current_name,
                                             const CompareOptions& options);

// The figures compare knows for a result kind, each with its direction.
struct FigureInfo {
  std::string_view name;
  Better better;
};
std::vector<FigureInfo> known_figures(std::string_view kind);

// Renderings: aligned text for a terminal, a Markdown table for a PR comment, JSON for tools.
std::string compare_result_text(const CompareResult& result);
std::string compare_result_markdown(const CompareResult& result);
std::string compare_result_json(const CompareResult& result);

}  // namespace semcache
