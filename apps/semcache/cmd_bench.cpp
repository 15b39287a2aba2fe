// semcache bench recall: recall@k / QPS / latency percentiles of the vector set against exact
// ground truth, as a table and as result JSON (--json OUT).

#include <fmt/format.h>

#include "cli.hpp"
#include "progress.hpp"
#include "semcache/recall_bench.hpp"

namespace semcache::cli {
namespace {

struct BenchRecallArgs {
  RecallBenchOptions options;
  std::string ef_list = "16,32,64,128,256";
  std::string format = "auto";
  std::string quant = "int8";
  std::string metric = "cosine";
  std::string json_out;
};

int run_bench_recall(BenchRecallArgs& args) {
  auto efs = parse_size_list(args.ef_list, "--ef");
  if (!efs) return fail(efs.status());
  args.options.ef_values = *efs;
  args.options.format = *parse_vector_format(args.format);
  args.options.quantization = *parse_quantization(args.quant);
  args.options.metric = *parse_metric(args.metric);

  ProgressBar bar("read");
  auto result = run_recall_bench(args.options, [&](std::string_view phase, std::size_t done, std::size_t total) {
    bar.update(std::string(phase), done, total);
  });
  bar.finish();
  if (!result) return fail(result.status());
  const RecallResult& r = *result;

  fmt::print("{} x {} ({}, {}), {} queries, k={}, M={}, efC={}, kernels {}\n", r.n, r.dim, to_string(r.params.metric),
             to_string(r.params.quantization), r.queries, r.params.k, r.params.m, r.params.ef_construction,
             r.machine.simd_level);
  if (r.ground_truth_seconds > 0) fmt::print("ground truth: exact, computed in {:.1f}s\n", r.ground_truth_seconds);
  fmt::print("build: {:.2f}s with {} threads ({:.0f} vectors/s), memory {:.1f} MB ({:.0f} bytes/vector)\n\n",
             r.build_seconds, r.params.threads, r.vectors_per_second, static_cast<double>(r.memory_bytes) / 1e6,
             static_cast<double>(r.memory_bytes) / static_cast<double>(r.n));
  const bool parallel = r.params.query_threads > 0;
  fmt::print("{:>6} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9}{}\n", "ef", "recall@" + std::to_string(r.params.k),
             "QPS", "p50 us", "p90 us", "p99 us", "max us", "dist/q", "visit/q", parallel ? "   QPS(par)" : "");
  for (const RecallRun& run : r.runs) {
    fmt::print("{:>6} {:>10.4f} {:>10.0f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>10.0f} {:>9.0f}{}\n", run.ef,
               run.recall_at_k, run.qps, run.latency_us.p50, run.latency_us.p90, run.latency_us.p99, run.latency_us.max,
               run.distances_per_query, run.visited_per_query,
               parallel ? fmt::format(" {:>10.0f}", run.qps_parallel) : "");
  }
  if (r.params.repeat > 1) fmt::print("\nQPS is the median of {} timed passes per ef\n", r.params.repeat);
  if (!args.json_out.empty()) {
    if (Status st = write_text_file(args.json_out, to_json(r)); !st) return fail(st);
    fmt::print("\nwrote {}\n", args.json_out);
  }
  return 0;
}

}  // namespace

void add_bench_command(CLI::App& app, Command& run) {
  CLI::App* bench = app.add_subcommand("bench", "Benchmarks that write result JSON");
  bench->require_subcommand(1);
  add_bench_cache_command(*bench, run);
  add_bench_embed_command(*bench, run);
  add_bench_soak_command(*bench, run);
  add_bench_warmstart_command(*bench, run);
  auto args = std::make_shared<BenchRecallArgs>();
  RecallBenchOptions& o = args->options;
  CLI::App* recall = bench->add_subcommand(
      "recall",
      "Build a vector set from --base with --threads threads, then time the --queries one at a time on one "
      "thread at each --ef and report recall@k against exact ground truth (--gt, or computed when absent), "
      "QPS and latency percentiles.");
  recall->add_option("--base", o.base_path, "Base vectors (fvecs, bvecs, npy or jsonl)")->required()->check(CLI::ExistingFile);
  recall->add_option("--queries", o.queries_path, "Query vectors")->required()->check(CLI::ExistingFile);
  recall->add_option("--gt", o.gt_path, "Ground truth (ivecs of base row numbers); computed exactly when absent")->check(CLI::ExistingFile);
  recall->add_option("--format", args->format, "Input format: auto|fvecs|bvecs|npy|jsonl")->capture_default_str()->check(format_names());
  recall->add_option("-k", o.k, "Neighbours per query")->capture_default_str()->check(CLI::PositiveNumber);
  recall->add_option("--ef", args->ef_list, "Comma-separated ef values to measure")->capture_default_str();
  recall->add_option("--quant", args->quant, "Vector storage: int8|f32|bin")->capture_default_str()->check(quantization_names());
  recall->add_option("--metric", args->metric, "Distance: cosine|ip|l2")->capture_default_str()->check(metric_names());
  recall->add_option("--m", o.m, "HNSW links per node (2*M on layer 0)")->capture_default_str()->check(CLI::Range(2, 128));
  recall->add_option("--ef-construction", o.ef_construction, "HNSW candidate list while building")->capture_default_str()->check(CLI::Range(1, 10000));
  recall->add_option("--threads", o.threads, "Build threads (0 = all cores)")->capture_default_str();
  recall->add_option("--query-threads", o.query_threads, "Also measure aggregate QPS with N query threads")->capture_default_str();
  recall->add_option("--repeat", o.repeat, "Timed passes per ef; QPS is their median")->capture_default_str()->check(CLI::PositiveNumber);
  recall->add_option("--seed", o.seed, "Seed for HNSW levels")->capture_default_str();
  recall->add_option("--json", args->json_out, "Write the result JSON to this file");
  recall->callback([&run, args] { run = [args] { return run_bench_recall(*args); }; });
}

}  // namespace semcache::cli
