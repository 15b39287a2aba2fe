#pragma once
// SplitMix64's finaliser: a seed and a counter mixed into 64 well-spread bits. The generators
// derive every random choice from it, so a seed gives the same data on every machine.

#include <cstdint>

namespace semcache::detail {

inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace semcache::detail
