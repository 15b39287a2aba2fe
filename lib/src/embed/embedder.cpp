// make_embedder(): the one place that turns an embedder's command-line name into an embedder, so
// that every command accepts the same names and gives the same error for an unknown one.
//
// Names are "kind" or "kind:argument". A dimension given both in the name and in
// EmbedderOptions must agree: silently preferring one would change the embedder's identity,
// and with it the cache namespace, behind the caller's back. "auto" is the CLI's default: the
// glove embedder when its data file is installed, else the data-free hash embedder, so every
// command works on a bare machine and gets better vectors once scripts/fetch-glove has run.

#include <charconv>
#include <filesystem>
#include <string>
#include <system_error>

#include "semcache/embedder.hpp"
#include "semcache/glove_embedder.hpp"
#include "semcache/http_embedder.hpp"
#include "semcache/model2vec_embedder.hpp"
#include "embed/embedding_limits.hpp"

namespace semcache {

namespace {

constexpr std::size_t kHashDefaultDim = 256;
constexpr std::size_t kMinDim = 8;
constexpr std::string_view kKnown = "auto, hash, hash:DIM, glove, glove:PATH, model2vec:DIR, http:URL";

std::string quoted(std::string_view spec) { return "'" + std::string(spec) + "'"; }

Expected<std::shared_ptr<Embedder>> make_hash(std::string_view spec, std::string_view argument, bool has_argument,
                                              const EmbedderOptions& options) {
  std::size_t dim = options.dim != 0 ? options.dim : kHashDefaultDim;
  if (has_argument) {
    std::size_t parsed = 0;
    const auto [end, error] = std::from_chars(argument.data(), argument.data() + argument.size(), parsed);
    if (argument.empty() || error != std::errc() || end != argument.data() + argument.size()) {
      return Status::invalid_argument("embedder " + quoted(spec) + ": the dimension after 'hash:' must be an integer from " +
                                      std::to_string(kMinDim) + " to " + std::to_string(detail::kMaxEmbeddingDim));
    }
    if (options.dim != 0 && options.dim != parsed) {
      return Status::invalid_argument("embedder " + quoted(spec) + ": dimension " + std::to_string(parsed) +
                                      " conflicts with the requested dimension " + std::to_string(options.dim));
    }
    dim = parsed;
  }
  if (dim < kMinDim || dim > detail::kMaxEmbeddingDim) {
    return Status::invalid_argument("embedder " + quoted(spec) + ": dimension " + std::to_string(dim) +
                                    " is out of range (" + std::to_string(kMinDim) + " to " + std::to_string(detail::kMaxEmbeddingDim) + ")");
  }
  return make_hash_embedder(dim);
}

// Embedders whose dimension is their data's: a requested dimension must match it.
Expected<std::shared_ptr<Embedder>> check_dim(std::string_view spec, Expected<std::shared_ptr<Embedder>> embedder,
                                              const EmbedderOptions& options) {
  if (!embedder || options.dim == 0 || (*embedder)->dim() == options.dim) return embedder;
  return Status::invalid_argument("embedder " + quoted(spec) + " gives " + std::to_string((*embedder)->dim()) +
                                  "-dimensional vectors, not the requested " + std::to_string(options.dim));
}

bool glove_installed(const EmbedderOptions& options) {
  std::error_code error;
  return std::filesystem::is_regular_file(options.glove_path.empty() ? default_glove_path() : options.glove_path,
                                          error);
}

}  // namespace

Expected<std::shared_ptr<Embedder>> make_embedder(std::string_view spec, const EmbedderOptions& options) {
  const std::size_t colon = spec.find(':');
  const std::string_view kind = spec.substr(0, colon);
  const bool has_argument = colon != std::string_view::npos;
  const std::string_view argument = has_argument ? spec.substr(colon + 1) : std::string_view();
  auto needs_argument = [&](std::string_view what) -> Status {
    if (!argument.empty()) return Status::ok();
    return Status::invalid_argument("embedder " + quoted(spec) + ": expected " + std::string(kind) + ":" +
                                    std::string(what));
  };

  if (kind == "auto" && !has_argument) {
    return glove_installed(options) ? check_dim(spec, open_glove_embedder(options.glove_path), options)
                                    : make_hash("hash", {}, false, options);
  }
  if (kind == "hash") return make_hash(spec, argument, has_argument, options);
  if (kind == "glove") {
    if (has_argument && argument.empty()) return needs_argument("PATH");
    return check_dim(spec, open_glove_embedder(has_argument ? std::string(argument) : options.glove_path), options);
  }
  if (kind == "model2vec") {
    if (Status st = needs_argument("DIR"); !st) return st;
    return check_dim(spec, open_model2vec_embedder(std::string(argument)), options);
  }
  if (kind == "http") {
    if (Status st = needs_argument("URL"); !st) return st;
    return open_http_embedder(argument, options);
  }
  return Status::invalid_argument("embedder " + quoted(spec) + " is unknown (known: " + std::string(kKnown) + ")");
}

}  // namespace semcache
