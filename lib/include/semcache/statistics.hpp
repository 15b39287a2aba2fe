#pragma once
// Small statistics the harness reports next to its rates.

#include <cstdint>

namespace semcache {

struct Interval {
  double low = 0;
  double high = 0;
};

// The Wilson score interval of a proportion successes / trials at normal quantile z
// (1.96: 95%). {0, 0} when trials is 0.
Interval wilson_interval(std::uint64_t successes, std::uint64_t trials, double z = 1.96);

}  // namespace semcache
