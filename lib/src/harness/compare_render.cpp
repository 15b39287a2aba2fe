// Renderings of a CompareResult: aligned text for a terminal, a Markdown table for a PR comment,
// and JSON for tools. All three say the same things in the same order: what was compared (kind,
// files, shared params, notes), each matched run's figures with their change and verdict, the
// unmatched runs, the requirements, how noise was judged, and the failures. They build strings;
// the CLI prints them.

#include <cmath>
#include <string>

#include <fmt/format.h>

#include "harness/compare_detail.hpp"
#include "semcache/json_writer.hpp"
#include "semcache/machine.hpp"

namespace semcache {

namespace detail {

std::string format_number(double value) {
  if (!std::isfinite(value)) return fmt::format("{}", value);
  if (std::fabs(value) >= 1e4 || value == std::round(value)) return fmt::format("{:.0f}", value);
  return fmt::format("{:.6g}", value);
}

std::string format_change(double value) { return (value > 0 ? "+" : value < 0 ? "-" : "+") + format_number(std::fabs(value)); }

std::string format_percent(double fraction) {
  if (!std::isfinite(fraction)) return "n/a";
  const double percent = 100 * fraction;
  return std::fabs(percent) >= 10 || percent == 0 ? fmt::format("{:+.1f}%", percent) : fmt::format("{:+.2f}%", percent);
}

std::string format_limit(const RegressionLimit& limit) {
  return limit.relative ? format_number(limit.amount * 100) + "%" : format_number(limit.amount);
}

}  // namespace detail

namespace {

using detail::format_change;
using detail::format_limit;
using detail::format_number;
using detail::format_percent;

std::string value_or_dash(const std::optional<double>& value) { return value ? format_number(*value) : "-"; }

std::string change_text(const FigureChange& f) { return f.baseline && f.current ? format_change(f.change) : "-"; }
std::string percent_text(const FigureChange& f) { return f.baseline && f.current ? format_percent(f.relative_change) : "-"; }

std::string noise_text(const FigureChange& f) {
  return f.p_value ? fmt::format("p={:.2g} ({}v{})", *f.p_value, f.baseline_repeats, f.current_repeats) : "-";
}

std::string verdict_text(const FigureChange& f) {
  std::string text(to_string(f.verdict));
  if (f.limit && f.verdict != Verdict::kUnchanged && f.verdict != Verdict::kBetter) {
    text += " (limit " + format_limit(*f.limit) + ")";
  }
  return text;
}

std::size_t figures_without_noise(const CompareResult& r) {
  std::size_t count = 0;
  for (const RunComparison& run : r.runs) {
    for (const FigureChange& f : run.figures) count += f.baseline && f.current && !f.p_value;
  }
  return count;
}

std::size_t figures_with_noise(const CompareResult& r) {
  std::size_t count = 0;
  for (const RunComparison& run : r.runs) {
    for (const FigureChange& f : run.figures) count += f.p_value.has_value();
  }
  return count;
}

std::string noise_rule(const CompareResult& r) {
  std::string text = fmt::format(
      "noise: a change beyond its limit is a regression only if a one-sided Mann-Whitney U test finds the current "
      "repetitions worse than the baseline's at p <= {:g} (needs >= {} repeats on both sides);\n",
      r.alpha, r.min_repeats);
  const std::size_t with = figures_with_noise(r);
  const std::size_t without = figures_without_noise(r);
  if (with == 0) return text + "no noise estimate was available here, so the limits alone decide";
  if (without == 0) return text + fmt::format("all {} figures had repeats", with);
  return text + fmt::format("{} figures had repeats, {} had no noise estimate (the limit alone decides for them)", with,
                            without);
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

std::string summary(const CompareResult& r) {
  std::size_t regressions = 0, failed_requirements = 0;
  for (const RunComparison& run : r.runs) {
    for (const FigureChange& f : run.figures) regressions += f.verdict == Verdict::kRegression;
  }
  for (const RequirementCheck& c : r.requirement_checks) failed_requirements += !c.passed;
  if (r.passed()) return "PASSED";
  return fmt::format("FAILED: {} regression{}, {} failed requirement{}", regressions, regressions == 1 ? "" : "s",
                     failed_requirements, failed_requirements == 1 ? "" : "s");
}

std::string markdown_cell(std::string text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

}  // namespace

std::string compare_result_text(const CompareResult& r) {
  std::string out = fmt::format("compare {} results: baseline {} -> current {}\n", r.kind, r.baseline_path, r.current_path);
  if (!r.params.empty()) out += "params: " + join(r.params, " ") + "\n";
  for (const std::string& note : r.notes) out += "note: " + note + "\n";
  std::size_t width = 6;
  for (const RunComparison& run : r.runs) {
    for (const FigureChange& f : run.figures) width = std::max(width, f.figure.size());
  }
  for (const RunComparison& run : r.runs) {
    out += fmt::format("\n{}\n  {:<{}} {:>14} {:>14} {:>14} {:>9}  {:<14} {}\n", run.label, "figure", width, "baseline",
                       "current", "change", "change%", "noise", "verdict");
    for (const FigureChange& f : run.figures) {
      out += fmt::format("  {:<{}} {:>14} {:>14} {:>14} {:>9}  {:<14} {}\n", f.figure, width, value_or_dash(f.baseline),
                         value_or_dash(f.current), change_text(f), percent_text(f), noise_text(f), verdict_text(f));
    }
  }
  if (!r.unmatched_baseline.empty() || !r.unmatched_current.empty()) out += "\n";
  if (!r.unmatched_baseline.empty()) out += "only in the baseline (not compared): " + join(r.unmatched_baseline, ", ") + "\n";
  if (!r.unmatched_current.empty()) out += "only in the current (not compared): " + join(r.unmatched_current, ", ") + "\n";
  if (!r.requirement_checks.empty()) {
    out += "\nrequirements\n";
    for (const RequirementCheck& c : r.requirement_checks) {
      out += fmt::format("  {:<4} {}: {} = {}\n", c.passed ? "ok" : "FAIL", c.requirement.text, c.run, format_number(c.value));
    }
  }
  out += "\n" + noise_rule(r) + "\n";
  out += summary(r) + "\n";
  return out;
}

std::string compare_result_markdown(const CompareResult& r) {
  std::string out = fmt::format("### semcache compare ({}): {}\n\nBaseline `{}`, current `{}`.", r.kind, summary(r),
                                r.baseline_path, r.current_path);
  if (!r.params.empty()) out += " Params: `" + join(r.params, "` `") + "`.";
  out += "\n";
  for (const std::string& note : r.notes) out += "\n> note: " + markdown_cell(note) + "\n";
  out += "\n| run | figure | baseline | current | change | change % | noise | verdict |\n";
  out += "|:--|:--|--:|--:|--:|--:|:--|:--|\n";
  for (const RunComparison& run : r.runs) {
    for (const FigureChange& f : run.figures) {
      const std::string verdict = f.verdict == Verdict::kRegression ? "**" + verdict_text(f) + "**" : verdict_text(f);
      out += fmt::format("| {} | `{}` | {} | {} | {} | {} | {} | {} |\n", markdown_cell(run.label), f.figure,
                         value_or_dash(f.baseline), value_or_dash(f.current), change_text(f), percent_text(f),
                         noise_text(f), verdict);
    }
  }
  if (!r.unmatched_baseline.empty()) out += "\nOnly in the baseline (not compared): " + join(r.unmatched_baseline, ", ") + "\n";
  if (!r.unmatched_current.empty()) out += "\nOnly in the current (not compared): " + join(r.unmatched_current, ", ") + "\n";
  if (!r.requirement_checks.empty()) {
    out += "\n| requirement | run | value | result |\n|:--|:--|--:|:--|\n";
    for (const RequirementCheck& c : r.requirement_checks) {
      out += fmt::format("| `{}` | {} | {} | {} |\n", markdown_cell(c.requirement.text), c.run, format_number(c.value),
                         c.passed ? "ok" : "**FAIL**");
    }
  }
  out += "\n" + noise_rule(r) + "\n";
  if (!r.failures.empty()) {
    out += "\n**Failures**\n\n";
    for (const std::string& failure : r.failures) out += "- " + markdown_cell(failure) + "\n";
  }
  return out;
}

std::string compare_result_json(const CompareResult& r) {
  JsonWriter out;
  out.begin_object();
  out.key("kind").value("compare");
  out.key("tool").value("semcache");
  out.key("semcache_version").value(version());
  out.key("result_kind").value(r.kind);
  out.key("baseline").value(r.baseline_path);
  out.key("current").value(r.current_path);
  out.key("passed").value(r.passed());
  out.key("params").begin_array();
  for (const std::string& p : r.params) out.value(p);
  out.end_array();
  out.key("notes").begin_array();
  for (const std::string& n : r.notes) out.value(n);
  out.end_array();
  out.key("noise").begin_object();
  out.key("test").value("Mann-Whitney U, one-sided (current worse), exact up to 50 values");
  out.key("alpha").value(r.alpha);
  out.key("min_repeats").value(static_cast<std::uint64_t>(r.min_repeats));
  out.end_object();
  out.key("runs").begin_array();
  for (const RunComparison& run : r.runs) {
    out.begin_object();
    out.key("run").value(run.label);
    out.key("figures").begin_array();
    for (const FigureChange& f : run.figures) {
      out.begin_object();
      out.key("figure").value(f.figure);
      out.key("better").value(f.better == Better::kHigher ? "higher" : "lower");
      out.key("baseline");
      f.baseline ? out.value(*f.baseline) : out.null();
      out.key("current");
      f.current ? out.value(*f.current) : out.null();
      out.key("change");
      f.baseline && f.current ? out.value(f.change) : out.null();
      out.key("relative_change").value(f.baseline && f.current ? f.relative_change : NAN);  // non-finite: null
      out.key("limit");
      if (f.limit) {
        out.begin_object();
        out.key("amount").value(f.limit->amount);
        out.key("relative").value(f.limit->relative);
        out.end_object();
      } else {
        out.null();
      }
      out.key("repeats").begin_object();
      out.key("baseline").value(static_cast<std::uint64_t>(f.baseline_repeats));
      out.key("current").value(static_cast<std::uint64_t>(f.current_repeats));
      out.end_object();
      out.key("p_value");
      f.p_value ? out.value(*f.p_value) : out.null();
      out.key("verdict").value(to_string(f.verdict));
      out.end_object();
    }
    out.end_array();
    out.end_object();
  }
  out.end_array();
  out.key("unmatched").begin_object();
  out.key("baseline").begin_array();
  for (const std::string& label : r.unmatched_baseline) out.value(label);
  out.end_array();
  out.key("current").begin_array();
  for (const std::string& label : r.unmatched_current) out.value(label);
  out.end_array();
  out.end_object();
  out.key("requirements").begin_array();
  for (const RequirementCheck& c : r.requirement_checks) {
    out.begin_object();
    out.key("requirement").value(c.requirement.text);
    out.key("run").value(c.run);
    out.key("value").value(c.value);
    out.key("passed").value(c.passed);
    out.end_object();
  }
  out.end_array();
  out.key("failures").begin_array();
  for (const std::string& failure : r.failures) out.value(failure);
  out.end_array();
  out.end_object();
  return out.str() + "\n";
}

}  // namespace semcache
