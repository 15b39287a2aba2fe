// semcache convert: rewrite any readable vector file (fvecs, bvecs, .npy f32/f16/int8, JSONL)
// as fvecs, optionally a range of rows, so data from elsewhere can feed every tool that reads
// TEXMEX files (including the hnswlib comparator of scripts/bench-vs-hnswlib).

#include <fmt/format.h>

#include "cli.hpp"
#include "semcache/vector_file.hpp"

namespace semcache::cli {
namespace {

struct ConvertArgs {
  std::string in;
  std::string out;
  std::string format = "auto";
  std::size_t first = 0;
  std::size_t count = 0;
};

int run_convert(const ConvertArgs& args) {
  auto reader = VectorReader::open(args.in, *parse_vector_format(args.format));
  if (!reader) return fail(reader.status());
  FloatMatrix out;
  out.dim = (*reader)->dim();
  VectorRecord record;
  for (;;) {
    auto more = (*reader)->next(record);
    if (!more) return fail(more.status());
    if (!*more) break;
    if (record.row < args.first) continue;
    if (args.count > 0 && out.rows == args.count) break;
    out.data.insert(out.data.end(), record.vector.begin(), record.vector.end());
    ++out.rows;
  }
  if (out.rows == 0) return fail(Status::bad_input(fmt::format("{}: no rows from row {} on", args.in, args.first)));
  if (Status st = write_fvecs(args.out, out); !st) return fail(st);
  fmt::print("wrote {} rows of dimension {} to {}\n", out.rows, out.dim, args.out);
  return 0;
}

}  // namespace

void add_convert_command(CLI::App& app, Command& run) {
  auto args = std::make_shared<ConvertArgs>();
  CLI::App* convert = app.add_subcommand(
      "convert", "Rewrite a vector file (fvecs, bvecs, .npy f32/f16/int8, JSONL) as fvecs, optionally a range of rows");
  convert->add_option("file", args->in, "Input vector file")->required()->check(CLI::ExistingFile);
  convert->add_option("--out", args->out, "Output .fvecs file")->required();
  convert->add_option("--format", args->format, "Input format: auto|fvecs|bvecs|npy|jsonl")->capture_default_str()->check(format_names());
  convert->add_option("--first", args->first, "First row to copy (0-based)")->capture_default_str();
  convert->add_option("--count", args->count, "Rows to copy (0 = to the end)")->capture_default_str();
  convert->callback([&run, args] { run = [args] { return run_convert(*args); }; });
}

}  // namespace semcache::cli
