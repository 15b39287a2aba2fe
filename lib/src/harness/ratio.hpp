#pragma once
// part / whole as a double, 0 when whole is 0 (a rate over no events).

#include <cstdint>

namespace semcache::detail {

inline double ratio(std::uint64_t part, std::uint64_t whole) {
  return whole > 0 ? static_cast<double>(part) / static_cast<double>(whole) : 0.0;
}

}  // namespace semcache::detail
