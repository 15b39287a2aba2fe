// semcache query: nearest neighbours of one vector in a vector set, optionally filtered. The set
// comes from a snapshot file, or is rebuilt from the elements that `semcache load --redis`
// stored in Redis (the way a second process joins a shared set).

#include <fmt/format.h>

#include "cli.hpp"
#include <chrono>
#include <thread>

#include "semcache/json_writer.hpp"
#include "semcache/redis_vector_store.hpp"
#include "semcache/vector_file.hpp"
#include "semcache/vector_set.hpp"

namespace semcache::cli {
namespace {

struct QueryArgs {
  std::string set_name;
  std::string snapshot;
  std::string redis;
  std::size_t threads = 0;
  std::string vector_file;
  std::size_t row = 0;
  std::size_t k = 10;
  std::size_t ef = 0;
  std::string filter;
  bool json = false;
};

Expected<std::vector<float>> read_row(const std::string& path, std::size_t row) {
  auto reader = VectorReader::open(path);
  if (!reader) return reader.status();
  VectorRecord record;
  for (;;) {
    auto more = (*reader)->next(record);
    if (!more) return more.status();
    if (!*more) break;
    if (record.row == row) return std::vector<float>(record.vector.begin(), record.vector.end());
  }
  return Status::bad_input(fmt::format("{}: --row {} is past the end of the file ({} rows)", path, row, record.row + 1));
}

Expected<std::unique_ptr<VectorSet>> rebuild_from_redis(const QueryArgs& args) {
  auto store = RedisVectorStore::open(args.redis, args.set_name);
  if (!store) return store.status();
  auto meta = store->read_meta();
  if (!meta) return meta.status();
  if (!*meta) return Status::not_found(fmt::format("{}: no vector set '{}' (load one with `semcache load FILE --set {} --redis URL`)",
                                                   store->redacted_url(), args.set_name, args.set_name));
  VectorSetOptions options;
  options.dim = (*meta)->dim;
  options.metric = (*meta)->metric;
  options.quantization = (*meta)->quantization;
  options.m = (*meta)->m;
  options.ef_construction = (*meta)->ef_construction;
  auto set = VectorSet::create(options);
  if (!set) return set.status();
  const std::size_t threads = args.threads > 0 ? args.threads : std::max(1u, std::thread::hardware_concurrency());
  const auto start = std::chrono::steady_clock::now();
  Status scanned = store->scan(4096, [&](std::span<const std::string> ids, std::span<const float> rows,
                                          std::span<const std::string> attributes) {
    return (*set)->add_batch(ids, rows, attributes, threads);
  });
  if (!scanned) return scanned;
  fmt::print(stderr, "rebuilt set '{}' from {}: {} elements in {:.2f}s ({} round trips)\n", args.set_name,
             store->redacted_url(), (*set)->size(),
             std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), store->round_trips());
  return set;
}

int run_query(const QueryArgs& args) {
  std::optional<Filter> filter;
  if (!args.filter.empty()) {
    auto parsed = Filter::parse(args.filter);
    if (!parsed) return fail(parsed.status());
    filter = std::move(parsed.value());
  }
  auto set = args.redis.empty() ? VectorSet::load(args.snapshot) : rebuild_from_redis(args);
  if (!set) return fail(set.status());
  auto query = read_row(args.vector_file, args.row);
  if (!query) return fail(query.status());
  if (query->size() != (*set)->dim()) {
    return fail(Status::bad_input(fmt::format("{}: row {} has dimension {}, the set '{}' has dimension {}",
                                              args.vector_file, args.row, query->size(),
                                              args.redis.empty() ? args.snapshot : args.set_name, (*set)->dim())));
  }
  SearchOptions options;
  options.k = args.k;
  options.ef = args.ef;
  options.filter = filter ? &*filter : nullptr;
  SearchStats stats;
  auto hits = (*set)->search(*query, options, &stats);
  if (!hits) return fail(hits.status());

  if (args.json) {
    JsonWriter out;
    out.begin_object();
    out.key("kind").value("query");
    out.key("set").value(args.set_name);
    out.key("k").value(static_cast<std::uint64_t>(args.k));
    out.key("filter").value(args.filter);
    out.key("distances_computed").value(stats.distances_computed);
    out.key("nodes_visited").value(stats.nodes_visited);
    out.key("exact_scan").value(stats.used_exact_scan);
    out.key("results").begin_array();
    for (const SearchHit& hit : *hits) {
      out.begin_object();
      out.key("id").value(hit.id);
      out.key("distance").value(static_cast<double>(hit.distance));
      auto attributes = (*set)->attributes(hit.id);
      if (attributes && !attributes->empty()) out.key("attributes").raw(*attributes);
      out.end_object();
    }
    out.end_array();
    out.end_object();
    fmt::print("{}", out.str());
    return 0;
  }
  fmt::print("{:>4}  {:<24} {:>10} {:>10}  {}\n", "rank", "id", "distance", "similarity", "attributes");
  for (std::size_t i = 0; i < hits->size(); ++i) {
    const SearchHit& hit = (*hits)[i];
    auto attributes = (*set)->attributes(hit.id);
    fmt::print("{:>4}  {:<24} {:>10.4f} {:>10.4f}  {}\n", i + 1, hit.id, hit.distance, 1.0f - hit.distance,
               attributes ? *attributes : "");
  }
  fmt::print("{} results; {} distances computed, {} nodes visited{}\n", hits->size(), stats.distances_computed,
             stats.nodes_visited, stats.used_exact_scan ? " (filter fell back to an exact scan)" : "");
  return 0;
}

}  // namespace

