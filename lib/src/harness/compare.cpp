// compare: two result files (DESIGN.md "Result JSON") read into a small figure model, their runs
// matched by parameters, every known figure's change judged against the limits, the
// requirements and the repetitions' noise.
//
// The figure model. A result file becomes its kind, its experiment params (name -> value text),
// and runs; a run is a label that is its matching key and a flat map figure path -> value
// ("latency_us.p99"), with each figure's repetitions from the run's `repeats[]` (one object per
// repetition, same figure names; the run object itself holds the medians). Recall results give
// one run per runs[] entry, keyed "ef=.. k=..", and one "build" run whose figures keep their
// "build." prefix; replay results give one run per per_threshold[] entry keyed "threshold=..",
// or the top-level figures when a replay wrote no per_threshold[]. Only figures in the kind's
// table (known_figures) are compared: the table is where each figure's better direction lives,
// and counters such as `requests` or `hits.exact` describe a run rather than grade it.
//
// Matching. Two runs match when their files measure the same experiment and their keys are
// equal. Params decide the experiment, except those that only say where inputs were or how a
// measurement was run (build threads, repeat count, key prefix, the list of thresholds, which
// per-threshold matching already handles); file paths are compared by file name, so the same
// dataset in another directory still matches. A param present in one file only (a newer
// version that records more) is noted, not a mismatch; --ignore-param lets a deliberate
// difference (int8 against f32) through. Different params mean no run can match: that is an
// error (exit 2), as is no run key in common, because a gate that compared nothing would pass
// silently. Runs present on one side only are listed.
//
// Judging. A figure that got worse by more than its limit is a regression, unless both sides
// carry at least min_repeats repetitions of it and the one-sided Mann-Whitney test
// (compare_noise.cpp) does not find current worse at p <= alpha: then it is "within noise".
// A limit or requirement naming a figure the kind does not have, or one that no matched run
// has, is an error: a typo must not turn a gate into a no-op.

#include "semcache/compare.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "harness/compare_detail.hpp"

