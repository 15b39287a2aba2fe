// The noise test of compare: a one-sided Mann-Whitney U test between the baseline's and the
// current run's repetitions of one figure.
//
// Why this test: benchmark repetitions are few (3 to 10), and their distribution is not normal
// (a pass that meets a page fault or a scheduler hiccup is an outlier, QPS is skewed), so a
// t-test's assumptions do not hold where it matters. The rank test assumes nothing about the
// shape, ignores how far an outlier lies, and is exact at small sizes: with 3 repetitions a
// side the smallest one-sided p is 1 / C(6,3) = 0.05, reached only when every current
// repetition is worse than every baseline repetition, so "p <= 0.05" at three repeats reads
// simply as "the two ranges do not overlap", and more repetitions buy more power. It is
// one-sided because the gate asks only "is current worse?".
//
// Exactness: the statistic is the sum of the current sample's mid-ranks, doubled so that tied
// ranks stay integers. Under the null hypothesis each way of choosing which pooled values are
// "current" is equally likely; a dynamic programme counts the subsets of each size by their
// rank sum, which is exact with ties, in O(N * m * N^2) for N pooled values — trivial up to
// N = 50. Beyond that the normal approximation (tie-corrected variance, continuity correction)
// is accurate to well below the 0.05 we decide at.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>

#include "harness/compare_detail.hpp"

namespace semcache::detail {

namespace {

constexpr std::size_t kMaxExact = 50;

// Mid-ranks (1-based, ties averaged) of the pooled values, doubled to stay integral.
std::vector<std::size_t> doubled_mid_ranks(const std::vector<double>& pooled) {
  std::vector<std::size_t> order(pooled.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return pooled[a] < pooled[b]; });
  std::vector<std::size_t> ranks(pooled.size());
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    while (j + 1 < order.size() && pooled[order[j + 1]] == pooled[order[i]]) ++j;
    // Positions i..j (0-based) tie: their ranks i+1..j+1 average to (i+j+2)/2, doubled i+j+2.
    for (std::size_t t = i; t <= j; ++t) ranks[order[t]] = i + j + 2;
    i = j + 1;
  }
  return ranks;
}

double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

double mann_whitney_worse_p(const std::vector<double>& baseline, const std::vector<double>& current, Better better) {
  if (baseline.empty() || current.empty()) return 1.0;
  std::vector<double> pooled = baseline;
  pooled.insert(pooled.end(), current.begin(), current.end());
  const std::vector<std::size_t> ranks = doubled_mid_ranks(pooled);
  const std::size_t n = pooled.size();
  const std::size_t m = current.size();
  std::size_t observed = 0;  // doubled rank sum of the current sample
  for (std::size_t i = baseline.size(); i < n; ++i) observed += ranks[i];
  // Higher is better: current is worse when its ranks are low, so p = P(S <= observed).
  const bool low_is_worse = better == Better::kHigher;

  if (n <= kMaxExact) {
    const std::size_t max_sum = std::accumulate(ranks.begin(), ranks.end(), std::size_t{0});
    // count[j][s]: subsets of the values seen so far with j members and doubled rank sum s.
    std::vector<std::vector<double>> count(m + 1, std::vector<double>(max_sum + 1, 0.0));
    count[0][0] = 1;
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t j = std::min(i + 1, m); j >= 1; --j) {
        for (std::size_t s = max_sum; s >= ranks[i]; --s) count[j][s] += count[j - 1][s - ranks[i]];
      }
    }
    double total = 0, extreme = 0;
    for (std::size_t s = 0; s <= max_sum; ++s) {
      total += count[m][s];
      if (low_is_worse ? s <= observed : s >= observed) extreme += count[m][s];
    }
    return extreme / total;
  }

  // Normal approximation of the (undoubled) rank sum W of the current sample.
  const double nd = static_cast<double>(n);
  const double md = static_cast<double>(m);
  const double bd = static_cast<double>(baseline.size());
  const double w = static_cast<double>(observed) / 2.0;
  const double mean = md * (nd + 1) / 2.0;
  double tie_term = 0;  // sum of t^3 - t over groups of t tied values
  std::vector<double> sorted = pooled;
  std::sort(sorted.begin(), sorted.end());
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j] == sorted[i]) ++j;
    const double t = static_cast<double>(j - i);
    tie_term += t * t * t - t;
    i = j;
  }
  const double variance = md * bd / 12.0 * ((nd + 1) - tie_term / (nd * (nd - 1)));
  if (!(variance > 0)) return 1.0;  // every value equal: no evidence either way
  const double sd = std::sqrt(variance);
  return low_is_worse ? normal_cdf((w - mean + 0.5) / sd) : normal_cdf((mean - w + 0.5) / sd);
}

}  // namespace semcache::detail
