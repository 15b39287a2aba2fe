#pragma once
// Embedders turn text into unit-length vectors for the semantic cache. An embedder's identity
// (name, version and dimension, e.g. "hash-v1/256") is part of every semantic cache namespace
// and of the embedding cache's keys: vectors from two embedders are never compared.
//
// Thread model: embed() may be called from many threads at once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "semcache/status.hpp"

namespace semcache {

struct EmbedderCounters {
  std::uint64_t texts = 0;        // texts embedded
  std::uint64_t tokens = 0;       // tokens (words) seen
  std::uint64_t nanoseconds = 0;  // time spent in embed()
};

class Embedder {
 public:
  virtual ~Embedder() = default;
  // Name, version and dimension; two embedders with one identity give identical vectors.
  virtual const std::string& identity() const = 0;
  virtual std::size_t dim() const = 0;
  // Embeds texts[i] into out[i * dim(), (i + 1) * dim()), L2-normalised (a text with no
  // features gives the zero vector). out.size() must be texts.size() * dim().
  virtual Status embed(std::span<const std::string_view> texts, std::span<float> out) = 0;
  virtual EmbedderCounters counters() const = 0;
};

struct EmbedderOptions {
  std::size_t dim = 0;  // 0: the embedder's default
  // glove: the converted word-vector file; empty: $SEMCACHE_GLOVE, then the file scripts/setup
  // writes (see glove_embedder.hpp).
  std::string glove_path;
  // http: the "model" field of each /v1/embeddings request (--embed-model).
  std::string http_model;
  // http: the environment variable holding the API key sent as a bearer token (read at open,
  // never printed or written anywhere); empty or unset: no Authorization header.
  std::string http_api_key_env = "SEMCACHE_EMBED_API_KEY";
  std::chrono::milliseconds http_connect_timeout{1000};
  // http: the whole deadline of one embed() call, retries included: a lookup never waits longer.
  std::chrono::milliseconds http_deadline{2000};
  std::size_t http_batch_size = 64;  // texts per request
  std::size_t http_max_retries = 2;  // extra attempts after a 429, a 5xx or a broken connection
};

// Builds an embedder from its command-line name:
//   hash            signed feature hashing of normalised words and character 3-grams (default
//                   256 dimensions, "hash:DIM" for another): data-free, deterministic.
//   glove           GloVe word vectors (glove_embedder.hpp); "glove:PATH" names the file.
//   model2vec:DIR   a static embedding model in the model2vec layout (model2vec_embedder.hpp).
//   http:URL        an OpenAI-compatible /v1/embeddings endpoint (http_embedder.hpp).
// Other names are invalid_argument listing the known ones.
Expected<std::shared_ptr<Embedder>> make_embedder(std::string_view spec, const EmbedderOptions& options = {});

// The hashing embedder directly (dim >= 8).
std::shared_ptr<Embedder> make_hash_embedder(std::size_t dim = 256);

}  // namespace semcache
