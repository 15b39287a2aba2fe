// The shared embedder options. The spec is checked when the command runs (make_embedder), not
// while parsing: opening glove data or probing an HTTP endpoint is work, and its failure is a
// runtime error (exit 3) or bad usage (exit 2) as the Status says.

#include "embedder_args.hpp"

#include <chrono>

namespace semcache::cli {

EmbedderOptions EmbedderArgs::resolved() const {
  EmbedderOptions out = options;
  if (!data_dir.empty() && out.glove_path.empty()) out.glove_path = data_dir + "/glove-100d.sgv";
  return out;
}

void add_embedder_options(CLI::App& command, EmbedderArgs& args) {
  command
      .add_option("--embedder", args.spec,
                  "auto (glove when its data is installed, else hash), hash[:DIM] (data-free feature hashing), "
                  "glove[:PATH] (GloVe word vectors; scripts/fetch-glove installs them), model2vec:DIR (a model2vec "
                  "model directory), http:URL (an OpenAI-compatible /v1/embeddings endpoint)")
      ->capture_default_str();
  command.add_option("--dim", args.options.dim, "Vector dimensions for embedders that take them (0: the embedder's own)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{65536}));
  command.add_option("--data-dir", args.data_dir,
                     "Where embedder data is installed (else $SEMCACHE_DATA_DIR, else ~/.local/share/semcache)");
  command.add_option("--embed-model", args.options.http_model, "http:URL: the model name sent with each request");
  command
      .add_option("--embed-key-env", args.options.http_api_key_env,
                  "http:URL: the environment variable holding the API key (sent as a bearer token, never printed)")
      ->capture_default_str();
  command
      .add_option_function<long long>(
          "--embed-timeout-ms",
          [&args](long long ms) { args.options.http_deadline = std::chrono::milliseconds(ms); },
          "http:URL: the deadline of one embedding call, retries included (default 2000); a late one is a miss")
      ->check(CLI::Range(1LL, 600000LL));
  command.add_option("--embed-batch", args.options.http_batch_size, "http:URL: texts per request")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{4096}));
}

}  // namespace semcache::cli