void add_query_command(CLI::App& app, Command& run) {
  auto args = std::make_shared<QueryArgs>();
  CLI::App* query = app.add_subcommand(
      "query",
      "Nearest neighbours of a vector in a saved vector set.\n"
      "  semcache query --snapshot docs.vset --vector q.fvecs --row 3 -k 5 --filter '.year > 1950 and .genre == \"drama\"'\n"
      "Distances are cosine distances (1 - similarity) for the cosine metric; smaller is closer.");
  query->add_option("--set", args->set_name, "Name of the vector set (required with --redis)");
  CLI::Option* snapshot = query->add_option("--snapshot", args->snapshot, "Snapshot written by `semcache load --save`");
  CLI::Option* redis = query->add_option("--redis", args->redis, "Rebuild the set from Redis: redis://[user:password@]host:port[/db], or redis+cluster://[user:password@]host:port[,host:port...]");
  snapshot->excludes(redis);
  redis->excludes(snapshot);
  query->add_option("--threads", args->threads, "Threads for rebuilding from Redis (0 = all cores)")->capture_default_str();
  query->parse_complete_callback([query, args] {
    if (query->count("--snapshot") == 0 && query->count("--redis") == 0) throw CLI::RequiredError("--snapshot or --redis");
    if (query->count("--redis") > 0 && args->set_name.empty()) throw CLI::RequiredError("--set (with --redis)");
  });
  query->add_option("--vector", args->vector_file, "File holding the query vector (any readable format)")->required()->check(CLI::ExistingFile);
  query->add_option("--row", args->row, "Row of --vector to use (0-based)")->capture_default_str();
  query->add_option("-k", args->k, "Results")->capture_default_str()->check(CLI::PositiveNumber);
  query->add_option("--ef", args->ef, "Search candidate list (0 = max(k, 64))")->capture_default_str();
  query->add_option("--filter", args->filter,
                    "Redis vector-set FILTER expression over the JSON attributes, e.g. '.year > 1950 and .genre == \"drama\"'");
  query->add_flag("--json", args->json, "Print the results as JSON");
  query->final_callback([&run, args] { run = [args] { return run_query(*args); }; });
}

}  // namespace semcache::cli
