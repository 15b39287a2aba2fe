#pragma once
// The parts of the glove embedder's recipe that can be switched off or re-weighted, for the
// ablation and tuning programs; open_glove_embedder() always uses the defaults, which are what
// the identity "glove-v1" names.

#include <cstddef>
#include <memory>

#include "embed/glove_file.hpp"
#include "semcache/embedder.hpp"

namespace semcache::detail {

struct GloveRecipe {
  // Off by default: on qqp-dev it costs ROC AUC (glove_embedder.cpp has the figures).
  bool remove_common_direction = false;
  // The shares of the three parts: the cosine of two texts is
  //   (1 - ngram_share - bow_share) * cos(words) + ngram_share * cos(n-grams) + bow_share * cos(bow)
  // when both texts have every part. 0 switches a part off.
  double ngram_share = 0.15;
  std::size_t ngram_dim = 128;
  double bow_share = 0.2;
  std::size_t bow_dim = 128;

  bool operator==(const GloveRecipe&) const = default;
};

std::shared_ptr<Embedder> make_glove_embedder(std::shared_ptr<const WordVectorFile> file, const GloveRecipe& recipe);

}  // namespace semcache::detail
