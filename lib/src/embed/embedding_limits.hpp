#pragma once
// The largest embedding an embedder may make or a model file may hold: far above any real
// model (3,072 for the largest common ones), low enough that a corrupt size is refused before
// anything is allocated for it.

#include <cstddef>

namespace semcache::detail {

inline constexpr std::size_t kMaxEmbeddingDim = 65536;

}  // namespace semcache::detail
