// semcache gen prompts: a synthetic prompt log for `semcache replay`. The generator lives in the
// library (semcache/prompt_generator.hpp); this file maps options, checks ranges before any work
// so that a bad value is a usage error (exit 2), and prints the shares a replay should reproduce:
// the exact-repeat share is what an exact cache can hit at best, the paraphrase share what a
// semantic cache can add on top, and hard-negative groups are where it can serve a wrong answer.

#include <chrono>
#include <memory>

#include <fmt/format.h>

#include "cli.hpp"
#include "semcache/prompt_generator.hpp"

namespace semcache::cli {
namespace {

struct GenPromptsArgs {
  GeneratePromptsOptions options;
  std::string out;
};

int run_gen_prompts(const GenPromptsArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  auto summary = write_prompt_log(args.options, args.out);
  if (!summary) return fail(summary.status());
  const PromptLogSummary& s = *summary;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double first_share = 1.0 - s.exact_repeat_share() - s.paraphrase_share();
  fmt::print("wrote {} prompts ({:.1f} MB) to {} in {:.1f}s (seed {})\n", s.lines,
             static_cast<double>(s.bytes_written) / 1e6, args.out, seconds, args.options.seed);
  fmt::print("  groups:       {} of {} appear; {} of them have a hard negative (another group one filler away)\n",
             s.groups_used, args.options.groups, s.hard_negative_groups);
  fmt::print("  exact repeat: {:5.1f}%  prompt text seen on an earlier line (an exact cache's best hit rate)\n",
             100 * s.exact_repeat_share());
  fmt::print("  paraphrase:   {:5.1f}%  earlier question in new words (what a semantic cache can add)\n",
             100 * s.paraphrase_share());
  fmt::print("  first seen:   {:5.1f}%  (no cache can answer these)\n", 100 * first_share);
  fmt::print("  time span:    {:.0f}s at {:g} requests/s\n", s.last_ts - s.first_ts, args.options.rate_per_second);
  return 0;
}

}  // namespace

void add_gen_prompts_command(CLI::App& gen, Command& run) {
  auto args = std::make_shared<GenPromptsArgs>();
  GeneratePromptsOptions& o = args->options;
  CLI::App* prompts = gen.add_subcommand(
      "prompts",
      "A synthetic prompt log (JSONL, the schema `semcache replay` reads) for measuring an LLM cache.\n"
      "Each group is one question (an intent template with fixed fillers) asked in several wordings:\n"
      "paraphrases, politeness prefixes, case, punctuation, typos. Groups that differ in one filler\n"
      "(\"sort a list in python\" / \"... in rust\") are hard negatives: serving one's answer for the\n"
      "other is a false hit. Popularity is Zipf, so some questions repeat often. With the defaults\n"
      "about 34% of lines repeat an earlier prompt exactly and 45% reword an earlier question.\n"
      "Fields: ts, model, prompt, response, tenant, prompt_tokens, completion_tokens, latency_ms, group.\n"
      "Same options, same bytes.\n\n"
      "  semcache gen prompts --n 10000 --groups 4000 --out prompts.jsonl");
  prompts->add_option("--n", o.n, "Lines (requests) to write")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000000}));
  prompts
      ->add_option("--groups", o.groups,
                   "Distinct questions to draw from; fewer appear, since rare ones may never be drawn. "
                   "More groups per line means fewer repeats")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, max_prompt_groups()));
  prompts->add_option("--seed", o.seed, "Random seed (same seed and options, same file)")->capture_default_str();
  prompts->add_option("--tenants", o.tenants, "Tenants tenant-01.. with Zipf-skewed traffic")
      ->capture_default_str()
      ->check(CLI::Range(1, 9999));
  prompts->add_option("--rate", o.rate_per_second, "Mean arrival rate in requests per second (Poisson); sets ts")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  prompts
      ->add_option("--diurnal", o.diurnal_amplitude,
                   "Daily rate swing: 0 is flat, 0.5 makes the rate vary +-50% around --rate, peaking at 18:00 UTC")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 0.99));
  prompts->add_option("--zipf", o.zipf_exponent, "Popularity exponent: question of rank r is asked ~ 1/r^s times")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 10.0));
  prompts->add_option("--out", args->out, "Output .jsonl file (written to FILE.tmp, then renamed)")->required();
  prompts->callback([&run, args] { run = [args] { return run_gen_prompts(*args); }; });
}

}  // namespace semcache::cli
