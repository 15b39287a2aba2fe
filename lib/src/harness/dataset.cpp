// The vector generator and brute-force ground truth.
//
// Generation. Real sentence embeddings are not isotropic Gaussians: they share a common
// direction, their variance is concentrated in a minority of directions, and topics are of very
// unequal popularity. The generator reproduces those three traits, because each changes how hard
// HNSW search and int8 quantisation are:
//   spectrum   s_i = 1 / sqrt(1 + i / 24) over a random permutation of the axes;
//   mean       mu ~ N(0, diag(s^2)), normalised;
//   topic j    c_j = normalise(0.6 mu + g_j),   g_j ~ N(0, diag(s^2)) / |s|;
//   weights    w_j ~ 1 / (j + 1)^0.7 (Zipf-like; shuffled so topic ids mean nothing);
//   point      x = normalise(c_j + 0.85 e),     e ~ N(0, diag(s^2)) / |s|.
// so a point has cosine ~0.75 with its topic centre, ~0.55 with a topic neighbour, and ~0.25
// with a random other point. Every row draws from its own generator seeded by (seed, row), so
// the output does not depend on the thread count.
//
// Ground truth is exact: every query against every base row in f32, with the best kernels of
// this CPU, queries split across threads, a bounded heap of k per query.

#include "semcache/dataset.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <numeric>
#include <mutex>
#include <random>
#include <thread>

#include "vector/distance.hpp"
#include "harness/splitmix64.hpp"

