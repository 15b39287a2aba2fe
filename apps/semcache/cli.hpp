#pragma once
// Shared pieces of the CLI: how a subcommand registers itself, how errors become exit codes,
// and small parsers for option values.

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "semcache/status.hpp"

namespace semcache::cli {

// A subcommand's body: returns the process exit code.
using Command = std::function<int()>;

// Each subcommand file adds its CLI11 subcommand and sets `run` when it is chosen.
void add_gen_command(CLI::App& app, Command& run);
void add_gen_prompts_command(CLI::App& gen, Command& run);
void add_load_command(CLI::App& app, Command& run);
void add_query_command(CLI::App& app, Command& run);
void add_bench_command(CLI::App& app, Command& run);
void add_bench_cache_command(CLI::App& bench, Command& run);
void add_bench_embed_command(CLI::App& bench, Command& run);
void add_bench_soak_command(CLI::App& bench, Command& run);
void add_bench_warmstart_command(CLI::App& bench, Command& run);
void add_cache_command(CLI::App& app, Command& run);
void add_convert_command(CLI::App& app, Command& run);
void add_replay_command(CLI::App& app, Command& run);
void add_eval_command(CLI::App& app, Command& run);
void add_tune_command(CLI::App& app, Command& run);
void add_embedder_command(CLI::App& app, Command& run);
void add_report_command(CLI::App& app, Command& run);
void add_compare_command(CLI::App& app, Command& run);

// Prints "semcache: <message>" on stderr and returns the exit code for the status.
int fail(const Status& status);

// "16,32,64" -> {16, 32, 64}; a bad item is an error naming the option.
Expected<std::vector<std::size_t>> parse_size_list(const std::string& text, const std::string& option);

// "0.05,0.1,0.2" -> {0.05, 0.1, 0.2}; each a cosine distance in 0..2.
Expected<std::vector<double>> parse_threshold_list(const std::string& text);
// A validator for such a list: a bad item is a usage error naming it.
CLI::Validator threshold_list_validator();

// A CLI11 validator from a library parser (a callable taking the option's text and returning an
// Expected): the parser's message becomes the usage error, shown with `name` in --help.
template <typename Parse>
CLI::Validator checked_by(std::string name, Parse parse) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        auto parsed = parse(value);
        return parsed ? std::string() : parsed.status().message();
      },
      "", std::move(name));
}

// Validators for the options every vector command shares, so a bad value is a usage error
// (exit 2) named by CLI11 before any work starts; after parsing, the values always parse.
inline CLI::IsMember format_names() { return CLI::IsMember({"auto", "fvecs", "bvecs", "npy", "jsonl", "ndjson"}); }
inline CLI::IsMember quantization_names() { return CLI::IsMember({"int8", "f32", "bin"}); }
inline CLI::IsMember metric_names() { return CLI::IsMember({"cosine", "ip", "l2"}); }

// Writes text to a file (the --json OUT of harness commands).
Status write_text_file(const std::string& path, const std::string& text);

}  // namespace semcache::cli
