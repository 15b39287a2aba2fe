#pragma once
// A synthetic prompt log (DESIGN.md "Prompt log") for replay benchmarks of an LLM cache: paraphrase
// groups with Zipf popularity, hard negatives (groups that differ in one slot filler), Poisson
// arrivals, and token/latency fields. All text comes from templates and word lists in the code.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <string>

#include "semcache/status.hpp"

namespace semcache {

struct GeneratePromptsOptions {
  std::size_t n = 10000;             // lines (requests)
  std::size_t groups = 4000;         // distinct questions to draw from; not all need to appear
  std::uint64_t seed = 1;
  std::size_t tenants = 5;           // "tenant-01".."tenant-05", Zipf-weighted
  double rate_per_second = 20.0;     // mean Poisson arrival rate
  double diurnal_amplitude = 0.0;    // 0 = flat rate; 0.5 = rate swings +-50% over 24 h (must be < 1)
  double zipf_exponent = 1.0;        // group popularity ~ 1 / rank^s
  double start_ts = 1735732800.0;    // epoch seconds of the first possible arrival (2025-01-01T12:00Z)
};

// One line of the log. `response` is the same for every line of a group (what a cache would return).
struct GeneratedPrompt {
  double ts = 0;
  std::string model;
  std::string prompt;
  std::string response;
  std::string tenant;
  std::uint32_t prompt_tokens = 0;
  std::uint32_t completion_tokens = 0;
  std::uint32_t latency_ms = 0;
  std::string group;  // "g<number>"
};

// What the generated log holds: the shares a replay can be checked against.
struct PromptLogSummary {
  std::size_t lines = 0;
  std::size_t groups_used = 0;          // distinct groups that appear
  std::size_t exact_repeat_lines = 0;   // the exact prompt text appeared on an earlier line
  std::size_t paraphrase_lines = 0;     // the group appeared earlier, but never with this text
  std::size_t hard_negative_groups = 0; // groups that share a template with another group and differ in one filler
  std::uint64_t bytes_written = 0;      // 0 when records were only handed to a callback
  double first_ts = 0;
  double last_ts = 0;

  double exact_repeat_share() const { return lines ? static_cast<double>(exact_repeat_lines) / static_cast<double>(lines) : 0; }
  double paraphrase_share() const { return lines ? static_cast<double>(paraphrase_lines) / static_cast<double>(lines) : 0; }
};

// The largest --groups accepted: a quarter of the distinct questions the vocabulary can express, so
// that drawing distinct questions stays quick and groups do not exhaust the small templates.
std::size_t max_prompt_groups();

// Generates the log line by line in timestamp order and hands each record to `sink`. Single-threaded
// and built on its own integer RNG (no std:: distributions), so the output depends on the options
// alone. Invalid options give kInvalidArgument naming the option.
Expected<PromptLogSummary> generate_prompts(const GeneratePromptsOptions& options,
                                            const std::function<void(const GeneratedPrompt&)>& sink);

// One JSONL line (no trailing newline), fields in DESIGN.md order, ts with millisecond precision.
std::string prompt_record_json(const GeneratedPrompt& record);

// Writes the log as JSONL to `out`. The summary's bytes_written counts what was written.
Expected<PromptLogSummary> write_prompt_log(const GeneratePromptsOptions& options, std::ostream& out);

// Writes the log to `path` through a temporary file in the same directory that is renamed into
// place, so a failed run never leaves a truncated log under the final name.
Expected<PromptLogSummary> write_prompt_log(const GeneratePromptsOptions& options, const std::string& path);

}  // namespace semcache
