#pragma once
// A prompt log written by the project's generator (gen prompts) into a test's directory:
// n requests over `groups` paraphrase groups, arriving at rate_per_second on average.

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <string>

#include "semcache/prompt_generator.hpp"
#include "temp_dir.hpp"

namespace semcache::testing {

inline std::string generated_log(const TempDir& dir, std::size_t n, std::size_t groups, std::uint64_t seed,
                                 double rate_per_second = GeneratePromptsOptions{}.rate_per_second) {
  GeneratePromptsOptions options;
  options.n = n;
  options.groups = groups;
  options.seed = seed;
  options.rate_per_second = rate_per_second;
  const std::string path = dir.path("prompts.jsonl");
  REQUIRE(write_prompt_log(options, path).has_value());
  return path;
}

}  // namespace semcache::testing
