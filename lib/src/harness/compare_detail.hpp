#pragma once
// Internals of compare (semcache/compare.hpp) shared by its translation units and its tests.

#include <string>
#include <vector>

#include "semcache/compare.hpp"

namespace semcache::detail {

// One-sided Mann-Whitney U test (rank-sum form, mid-ranks for ties): the probability, were both
// samples drawn from one distribution, of a current sample at least this much worse than the
// baseline, "worse" being lower values when `better` is kHigher and higher ones when kLower.
// Exact (the permutation distribution, ties included) up to 50 values in all, the normal
// approximation with tie and continuity corrections beyond. 1 when a sample is empty.
double mann_whitney_worse_p(const std::vector<double>& baseline, const std::vector<double>& current, Better better);

// A figure's value for people: integers and large values without decimals, others to 6
// significant digits ("46121", "0.958", "8.2035").
std::string format_number(double value);
// A signed change: "+12", "-0.0105".
std::string format_change(double value);
// A relative change as a percentage: "-20.0%", "+0.52%", "n/a" when not finite.
std::string format_percent(double fraction);
// A limit as written: "10%" or "0.005".
std::string format_limit(const RegressionLimit& limit);

}  // namespace semcache::detail