namespace semcache {

namespace {

namespace dom = simdjson::dom;

constexpr FigureInfo kRecallFigures[] = {
    {"recall_at_k", Better::kHigher},
    {"qps", Better::kHigher},
    {"qps_parallel", Better::kHigher},
    {"latency_us.p50", Better::kLower},
    {"latency_us.p90", Better::kLower},
    {"latency_us.p99", Better::kLower},
    {"latency_us.p999", Better::kLower},
    {"latency_us.max", Better::kLower},
    {"latency_us.mean", Better::kLower},
    {"distances_per_query", Better::kLower},
    {"visited_per_query", Better::kLower},
    {"build.seconds", Better::kLower},
    {"build.vectors_per_second", Better::kHigher},
    {"build.memory_bytes", Better::kLower},
};

constexpr FigureInfo kReplayFigures[] = {
    {"hit_rate", Better::kHigher},
    {"false_hit_rate", Better::kLower},
    {"precision", Better::kHigher},
    {"throughput_rps", Better::kHigher},
    {"cost_saved_usd", Better::kHigher},
    {"tokens_saved", Better::kHigher},
    {"errors", Better::kLower},
    {"dropped_stores", Better::kLower},
    {"latency_us.lookup.p50", Better::kLower},
    {"latency_us.lookup.p90", Better::kLower},
    {"latency_us.lookup.p99", Better::kLower},
    {"latency_us.lookup.p999", Better::kLower},
    {"latency_us.lookup.max", Better::kLower},
    {"latency_us.lookup.mean", Better::kLower},
    {"latency_us.end_to_end.p50", Better::kLower},
    {"latency_us.end_to_end.p90", Better::kLower},
    {"latency_us.end_to_end.p99", Better::kLower},
    {"latency_us.end_to_end.p999", Better::kLower},
    {"latency_us.end_to_end.max", Better::kLower},
    {"latency_us.end_to_end.mean", Better::kLower},
};

// Params that do not define the experiment (see the top of the file).
const std::set<std::string, std::less<>> kIgnoredParams = {"threads", "repeat", "figures", "thresholds", "prefix",
                                                           "on_error"};
// Params holding a file path: compared by file name.
const std::set<std::string, std::less<>> kPathParams = {"base", "queries", "gt", "log", "prices"};
// Machine fields worth a note when they differ.
constexpr std::string_view kMachineFields[] = {"cores", "cpu_model", "simd_level"};

struct Run {
  std::string label;
  std::map<std::string, double, std::less<>> figures;
  std::map<std::string, std::vector<double>, std::less<>> repeats;
};

struct ResultFile {
  std::string name;
  std::string kind;
  std::map<std::string, std::string, std::less<>> params;
  std::map<std::string, std::string, std::less<>> machine;
  std::vector<Run> runs;
};

std::string value_text(dom::element value) {
  std::string_view text;
  if (value.get(text) == simdjson::SUCCESS) return std::string(text);
  return simdjson::minify(value);
}

// Every number under `object`, by dotted path; arrays (repeats[], timeline[]) are not figures.
void flatten(dom::object object, const std::string& prefix, std::map<std::string, double, std::less<>>& out) {
  for (auto [key, value] : object) {
    const std::string path = prefix + std::string(key);
    double number = 0;
    dom::object child;
    if (value.is_number() && value.get(number) == simdjson::SUCCESS) {
      out[path] = number;
    } else if (value.get(child) == simdjson::SUCCESS) {
      flatten(child, path + ".", out);
    }
  }
}

// A run from one object: its figures, and the repetitions listed in its repeats[].
Expected<Run> read_run(dom::object object, std::string label, const std::string& prefix, const std::string& where) {
  Run run;
  run.label = std::move(label);
  flatten(object, prefix, run.figures);
  dom::element repeats_value;
  if (object["repeats"].get(repeats_value) != simdjson::SUCCESS) return run;
  dom::array repeats;
  if (repeats_value.get(repeats) != simdjson::SUCCESS) {
    return Status::bad_input(where + ": \"repeats\" must be an array of objects, one per repetition");
  }
  std::size_t index = 0;
  for (dom::element item : repeats) {
    dom::object repetition;
    if (item.get(repetition) != simdjson::SUCCESS) {
      return Status::bad_input(fmt::format("{}: repeats[{}] must be an object of figures, got {}", where, index,
                                           simdjson::minify(item)));
    }
    std::map<std::string, double, std::less<>> figures;
    flatten(repetition, prefix, figures);
    for (const auto& [path, value] : figures) run.repeats[path].push_back(value);
    ++index;
  }
  return run;
}

Expected<double> number_field(dom::object object, std::string_view field, const std::string& where) {
  dom::element value;
  double number = 0;
  if (object[field].get(value) != simdjson::SUCCESS) {
    return Status::bad_input(fmt::format("{}: field \"{}\" is missing", where, field));
  }
  if (!value.is_number() || value.get(number) != simdjson::SUCCESS) {
    return Status::bad_input(fmt::format("{}: field \"{}\" must be a number, got {}", where, field, simdjson::minify(value)));
  }
  return number;
}

// Two runs with the same key in one file (say --ef 16,16) stay apart as "#2", "#3", ...
void number_duplicates(std::vector<Run>& runs) {
  std::map<std::string, int> seen;
  for (Run& run : runs) {
    const int count = ++seen[run.label];
    if (count > 1) run.label += fmt::format(" #{}", count);
  }
}

Status read_recall_runs(dom::object root, ResultFile& file) {
  dom::array runs;
  if (root["runs"].get(runs) != simdjson::SUCCESS) {
    return Status::bad_input(file.name + ": a recall result needs an array \"runs\" (one object per ef)");
  }
  std::size_t index = 0;
  for (dom::element item : runs) {
    const std::string where = fmt::format("{}: runs[{}]", file.name, index++);
    dom::object object;
    if (item.get(object) != simdjson::SUCCESS) return Status::bad_input(where + ": must be an object");
    auto ef = number_field(object, "ef", where);
    if (!ef) return ef.status();
    auto k = number_field(object, "k", where);
    if (!k) return k.status();
    auto run = read_run(object, fmt::format("ef={:g} k={:g}", *ef, *k), "", where);
    if (!run) return run.status();
    file.runs.push_back(std::move(*run));
  }
  dom::object build;
  if (root["build"].get(build) == simdjson::SUCCESS) {
    auto run = read_run(build, "build", "build.", file.name + ": build");
    if (!run) return run.status();
    file.runs.push_back(std::move(*run));
  }
  return Status::ok();
}

Status read_replay_runs(dom::object root, ResultFile& file) {
  dom::array per_threshold;
  if (root["per_threshold"].get(per_threshold) != simdjson::SUCCESS) {
    auto threshold = number_field(root, "threshold", file.name);
    if (!threshold) return threshold.status();
    auto run = read_run(root, fmt::format("threshold={:g}", *threshold), "", file.name);
    if (!run) return run.status();
    file.runs.push_back(std::move(*run));
    return Status::ok();
  }
  std::size_t index = 0;
  for (dom::element item : per_threshold) {
    const std::string where = fmt::format("{}: per_threshold[{}]", file.name, index++);
    dom::object object;
    if (item.get(object) != simdjson::SUCCESS) return Status::bad_input(where + ": must be an object");
    auto threshold = number_field(object, "threshold", where);
    if (!threshold) return threshold.status();
    auto run = read_run(object, fmt::format("threshold={:g}", *threshold), "", where);
    if (!run) return run.status();
    file.runs.push_back(std::move(*run));
  }
  return Status::ok();
}

Expected<ResultFile> read_result(std::string_view json, const std::string& name) {
  ResultFile file;
  file.name = name;
  dom::parser parser;
  dom::element doc;
  const simdjson::padded_string padded(json);
  if (auto error = parser.parse(padded).get(doc); error != simdjson::SUCCESS) {
    return Status::bad_input(fmt::format("{}: not valid JSON ({}); expected a result file written by a semcache "
                                         "command with --json",
                                         name, simdjson::error_message(error)));
  }
  dom::object root;
  std::string_view kind;
  if (doc.get(root) != simdjson::SUCCESS || root["kind"].get(kind) != simdjson::SUCCESS) {
    return Status::bad_input(name + ": not a semcache result (expected an object with a string \"kind\")");
  }
  file.kind = std::string(kind);
  dom::object params;
  if (root["params"].get(params) == simdjson::SUCCESS) {
    for (auto [key, value] : params) file.params[std::string(key)] = value_text(value);
  }
  dom::object machine;
  if (root["machine"].get(machine) == simdjson::SUCCESS) {
    for (std::string_view field : kMachineFields) {
      dom::element value;
      if (machine[field].get(value) == simdjson::SUCCESS) file.machine[std::string(field)] = value_text(value);
    }
  }
  Status status = file.kind == "recall"   ? read_recall_runs(root, file)
                  : file.kind == "replay" ? read_replay_runs(root, file)
                                          : Status::bad_input(fmt::format(
                                                "{}: compare reads \"recall\" and \"replay\" results, this one is \"{}\"",
                                                name, file.kind));
  if (!status) return status;
  number_duplicates(file.runs);
  return file;
}

Expected<std::string> read_file(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::is_regular_file(path, error)) return Status::not_found(path + ": no such file");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) return Status::io(path + ": read failed");
  return text.str();
}

