// semcache gen vectors: a synthetic embedding dataset with exact top-100 ground truth.

#include <chrono>
#include <filesystem>

#include <fmt/format.h>

#include "cli.hpp"
#include "progress.hpp"
#include "semcache/dataset.hpp"

namespace semcache::cli {
namespace {

struct GenVectorsArgs {
  GenerateVectorsOptions options;
  std::string out;
  std::size_t gt_k = 100;
};

int run_gen_vectors(const GenVectorsArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  std::error_code ec;
  std::filesystem::create_directories(args.out, ec);
  if (ec) return fail(Status::io(fmt::format("{}: cannot create directory: {}", args.out, ec.message())));

  auto data = generate_vectors(args.options);
  if (!data) return fail(data.status());
  const std::string base_path = (std::filesystem::path(args.out) / "base.fvecs").string();
  const std::string query_path = (std::filesystem::path(args.out) / "query.fvecs").string();
  const std::string gt_path = (std::filesystem::path(args.out) / "gt.ivecs").string();
  if (Status st = write_fvecs(base_path, data->base); !st) return fail(st);
  if (Status st = write_fvecs(query_path, data->queries); !st) return fail(st);
  const double generated = elapsed();

  ProgressBar bar("ground truth");
  auto gt = exact_ground_truth(data->base, data->queries, args.gt_k, Metric::kCosine, args.options.threads,
                               [&](std::size_t done, std::size_t total) { bar.update("ground truth", done, total); });
  bar.finish();
  if (!gt) return fail(gt.status());
  if (Status st = write_ivecs(gt_path, *gt); !st) return fail(st);

  fmt::print("generated {} base and {} query vectors of dimension {} in {} topics (seed {}) in {:.1f}s\n",
             args.options.n, args.options.queries, args.options.dim, args.options.clusters, args.options.seed, generated);
  fmt::print("exact top-{} ground truth by cosine in {:.1f}s\n", gt->dim, elapsed() - generated);
  fmt::print("  {}\n  {}\n  {}\n", base_path, query_path, gt_path);
  return 0;
}

struct GenGtArgs {
  std::string base;
  std::string queries;
  std::string out;
  std::string metric = "cosine";
  std::size_t k = 100;
  std::size_t threads = 0;
};

int run_gen_gt(const GenGtArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  auto base = read_float_matrix(args.base);
  if (!base) return fail(base.status());
  auto queries = read_float_matrix(args.queries);
  if (!queries) return fail(queries.status());
  ProgressBar bar("ground truth");
  auto gt = exact_ground_truth(*base, *queries, args.k, *parse_metric(args.metric), args.threads,
                               [&](std::size_t done, std::size_t total) { bar.update("ground truth", done, total); });
  bar.finish();
  if (!gt) return fail(gt.status());
  if (Status st = write_ivecs(args.out, *gt); !st) return fail(st);
  fmt::print("exact top-{} of {} queries over {} base vectors ({}) in {:.1f}s -> {}\n", gt->dim, queries->rows, base->rows,
             args.metric, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), args.out);
  return 0;
}

}  // namespace

void add_gen_command(CLI::App& app, Command& run) {
  CLI::App* gen = app.add_subcommand("gen", "Generate datasets: vectors with ground truth, ground truth for your own vectors, prompt logs");
  gen->require_subcommand(1);
  auto args = std::make_shared<GenVectorsArgs>();
  CLI::App* vectors = gen->add_subcommand(
      "vectors",
      "A Gaussian-mixture dataset that behaves like sentence embeddings (shared mean direction, decaying "
      "spectrum, Zipf-sized topics), unit-normalised, with exact top-100 cosine ground truth.\n"
      "Writes DIR/base.fvecs, DIR/query.fvecs and DIR/gt.ivecs.");
  vectors->add_option("--n", args->options.n, "Base vectors")->capture_default_str()->check(CLI::PositiveNumber);
  vectors->add_option("--dim", args->options.dim, "Dimension")->capture_default_str()->check(CLI::Range(1, 65536));
  vectors->add_option("--clusters", args->options.clusters, "Topics (mixture components)")->capture_default_str()->check(CLI::PositiveNumber);
  vectors->add_option("--queries", args->options.queries, "Query vectors (not in the base)")->capture_default_str()->check(CLI::PositiveNumber);
  vectors->add_option("--seed", args->options.seed, "Random seed (same seed, same files)")->capture_default_str();
  vectors->add_option("--threads", args->options.threads, "Threads for generation and ground truth (0 = all cores)")->capture_default_str();
  vectors->add_option("--gt-k", args->gt_k, "Neighbours per query in gt.ivecs")->capture_default_str()->check(CLI::PositiveNumber);
  vectors->add_option("--out", args->out, "Output directory (created if missing)")->required();
  vectors->callback([&run, args] { run = [args] { return run_gen_vectors(*args); }; });

  auto gt_args = std::make_shared<GenGtArgs>();
  CLI::App* gt = gen->add_subcommand("gt", "Exact ground truth (ivecs of base row numbers) for any base and query files");
  gt->add_option("--base", gt_args->base, "Base vectors (fvecs, bvecs, npy or jsonl)")->required()->check(CLI::ExistingFile);
  gt->add_option("--queries", gt_args->queries, "Query vectors")->required()->check(CLI::ExistingFile);
  gt->add_option("--out", gt_args->out, "Output .ivecs file")->required();
  gt->add_option("-k", gt_args->k, "Neighbours per query")->capture_default_str()->check(CLI::PositiveNumber);
  gt->add_option("--metric", gt_args->metric, "Distance: cosine|ip|l2")->capture_default_str()->check(metric_names());
  gt->add_option("--threads", gt_args->threads, "Threads (0 = all cores)")->capture_default_str();
  gt->callback([&run, gt_args] { run = [gt_args] { return run_gen_gt(*gt_args); }; });

  add_gen_prompts_command(*gen, run);
}

}  // namespace semcache::cli
