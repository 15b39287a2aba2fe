// Tests of the synthetic prompt log: the bytes are a function of the options, every line parses
// (simdjson) with the DESIGN.md fields and types, and the shares the generator's header comment
// promises hold. The oracle for the shares is a recount from the parsed output, not the generator's
// own summary, which is checked against that recount.

#include <catch2/catch.hpp>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <unistd.h>

#include "semcache/prompt_generator.hpp"

using semcache::GeneratePromptsOptions;

namespace {

struct Line {
  double ts = 0;
  std::string model, prompt, response, tenant, group;
  std::uint64_t prompt_tokens = 0, completion_tokens = 0, latency_ms = 0;
};

std::string generate_text(const GeneratePromptsOptions& options) {
  std::ostringstream out;
  auto summary = semcache::write_prompt_log(options, out);
  REQUIRE(summary.has_value());
  return out.str();
}

// Parses every line, failing the test on a missing field or a wrong type.
std::vector<Line> parse_lines(const std::string& text) {
  std::vector<Line> lines;
  simdjson::dom::parser parser;
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    INFO("line " << lines.size() + 1 << ": " << raw);
    simdjson::dom::element doc;
    REQUIRE(parser.parse(raw).get(doc) == simdjson::SUCCESS);
    REQUIRE(doc.is_object());
    REQUIRE(doc.get_object().value().size() == 9);
    Line line;
    std::string_view sv;
    REQUIRE(doc["ts"].get(line.ts) == simdjson::SUCCESS);
    REQUIRE(doc["model"].get(sv) == simdjson::SUCCESS);
    line.model = sv;
    REQUIRE(doc["prompt"].get(sv) == simdjson::SUCCESS);
    line.prompt = sv;
    REQUIRE(doc["response"].get(sv) == simdjson::SUCCESS);
    line.response = sv;
    REQUIRE(doc["tenant"].get(sv) == simdjson::SUCCESS);
    line.tenant = sv;
    REQUIRE(doc["group"].get(sv) == simdjson::SUCCESS);
    line.group = sv;
    REQUIRE(doc["prompt_tokens"].get(line.prompt_tokens) == simdjson::SUCCESS);
    REQUIRE(doc["completion_tokens"].get(line.completion_tokens) == simdjson::SUCCESS);
    REQUIRE(doc["latency_ms"].get(line.latency_ms) == simdjson::SUCCESS);
    lines.push_back(std::move(line));
  }
  return lines;
}

std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream in(text);
  for (std::string word; in >> word;) words.push_back(word);
  return words;
}

GeneratePromptsOptions small_options() {
  GeneratePromptsOptions o;
  o.n = 3000;
  o.groups = 1200;
  o.seed = 7;
  return o;
}

}  // namespace

TEST_CASE("gen prompts: same options give the same bytes, another seed other bytes", "[prompt_generator]") {
  const GeneratePromptsOptions a = small_options();
  const std::string first = generate_text(a);
  CHECK(first == generate_text(a));
  GeneratePromptsOptions b = a;
  b.seed = 8;
  CHECK(first != generate_text(b));

  // The rate changes the timestamps only: prompts come from their own random streams.
  GeneratePromptsOptions faster = a;
  faster.rate_per_second = 100;
  const auto slow_lines = parse_lines(first);
  const auto fast_lines = parse_lines(generate_text(faster));
  REQUIRE(slow_lines.size() == fast_lines.size());
  for (std::size_t i = 0; i < slow_lines.size(); ++i) {
    CHECK(slow_lines[i].prompt == fast_lines[i].prompt);
    CHECK(slow_lines[i].group == fast_lines[i].group);
  }
}

