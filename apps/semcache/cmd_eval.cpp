// semcache eval pairs: how well an embedder's cosine distance separates labelled text pairs
// (semcache/pair_eval.hpp): ROC AUC, the best-accuracy threshold, and a table of threshold ->
// recall / precision / false-hit rate with Wilson 95% intervals; the result JSON with --json.
// A bad option is a usage error (exit 2) from CLI11 before any work; a bad pairs line is exit 2
// naming file:line; an embedder that fails while running (an HTTP endpoint down) is exit 3.

#include <charconv>
#include <cmath>
#include <cstdio>
#include <memory>
#include <system_error>

#include <fmt/format.h>

#include "cli.hpp"
#include "embedder_args.hpp"
#include "progress.hpp"
#include "shares.hpp"
#include "semcache/embedder.hpp"
#include "semcache/pair_eval.hpp"

namespace semcache::cli {

// "0.05,0.1,0.2" -> {0.05, 0.1, 0.2}, each a cosine distance from 0 to 2. Shared with
// cmd_tune.cpp (declared there).
namespace {

struct EvalArgs {
  std::string file;
  EmbedderArgs embedder;
  std::string thresholds;
  std::string on_error = "fail";
  std::string json_out;
  PairReadOptions read;
};

void print_evaluation(const PairEvaluation& e, const PairDistances& source) {
  fmt::print("evaluated {} pairs of {} ({} positive, {} negative) with {} ({} dims)\n", e.pairs, source.path, e.positives,
             e.pairs - e.positives, source.embedder, source.dim);
  if (source.skipped_lines > 0) {
    fmt::print("skipped {} bad lines (--on-error skip), first: {}\n", source.skipped_lines,
               source.skipped_messages.empty() ? "" : source.skipped_messages.front());
  }
  fmt::print("ROC AUC {}   best accuracy {} at threshold {:.4f} (similarity {:.4f})\n",
             std::isnan(e.roc_auc) ? std::string("- (needs both labels)") : fmt::format("{:.4f}", e.roc_auc),
             percent(e.best_accuracy), e.best_threshold, 1 - e.best_threshold);
  fmt::print("a pair is a hit when its cosine distance <= threshold; recall = hits on positives / positives, "
             "precision = right hits / hits, false-hit rate = hits on negatives / all pairs [Wilson 95%]\n\n");
  fmt::print("{:>9} {:>10} {:>8} {:>26} {:>26} {:>26} {:>8}\n", "threshold", "similarity", "hits", "recall",
             "precision", "false-hit rate", "accuracy");
  for (const PairThresholdFigures& f : e.per_threshold) {
    fmt::print("{:>9.3f} {:>10.3f} {:>8} {:>26} {:>26} {:>26} {:>8}\n", f.threshold, 1 - f.threshold, f.accepted(),
               with_interval(f.recall(), f.recall_interval()), with_interval(f.precision(), f.precision_interval()),
               with_interval(f.false_hit_rate(), f.false_hit_rate_interval()), percent(f.accuracy()));
  }
}

int run_eval_pairs(EvalArgs& args) {
  args.read.skip_bad_lines = args.on_error == "skip";
  const std::vector<double> thresholds =
      args.thresholds.empty() ? default_thresholds() : *parse_threshold_list(args.thresholds);
  auto embedder = make_embedder(args.embedder.spec, args.embedder.resolved());
  if (!embedder) return fail(embedder.status());
  ProgressBar bar("embed pairs");
  auto distances = embed_pairs(args.file, **embedder, args.read, [&](const PairProgress& p) {
    bar.update("embed pairs", static_cast<std::size_t>(p.bytes_read / 1000), static_cast<std::size_t>(p.bytes_total / 1000));
  });
  bar.finish();
  if (!distances) return fail(distances.status());
  const PairEvaluation evaluation = evaluate_pairs(distances->pairs, thresholds);
  print_evaluation(evaluation, *distances);
  if (!args.json_out.empty()) {
    if (Status st = write_text_file(args.json_out, pair_eval_json(evaluation, *distances, args.read)); !st) return fail(st);
    fmt::print("\nwrote {}\n", args.json_out);
  }
  return 0;
}

}  // namespace

void add_eval_command(CLI::App& app, Command& run) {
  CLI::App* eval = app.add_subcommand("eval", "Measure how well embeddings separate texts that deserve one answer");
  eval->require_subcommand(1);
  auto args = std::make_shared<EvalArgs>();
  CLI::App* pairs = eval->add_subcommand(
      "pairs",
      "How well does an embedder tell paraphrases from different questions? Reads labelled pairs (JSONL, one\n"
      "{\"text_a\": \"...\", \"text_b\": \"...\", \"label\": 0 or 1} per line; 1 = the two deserve the same answer),\n"
      "embeds both texts and reports the ROC AUC of their cosine distance, the threshold of the best accuracy,\n"
      "and per threshold (a pair is a hit when its distance <= threshold): recall (hits on positives /\n"
      "positives), precision (right hits / hits) and false-hit rate (hits on negatives / all pairs, the share\n"
      "of lookups that would be served a wrong answer), each with a Wilson 95% interval. Thresholds are\n"
      "cosine distances (1 - similarity). To pick a threshold for a target false-hit rate, see `semcache tune`.\n\n"
      "  semcache eval pairs ../shared/data/qqp-dev/pairs.jsonl --embedder hash\n"
      "  semcache eval pairs pairs.jsonl --embedder hash:512 --thresholds 0.1,0.2,0.3 --json eval.json\n"
      "  semcache eval pairs pairs.jsonl --limit 1000 --on-error skip\n\n"
      "Exit codes: 0 done, 2 bad usage or a bad pairs line (file:line in the message), 3 the embedder failed.");
  pairs->add_option("FILE", args->file, "The labelled pairs (.jsonl)")->required()->check(CLI::ExistingFile);
  add_embedder_options(*pairs, args->embedder);
  pairs->add_option("--thresholds", args->thresholds, "Table thresholds, e.g. 0.05,0.1,0.2; default 0.02,0.04,...,0.5")
      ->check(threshold_list_validator());
  pairs->add_option("--limit", args->read.limit, "Evaluate only the first N pairs (0: all)")->capture_default_str();
  pairs->add_option("--on-error", args->on_error, "A bad line: fail (exit 2 naming the line) or skip (counted)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fail", "skip"}));
  pairs->add_option("--json", args->json_out, "Write the result JSON to this file");
  pairs->final_callback([&run, args] { run = [args] { return run_eval_pairs(*args); }; });
}

}  // namespace semcache::cli
