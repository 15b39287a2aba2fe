#pragma once
// Synthetic vector data that behaves like sentence embeddings, and exact ground truth.

#include <cstddef>
#include <cstdint>
#include <functional>

#include "semcache/metric.hpp"
#include "semcache/status.hpp"
#include "semcache/vector_file.hpp"

namespace semcache {

struct GenerateVectorsOptions {
  std::size_t n = 100000;        // base vectors
  std::size_t dim = 384;
  std::size_t clusters = 2000;   // topics; their sizes follow a Zipf-like law
  std::size_t queries = 1000;    // drawn from the same topics, not in the base
  std::uint64_t seed = 1;
  std::size_t threads = 0;       // 0 = all cores
};

struct GeneratedVectors {
  FloatMatrix base;
  FloatMatrix queries;
};

// A Gaussian mixture on the unit sphere with the traits of real sentence embeddings: a shared
// mean direction (random pairs have cosine similarity around 0.2-0.3, not 0), a decaying
// spectrum (few directions carry most of the variance), topics of very different sizes, and
// paraphrase-like spread inside a topic. Deterministic for a seed, whatever the thread count.
Expected<GeneratedVectors> generate_vectors(const GenerateVectorsOptions& options);

// Exact k nearest base rows of every query (ids are row numbers), closest first, by brute force
// with `threads` threads (0 = all cores). `progress` gets (queries done, total).
Expected<IntMatrix> exact_ground_truth(const FloatMatrix& base, const FloatMatrix& queries, std::size_t k,
                                       Metric metric, std::size_t threads,
                                       const std::function<void(std::size_t, std::size_t)>& progress = {});

}  // namespace semcache
