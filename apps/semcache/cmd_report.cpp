// semcache report: reads result JSON files (bench recall, replay, eval pairs, tune) and renders
// them as terminal tables, Markdown, or one self-contained HTML page with plots
// (semcache/report.hpp). Every file is read before anything is written, so a bad file (exit 2,
// naming the file and the line:column or field) leaves no half-written report behind.

#include <cstdio>

#include <fmt/format.h>

#include "cli.hpp"
#include "semcache/report.hpp"

namespace semcache::cli {
namespace {

struct ReportArgs {
  std::vector<std::string> results;
  std::string format = "text";
  std::string out;
};

int run_report_command(const ReportArgs& args) {
  std::vector<ReportInput> inputs;
  for (const std::string& path : args.results) {
    auto input = read_report_input(path);
    if (!input) return fail(input.status());
    inputs.push_back(std::move(*input));
  }
  const std::string report = render_report(inputs, *parse_report_format(args.format));
  if (args.out.empty()) {
    fmt::print("{}", report);
    return 0;
  }
  if (Status st = write_text_file(args.out, report); !st) return fail(st);
  fmt::print(stderr, "wrote {}\n", args.out);
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, Command& run) {
  auto args = std::make_shared<ReportArgs>();
  CLI::App* report = app.add_subcommand(
      "report",
      fmt::format(
          "Show result files (the --json of bench recall, replay, eval pairs, tune) as tables or plots: text for\n"
          "a terminal, md for a PR comment or README, html for one self-contained page (inline SVG plots, no\n"
          "network, no JavaScript): recall@k against QPS with the Pareto frontier, latency per ef, hit rate and\n"
          "false-hit rate (with its Wilson 95% interval) against threshold, hit rate over the replay, latency CDFs.\n"
          "Several files: one section each; results of the same kind are also overlaid in shared plots.\n\n"
          "  semcache bench recall --base data/base.fvecs --queries data/query.fvecs --json recall.json\n"
          "  semcache replay p.jsonl --thresholds 0.05,0.1,0.2,0.3 --json replay.json\n"
          "  semcache report recall.json replay.json                         tables on the terminal\n"
          "  semcache report recall.json replay.json --format md >> pr.md    Markdown tables\n"
          "  semcache report recall.json replay.json --format html --out report.html\n"
          "  semcache report int8.json f32.json --format html --out q.html   two indexes on one recall/QPS plot\n\n"
          "Kinds read: {}.\n"
          "Exit codes: 0 written, 2 bad usage or a result file that is missing, not JSON (line:column in the\n"
          "message) or not a result, 3 the output could not be written.",
          report_kinds()));
  report->add_option("RESULT", args->results, "Result JSON files, one section each, in this order")
      ->required()
      ->check(CLI::ExistingFile);
  report->add_option("--format", args->format, "text (terminal), md (Markdown) or html (one page with plots)")
      ->capture_default_str()
      ->check(CLI::IsMember({"text", "md", "markdown", "html"}));
  report->add_option("--out", args->out, "Write the report to this file (default: standard output)");
  report->final_callback([&run, args] { run = [args] { return run_report_command(*args); }; });
}

}  // namespace semcache::cli