namespace semcache {
namespace {


void normalise(float* v, std::size_t dim) {
  double sum = 0;
  for (std::size_t i = 0; i < dim; ++i) sum += static_cast<double>(v[i]) * v[i];
  if (sum <= 0) return;
  const float inverse = static_cast<float>(1.0 / std::sqrt(sum));
  for (std::size_t i = 0; i < dim; ++i) v[i] *= inverse;
}

std::size_t resolve_threads(std::size_t threads) {
  if (threads > 0) return threads;
  return std::max(1u, std::thread::hardware_concurrency());
}

template <typename Work>
void parallel_rows(std::size_t rows, std::size_t threads, Work work) {
  std::atomic<std::size_t> next{0};
  auto run = [&] {
    for (;;) {
      const std::size_t begin = next.fetch_add(64);
      if (begin >= rows) return;
      for (std::size_t r = begin; r < std::min(rows, begin + 64); ++r) work(r);
    }
  };
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(run);
  run();
  for (auto& t : pool) t.join();
}

}  // namespace

Expected<GeneratedVectors> generate_vectors(const GenerateVectorsOptions& o) {
  if (o.n == 0 || o.dim == 0 || o.clusters == 0) return Status::invalid_argument("gen vectors: --n, --dim and --clusters must be > 0");
  if (o.dim > kMaxVectorDim) return Status::invalid_argument("gen vectors: --dim must be <= 65536");
  const std::size_t dim = o.dim;
  std::mt19937_64 rng(detail::splitmix64(o.seed));
  std::normal_distribution<float> normal(0.0f, 1.0f);

  std::vector<float> spectrum(dim);
  double spectrum_norm2 = 0;
  for (std::size_t i = 0; i < dim; ++i) {
    spectrum[i] = static_cast<float>(1.0 / std::sqrt(1.0 + static_cast<double>(i) / 24.0));
    spectrum_norm2 += static_cast<double>(spectrum[i]) * spectrum[i];
  }
  std::shuffle(spectrum.begin(), spectrum.end(), rng);
  const float spectrum_norm = static_cast<float>(std::sqrt(spectrum_norm2));

  std::vector<float> mean(dim);
  for (std::size_t i = 0; i < dim; ++i) mean[i] = normal(rng) * spectrum[i];
  normalise(mean.data(), dim);

  std::vector<float> centres(o.clusters * dim);
  for (std::size_t j = 0; j < o.clusters; ++j) {
    float* c = centres.data() + j * dim;
    for (std::size_t i = 0; i < dim; ++i) c[i] = 0.6f * mean[i] + normal(rng) * spectrum[i] / spectrum_norm;
    normalise(c, dim);
  }
  std::vector<double> weights(o.clusters);
  for (std::size_t j = 0; j < o.clusters; ++j) weights[j] = 1.0 / std::pow(static_cast<double>(j + 1), 0.7);
  std::shuffle(weights.begin(), weights.end(), rng);
  std::vector<double> cumulative(o.clusters);
  std::partial_sum(weights.begin(), weights.end(), cumulative.begin());

  auto make = [&](FloatMatrix& m, std::size_t rows, std::uint64_t stream) {
    m.rows = rows;
    m.dim = dim;
    m.data.assign(rows * dim, 0.0f);
    parallel_rows(rows, resolve_threads(o.threads), [&](std::size_t r) {
      std::mt19937_64 row_rng(detail::splitmix64(o.seed ^ detail::splitmix64(stream + r)));
      std::normal_distribution<float> row_normal(0.0f, 1.0f);
      std::uniform_real_distribution<double> uniform(0.0, cumulative.back());
      const std::size_t topic = static_cast<std::size_t>(
          std::upper_bound(cumulative.begin(), cumulative.end(), uniform(row_rng)) - cumulative.begin());
      const float* c = centres.data() + std::min(topic, o.clusters - 1) * dim;
      float* x = m.data.data() + r * dim;
      for (std::size_t i = 0; i < dim; ++i) x[i] = c[i] + 0.85f * row_normal(row_rng) * spectrum[i] / spectrum_norm;
      normalise(x, dim);
    });
  };
  GeneratedVectors out;
  make(out.base, o.n, 0);
  make(out.queries, o.queries, std::uint64_t{1} << 40);
  return out;
}

Expected<IntMatrix> exact_ground_truth(const FloatMatrix& base, const FloatMatrix& queries, std::size_t k,
                                       Metric metric, std::size_t threads,
                                       const std::function<void(std::size_t, std::size_t)>& progress) {
  if (base.dim != queries.dim) {
    return Status::bad_input("ground truth: queries have dimension " + std::to_string(queries.dim) +
                             ", base has " + std::to_string(base.dim));
  }
  if (k == 0 || base.rows == 0) return Status::invalid_argument("ground truth: need k > 0 and a non-empty base");
  const std::size_t keep = std::min(k, base.rows);
  const detail::DistanceKernels& kern = detail::kernels();
  const std::size_t dim = base.dim;

  // Norms once, so cosine is one dot product per pair.
  std::vector<float> base_norms(base.rows, 1.0f);
  if (metric == Metric::kCosine) {
    for (std::size_t r = 0; r < base.rows; ++r) {
      const float n = std::sqrt(kern.dot_f32(base.row(r), base.row(r), dim));
      base_norms[r] = n > 0 ? 1.0f / n : 0.0f;
    }
  }
  IntMatrix gt;
  gt.rows = queries.rows;
  gt.dim = keep;
  gt.data.assign(queries.rows * keep, -1);
  std::atomic<std::size_t> done{0};
  std::mutex progress_mutex;
  parallel_rows(queries.rows, resolve_threads(threads), [&](std::size_t q) {
    thread_local std::vector<std::pair<float, std::int32_t>> heap;
    heap.clear();
    const float* query = queries.row(q);
    for (std::size_t r = 0; r < base.rows; ++r) {
      float d;
      if (metric == Metric::kL2) {
        d = kern.l2sq_f32(query, base.row(r), dim);
      } else {
        d = -kern.dot_f32(query, base.row(r), dim) * base_norms[r];
      }
      if (heap.size() < keep) {
        heap.emplace_back(d, static_cast<std::int32_t>(r));
        std::push_heap(heap.begin(), heap.end());
      } else if (d < heap.front().first) {
        std::pop_heap(heap.begin(), heap.end());
        heap.back() = {d, static_cast<std::int32_t>(r)};
        std::push_heap(heap.begin(), heap.end());
      }
    }
    std::sort_heap(heap.begin(), heap.end());
    for (std::size_t i = 0; i < heap.size(); ++i) gt.data[q * keep + i] = heap[i].second;
    const std::size_t finished = done.fetch_add(1) + 1;
    if (progress && (finished % 16 == 0 || finished == queries.rows)) {
      std::lock_guard<std::mutex> guard(progress_mutex);
      progress(finished, queries.rows);
    }
  });
  return gt;
}

}  // namespace semcache
