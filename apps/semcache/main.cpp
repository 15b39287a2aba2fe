// semcache: the command-line tool and benchmark harness. Thin: every subcommand parses its
// options, calls the library and prints. Exit codes (DESIGN.md): 0 success, 1 a gate failed,
// 2 bad usage or bad input, 3 a runtime failure.

#include <charconv>
#include <cstdio>
#include <fstream>

#include <fmt/format.h>

#include "cli.hpp"
#include "semcache/machine.hpp"

namespace semcache::cli {

int fail(const Status& status) {
  fmt::print(stderr, "semcache: {}\n", status.message());
  return exit_code_for(status);
}

Expected<std::vector<std::size_t>> parse_size_list(const std::string& text, const std::string& option) {
  std::vector<std::size_t> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    std::size_t used = 0;
    unsigned long long value = 0;
    try {
      value = std::stoull(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (item.empty() || used != item.size() || value == 0 || item[0] == '-') {
      return Status::invalid_argument(fmt::format("{}: '{}' is not a positive integer (expected e.g. 16,32,64)", option, item));
    }
    values.push_back(static_cast<std::size_t>(value));
    start = comma + 1;
  }
  return values;
}

Expected<std::vector<double>> parse_threshold_list(const std::string& text) {
  std::vector<double> values;
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    double value = 0;
    const auto [end, error] = std::from_chars(item.data(), item.data() + item.size(), value);
    if (item.empty() || error != std::errc() || end != item.data() + item.size() || !(value >= 0 && value <= 2)) {
      return Status::invalid_argument(
          fmt::format("'{}' is not a cosine distance from 0 to 2 (expected e.g. 0.05,0.1,0.2)", item));
    }
    values.push_back(value);
    start = comma + 1;
  }
  return values;
}

CLI::Validator threshold_list_validator() {
  return checked_by("THRESHOLDS", [](const std::string& value) { return parse_threshold_list(value); });
}

Status write_text_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::io(path + ": cannot open for writing");
  out << text;
  out.close();
  if (!out) return Status::io(path + ": write failed");
  return Status::ok();
}

}  // namespace semcache::cli

int main(int argc, char** argv) {
  using namespace semcache::cli;
  CLI::App app{
      "semcache: an LLM response cache on Redis (exact, semantic, embedding), an HNSW vector-set "
      "engine, and the harness that measures them.\n\n"
      "  semcache gen vectors --n 100000 --dim 384 --out data/      make a dataset with exact ground truth\n"
      "  semcache bench recall --base data/base.fvecs --queries data/query.fvecs --gt data/gt.ivecs\n"
      "  semcache load vectors.jsonl --set docs --save docs.vset   build a set and snapshot it\n"
      "  semcache query --snapshot docs.vset --vector q.fvecs --row 0 -k 5 --filter '.year > 2000'\n"};
  app.set_version_flag("--version", std::string("semcache ") + semcache::version());
  app.require_subcommand(1);
  Command run;
  add_gen_command(app, run);
  add_load_command(app, run);
  add_query_command(app, run);
  add_bench_command(app, run);
  add_convert_command(app, run);
  add_replay_command(app, run);
  add_eval_command(app, run);
  add_tune_command(app, run);
  add_embedder_command(app, run);
  add_report_command(app, run);
  add_compare_command(app, run);
  add_cache_command(app, run);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;
  }
  return run ? run() : 2;
}
