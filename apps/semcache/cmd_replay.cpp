// semcache replay: a prompt log through the exact and semantic caches (semcache/replay.hpp), on
// the embedded store or a Redis server, one replay per threshold; prints a table and writes the
// result JSON. Every option value is checked by CLI11 before any work (a bad value is a usage
// error, exit 2); a bad log line is exit 2 naming file:line, a Redis that cannot be reached at
// the start exit 3, and Redis failing during the replay is counted in the result (exit 0).

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "cli.hpp"
#include "embedder_args.hpp"
#include "progress.hpp"
#include "shares.hpp"
#include "semcache/embedder.hpp"
#include "semcache/replay.hpp"

namespace semcache::cli {
namespace {

struct ReplayArgs {
  ReplayOptions options;
  std::string log;
  std::string mode = "both";
  double threshold = 0.1;
  std::string thresholds;
  std::string pace = "max";
  double ttl_seconds = 0;
  std::string on_error = "fail";
  std::string prices;
  std::string fields;
  int timeout_ms = 500;
  std::string json_out;
  EmbedderArgs embedder;
};

// Milliseconds with 3 decimals below 10: an end-to-end time of a hit is a few hundredths of a
// millisecond, which one decimal printed as 0.0.
std::string ms_text(double ms) { return ms < 10 ? fmt::format("{:.3f}", ms) : fmt::format("{:.1f}", ms); }

void print_table(const ReplayResult& r, const ReplayOptions& o) {
  const ReplayFigures& first = r.runs.front();
  fmt::print("replayed {} requests of {} ({} lines) on {}, mode {}{}, pace {}{}, {} worker{}\n", first.requests,
             r.log_path, r.lines, r.store, to_string(o.mode),
             r.embedder.empty() ? "" : fmt::format(", vectors {} ({} dims)", r.embedder, r.dim),
             o.pace == Pace::kMax ? "max" : "recorded",
             o.pace == Pace::kRecorded ? fmt::format(" x{:g}", o.speed) : "", o.concurrency, o.concurrency == 1 ? "" : "s");
  if (r.skipped_lines > 0) {
    fmt::print("skipped {} bad lines (--on-error skip), first: {}\n", r.skipped_lines,
               r.skipped_messages.empty() ? "" : r.skipped_messages.front());
  }
  const bool judged = first.has_groups;
  fmt::print("\n{:>9} {:>10} {:>9} {:>8} {:>8} {:>8} {:>7} {:>8}", "threshold", "similarity", "requests", "exact",
             "semantic", "misses", "errors", "hit rate");
  if (judged) fmt::print(" {:>10} {:>30} {:>9}", "false hits", "false-hit rate [95% CI]", "precision");
  fmt::print("\n");
  // Exact mode has no threshold: the column says so rather than show one that did nothing.
  const bool exact_only = o.mode == CacheMode::kExact;
  const auto threshold_text = [&](const ReplayFigures& f) {
    return exact_only ? std::string("-") : fmt::format("{:.3f}", f.threshold);
  };
  for (const ReplayFigures& f : r.runs) {
    fmt::print("{:>9} {:>10} {:>9} {:>8} {:>8} {:>8} {:>7} {:>8}", threshold_text(f),
               exact_only ? std::string("-") : fmt::format("{:.3f}", 1 - f.threshold), f.requests, f.exact_hits,
               f.semantic_hits, f.misses, f.errors, percent(f.hit_rate()));
    if (judged) {
      const Interval ci = f.false_hit_rate_interval();
      fmt::print(" {:>10} {:>30} {:>9}", f.false_hits,
                 fmt::format("{} [{}, {}]", percent(f.false_hit_rate()), percent(ci.low), percent(ci.high)),
                 percent(f.precision()));
    }
    fmt::print("\n");
  }
  fmt::print("\n{:>9} {:>14} {:>14} {:>15} {:>15} {:>10} {:>13} {:>14}\n", "threshold", "lookup p50 us", "lookup p99 us",
             "e2e p50 ms", "e2e p99 ms", "req/s", "tokens saved", "cost saved USD");
  for (const ReplayFigures& f : r.runs) {
    const LatencySummary lookup = f.lookup_ns.summary(1e3);
    const LatencySummary e2e = f.end_to_end_ns.summary(1e6);
    fmt::print("{:>9} {:>14.1f} {:>14.1f} {:>15} {:>15} {:>10.0f} {:>13} {:>14.4f}\n", threshold_text(f), lookup.p50,
               lookup.p99, ms_text(e2e.p50), ms_text(e2e.p99), f.throughput_rps(),
               f.prompt_tokens_saved + f.completion_tokens_saved, f.cost_saved_usd);
  }
  std::uint64_t errors = 0, dropped = 0;
  std::string first_error;
  for (const ReplayFigures& f : r.runs) {
    errors += f.errors;
    dropped += f.dropped_stores;
    if (first_error.empty()) first_error = f.first_store_error;
  }
  {
    const ReplayFigures& f = r.runs.front();
    const double total = f.lookup_ns.summary().mean * static_cast<double>(f.lookup_ns.count());
    if (total > 0) {
      fmt::print("\nlookup time (threshold {}): embedding {:.0f}%, vector search {:.0f}%, store round trips {:.0f}%\n",
                 f.threshold, 100 * static_cast<double>(f.embed_ns) / total,
                 100 * static_cast<double>(f.search_ns) / total, 100 * static_cast<double>(f.store_ns) / total);
    }
  }
  if (const auto& cluster = r.runs.front().cluster) {
    std::string nodes;
    for (const auto& [node, commands] : cluster->node_commands) {
      nodes += fmt::format("{}{} {}", nodes.empty() ? "" : ", ", node, commands);
    }
    fmt::print("\ncluster nodes (commands, threshold {}): {}; redirects: {} moved, {} ask, {} tryagain\n",
               r.runs.front().threshold, nodes.empty() ? "none" : nodes, cluster->moved, cluster->asked,
               cluster->try_again);
  }
  if (errors > 0 || dropped > 0) {
    fmt::print("\nthe store failed during the replay: {} lookups failed (served as misses), {} stores dropped\n", errors,
               dropped);
    if (!first_error.empty()) fmt::print("first failure: {}\n", first_error);
  }
  if (!r.unpriced_models.empty()) {
    std::string models;
    for (const std::string& m : r.unpriced_models) {
      models += (models.empty() ? "" : ", ") + (m == "unknown" ? m + " (lines without a model)" : m);
    }
    fmt::print("\nno price for {} (hits on them save tokens but no money here; --prices FILE adds them)\n", models);
  }
  if (replays_in_batches(o)) {
    fmt::print("\nexact mode pipelines {} requests per batch; a request's lookup latency is its batch's time\n",
               o.batch_size);
  }
}

int run_replay_command(ReplayArgs& args) {
  ReplayOptions& o = args.options;
  o.mode = *parse_cache_mode(args.mode);
  o.thresholds = args.thresholds.empty() ? std::vector<double>{args.threshold} : *parse_threshold_list(args.thresholds);
  o.pace = args.pace == "recorded" ? Pace::kRecorded : Pace::kMax;
  o.embedder = args.embedder.spec;
  o.embedder_options = args.embedder.resolved();
  o.ttl = std::chrono::milliseconds(static_cast<std::int64_t>(args.ttl_seconds * 1000));
  o.log.skip_bad_lines = args.on_error == "skip";
  o.log.field_names = *parse_field_mapping(args.fields);
  o.redis.connect_timeout = std::chrono::milliseconds(args.timeout_ms);
  o.redis.command_timeout = std::chrono::milliseconds(args.timeout_ms);
  if (!args.prices.empty()) {
    auto prices = PriceTable::load(args.prices);
    if (!prices) return fail(prices.status());
    o.prices = std::move(*prices);
    o.prices_required = true;
  }

  std::error_code size_error;
  const auto file_bytes = std::filesystem::file_size(args.log, size_error);
  const std::size_t total_kb = size_error ? 0 : static_cast<std::size_t>(file_bytes / 1000);
  ProgressBar bar("replay");
  auto result = run_replay(args.log, o, [&](const ReplayProgress& p) {
    // Progress in kB of the log read, one bar per threshold.
    bar.update(fmt::format("replay t={:g}", o.thresholds[p.run]), static_cast<std::size_t>(p.bytes_read / 1000), total_kb);
  });
  bar.finish();
  if (!result) return fail(result.status());
  print_table(*result, o);
  if (!args.json_out.empty()) {
    if (Status st = write_text_file(args.json_out, replay_result_json(*result, o)); !st) return fail(st);
    fmt::print("\nwrote {}\n", args.json_out);
  }
  return 0;
}

}  // namespace

void add_replay_command(CLI::App& app, Command& run) {
  auto args = std::make_shared<ReplayArgs>();
  ReplayOptions& o = args->options;
  CLI::App* replay = app.add_subcommand(
      "replay",
      "What would a cache in front of the model have done on this traffic? Replays a prompt log (JSONL: one\n"
      "request per line with prompt or messages, response, and optional ts, model, tenant, token counts,\n"
      "latency_ms, group, embedding) in log order: look up; on a hit count it, and when the log has `group`\n"
      "(ground truth: prompts that deserve the same answer) judge it: a hit from another group is a false\n"
      "hit; on a miss take the logged response as the model's answer and store it. Each threshold is\n"
      "replayed on its own empty cache, exactly as if run alone. Thresholds are cosine distances\n"
      "(1 - similarity): 0.1 serves a cached answer when the prompts' similarity is >= 0.9.\n\n"
      "  semcache gen prompts --n 20000 --groups 3000 --out p.jsonl\n"
      "  semcache replay p.jsonl --mode both --thresholds 0.05,0.1,0.2,0.3        embedded store\n"
      "  semcache replay p.jsonl --redis redis://127.0.0.1:6379 --mode exact      against Redis\n"
      "  semcache replay p.jsonl --pace recorded --speed 60 --concurrency 4       the log's timing, 60x faster\n"
      "  semcache replay logs.jsonl --field prompt=input,response=output --on-error skip --json r.json\n\n"
      "Exit codes: 0 the replay ran (Redis failures during it are counted in the result), 2 bad usage or a\n"
      "bad log line (file:line in the message), 3 Redis unreachable at the start.");
  replay->add_option("LOG", args->log, "The prompt log (.jsonl)")->required()->check(CLI::ExistingFile);
  replay->add_option("--redis", o.redis_url,
                     "Replay against Redis: redis://[user:password@]host:port[/db], or a Redis Cluster: "
                     "redis+cluster://[user:password@]host:port[,host:port...]; default: the embedded store");
  replay->add_option("--mode", args->mode, "exact (same request), semantic (similar prompt) or both")
      ->capture_default_str()
      ->check(CLI::IsMember({"exact", "semantic", "both"}));
  CLI::Option* threshold = replay->add_option("--threshold", args->threshold, "Cosine distance at which a similar prompt is a hit")
                               ->capture_default_str()
                               ->check(CLI::Range(0.0, 2.0));
  CLI::Option* thresholds = replay->add_option("--thresholds", args->thresholds,
                                               "Several thresholds, e.g. 0.05,0.1,0.2: one replay each, side by side")
                                ->check(threshold_list_validator());
  threshold->excludes(thresholds);
  thresholds->excludes(threshold);
  add_embedder_options(*replay, args->embedder);  // embeds prompts that have no precomputed `embedding`
  replay->add_flag("--embedding-cache", o.embedding_cache,
                   "Embed through an embedding cache in the same store (each distinct prompt embedded once)");
  replay->add_option("--pace", args->pace,
                     "max: each worker sends its next request when the last one is answered; recorded: the log's "
                     "arrival times divided by --speed, latency measured from each request's intended start")
      ->capture_default_str()
      ->check(CLI::IsMember({"max", "recorded"}));
  replay->add_option("--speed", o.speed, "With --pace recorded: replay this many times faster than the log")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  replay->add_option("--repeat", o.repeat,
                     "Replay each threshold N times on fresh namespaces; the result reports the median-throughput "
                     "repetition and lists every repetition's timing in repeats[] (what `compare` judges noise by)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100}));
  replay->add_option("--concurrency", o.concurrency,
                     "Worker threads sending requests (exact mode at pace max: each owns a share of the keys, so "
                     "the outcomes stay those of log order; 2 keeps a 2-core machine busy while one waits for Redis)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1024}));
  replay->add_option("--batch", o.batch_size,
                     "Exact mode, pace max: requests per pipelined round trip and worker (outcomes stay those of "
                     "log order)")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  replay->add_option("--ttl", args->ttl_seconds, "Entries expire this many seconds after they are stored (0: never)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1e9));
  replay->add_option("--ef", o.ef, "HNSW candidate list of semantic searches")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{100000}));
  replay->add_option("--candidates", o.candidates, "Semantic candidates fetched per lookup, closest first")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}));
  replay->add_option("--prefix", o.prefix, "First part of every Redis key")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            return v.empty() || v.find_first_of("{}") != std::string::npos ? "the prefix must be non-empty, without '{' or '}'"
                                                                            : "";
          },
          "", "PREFIX"));
  replay->add_option("--name", o.name,
                     "Cache namespace name (several thresholds add -t0, -t1, ...); default: replay-<random hex>");
  CLI::Option* keep = replay->add_flag("--keep", o.keep, "Keep the replay's entries in Redis afterwards (default: dropped)");
  replay->add_option("--limit", o.limit, "Replay only the first N requests (0: all)")->capture_default_str();
  replay->add_option("--on-error", args->on_error, "A bad log line: fail (exit 2 naming the line) or skip (counted)")
      ->capture_default_str()
      ->check(CLI::IsMember({"fail", "skip"}));
  replay->add_option("--field", args->fields,
                     "Field names of your log, canonical=name,...: e.g. prompt=input,response=output,ts=time")
      ->check(checked_by("MAPPING", [](const std::string& v) { return parse_field_mapping(v); }));
  replay->add_option("--prices", args->prices,
                     "Prices per million tokens, JSON {\"model\": {\"input\": 0.15, \"output\": 0.6}, \"*\": {...}}; "
                     "every model in the log must have one. Default: built-in list prices")
      ->check(CLI::ExistingFile);
  replay->add_option("--timeout-ms", args->timeout_ms, "Redis connect and command timeout")
      ->capture_default_str()
      ->check(CLI::Range(1, 600000));
  replay->add_option("--decisions", o.decisions_path,
                     "Write one JSON line per request and threshold: line, outcome, and for hits the source line");
  replay->add_option("--json", args->json_out, "Write the result JSON to this file");
  replay->parse_complete_callback([replay, keep] {
    if (replay->count("--speed") > 0 && replay->get_option("--pace")->as<std::string>() != "recorded") {
      throw CLI::ValidationError("--speed", "applies only with --pace recorded");
    }
    if (keep->count() > 0 && replay->count("--redis") == 0) {
      throw CLI::ValidationError("--keep", "needs --redis (the embedded store ends with the process)");
    }
  });
  replay->final_callback([&run, args] { run = [args] { return run_replay_command(*args); }; });
}

}  // namespace semcache::cli
