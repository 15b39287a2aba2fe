// Tests for semcache/statistics.hpp: the Wilson score interval against values computed by hand
// from the formula (and matching published tables), plus its edge cases; and for
// latency_histogram.hpp: quantiles to 3 digits, and merges of histograms grown to different sizes.

#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>

#include "semcache/latency_histogram.hpp"
#include "semcache/statistics.hpp"

TEST_CASE("statistics: Wilson interval matches hand-computed values", "[statistics]") {
  struct Case {
    std::uint64_t successes;
    std::uint64_t trials;
    double low;
    double high;
  };
  // z = 1.96. 0/10: high = (z^2/n) / (1 + z^2/n) = 0.38416 / 1.38416. 5/10: 0.5 -+ 0.364603 / 1.38416.
  // 50/100: 0.5 -+ 0.099865 / 1.038416. 10/10 mirrors 0/10. 1/1000: 0.0029096 -+ 0.0027331.
  const Case cases[] = {
      {0, 10, 0.0, 0.27754}, {5, 10, 0.23659, 0.76341}, {50, 100, 0.40383, 0.59617},
      {10, 10, 0.72246, 1.0}, {1, 1000, 0.00018, 0.00564},
  };
  for (const Case& c : cases) {
    INFO(c.successes << "/" << c.trials);
    const semcache::Interval interval = semcache::wilson_interval(c.successes, c.trials);
    CHECK(interval.low == Approx(c.low).margin(1e-5));
    CHECK(interval.high == Approx(c.high).margin(1e-5));
  }
}

TEST_CASE("statistics: Wilson interval edge cases and other quantiles", "[statistics]") {
  const semcache::Interval empty = semcache::wilson_interval(0, 0);
  CHECK(empty.low == 0);
  CHECK(empty.high == 0);
  // The bounds are exactly 0 and 1 at no successes and all successes.
  CHECK(semcache::wilson_interval(0, 1000).low == 0.0);
  CHECK(semcache::wilson_interval(1000, 1000).high == 1.0);
  // z = 2.576 (99%): 5/10 gives 0.5 -+ 2.576 * sqrt(0.025 + 6.635776/400) / 1.6635776.
  const semcache::Interval wide = semcache::wilson_interval(5, 10, 2.576);
  CHECK(wide.low == Approx(0.18421).margin(1e-5));
  CHECK(wide.high == Approx(0.81579).margin(1e-5));
  // z = 0 collapses to the point estimate.
  const semcache::Interval point = semcache::wilson_interval(3, 12, 0.0);
  CHECK(point.low == Approx(0.25));
  CHECK(point.high == Approx(0.25));
}

TEST_CASE("statistics: latency histogram quantiles keep 3 digits at every size, and merge across sizes", "[statistics]") {
  // 1..100,000 ns one each, then one value near the top of uint64 in a second histogram: the
  // buckets grow as values arrive, and merging a larger histogram into a smaller one (and back)
  // must give the quantiles of recording everything into one.
  semcache::LatencyHistogram small;
  for (std::uint64_t v = 1; v <= 100000; ++v) small.record(v);
  CHECK(small.count() == 100000);
  CHECK(small.quantile(0.5) == Approx(50000).epsilon(0.001));
  CHECK(small.quantile(0.99) == Approx(99000).epsilon(0.001));
  CHECK(small.quantile(0.0001) == Approx(10).margin(0.5));  // exact below 2048
  CHECK(small.quantile(1.0) == Approx(100000).epsilon(0.001));  // and never above the max
  CHECK(small.quantile(1.0) <= 100000);

  semcache::LatencyHistogram large;
  const std::uint64_t top = std::numeric_limits<std::uint64_t>::max() - 5;
  large.record(top);
  large.record(3);
  CHECK(large.quantile(1.0) == Approx(static_cast<double>(top)).epsilon(0.001));

  semcache::LatencyHistogram all;
  for (std::uint64_t v = 1; v <= 100000; ++v) all.record(v);
  all.record(top);
  all.record(3);

  semcache::LatencyHistogram into_small = small;
  into_small.merge(large);
  semcache::LatencyHistogram into_large = large;
  into_large.merge(small);
  for (const double q : {0.0001, 0.25, 0.5, 0.9, 0.99, 0.99999, 1.0}) {
    INFO("q = " << q);
    CHECK(into_small.quantile(q) == all.quantile(q));
    CHECK(into_large.quantile(q) == all.quantile(q));
  }
  CHECK(into_small.count() == all.count());
  CHECK(into_large.max() == top);
  CHECK(all.quantile(0.99999) == Approx(100000).epsilon(0.001));  // rank 100,001 of 100,002
  CHECK(all.quantile(1.0) == Approx(static_cast<double>(top)).epsilon(0.001));

  all.clear();
  CHECK(all.count() == 0);
  CHECK(all.quantile(0.5) == 0);
  all.record(7);
  CHECK(all.quantile(0.5) == 7);
}
