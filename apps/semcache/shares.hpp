#pragma once
// How the CLI prints a share (a rate in 0..1) in its tables: "12.34%", "-" when it is undefined
// (no requests, no pairs), and with its Wilson 95% interval.

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "semcache/statistics.hpp"

namespace semcache::cli {

inline std::string percent(double share) {
  return std::isnan(share) ? std::string("-") : fmt::format("{:.2f}%", 100 * share);
}

inline std::string with_interval(double share, Interval ci) {
  return fmt::format("{} [{}, {}]", percent(share), percent(ci.low), percent(ci.high));
}

}  // namespace semcache::cli
