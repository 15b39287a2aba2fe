// semcache tune: the threshold that serves the most hits while the false-hit rate stays under a
// target with 95% confidence (semcache/threshold_tuning.hpp), from labelled pairs or from a
// prompt log with ground-truth groups (checked on a simulated misses-only cache); prints the
// recommendation and the trade-off table and
// writes the result JSON with --json. A bad option is exit 2 from CLI11 before any work; a bad
// input line is exit 2 naming file:line; an embedder failing while running is exit 3. Finding
// no threshold that meets the target is a result, not an error (exit 0, "threshold": null).

#include <cmath>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli.hpp"
#include "embedder_args.hpp"
#include "progress.hpp"
#include "shares.hpp"
#include "semcache/embedder.hpp"
#include "semcache/pair_eval.hpp"
#include "semcache/threshold_tuning.hpp"

namespace semcache::cli {

// Defined in cmd_eval.cpp.

namespace {

struct TuneArgs {
  std::string pairs;
  std::string log;
  EmbedderArgs embedder;
  double max_false_hit_rate = 0.02;
  std::string thresholds;
  std::string on_error = "fail";
  std::string fields;
  std::size_t limit = 0;
  std::size_t threads = 0;
  std::string json_out;
};

// One table row; for a log, `simulated` adds the misses-only cache's figures.
void print_point(const TuningPoint& p, std::string_view mark, const TuningPoint* simulated) {
  fmt::print("{:>1} {:>9.4f} {:>10.4f} {:>8} {:>26} {:>8} {:>26} {:>6}", mark, p.threshold, 1 - p.threshold, p.hits,
             with_interval(p.hit_rate, p.hit_rate_ci95), p.false_hits, with_interval(p.false_hit_rate, p.false_hit_rate_ci95),
             p.within_target ? "yes" : "no");
  if (simulated != nullptr) {
    fmt::print(" | {:>8} {:>26} {:>6}", percent(simulated->hit_rate),
               with_interval(simulated->false_hit_rate, simulated->false_hit_rate_ci95), simulated->within_target ? "yes" : "no");
  }
  fmt::print("\n");
}

std::string describe(const TuningPoint& p) {
  return fmt::format("threshold {:.4f} (similarity {:.4f}): hit rate {}, false-hit rate {} (upper bound {})", p.threshold,
                     1 - p.threshold, with_interval(p.hit_rate, p.hit_rate_ci95),
                     with_interval(p.false_hit_rate, p.false_hit_rate_ci95), percent(p.false_hit_rate_ci95.high));
}

void print_result(const TuningResult& r, const TuningSample& s) {
  const bool pairs = s.source == TuningSource::kPairs;
  if (pairs) {
    fmt::print("tuned on {} pairs of {} ({} positive) with {} ({} dims)\n", s.items, s.path, s.hit_trials, s.embedder, s.dim);
    fmt::print("hit rate = hits on positives / positives; false-hit rate = hits on negatives / all pairs\n");
  } else {
    fmt::print("tuned on {} requests of {} ({} tenant/model scopes) with {} ({} dims)\n", s.items, s.path, s.scopes,
               s.embedder, s.dim);
    fmt::print("each request is served its nearest earlier request of the same tenant and model (exact search, {} "
               "distances) when within the threshold,\nas if every earlier request were cached; hit rate = served / "
               "requests; false-hit rate = served from another group / requests\n",
               s.distances_computed);
  }
  if (s.skipped_lines > 0) {
    fmt::print("skipped {} bad lines (--on-error skip), first: {}\n", s.skipped_lines,
               s.skipped_messages.empty() ? "" : s.skipped_messages.front());
  }
  fmt::print("target: false-hit rate <= {} with 95% confidence (Wilson upper bound); {} distinct distances scanned\n\n",
             percent(r.max_false_hit_rate), r.thresholds_scanned);
  if (r.simulated && r.nearest_earlier_found) {
    fmt::print("every earlier request cached: {}\n", describe(r.nearest_earlier));
    fmt::print("checked on a cache that stores only misses, as replay does ({} simulations):\n", r.simulations);
  }
  if (r.found) {
    fmt::print("recommended {}\n", describe(r.recommended));
  } else if (r.bound_without_false_hits > r.max_false_hit_rate) {
    // Wilson's upper bound at zero successes is z^2 / (n + z^2): n >= z^2 (1 - r) / r shows a rate below r.
    const double needed = std::ceil(1.96 * 1.96 * (1 - r.max_false_hit_rate) / r.max_false_hit_rate);
    fmt::print("no threshold meets the target: with {} {} even zero false hits leave an upper bound of {}; "
               "at least {:.0f} are needed\n",
               s.items, pairs ? "pairs" : "requests", percent(r.bound_without_false_hits), needed);
  } else {
    fmt::print("no threshold meets the target: the closest candidates already include too many false hits\n");
  }
  fmt::print("\n{:>1} {:>9} {:>10} {:>8} {:>26} {:>8} {:>26} {:>6}", "", "threshold", "similarity", "hits", "hit rate",
             "false", "false-hit rate", "within");
  if (r.simulated) fmt::print(" | {:>8} {:>26} {:>6}", "hit rate", "false-hit rate (misses only)", "within");
  fmt::print("\n");
  // The recommended row carries the figures it was chosen by (simulated ones for a log).
  bool marked = !r.found;
  for (std::size_t i = 0; i < r.per_threshold.size(); ++i) {
    if (!marked && r.recommended.threshold < r.per_threshold[i].threshold) {
      print_point(r.recommended, "*", nullptr);
      marked = true;
    }
    print_point(r.per_threshold[i], "", r.simulated ? &r.per_threshold_simulated[i] : nullptr);
  }
  if (!marked) print_point(r.recommended, "*", nullptr);
  if (r.found) {
    fmt::print("(* the recommended threshold{})\n", r.simulated ? ", with the misses-only cache's figures" : "");
  }
}

int run_tune(TuneArgs& args) {
  const std::vector<double> thresholds =
      args.thresholds.empty() ? default_thresholds() : *parse_threshold_list(args.thresholds);
  auto embedder = make_embedder(args.embedder.spec, args.embedder.resolved());
  if (!embedder) return fail(embedder.status());
  Expected<TuningSample> sample = Status::internal("no source");
  ProgressBar bar("tune");
  if (!args.pairs.empty()) {
    PairReadOptions read;
    read.limit = args.limit;
    read.skip_bad_lines = args.on_error == "skip";
    auto distances = embed_pairs(args.pairs, **embedder, read, [&](const PairProgress& p) {
      bar.update("embed pairs", static_cast<std::size_t>(p.bytes_read / 1000), static_cast<std::size_t>(p.bytes_total / 1000));
    });
    if (!distances) return fail(distances.status());
    sample = tuning_sample_from_pairs(*distances);
  } else {
    LogTuningOptions options;
    options.limit = args.limit;
    options.threads = args.threads;
    options.log.skip_bad_lines = args.on_error == "skip";
    options.log.field_names = *parse_field_mapping(args.fields);
    sample = tuning_sample_from_log(args.log, **embedder, options, [&](const TuningProgress& p) {
      // Embedding counts kB of the log, the search counts requests.
      const bool embed = p.phase == "embed";
      bar.update(embed ? "embed log" : "nearest earlier", static_cast<std::size_t>(embed ? p.done / 1000 : p.done),
                 static_cast<std::size_t>(embed ? p.total / 1000 : p.total));
    });
  }
  bar.finish();
  if (!sample) return fail(sample.status());
  const TuningResult result = tune_threshold(*sample, args.max_false_hit_rate, thresholds);
  print_result(result, *sample);
  if (!args.json_out.empty()) {
    const TuneJsonParams params{args.limit, args.on_error == "skip"};
    if (Status st = write_text_file(args.json_out, tune_result_json(result, *sample, params)); !st) return fail(st);
    fmt::print("\nwrote {}\n", args.json_out);
  }
  return 0;
}

}  // namespace

void add_tune_command(CLI::App& app, Command& run) {
  auto args = std::make_shared<TuneArgs>();
  CLI::App* tune = app.add_subcommand(
      "tune",
      "Which threshold should the semantic cache use? Recommends the cosine-distance threshold with the\n"
      "highest hit rate whose false-hit rate stays under --max-false-hit-rate with 95% confidence (the\n"
      "Wilson upper bound, so a small sample earns a cautious threshold). Every distinct distance is tried,\n"
      "so the answer is exact for the data; the table shows the trade-off at other thresholds.\n"
      "  --pairs: labelled pairs (as for `eval pairs`); hit rate = hits on positives / positives,\n"
      "           false-hit rate = hits on negatives / all pairs.\n"
      "  --log:   a prompt log whose `group` marks prompts that deserve the same answer; each request is\n"
      "           served its nearest earlier request of the same tenant and model (exact search) when\n"
      "           within the threshold, as if every earlier request were cached; a hit from another group\n"
      "           is a false hit. Rates are per request, as in `semcache replay`. A real cache stores only\n"
      "           misses and is wrong a little more often, so the choice is then checked on a simulated\n"
      "           misses-only cache (exact search) and lowered until that cache keeps the bound too; the\n"
      "           table shows both. `semcache replay --threshold T` confirms it on the real cache.\n\n"
      "  semcache tune --pairs ../shared/data/qqp-dev/pairs.jsonl --max-false-hit-rate 0.02\n"
      "  semcache gen prompts --n 20000 --groups 3000 --out p.jsonl\n"
      "  semcache tune --log p.jsonl --max-false-hit-rate 0.01 --json tune.json\n"
      "  semcache replay p.jsonl --thresholds 0.1,0.2        check the recommendation by replay\n\n"
      "Exit codes: 0 done (also when no threshold meets the target: \"threshold\" is null in the JSON), 2 bad\n"
      "usage or a bad input line (file:line in the message), 3 the embedder failed.");
  CLI::Option* pairs = tune->add_option("--pairs", args->pairs, "Labelled pairs (.jsonl: text_a, text_b, label)")
                           ->check(CLI::ExistingFile);
  CLI::Option* log = tune->add_option("--log", args->log, "A prompt log with `group` fields (.jsonl)")->check(CLI::ExistingFile);
  pairs->excludes(log);
  log->excludes(pairs);
  add_embedder_options(*tune, args->embedder);
  tune->add_option("--max-false-hit-rate", args->max_false_hit_rate,
                   "The target: false hits / lookups, held by the 95% upper bound")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            double rate = 0;
            try {
              std::size_t used = 0;
              rate = std::stod(v, &used);
              if (used != v.size()) rate = -1;
            } catch (const std::exception&) {
              rate = -1;
            }
            return rate > 0 && rate < 1 ? "" : "must be a rate between 0 and 1 (exclusive), e.g. 0.02";
          },
          "", "RATE"));
  tune->add_option("--thresholds", args->thresholds, "Table thresholds, e.g. 0.05,0.1,0.2; default 0.02,0.04,...,0.5")
      ->check(threshold_list_validator());
  tune->add_option("--limit", args->limit, "Use only the first N pairs or requests (0: all)")->capture_default_str();
  tune->add_option("--threads", args->threads, "--log: threads of the nearest-earlier search (0: one per core)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{0}, std::size_t{1024}));
  tune->add_option("--on-error", args->on_error, "A bad line: fail (exit 2 naming the line) or skip (counted)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fail", "skip"}));
  tune->add_option("--field", args->fields, "--log: field names of your log, canonical=name,... (as for replay)")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            auto parsed = parse_field_mapping(v);
            return parsed ? std::string() : parsed.status().message();
          },
          "", "MAPPING"));
  tune->add_option("--json", args->json_out, "Write the result JSON to this file");
  tune->parse_complete_callback([pairs, log] {
    if (pairs->count() + log->count() != 1) throw CLI::RequiredError("one of --pairs FILE or --log FILE");
  });
  tune->final_callback([&run, args] { run = [args] { return run_tune(*args); }; });
}

}  // namespace semcache::cli
