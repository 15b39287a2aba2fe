// semcache compare: two result files (recall or replay) compared run by run, and a CI gate.
// Thin: the library (semcache/compare.hpp) reads, matches, judges and renders; this file parses
// the options, prints the rendering on stdout and each failure on stderr, and maps the outcome
// to the exit code: 0 passed, 1 a regression beyond its limit or a failed requirement, 2 bad
// usage or input (malformed JSON, kinds that differ, no matching runs, an unknown figure).

#include <cstdio>

#include <fmt/format.h>

#include "cli.hpp"
#include "semcache/compare.hpp"

namespace semcache::cli {
namespace {

struct CompareArgs {
  std::string baseline;
  std::string current;
  std::vector<std::string> max_regression;
  std::vector<std::string> require;
  std::vector<std::string> ignore_params;
  std::string format = "text";
  std::string json_out;
  CompareOptions options;
};

int run_compare_command(CompareArgs& args) {
  CompareOptions& o = args.options;
  for (const std::string& text : args.max_regression) {
    auto limits = parse_regression_limits(text);  // checked by CLI11 already
    for (RegressionLimit& limit : *limits) {
      for (const RegressionLimit& other : o.limits) {
        if (other.figure == limit.figure) {
          return fail(Status::invalid_argument("--max-regression: figure '" + limit.figure + "' is given twice"));
        }
      }
      o.limits.push_back(std::move(limit));
    }
  }
  for (const std::string& text : args.require) o.requirements.push_back(*parse_requirement(text));
  o.ignored_params = args.ignore_params;

  auto result = compare_result_files(args.baseline, args.current, o);
  if (!result) return fail(result.status());
  fmt::print("{}", args.format == "md" ? compare_result_markdown(*result) : compare_result_text(*result));
  if (!args.json_out.empty()) {
    if (Status st = write_text_file(args.json_out, compare_result_json(*result)); !st) return fail(st);
  }
  std::fflush(stdout);
  for (const std::string& failure : result->failures) fmt::print(stderr, "semcache compare: {}\n", failure);
  return result->passed() ? 0 : 1;
}

}  // namespace

void add_compare_command(CLI::App& app, Command& run) {
  auto args = std::make_shared<CompareArgs>();
  const auto figure_names = [](std::string_view kind) {
    std::string names;
    std::size_t line_start = 0;
    for (const FigureInfo& f : known_figures(kind)) {
      const std::string item = fmt::format("{} ({})", f.name, f.better == Better::kHigher ? "+" : "-");
      if (!names.empty()) names += ",";
      if (names.size() - line_start + item.size() > 90) {
        names += "\n   ";
        line_start = names.size();
      }
      names += " " + item;
    }
    return names;
  };
  CLI::App* compare = app.add_subcommand(
      "compare",
      "Compare two result files of one kind (bench recall, or replay) and gate CI on regressions. Runs are\n"
      "matched by their parameters: recall runs by ef and k, replay runs by threshold, both only when the\n"
      "files measure the same experiment (dataset size and dim, quantisation, M, ef_construction...; mode,\n"
      "embedder, log file name...); runs on one side only are listed. Each figure's change is printed with\n"
      "the direction that is better for it: qps, recall_at_k, hit_rate, precision, throughput_rps,\n"
      "cost_saved_usd higher; latency_us.*, false_hit_rate, errors, build.memory_bytes lower.\n\n"
      "  semcache compare base.json new.json                                   print the changes\n"
      "  semcache compare base.json new.json --max-regression qps=10%,latency_us.p99=20% \\\n"
      "      --require 'recall_at_k>=0.95'                                    a CI gate\n"
      "  semcache compare base.json new.json --max-regression recall_at_k=0.005   absolute: 0.005 of recall\n"
      "  semcache compare base.json new.json --max-regression 'latency_us.*=25%' --format md > comment.md\n\n"
      "A limit written with % is relative to the baseline (qps=10%: current may be up to 10% below the\n"
      "baseline); without % it is absolute, in the figure's unit. FIGURE.* sets every figure under a prefix;\n"
      "a figure's own limit wins. Figures without a limit are printed, never fail. The figures, (+) higher\n"
      "is better, (-) lower is better:\n"
      "  recall:" + figure_names("recall") + "\n"
      "  replay:" + figure_names("replay") + "\n\n"
      "Noise: results made with --repeat N carry every repetition in repeats[]. When both sides have at\n"
      "least 3 repetitions of a figure, a change beyond its limit is a regression only if a one-sided\n"
      "Mann-Whitney U test finds the current repetitions worse than the baseline's at p <= 0.05 (--alpha,\n"
      "--min-repeats change both); else it is printed as \"within noise\". The rank test assumes nothing\n"
      "about the shape of the timings (an outlier pass counts as one rank, not by its size) and is exact\n"
      "at a few repetitions: with 3 a side, p <= 0.05 means every current repetition is worse than every\n"
      "baseline one. Without repetitions the limit alone decides, and the output says so.\n\n"
      "Exit codes: 0 passed, 1 a regression beyond its limit or a failed --require (the reasons on stderr),\n"
      "2 bad usage or input: malformed JSON, kinds that differ, no matching runs, an unknown figure.");
  compare->add_option("BASELINE", args->baseline, "The reference result (.json)")->required()->check(CLI::ExistingFile);
  compare->add_option("CURRENT", args->current, "The result to judge (.json)")->required()->check(CLI::ExistingFile);
  compare->add_option("--max-regression", args->max_regression,
                      "FIGURE=AMOUNT[%],...: how far each figure may get worse (repeatable), e.g. qps=10%,recall_at_k=0.005")
      ->allow_extra_args(false)
      ->check(checked_by("LIMITS", [](const std::string& v) { return parse_regression_limits(v); }));
  compare->add_option("--require", args->require,
                      "'FIGURE OP VALUE' with OP >=, <=, > or <, checked on every matched current run that has the "
                      "figure (repeatable), e.g. 'recall_at_k>=0.95'")
      ->allow_extra_args(false)
      ->check(checked_by("REQUIREMENT", [](const std::string& v) { return parse_requirement(v); }));
  compare->add_option("--ignore-param", args->ignore_params,
                      "A param that may differ between the files, e.g. quant to compare int8 with f32 (repeatable)")
      ->allow_extra_args(false);
  compare->add_option("--format", args->format, "text (aligned, for a terminal) or md (a Markdown table for a PR comment)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "md"}));
  compare->add_option("--alpha", args->options.alpha, "Significance of the noise test")
      ->capture_default_str()
      ->check(CLI::Range(1e-6, 0.5));
  compare->add_option("--min-repeats", args->options.min_repeats, "Repetitions per side needed to judge noise")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{2}, std::size_t{1000000}));
  compare->add_option("--json", args->json_out, "Write the comparison (figures, changes, verdicts) as JSON to this file");
  compare->final_callback([&run, args] { run = [args] { return run_compare_command(*args); }; });
}

}  // namespace semcache::cli
