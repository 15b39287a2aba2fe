// Google Benchmark: the prompt-log reader (simdjson, one line at a time) on a generated log of
// 20,000 requests (about 1.1 kB a line, as `semcache gen prompts` writes them), and the
// canonical request built from each record (the exact cache's key text). Counters: lines and
// bytes per second.

#include <benchmark/benchmark.h>

#include <unistd.h>

#include <filesystem>
#include <string>

#include "semcache/prompt_generator.hpp"
#include "semcache/prompt_log.hpp"

namespace {

using namespace semcache;

const std::string& log_path() {
  static const std::string path = [] {
    const std::string file =
        (std::filesystem::temp_directory_path() / ("semcache-bench-" + std::to_string(::getpid()) + ".jsonl")).string();
    GeneratePromptsOptions options;
    options.n = 20000;
    options.groups = 3000;
    options.seed = 1;
    if (!write_prompt_log(options, file)) std::abort();
    std::atexit([] { std::filesystem::remove(log_path()); });
    return file;
  }();
  return path;
}

void BM_PromptLogRead(benchmark::State& state) {
  const bool canonical = state.range(0) != 0;
  const std::string& path = log_path();
  const auto bytes = std::filesystem::file_size(path);
  std::size_t lines = 0;
  for (auto _ : state) {
    auto reader = PromptLogReader::open(path);
    if (!reader) {
      state.SkipWithError(reader.status().message().c_str());
      return;
    }
    PromptRecord record;
    while (true) {
      auto more = (*reader)->next(record);
      if (!more || !*more) break;
      if (canonical) benchmark::DoNotOptimize(canonical_request(record));
      ++lines;
    }
  }
  state.counters["lines_per_s"] = benchmark::Counter(static_cast<double>(lines), benchmark::Counter::kIsRate);
  state.SetBytesProcessed(static_cast<std::int64_t>(bytes) * state.iterations());
}
BENCHMARK(BM_PromptLogRead)->ArgName("canonical")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

}  // namespace