TEST_CASE("gen prompts: the file writer writes the stream's bytes and leaves no temporary file", "[prompt_generator]") {
  const GeneratePromptsOptions o = small_options();
  const auto dir = std::filesystem::temp_directory_path() / ("semcache_pgen_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "log.jsonl").string();
  auto summary = semcache::write_prompt_log(o, path);
  REQUIRE(summary.has_value());
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(text == generate_text(o));
  CHECK(summary->bytes_written == text.size());
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

  auto missing_dir = semcache::write_prompt_log(o, (dir / "no" / "such" / "dir.jsonl").string());
  REQUIRE_FALSE(missing_dir.has_value());
  CHECK(missing_dir.status().code() == semcache::ErrorCode::kIo);
  std::filesystem::remove_all(dir);
}

TEST_CASE("gen prompts: every line has the DESIGN.md fields with plausible values", "[prompt_generator]") {
  const GeneratePromptsOptions o = small_options();
  const auto lines = parse_lines(generate_text(o));
  REQUIRE(lines.size() == o.n);
  const std::set<std::string> models = {"gpt-4o-mini", "gpt-4o", "claude-3-haiku"};
  std::map<std::string, std::size_t> per_model, per_tenant;
  std::unordered_map<std::string, std::string> response_of_group;
  double previous_ts = o.start_ts;
  for (const Line& line : lines) {
    INFO(line.prompt);
    CHECK(line.ts >= previous_ts);
    previous_ts = line.ts;
    CHECK(models.count(line.model) == 1);
    ++per_model[line.model];
    ++per_tenant[line.tenant];
    CHECK(!line.prompt.empty());
    REQUIRE(line.group.size() >= 2);
    CHECK(line.group[0] == 'g');
    CHECK(std::stoul(line.group.substr(1)) < o.groups);
    CHECK(line.response.rfind("Answer for group " + line.group + " ", 0) == 0);
    auto [it, inserted] = response_of_group.emplace(line.group, line.response);
    if (!inserted) CHECK(it->second == line.response);
    CHECK(line.prompt_tokens == static_cast<std::uint64_t>(std::ceil(1.3 * static_cast<double>(split_words(line.prompt).size()))));
    CHECK(line.completion_tokens >= 8);
    CHECK(line.completion_tokens <= 2000);
    const double response_words = static_cast<double>(split_words(line.response).size());
    CHECK(response_words >= 0.6 * static_cast<double>(line.completion_tokens) / 1.3);
    CHECK(response_words <= 1.4 * static_cast<double>(line.completion_tokens) / 1.3 + 30);
    CHECK(line.latency_ms > 100);
  }
  CHECK(per_tenant.size() <= o.tenants);
  CHECK(per_tenant.begin()->first == "tenant-01");
  CHECK(std::max_element(per_tenant.begin(), per_tenant.end(), [](auto& a, auto& b) { return a.second < b.second; })->first == "tenant-01");
  const double mini_share = static_cast<double>(per_model["gpt-4o-mini"]) / static_cast<double>(lines.size());
  CHECK(mini_share > 0.66);
  CHECK(mini_share < 0.74);
  // Poisson arrivals at 20/s: 3000 lines span about 150 s (standard deviation under 3 s).
  CHECK(lines.back().ts - o.start_ts == Approx(150.0).margin(12.0));
}

TEST_CASE("gen prompts: default shares of exact repeats and paraphrases are as documented", "[prompt_generator]") {
  GeneratePromptsOptions o;  // the CLI defaults: n 10000, groups 4000
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    o.seed = seed;
    std::ostringstream out;
    auto summary = semcache::write_prompt_log(o, out);
    REQUIRE(summary.has_value());
    const auto lines = parse_lines(out.str());
    REQUIRE(lines.size() == o.n);

    std::unordered_set<std::string> prompts_seen, groups_seen;
    std::size_t exact = 0, paraphrase = 0;
    std::unordered_map<std::string, std::size_t> lines_per_group;
    std::unordered_map<std::string, std::set<std::string>> texts_per_group;
    for (const Line& line : lines) {
      if (!prompts_seen.insert(line.prompt).second) {
        ++exact;
      } else if (groups_seen.count(line.group)) {
        ++paraphrase;
      }
      groups_seen.insert(line.group);
      ++lines_per_group[line.group];
      texts_per_group[line.group].insert(line.prompt);
    }
    INFO("seed " << seed);
    CHECK(summary->exact_repeat_lines == exact);
    CHECK(summary->paraphrase_lines == paraphrase);
    CHECK(summary->groups_used == groups_seen.size());
    CHECK(groups_seen.size() <= o.groups);
    const double exact_share = static_cast<double>(exact) / static_cast<double>(o.n);
    const double paraphrase_share = static_cast<double>(paraphrase) / static_cast<double>(o.n);
    CHECK(exact_share > 0.28);
    CHECK(exact_share < 0.40);
    CHECK(paraphrase_share > 0.38);
    CHECK(paraphrase_share < 0.52);

    // Popular questions come in several wordings, and the head is really popular.
    std::size_t popular = 0;
    for (const auto& [group, count] : lines_per_group) {
      if (count < 10) continue;
      ++popular;
      INFO("group " << group << " with " << count << " lines");
      CHECK(texts_per_group[group].size() >= 2);
    }
    CHECK(popular >= 50);
  }
}