std::string known_list(std::string_view kind) {
  std::string names;
  for (const FigureInfo& f : known_figures(kind)) names += (names.empty() ? "" : ", ") + std::string(f.name);
  return names;
}

// A figure name as written in a limit or requirement: letters, digits, '_' and '.', and for
// limits a final ".*".
bool valid_figure_name(std::string_view name, bool pattern_allowed) {
  if (pattern_allowed && name.size() > 2 && name.substr(name.size() - 2) == ".*") name.remove_suffix(2);
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

bool pattern_matches(std::string_view pattern, std::string_view figure) {
  if (pattern.size() >= 2 && pattern.substr(pattern.size() - 2) == ".*") {
    return figure.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  }
  return pattern == figure;
}

// The limit for a figure: its own name first, else the longest matching "prefix.*".
std::optional<RegressionLimit> limit_for(const std::vector<RegressionLimit>& limits, std::string_view figure) {
  std::optional<RegressionLimit> best;
  for (const RegressionLimit& limit : limits) {
    if (limit.figure == figure) return limit;
    if (pattern_matches(limit.figure, figure) && (!best || limit.figure.size() > best->figure.size())) best = limit;
  }
  return best;
}

bool is_known(std::string_view kind, std::string_view pattern) {
  for (const FigureInfo& f : known_figures(kind)) {
    if (pattern_matches(pattern, f.name)) return true;
  }
  return false;
}

std::string comparison_text(Requirement::Op op) {
  switch (op) {
    case Requirement::Op::kGreaterEqual: return ">=";
    case Requirement::Op::kLessEqual: return "<=";
    case Requirement::Op::kGreater: return ">";
    case Requirement::Op::kLess: return "<";
  }
  return "?";
}

bool holds(double value, Requirement::Op op, double bound) {
  switch (op) {
    case Requirement::Op::kGreaterEqual: return value >= bound;
    case Requirement::Op::kLessEqual: return value <= bound;
    case Requirement::Op::kGreater: return value > bound;
    case Requirement::Op::kLess: return value < bound;
  }
  return false;
}

std::string file_name_of(const std::string& path) { return std::filesystem::path(path).filename().string(); }

// The experiment params both files share; an error when they measure different experiments.
Status match_params(const ResultFile& base, const ResultFile& cur, const CompareOptions& options, CompareResult& out) {
  std::set<std::string, std::less<>> names;
  for (const auto& [name, value] : base.params) names.insert(name);
  for (const auto& [name, value] : cur.params) names.insert(name);
  std::vector<std::string> differences;
  for (const std::string& name : names) {
    const bool ignored = kIgnoredParams.count(name) > 0 ||
                         std::find(options.ignored_params.begin(), options.ignored_params.end(), name) !=
                             options.ignored_params.end();
    const auto b = base.params.find(name);
    const auto c = cur.params.find(name);
    if (b == base.params.end() || c == cur.params.end()) {
      const auto& [side, value] = b == base.params.end() ? std::pair("current", c->second) : std::pair("baseline", b->second);
      if (!ignored) out.notes.push_back(fmt::format("param {} is only in the {} ({})", name, side, value));
      continue;
    }
    if (ignored) {
      if (b->second != c->second) out.notes.push_back(fmt::format("param {} differs: {} vs {} (ignored)", name, b->second, c->second));
      continue;
    }
    const bool path = kPathParams.count(name) > 0;
    const bool same = path ? file_name_of(b->second) == file_name_of(c->second) : b->second == c->second;
    if (!same) {
      differences.push_back(fmt::format("{} {} vs {}", name, b->second, c->second));
    } else {
      out.params.push_back(fmt::format("{}={}", name, path ? file_name_of(b->second) : b->second));
    }
  }
  if (!differences.empty()) {
    std::string list;
    for (const std::string& d : differences) list += (list.empty() ? "" : "; ") + d;
    return Status::bad_input(fmt::format("{} and {} measure different experiments, so no run matches: {} "
                                         "(--ignore-param NAME compares them anyway)",
                                         base.name, cur.name, list));
  }
  for (std::string_view field : kMachineFields) {
    const auto b = base.machine.find(field);
    const auto c = cur.machine.find(field);
    if (b != base.machine.end() && c != cur.machine.end() && b->second != c->second) {
      out.notes.push_back(fmt::format("the machines differ: {} {} vs {}", field, b->second, c->second));
    }
  }
  return Status::ok();
}

FigureChange judge(const FigureInfo& info, const Run& base, const Run& cur, const CompareOptions& options) {
  FigureChange f;
  f.figure = std::string(info.name);
  f.better = info.better;
  f.limit = limit_for(options.limits, info.name);
  if (auto it = base.figures.find(info.name); it != base.figures.end()) f.baseline = it->second;
  if (auto it = cur.figures.find(info.name); it != cur.figures.end()) f.current = it->second;
  const auto base_repeats = base.repeats.find(info.name);
  const auto cur_repeats = cur.repeats.find(info.name);
  f.baseline_repeats = base_repeats == base.repeats.end() ? 0 : base_repeats->second.size();
  f.current_repeats = cur_repeats == cur.repeats.end() ? 0 : cur_repeats->second.size();
  if (!f.current) {
    f.verdict = Verdict::kOnlyBaseline;
    return f;
  }
  if (!f.baseline) {
    f.verdict = Verdict::kOnlyCurrent;
    return f;
  }
  f.change = *f.current - *f.baseline;
  f.relative_change = f.change == 0 ? 0.0
                      : *f.baseline != 0 ? f.change / std::fabs(*f.baseline)
                                         : std::copysign(INFINITY, f.change);
  if (f.baseline_repeats >= options.min_repeats && f.current_repeats >= options.min_repeats) {
    f.p_value = detail::mann_whitney_worse_p(base_repeats->second, cur_repeats->second, info.better);
  }
  const double worse_by = info.better == Better::kHigher ? -f.change : f.change;
  if (f.change == 0) {
    f.verdict = Verdict::kUnchanged;
  } else if (worse_by < 0) {
    f.verdict = Verdict::kBetter;
  } else {
    const bool beyond_limit =
        f.limit && (f.limit->relative ? worse_by > f.limit->amount * std::fabs(*f.baseline) : worse_by > f.limit->amount);
    // The p-value is a double computed as count / total; the slack keeps 1/20 at "<= 0.05".
    if (!beyond_limit) {
      f.verdict = Verdict::kWorse;
    } else if (f.p_value && *f.p_value > options.alpha * (1 + 1e-9)) {
      f.verdict = Verdict::kWithinNoise;
    } else {
      f.verdict = Verdict::kRegression;
    }
  }
  return f;
}

std::string regression_reason(const std::string& run, const FigureChange& f, const CompareResult& result) {
  std::string noise = f.p_value ? fmt::format("outside the noise: p={:.3g} over {} vs {} repeats", *f.p_value,
                                              f.baseline_repeats, f.current_repeats)
                                : fmt::format("no noise estimate: fewer than {} repeats on a side", result.min_repeats);
  return fmt::format("{}: {} regressed {} -> {} ({}, {}), beyond the limit {} ({})", run, f.figure,
                     detail::format_number(*f.baseline), detail::format_number(*f.current),
                     detail::format_change(f.change), detail::format_percent(f.relative_change),
                     detail::format_limit(*f.limit), noise);
}

}  // namespace

