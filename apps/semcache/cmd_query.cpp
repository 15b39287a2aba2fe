// semcache query: nearest neighbours of one vector in a saved vector set, optionally filtered.

#include <fmt/format.h>

#include "cli.hpp"
#include "semcache/json_writer.hpp"
#include "semcache/vector_file.hpp"
#include "semcache/vector_set.hpp"

namespace semcache::cli {
namespace {

struct QueryArgs {
  std::string set_name;
  std::string snapshot;
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

int run_query(const QueryArgs& args) {
  std::optional<Filter> filter;
  if (!args.filter.empty()) {
    auto parsed = Filter::parse(args.filter);
    if (!parsed) return fail(parsed.status());
    filter = std::move(parsed.value());
  }
  auto set = VectorSet::load(args.snapshot);
  if (!set) return fail(set.status());
  auto query = read_row(args.vector_file, args.row);
  if (!query) return fail(query.status());
  if (query->size() != (*set)->dim()) {
    return fail(Status::bad_input(fmt::format("{}: row {} has dimension {}, the set '{}' has dimension {}",
                                              args.vector_file, args.row, query->size(), args.snapshot, (*set)->dim())));
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
  query->add_option("--set", args->set_name, "Name of the vector set (shown in the output)");
  query->add_option("--snapshot", args->snapshot, "Snapshot written by `semcache load --save`")->required();
  query->add_option("--vector", args->vector_file, "File holding the query vector (any readable format)")->required()->check(CLI::ExistingFile);
  query->add_option("--row", args->row, "Row of --vector to use (0-based)")->capture_default_str();
  query->add_option("-k", args->k, "Results")->capture_default_str()->check(CLI::PositiveNumber);
  query->add_option("--ef", args->ef, "Search candidate list (0 = max(k, 64))")->capture_default_str();
  query->add_option("--filter", args->filter,
                    "Redis vector-set FILTER expression over the JSON attributes, e.g. '.year > 1950 and .genre == \"drama\"'");
  query->add_flag("--json", args->json, "Print the results as JSON");
  query->callback([&run, args] { run = [args] { return run_query(*args); }; });
}

}  // namespace semcache::cli