TEST_CASE("gen prompts: hard negatives, different groups whose prompts differ in one word", "[prompt_generator]") {
  GeneratePromptsOptions o = small_options();
  const auto lines = parse_lines(generate_text(o));
  // Key: the prompt with one word blanked out. Two groups on one key differ in that word only.
  std::unordered_map<std::string, std::string> group_of_key;
  std::set<std::pair<std::string, std::string>> pairs;
  for (const Line& line : lines) {
    const auto words = split_words(line.prompt);
    for (std::size_t i = 0; i < words.size(); ++i) {
      std::string key;
      for (std::size_t j = 0; j < words.size(); ++j) key += (j == i ? std::string("\x01") : words[j]) + ' ';
      auto [it, inserted] = group_of_key.emplace(key, line.group);
      if (!inserted && it->second != line.group) pairs.emplace(std::min(it->second, line.group), std::max(it->second, line.group));
    }
  }
  CHECK(pairs.size() >= 20);
  auto summary = semcache::generate_prompts(o, [](const semcache::GeneratedPrompt&) {});
  REQUIRE(summary.has_value());
  CHECK(summary->hard_negative_groups > summary->groups_used / 2);
}

TEST_CASE("gen prompts: diurnal modulation keeps time ordered and the mean rate", "[prompt_generator]") {
  GeneratePromptsOptions o;
  o.n = 20000;
  o.groups = 500;
  o.rate_per_second = 0.02;  // 20000 lines over about 11.6 days, so the daily cycle averages out
  o.diurnal_amplitude = 0.8;
  std::vector<double> ts;
  std::vector<std::size_t> per_hour(24, 0);
  auto summary = semcache::generate_prompts(o, [&](const semcache::GeneratedPrompt& r) {
    ts.push_back(r.ts);
    ++per_hour[static_cast<std::size_t>(std::fmod(r.ts, 86400.0) / 3600.0)];
  });
  REQUIRE(summary.has_value());
  CHECK(std::is_sorted(ts.begin(), ts.end()));
  CHECK((ts.back() - o.start_ts) / static_cast<double>(o.n) == Approx(50.0).epsilon(0.06));
  CHECK(per_hour[18] > 3 * per_hour[6]);  // peak at 18:00 UTC, trough at 06:00
}

TEST_CASE("gen prompts: bad options are invalid arguments", "[prompt_generator]") {
  auto code_of = [](GeneratePromptsOptions o) {
    auto summary = semcache::generate_prompts(o, [](const semcache::GeneratedPrompt&) {});
    return summary.has_value() ? semcache::ErrorCode::kOk : summary.status().code();
  };
  const GeneratePromptsOptions good = small_options();
  using semcache::ErrorCode;
  auto with = [&](auto change) {
    GeneratePromptsOptions o = good;
    change(o);
    return code_of(o);
  };
  CHECK(with([](auto& o) { o.n = 0; }) == ErrorCode::kInvalidArgument);
  CHECK(with([](auto& o) { o.groups = 0; }) == ErrorCode::kInvalidArgument);
  CHECK(with([](auto& o) { o.groups = semcache::max_prompt_groups() + 1; }) == ErrorCode::kInvalidArgument);
  CHECK(with([](auto& o) { o.tenants = 0; }) == ErrorCode::kInvalidArgument);
  CHECK(with([](auto& o) { o.rate_per_second = 0; }) == ErrorCode::kInvalidArgument);
  CHECK(with([](auto& o) { o.rate_per_second = -3; }) == ErrorCode::kInvalidArgument);
  CHECK(with([](auto& o) { o.rate_per_second = std::nan(""); }) == ErrorCode::kInvalidArgument);
  CHECK(with([](auto& o) { o.diurnal_amplitude = 1.0; }) == ErrorCode::kInvalidArgument);
  CHECK(with([](auto& o) { o.zipf_exponent = -1; }) == ErrorCode::kInvalidArgument);

  // More groups than lines is allowed: --groups is the population questions are drawn from.
  GeneratePromptsOptions few_lines = good;
  few_lines.n = 10;
  few_lines.groups = 1000;
  auto summary = semcache::generate_prompts(few_lines, [](const semcache::GeneratedPrompt&) {});
  REQUIRE(summary.has_value());
  CHECK(summary->lines == 10);
  CHECK(summary->groups_used <= 10);
  CHECK(with([](auto& o) { o.groups = semcache::max_prompt_groups(); }) == ErrorCode::kOk);
}