std::string_view to_string(Verdict verdict) {
  switch (verdict) {
    case Verdict::kUnchanged: return "unchanged";
    case Verdict::kBetter: return "better";
    case Verdict::kWorse: return "worse";
    case Verdict::kRegression: return "REGRESSION";
    case Verdict::kWithinNoise: return "within noise";
    case Verdict::kOnlyBaseline: return "only in baseline";
    case Verdict::kOnlyCurrent: return "only in current";
  }
  return "?";
}

std::vector<FigureInfo> known_figures(std::string_view kind) {
  if (kind == "recall") return {std::begin(kRecallFigures), std::end(kRecallFigures)};
  if (kind == "replay") return {std::begin(kReplayFigures), std::end(kReplayFigures)};
  return {};
}

Expected<std::vector<RegressionLimit>> parse_regression_limits(std::string_view text) {
  std::vector<RegressionLimit> limits;
  const auto bad = [](std::string_view item, std::string_view why) {
    return Status::invalid_argument(fmt::format("'{}' {} (expected FIGURE=AMOUNT[%],..., e.g. qps=10%,recall_at_k=0.005)",
                                                item, why));
  };
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string_view item = text.substr(start, comma - start);
    start = comma + 1;
    const std::size_t equals = item.find('=');
    if (equals == std::string_view::npos || equals == 0) return bad(item, "is not FIGURE=AMOUNT");
    RegressionLimit limit;
    limit.figure = std::string(item.substr(0, equals));
    if (!valid_figure_name(limit.figure, true)) return bad(item, "has no figure name before '='");
    std::string_view amount = item.substr(equals + 1);
    limit.relative = !amount.empty() && amount.back() == '%';
    if (limit.relative) amount.remove_suffix(1);
    const auto [end, error] = std::from_chars(amount.data(), amount.data() + amount.size(), limit.amount);
    if (amount.empty() || error != std::errc() || end != amount.data() + amount.size() || !std::isfinite(limit.amount) ||
        limit.amount < 0) {
      return bad(item, "has no amount >= 0");
    }
    if (limit.relative) limit.amount /= 100;
    for (const RegressionLimit& other : limits) {
      if (other.figure == limit.figure) return bad(item, "repeats a figure");
    }
    limits.push_back(std::move(limit));
  }
  return limits;
}

