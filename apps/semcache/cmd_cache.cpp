// semcache cache snapshot | stats: operator commands for a cache on Redis.
//
//   snapshot  publishes the vector set of one namespace (--model) or of every namespace of the
//             name as the namespace's newest snapshot, building the set from Redis first (from
//             the previous snapshot plus the log when that one is usable, else by a rebuild).
//             Entries of precomputed vectors are indexed with the vector identity and dim found
//             in them (or --vector-identity/--dim); entries an embedder wrote need that
//             embedder (--embedder, as replay takes it: its identity names the vectors).
//             --quant, --m and --ef-construction must be those of the processes that will
//             load it (they refuse a snapshot of other options and rebuild instead).
//   stats     lists the namespaces of the name: entries, vector dim and identity, the change
//             log's newest id, and the snapshot manifest (id, covered log id, size, age).

#include <chrono>

#include <fmt/format.h>

#include "cli.hpp"
#include "embedder_args.hpp"
#include "semcache/cache.hpp"
#include "semcache/redis_cluster_store.hpp"
#include "semcache/redis_store.hpp"

namespace semcache::cli {
namespace {

struct CacheArgs {
  std::string redis;
  std::string prefix = "semcache";
  std::string name = "default";
  std::string model;
  std::size_t dim = 0;
  std::string vector_identity;
  std::string embedder;   // empty: precomputed vectors
  std::string data_dir;
  std::string quant = "int8";
  std::size_t m = 16;
  std::size_t ef_construction = 100;
};

std::string size_of(std::uint64_t bytes) {
  if (bytes < 10'000) return fmt::format("{} bytes", bytes);
  if (bytes < 10'000'000) return fmt::format("{:.1f} kB", static_cast<double>(bytes) / 1e3);
  return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6);
}

std::string age_of(std::int64_t created_ms) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch()).count();
  const double seconds = static_cast<double>(now - created_ms) / 1e3;
  if (seconds < 120) return fmt::format("{:.0f}s", seconds);
  if (seconds < 7200) return fmt::format("{:.0f}min", seconds / 60);
  return fmt::format("{:.1f}h", seconds / 3600);
}

// The identity a Cache without an embedder gives vectors of `dim`: "VECTOR_IDENTITY/DIM".
// Entries written with an embedder carry its identity instead, which such a Cache cannot take.
Expected<std::string> identity_prefix(const StoredNamespace& ns, const CacheArgs& args) {
  if (!args.vector_identity.empty()) return args.vector_identity;
  const std::string suffix = "/" + std::to_string(ns.dim);
  const std::string& id = ns.vector_identity;
  if (id.size() > suffix.size() && id.compare(id.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return id.substr(0, id.size() - suffix.size());
  }
  return Status::invalid_argument(fmt::format(
      "cache snapshot: the entries of model '{}' carry vector identity '{}', which is not of the form "
      "NAME/{}: pass the --embedder that wrote them, or --vector-identity NAME for precomputed vectors "
      "indexed under NAME/DIM",
      ns.model, id, ns.dim));
}

int run_snapshot(const CacheArgs& args) {
  auto store = open_store_url(args.redis);
  if (!store) return fail(store.status());
  auto namespaces = describe_namespaces(**store, args.prefix, args.name);
  if (!namespaces) return fail(namespaces.status());
  std::shared_ptr<Embedder> embedder;
  if (!args.embedder.empty()) {
    EmbedderArgs embedder_args;
    embedder_args.spec = args.embedder;
    embedder_args.data_dir = args.data_dir;
    auto made = make_embedder(args.embedder, embedder_args.resolved());
    if (!made) return fail(made.status());
    embedder = std::move(made.value());
  }
  // Every namespace's options are checked before the first publish, so a refusal publishes nothing.
  std::vector<std::pair<std::string, CacheOptions>> plan;
  for (const StoredNamespace& ns : *namespaces) {
    if (!args.model.empty() && ns.model != args.model) continue;
    const std::size_t dim = embedder ? embedder->dim() : args.dim != 0 ? args.dim : ns.dim;
    if (dim == 0) {
      fmt::print("{}: no vector entries, nothing to snapshot\n", ns.model);
      continue;
    }
    Expected<std::string> identity = std::string();
    if (!embedder) identity = identity_prefix(ns, args);
    if (!identity) return fail(identity.status());
    // A snapshot under an identity none of the entries has would be empty, and would replace a
    // useful one as the newest: refuse it (the sampled entry names the identity to use).
    const std::string indexed_as = embedder ? embedder->identity() : *identity + "/" + std::to_string(dim);
    if (!ns.vector_identity.empty() && indexed_as != ns.vector_identity) {
      return fail(Status::invalid_argument(fmt::format(
          "cache snapshot: the entries of model '{}' carry vector identity '{}', but this snapshot would index "
          "'{}' (none of them); pass the embedder or --vector-identity that wrote them",
          ns.model, ns.vector_identity, indexed_as)));
    }
    CacheOptions options;
    options.prefix = args.prefix;
    options.name = args.name;
    options.mode = CacheMode::kSemantic;
    options.dim = dim;
    options.vector_identity = *identity;
    options.quantization = *parse_quantization(args.quant);
    options.m = args.m;
    options.ef_construction = args.ef_construction;
    options.follow_interval = std::chrono::milliseconds(0);
    plan.emplace_back(ns.model, options);
  }
  int published = 0;
  for (const auto& [model, options] : plan) {
    auto cache = Cache::open(*store, options, embedder);
    if (!cache) return fail(cache.status());
    auto info = (*cache)->publish_snapshot(model);
    if (!info) return fail(info.status());
    std::string how;
    for (const NamespaceStats& s : (*cache)->stats()) {
      if (s.model == model) {
        how = fmt::format("set ready by {} in {:.0f} ms{}", s.warm_start, s.warm_start_ms,
                          s.snapshot_refused.empty() ? "" : " (previous snapshot refused: " + s.snapshot_refused + ")");
      }
    }
    fmt::print("{}: published snapshot {} covering log id {}: {} vectors, {} in {} chunks, {:.0f} ms; "
               "{}; {} old chunks removed\n",
               model, info->id, info->log_id, info->elements, size_of(info->bytes), info->chunks, info->publish_ms,
               how, info->removed_chunks);
    ++published;
  }
  if (published == 0 && !args.model.empty()) {
    return fail(Status::not_found(fmt::format("cache snapshot: no vector entries of model '{}' under {}:{}", args.model,
                                              args.prefix, args.name)));
  }
  return 0;
}

int run_stats(const CacheArgs& args) {
  auto store = open_store_url(args.redis);
  if (!store) return fail(store.status());
  auto namespaces = describe_namespaces(**store, args.prefix, args.name);
  if (!namespaces) return fail(namespaces.status());
  fmt::print("{} namespaces of {}:{} on {}\n", namespaces->size(), args.prefix, args.name, (*store)->describe());
  for (const StoredNamespace& ns : *namespaces) {
    if (!args.model.empty() && ns.model != args.model) continue;
    fmt::print("\n{}\n  entries      {}\n", ns.model, ns.entries);
    if (ns.dim != 0) fmt::print("  vectors      dim {}, identity {}\n", ns.dim, ns.vector_identity);
    fmt::print("  change log   newest id {}\n", ns.log_last_id);
    if (ns.snapshot) {
      const SnapshotInfo& s = *ns.snapshot;
      fmt::print("  snapshot     {} (sequence {}), covers log id {}, {} vectors, {} in {} chunks, age {}\n", s.id,
                 s.sequence, s.log_id, s.elements, size_of(s.bytes), s.chunks, age_of(s.created_ms));
    } else if (!ns.snapshot_error.empty()) {
      fmt::print("  snapshot     unreadable: {}\n", ns.snapshot_error);
    } else {
      fmt::print("  snapshot     none\n");
    }
  }
  return 0;
}

void add_common(CLI::App& command, CacheArgs& args) {
  command.add_option("--redis", args.redis,
                     "Redis URL: redis://[user:password@]host:port[/db], or redis+cluster://host:port[,host:port...]")
      ->required();
  command.add_option("--prefix", args.prefix, "First part of every key of the cache")->capture_default_str();
  command.add_option("--namespace", args.name, "The cache's name (CacheOptions::name); models are found in Redis")
      ->capture_default_str();
  command.add_option("--model", args.model, "Only this model's namespace (default: every one found)");
}

}  // namespace

