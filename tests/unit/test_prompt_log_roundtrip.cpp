// The generator's logs are valid input for the reader: every generated record comes back with
// the same fields, which is what `semcache replay` will rely on.

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <vector>

#include <unistd.h>

#include "semcache/prompt_generator.hpp"
#include "semcache/prompt_log.hpp"

using namespace semcache;

TEST_CASE("a generated prompt log reads back record for record", "[prompt_log][prompt_generator]") {
  GeneratePromptsOptions options;
  options.n = 3000;
  options.groups = 800;
  options.seed = 9;
  std::vector<GeneratedPrompt> generated;
  REQUIRE(generate_prompts(options, [&](const GeneratedPrompt& p) { generated.push_back(p); }));
  const std::string path =
      (std::filesystem::temp_directory_path() / ("semcache-roundtrip-" + std::to_string(::getpid()) + ".jsonl")).string();
  auto summary = write_prompt_log(options, path);
  REQUIRE(summary);
  CHECK(summary->lines == generated.size());

  auto reader = PromptLogReader::open(path);
  REQUIRE(reader);
  PromptRecord record;
  std::size_t i = 0;
  for (;;) {
    auto more = (*reader)->next(record);
    REQUIRE(more);
    if (!*more) break;
    REQUIRE(i < generated.size());
    const GeneratedPrompt& g = generated[i++];
    CHECK(record.prompt == g.prompt);
    CHECK(record.response == g.response);
    CHECK(record.model == g.model);
    CHECK(record.tenant == g.tenant);
    CHECK(record.group == g.group);
    REQUIRE(record.ts.has_value());
    CHECK(*record.ts == Approx(g.ts).margin(0.001));
    CHECK(record.prompt_tokens.value_or(-1) == g.prompt_tokens);
    CHECK(record.completion_tokens.value_or(-1) == g.completion_tokens);
  }
  CHECK(i == generated.size());
  CHECK((*reader)->skipped() == 0);
  std::remove(path.c_str());
}
