// semcache load: stream a vector file into a vector set (ids and attributes from JSONL, row
// numbers otherwise). --save builds the set with several threads and writes a snapshot;
// --redis writes the vectors and attributes to Redis (DESIGN.md "Redis keys"), from which
// `semcache query --redis` (or any process) rebuilds the set. Rows are read in batches, so
// memory holds one batch of floats beside the set. On bad input nothing is written to the
// snapshot: an existing file under --save stays as it was. Redis batches are atomic
// (MULTI/EXEC), so an error leaves every batch either stored whole or not at all.

#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "cli.hpp"
#include "progress.hpp"
#include "semcache/redis_url.hpp"
#include "semcache/redis_vector_store.hpp"
#include "semcache/vector_file.hpp"
#include "semcache/vector_set.hpp"

namespace semcache::cli {
namespace {

struct LoadArgs {
  std::string file;
  std::string set_name;
  std::string format = "auto";
  std::string quant = "int8";
  std::string metric = "cosine";
  std::size_t m = 16;
  std::size_t ef_construction = 200;
  std::size_t threads = 0;
  std::size_t batch_rows = 65536;
  std::string save;
  std::string redis;
};

// Rows per Redis transaction: about 4 MB of vectors, so one MULTI/EXEC never holds much in Redis.
std::size_t redis_batch_rows(std::size_t dim) { return std::max<std::size_t>(1, (4u << 20) / (dim * sizeof(float))); }

int run_load(const LoadArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  auto reader = VectorReader::open(args.file, *parse_vector_format(args.format));
  if (!reader) return fail(reader.status());
  VectorReader& in = **reader;
  VectorSetOptions options;
  options.dim = in.dim();
  options.metric = *parse_metric(args.metric);
  options.quantization = *parse_quantization(args.quant);
  options.m = args.m;
  options.ef_construction = args.ef_construction;
  auto created = VectorSet::create(options);
  if (!created) return fail(created.status());
  VectorSet& set = **created;
  std::optional<RedisVectorStore> redis;
  if (!args.redis.empty()) {
    auto opened = RedisVectorStore::open(args.redis, args.set_name);
    if (!opened) return fail(opened.status());
    redis.emplace(std::move(opened.value()));
    if (Status st = redis->write_meta({options.dim, options.metric, options.quantization, options.m, options.ef_construction}); !st) {
      return fail(st);
    }
  }
  const bool build_local = !args.save.empty();

  const std::size_t threads = args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency());
  const std::size_t total = in.count().value_or(0);
  ProgressBar bar("load");
  std::vector<std::string> ids;
  std::vector<std::string> attributes;
  std::vector<float> rows;
  bool any_attributes = false;
  std::size_t loaded = 0;
  auto flush = [&]() -> Status {
    if (ids.empty()) return Status::ok();
    if (!any_attributes) attributes.clear();
    const std::size_t before = loaded;
    if (build_local) {
      Status st = set.add_batch(ids, rows, attributes, threads, [&](const BuildProgress& p) {
        bar.update("load", before + p.done, std::max(total, before + p.total));
      });
      if (!st) return st.with_context(args.file);
    }
    if (redis) {
      const std::size_t step = redis_batch_rows(options.dim);
      for (std::size_t i = 0; i < ids.size(); i += step) {
        const std::size_t n = std::min(step, ids.size() - i);
        Status st = redis->put_batch(std::span<const std::string>(ids).subspan(i, n),
                                     std::span<const float>(rows).subspan(i * options.dim, n * options.dim),
                                     attributes.empty() ? std::span<const std::string>() : std::span<const std::string>(attributes).subspan(i, n));
        if (!st) return st;
        bar.update("redis", before + i + n, std::max(total, before + ids.size()));
      }
    }
    loaded += ids.size();
    ids.clear();
    attributes.clear();
    rows.clear();
    any_attributes = false;
    return Status::ok();
  };
  VectorRecord record;
  for (;;) {
    auto more = in.next(record);
    if (!more) return fail(more.status());
    if (!*more) break;
    ids.emplace_back(record.id);
    attributes.emplace_back(record.attributes_json);
    any_attributes = any_attributes || !record.attributes_json.empty();
    rows.insert(rows.end(), record.vector.begin(), record.vector.end());
    if (ids.size() >= args.batch_rows) {
      if (Status st = flush(); !st) return fail(st);
    }
  }
  if (Status st = flush(); !st) return fail(st);
  bar.finish();
  const double load_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("set '{}': {} vectors of dimension {} from {} ({}, {}), M={}, efC={}, {} threads\n", args.set_name, loaded,
             options.dim, args.file, to_string(options.metric), to_string(options.quantization), options.m,
             options.ef_construction, threads);
  fmt::print("read{} {:.2f}s ({:.0f} vectors/s, {:.1f} MB/s of input)\n", build_local ? " + build" : "", load_seconds,
             static_cast<double>(loaded) / load_seconds, static_cast<double>(in.bytes_read()) / 1e6 / load_seconds);
  if (redis) {
    auto stored = redis->size();
    if (!stored) return fail(stored.status());
    fmt::print("redis {}: set '{}' holds {} elements ({} round trips)\n", redis->redacted_url(), args.set_name, *stored,
               redis->round_trips());
  }
  if (build_local) {
    if (Status st = set.save(args.save); !st) return fail(st);
    fmt::print("memory {:.1f} MB; snapshot {} saved ({:.2f}s in all)\n", static_cast<double>(set.memory_bytes()) / 1e6,
               args.save, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  return 0;
}

}  // namespace

void add_load_command(CLI::App& app, Command& run) {
  auto args = std::make_shared<LoadArgs>();
  CLI::App* load = app.add_subcommand(
      "load",
      "Load vectors into a vector set: build it and save a snapshot (--save), and/or store the vectors and\n"
      "attributes in Redis (--redis) so any process can rebuild the set (`semcache query --redis`).\n"
      "Inputs: fvecs / bvecs / .npy (f32, f16, int8; ids are row numbers) or JSONL lines\n"
      "  {\"id\": \"doc-1\", \"vector\": [0.1, ...], \"attributes\": {\"year\": 1999}}");
  load->add_option("file", args->file, "Vector file")->required()->check(CLI::ExistingFile);
  load->add_option("--set", args->set_name, "Name of the vector set")->required();
  load->add_option("--format", args->format, "auto|fvecs|bvecs|npy|jsonl (auto: by extension, then magic)")->capture_default_str()->check(format_names());
  load->add_option("--quant", args->quant, "Vector storage: int8 (default, per-vector scale) | f32 | bin")->capture_default_str()->check(quantization_names());
  load->add_option("--metric", args->metric, "Distance: cosine|ip|l2")->capture_default_str()->check(metric_names());
  load->add_option("--m", args->m, "HNSW links per node (2*M on layer 0)")->capture_default_str()->check(CLI::Range(2, 128));
  load->add_option("--ef-construction", args->ef_construction, "HNSW candidate list while building")->capture_default_str()->check(CLI::Range(1, 10000));
  load->add_option("--threads", args->threads, "Build threads (0 = all cores)")->capture_default_str();
  load->add_option("--batch-rows", args->batch_rows, "Rows read before each parallel insert")->capture_default_str()->check(CLI::PositiveNumber);
  CLI::Option* save = load->add_option("--save", args->save, "Build the set and write it to this snapshot file");
  CLI::Option* redis = load->add_option("--redis", args->redis, "Store the vectors in Redis: redis://[user:password@]host:port[/db], or redis+cluster://[user:password@]host:port[,host:port...] (the set goes to the primary of its slot)");
  save->excludes(redis);
  redis->excludes(save);
  load->parse_complete_callback([load] {
    if (load->count("--save") == 0 && load->count("--redis") == 0) throw CLI::RequiredError("--save or --redis");
  });
  load->final_callback([&run, args] { run = [args] { return run_load(*args); }; });
}

}  // namespace semcache::cli