void add_cache_command(CLI::App& app, Command& run) {
  CLI::App* cache = app.add_subcommand("cache", "Operate a cache on Redis: publish vector-set snapshots, show what it holds");
  cache->require_subcommand(1);

  auto snapshot_args = std::make_shared<CacheArgs>();
  CLI::App* snapshot = cache->add_subcommand(
      "snapshot",
      "Publish the vector set of each namespace (or of --model) as its newest snapshot in Redis, so that new "
      "processes load it and replay the change log instead of rebuilding from every entry. The set is built "
      "from Redis first. Keeps the newest two snapshots. --quant/--m/--ef-construction must match the "
      "processes that load it: a snapshot of other options is refused by them (they rebuild instead).");
  add_common(*snapshot, *snapshot_args);
  snapshot->add_option("--dim", snapshot_args->dim, "Vector dimensions (default: found in the entries)");
  snapshot->add_option("--vector-identity", snapshot_args->vector_identity,
                       "Vector identity NAME of precomputed vectors, indexed as NAME/DIM (default: found in the entries)");
  snapshot->add_option("--embedder", snapshot_args->embedder,
                       "The embedder that wrote the entries, as replay takes it: hash[:DIM], glove[:PATH], "
                       "model2vec:DIR, http:URL (default: the entries hold precomputed vectors)");
  snapshot->add_option("--data-dir", snapshot_args->data_dir, "Where installed embedder data lives (glove)");
  snapshot->add_option("--quant", snapshot_args->quant, "Vector storage in the index: int8|f32|bin")
      ->capture_default_str()->check(quantization_names());
  snapshot->add_option("--m", snapshot_args->m, "HNSW links per node")->capture_default_str()->check(CLI::Range(2, 128));
  snapshot->add_option("--ef-construction", snapshot_args->ef_construction, "HNSW candidate list while building")
      ->capture_default_str()->check(CLI::Range(1, 10000));
  snapshot->callback([&run, snapshot_args] { run = [snapshot_args] { return run_snapshot(*snapshot_args); }; });

  auto stats_args = std::make_shared<CacheArgs>();
  CLI::App* stats = cache->add_subcommand(
      "stats",
      "List the namespaces of a cache name in Redis: entries, vector dim and identity, the change log's newest "
      "id, and the newest snapshot (id, covered log id, size, age). Scans the name's keys; writes nothing.");
  add_common(*stats, *stats_args);
  stats->callback([&run, stats_args] { run = [stats_args] { return run_stats(*stats_args); }; });
}

}  // namespace semcache::cli
