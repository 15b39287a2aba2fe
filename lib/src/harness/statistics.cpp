// The Wilson score interval (Wilson 1927) for a proportion: unlike the normal approximation
// p +- z * sqrt(p (1 - p) / n), it stays inside [0, 1] and does not collapse to a zero-width
// interval at 0 or n successes, which is exactly where a false-hit rate usually sits (a few
// false hits, or none, among thousands of requests). With p = s / n:
//   centre     = (p + z^2 / 2n) / (1 + z^2 / n)
//   half-width = z * sqrt(p (1 - p) / n + z^2 / 4n^2) / (1 + z^2 / n)

#include "semcache/statistics.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace semcache {

Interval wilson_interval(std::uint64_t successes, std::uint64_t trials, double z) {
  assert(successes <= trials && "wilson_interval: more successes than trials");
  if (trials == 0) return {};
  const double n = static_cast<double>(trials);
  const double p = static_cast<double>(successes) / n;
  const double z2 = z * z;
  const double denominator = 1.0 + z2 / n;
  const double centre = (p + z2 / (2.0 * n)) / denominator;
  const double half_width = z * std::sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n)) / denominator;
  // The bounds are 0 and 1 exactly at 0 and n successes; clamping removes rounding residue there.
  return {std::max(0.0, centre - half_width), std::min(1.0, centre + half_width)};
}

}  // namespace semcache