Expected<Requirement> parse_requirement(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Status::invalid_argument(
        fmt::format("'{}' {} (expected FIGURE OP VALUE with OP one of >=, <=, >, <, e.g. 'recall_at_k>=0.95')",
                    text, why));
  };
  const std::size_t op_at = text.find_first_of("<>");
  if (op_at == std::string_view::npos) return bad("has no comparison");
  Requirement r;
  r.text = std::string(text);
  const bool or_equal = op_at + 1 < text.size() && text[op_at + 1] == '=';
  r.op = text[op_at] == '>' ? (or_equal ? Requirement::Op::kGreaterEqual : Requirement::Op::kGreater)
                            : (or_equal ? Requirement::Op::kLessEqual : Requirement::Op::kLess);
  const auto trim = [](std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
  };
  r.figure = std::string(trim(text.substr(0, op_at)));
  const std::string_view value = trim(text.substr(op_at + (or_equal ? 2 : 1)));
  if (!valid_figure_name(r.figure, false)) return bad("names no figure before the comparison");
  const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), r.value);
  if (value.empty() || error != std::errc() || end != value.data() + value.size() || !std::isfinite(r.value)) {
    return bad("has no number after the comparison");
  }
  return r;
}

Expected<CompareResult> compare_result_texts(std::string_view baseline_json, const std::string& baseline_name,
                                             std::string_view current_json, const std::string& current_name,
                                             const CompareOptions& options) {
  auto base = read_result(baseline_json, baseline_name);
  if (!base) return base.status();
  auto cur = read_result(current_json, current_name);
  if (!cur) return cur.status();
  if (base->kind != cur->kind) {
    return Status::bad_input(fmt::format("{} is a {} result and {} a {} result: compare needs two of one kind",
                                         baseline_name, base->kind, current_name, cur->kind));
  }
  CompareResult result;
  result.kind = base->kind;
  result.baseline_path = baseline_name;
  result.current_path = current_name;
  result.alpha = options.alpha;
  result.min_repeats = options.min_repeats;
  for (const RegressionLimit& limit : options.limits) {
    if (!is_known(result.kind, limit.figure)) {
      return Status::invalid_argument(fmt::format("regression limit: unknown figure '{}' for {} results; known: {}",
                                                  limit.figure, result.kind, known_list(result.kind)));
    }
  }
  for (const Requirement& r : options.requirements) {
    if (!is_known(result.kind, r.figure) || r.figure.find('*') != std::string::npos) {
      return Status::invalid_argument(fmt::format("requirement '{}': unknown figure '{}' for {} results; known: {}", r.text,
                                                  r.figure, result.kind, known_list(result.kind)));
    }
  }
  if (Status st = match_params(*base, *cur, options, result); !st) return st;

  std::vector<std::pair<const Run*, const Run*>> matched;
  for (const Run& b : base->runs) {
    const auto c = std::find_if(cur->runs.begin(), cur->runs.end(), [&](const Run& r) { return r.label == b.label; });
    if (c == cur->runs.end()) {
      result.unmatched_baseline.push_back(b.label);
    } else {
      matched.emplace_back(&b, &*c);
    }
  }
  for (const Run& c : cur->runs) {
    const bool found = std::any_of(base->runs.begin(), base->runs.end(), [&](const Run& r) { return r.label == c.label; });
    if (!found) result.unmatched_current.push_back(c.label);
  }
  if (matched.empty()) {
    const auto labels = [](const std::vector<Run>& runs) {
      std::string list;
      for (const Run& r : runs) list += (list.empty() ? "" : ", ") + r.label;
      return list.empty() ? std::string("none") : list;
    };
    return Status::bad_input(fmt::format("no run of {} ({}) matches a run of {} ({})", baseline_name,
                                         labels(base->runs), current_name, labels(cur->runs)));
  }

  for (const auto& [b, c] : matched) {
    RunComparison run{b->label, {}};
    for (const FigureInfo& info : known_figures(result.kind)) {
      if (!b->figures.count(info.name) && !c->figures.count(info.name)) continue;
      run.figures.push_back(judge(info, *b, *c, options));
      if (run.figures.back().verdict == Verdict::kRegression) {
        result.failures.push_back(regression_reason(run.label, run.figures.back(), result));
      }
    }
    result.runs.push_back(std::move(run));
  }

  for (const RegressionLimit& limit : options.limits) {
    const bool present = std::any_of(result.runs.begin(), result.runs.end(), [&](const RunComparison& run) {
      return std::any_of(run.figures.begin(), run.figures.end(),
                         [&](const FigureChange& f) { return pattern_matches(limit.figure, f.figure); });
    });
    if (!present) {
      return Status::bad_input(fmt::format("regression limit {}: no matched run of {} or {} has this figure",
                                           limit.figure, baseline_name, current_name));
    }
  }
  for (const Requirement& r : options.requirements) {
    bool present = false;
    for (const auto& [b, c] : matched) {
      const auto it = c->figures.find(r.figure);
      if (it == c->figures.end()) continue;
      present = true;
      RequirementCheck check{r, c->label, it->second, holds(it->second, r.op, r.value)};
      if (!check.passed) {
        result.failures.push_back(fmt::format("{}: {} = {}, required {} {} {}", c->label, r.figure,
                                              detail::format_number(it->second), r.figure, comparison_text(r.op),
                                              detail::format_number(r.value)));
      }
      result.requirement_checks.push_back(std::move(check));
    }
    if (!present) {
      return Status::bad_input(
          fmt::format("requirement '{}': no matched run of {} has the figure {}", r.text, current_name, r.figure));
    }
  }
  return result;
}

Expected<CompareResult> compare_result_files(const std::string& baseline_path, const std::string& current_path,
                                             const CompareOptions& options) {
  auto base = read_file(baseline_path);
  if (!base) return base.status();
  auto cur = read_file(current_path);
  if (!cur) return cur.status();
  return compare_result_texts(*base, baseline_path, *cur, current_path, options);
}

}  // namespace semcache
