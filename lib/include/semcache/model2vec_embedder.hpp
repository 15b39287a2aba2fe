#pragma once
// Static embedding models in the model2vec layout (github.com/MinishLab/model2vec), e.g.
// minishlab/potion-base-8M as downloaded from the Hugging Face hub: a directory holding
//   model.safetensors  the embedding matrix, tensor "embeddings" [vocab, dim] in F32, F16, BF16,
//                      F64 or I8, optionally "weights" [vocab] and "mapping" [vocab] (models
//                      with a quantised vocabulary);
//   tokenizer.json     a Hugging Face tokenizer with a WordPiece, Unigram or WordLevel model;
//   config.json        model2vec's configuration ("normalize", "hidden_dim", ...).
// A text's vector is the mean of its tokens' rows, L2-normalised, as model2vec's
// StaticModel.encode() computes it (details in model2vec_embedder.cpp).
//
// Identity: "model2vec-v1:<directory name>@<12 hex digits of a hash of model.safetensors and
// tokenizer.json>/<dim>", so a changed or different model never shares a cache namespace.
// Thread model: embed() may be called from many threads at once.

#include <memory>
#include <string>

#include "semcache/embedder.hpp"
#include "semcache/status.hpp"

namespace semcache {

// Loads the model in `dir`. A missing file is not_found; a malformed one is bad_input naming
// the file and what was expected.
Expected<std::shared_ptr<Embedder>> open_model2vec_embedder(const std::string& dir);

}  // namespace semcache
