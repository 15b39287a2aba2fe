// Reading result JSON into the report model (semcache/report.hpp).
//
// Design: the whole file is parsed with simdjson's DOM (result files are small: a few hundred
// kB at most) and then walked field by field. Every figure the report draws is required and
// type-checked, so a message says which one is wrong ("r.json: runs[2].qps must be a number,
// got string"); everything else in the file is ignored, so newer results with more fields still
// read. A number written as null (the writer's NaN) reads as NaN and is shown as "-".
//
// simdjson's DOM says *why* a document is malformed but not *where*; on that error path a small
// recursive scanner (locate_json_error) finds the first offending byte so the message can give
// line:column. It runs only on failure, so its speed does not matter.
//
// Spread over repetitions: recall runs carry qps_repeats[] (numbers) or repeats[] (objects with
// qps); replay runs carry repeats[] (objects with throughput_rps and hit_rate). Either gives a
// ValueRange; absent or empty, there is none.

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include <fmt/format.h>
#include <simdjson.h>

#include "semcache/report.hpp"

namespace semcache {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// ---- locating a syntax error ------------------------------------------------------------------

class JsonLocator {
 public:
  explicit JsonLocator(std::string_view text) : text_(text) {}

  // The offset of the first byte that is not valid JSON, or text.size() for a premature end,
  // with what was expected there; nullopt when the text is valid.
  std::optional<std::pair<std::size_t, std::string>> find_error() {
    skip_space();
    if (!value(0)) return std::make_pair(pos_, expected_);
    skip_space();
    if (pos_ != text_.size()) return std::make_pair(pos_, std::string("end of document after the top-level value"));
    return std::nullopt;
  }

 private:
  bool fail(std::string expected) {
    expected_ = std::move(expected);
    return false;
  }
  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t')) {
      ++pos_;
    }
  }
  bool literal(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return fail(fmt::format("'{}'", word));
    pos_ += word.size();
    return true;
  }
  bool string() {
    ++pos_;  // the opening quote
    while (pos_ < text_.size()) {
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c < 0x20) return fail("a closing '\"' (control characters must be escaped)");
      if (c == '\\') {
        ++pos_;
        if (pos_ >= text_.size()) break;
        if (std::string_view("\"\\/bfnrtu").find(text_[pos_]) == std::string_view::npos) return fail("an escape like \\n or \\u00e9");
      }
      ++pos_;
    }
    return fail("a closing '\"'");
  }
  bool number() {
    const std::size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    const auto digits = [&] {
      const std::size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      return pos_ > from;
    };
    if (!digits()) return fail("a digit");
    if (pos_ < text_.size() && text_[pos_] == '.' && (++pos_, !digits())) return fail("a digit after '.'");
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      if (!digits()) return fail("a digit in the exponent");
    }
    return pos_ > start;
  }
  bool value(int depth) {
    if (depth > 1000) return fail("less nesting");
    if (pos_ >= text_.size()) return fail("a value");
    switch (text_[pos_]) {
      case '{': return container(depth, '}');
      case '[': return container(depth, ']');
      case '"': return string();
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default:
        if (text_[pos_] == '-' || (text_[pos_] >= '0' && text_[pos_] <= '9')) return number();
        return fail("a value (object, array, string, number, true, false or null)");
    }
  }
  bool container(int depth, char close) {
    ++pos_;
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == close) {
      ++pos_;
      return true;
    }
    while (true) {
      skip_space();
      if (close == '}') {
        if (pos_ >= text_.size() || text_[pos_] != '"') return fail("a member name in double quotes");
        if (!string()) return false;
        skip_space();
        if (pos_ >= text_.size() || text_[pos_] != ':') return fail("':' after the member name");
        ++pos_;
        skip_space();
      }
      if (!value(depth + 1)) return false;
      skip_space();
      if (pos_ < text_.size() && text_[pos_] == ',') {
        ++pos_;
        continue;
      }
      if (pos_ < text_.size() && text_[pos_] == close) {
        ++pos_;
        return true;
      }
      return fail(fmt::format("',' or '{}'", close));
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string expected_;
};

std::string position_of(std::string_view text, std::size_t offset) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("{}:{}", line, column);
}

// ---- typed access with messages ---------------------------------------------------------------

std::string_view type_name(const element& e) {
  switch (e.type()) {
    case element_type::ARRAY: return "array";
    case element_type::OBJECT: return "object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE: return "number";
    case element_type::STRING: return "string";
    case element_type::BOOL: return "boolean";
    case element_type::NULL_VALUE: return "null";
  }
  return "value";
}

// Reads fields of one JSON object; `where` is its path for messages ("runs[2]").
class Fields {
 public:
  Fields(const std::string& file, std::string where, object obj) : file_(file), where_(std::move(where)), obj_(obj) {}

  const Status& status() const { return status_; }
  std::string path(std::string_view key) const { return where_.empty() ? std::string(key) : where_ + "." + std::string(key); }

  bool has(std::string_view key) const {
    element e;
    return !obj_[key].get(e) && !e.is_null();
  }

  // A number; null reads as NaN. Missing: `fallback` when given, else an error.
  double number(std::string_view key, std::optional<double> fallback = std::nullopt) {
    element e;
    if (obj_[key].get(e)) return missing(key, "a number", fallback.value_or(0), fallback.has_value());
    if (e.is_null()) return std::numeric_limits<double>::quiet_NaN();
    double value = 0;
    if (e.get_double().get(value)) return wrong(key, "a number", e);
    return value;
  }
  std::uint64_t count(std::string_view key, std::optional<std::uint64_t> fallback = std::nullopt) {
    const double value = number(key, fallback ? std::optional<double>(static_cast<double>(*fallback)) : std::nullopt);
    if (!status_) return 0;
    if (!(value >= 0) || value != std::floor(value)) {
      if (std::isnan(value) && fallback) return *fallback;
      set_error(fmt::format("{} must be a non-negative integer, got {}", path(key), value));
      return 0;
    }
    return static_cast<std::uint64_t>(value);
  }
  std::string text(std::string_view key, std::string fallback = "") {
    element e;
    if (obj_[key].get(e) || e.is_null()) return fallback;
    std::string_view value;
    if (e.get_string().get(value)) {
      wrong(key, "a string", e);
      return fallback;
    }
    return std::string(value);
  }
  std::optional<Fields> child(std::string_view key, bool required) {
    element e;
    if (obj_[key].get(e) || e.is_null()) {
      if (required) missing(key, "an object", 0, false);
      return std::nullopt;
    }
    object o;
    if (e.get_object().get(o)) {
      wrong(key, "an object", e);
      return std::nullopt;
    }
    return Fields(file_, path(key), o);
  }
  std::optional<array> list(std::string_view key, bool required) {
    element e;
    if (obj_[key].get(e) || e.is_null()) {
      if (required) missing(key, "an array", 0, false);
      return std::nullopt;
    }
    array a;
    if (e.get_array().get(a)) {
      wrong(key, "an array", e);
      return std::nullopt;
    }
    return a;
  }
  // Element i of an array, which must be an object.
  std::optional<Fields> item(std::string_view key, std::size_t i, const element& e) {
    object o;
    if (e.get_object().get(o)) {
      set_error(fmt::format("{}[{}] must be an object, got {}", path(key), i, type_name(e)));
      return std::nullopt;
    }
    return Fields(file_, fmt::format("{}[{}]", path(key), i), o);
  }
  // Folds a child's error into this one.
  void adopt(const Fields& other) {
    if (status_ && !other.status_) status_ = other.status_;
  }
  void set_error(const std::string& message) {
    if (status_) status_ = Status::bad_input(file_ + ": " + message);
  }

 private:
  double missing(std::string_view key, std::string_view expected, double fallback, bool has_fallback) {
    if (!has_fallback) set_error(fmt::format("{} is missing (expected {})", path(key), expected));
    return fallback;
  }
  double wrong(std::string_view key, std::string_view expected, const element& e) {
    set_error(fmt::format("{} must be {}, got {}", path(key), expected, type_name(e)));
    return 0;
  }

  const std::string& file_;
  std::string where_;
  object obj_;
  Status status_;
};

LatencySummary read_latency(Fields& parent, std::string_view key) {
  LatencySummary s;
  auto f = parent.child(key, true);
  if (!f) return s;
  s.p50 = f->number("p50");
  s.p90 = f->number("p90");
  s.p99 = f->number("p99");
  s.p999 = f->number("p999");
  s.max = f->number("max");
  s.mean = f->number("mean", std::numeric_limits<double>::quiet_NaN());
  parent.adopt(*f);
  return s;
}

// The range of `key` over repeats[] (objects), if there are any.
std::optional<ValueRange> repeat_range(Fields& f, std::string_view key) {
  auto repeats = f.list("repeats", false);
  if (!repeats || repeats->size() == 0) return std::nullopt;
  ValueRange range{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  std::size_t i = 0;
  for (element e : *repeats) {
    auto r = f.item("repeats", i++, e);
    if (!r) return std::nullopt;
    const double value = r->number(key);
    f.adopt(*r);
    if (!f.status()) return std::nullopt;
    range.min = std::min(range.min, value);
    range.max = std::max(range.max, value);
  }
  return range;
}

std::optional<ValueRange> number_range(Fields& f, std::string_view key) {
  auto values = f.list(key, false);
  if (!values || values->size() == 0) return std::nullopt;
  ValueRange range{std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  std::size_t i = 0;
  for (element e : *values) {
    double value = 0;
    if (e.get_double().get(value)) {
      f.set_error(fmt::format("{}[{}] must be a number, got {}", f.path(key), i, type_name(e)));
      return std::nullopt;
    }
    range.min = std::min(range.min, value);
    range.max = std::max(range.max, value);
    ++i;
  }
  return range;
}

std::string machine_text(Fields& root) {
  auto m = root.child("machine", false);
  if (!m) return "";
  const std::string cpu = m->text("cpu_model");
  const std::uint64_t cores = m->count("cores", 0);
  const std::string simd = m->text("simd_level");
  root.adopt(*m);
  std::string out = cpu;
  if (cores > 0) out += fmt::format("{}{} cores", out.empty() ? "" : ", ", cores);
  if (!simd.empty()) out += fmt::format("{}{}", out.empty() ? "" : ", ", simd);
  return out;
}

ReportRecall read_recall(Fields& root) {
  ReportRecall r;
  if (auto p = root.child("params", false)) {
    r.base = p->text("base");
    r.quant = p->text("quant");
    r.metric = p->text("metric");
    r.m = p->count("m", 0);
    r.ef_construction = p->count("ef_construction", 0);
    r.n = p->count("n", 0);
    r.dim = p->count("dim", 0);
    r.queries = p->count("queries_count", 0);
    root.adopt(*p);
  }
  if (auto b = root.child("build", false)) {
    r.build_seconds = b->number("seconds", 0);
    r.vectors_per_second = b->number("vectors_per_second", 0);
    r.memory_bytes = b->count("memory_bytes", 0);
    root.adopt(*b);
  }
  auto runs = root.list("runs", true);
  if (!runs) return r;
  std::size_t i = 0;
  for (element e : *runs) {
    auto f = root.item("runs", i++, e);
    if (!f) return r;
    ReportRecallRun run;
    run.ef = f->count("ef");
    run.k = f->count("k");
    run.recall_at_k = f->number("recall_at_k");
    run.qps = f->number("qps");
    run.qps_parallel = f->number("qps_parallel", 0);
    run.latency_us = read_latency(*f, "latency_us");
    run.qps_spread = f->has("repeats") ? repeat_range(*f, "qps") : number_range(*f, "qps_repeats");
    root.adopt(*f);
    if (!root.status()) return r;
    r.runs.push_back(run);
  }
  if (r.runs.empty()) root.set_error("runs is empty (expected one object per ef)");
  return r;
}

ReportReplayRun read_replay_run(Fields& f, bool has_threshold) {
  ReportReplayRun run;
  if (has_threshold) run.threshold = f.number("threshold");
  run.requests = f.count("requests");
  if (auto hits = f.child("hits", true)) {
    run.exact_hits = hits->count("exact");
    run.semantic_hits = hits->count("semantic");
    f.adopt(*hits);
  }
  run.misses = f.count("misses");
  run.errors = f.count("errors", 0);
  run.hit_rate = f.number("hit_rate");
  run.hit_rate_spread = repeat_range(f, "hit_rate");
  run.judged = f.has("false_hits");
  if (run.judged) {
    run.false_hits = f.count("false_hits");
    run.false_hit_rate = f.number("false_hit_rate");
    run.precision = f.number("precision", std::numeric_limits<double>::quiet_NaN());
    if (auto ci = f.child("false_hit_rate_ci95", false)) {
      run.false_hit_rate_ci95 = {ci->number("low"), ci->number("high")};
      f.adopt(*ci);
    } else {
      run.false_hit_rate_ci95 = wilson_interval(run.false_hits, run.requests);
    }
  }
  if (auto latency = f.child("latency_us", true)) {
    run.lookup_us = read_latency(*latency, "lookup");
    run.end_to_end_us = read_latency(*latency, "end_to_end");
    f.adopt(*latency);
  }
  run.throughput_rps = f.number("throughput_rps", std::numeric_limits<double>::quiet_NaN());
  run.throughput_spread = repeat_range(f, "throughput_rps");
  run.tokens_saved = f.count("tokens_saved", 0);
  run.cost_saved_usd = f.number("cost_saved_usd", std::numeric_limits<double>::quiet_NaN());
  if (auto timeline = f.list("timeline", false)) {
    std::size_t i = 0;
    for (element e : *timeline) {
      auto p = f.item("timeline", i++, e);
      if (!p) break;
      run.timeline.push_back({p->count("requests"), p->number("hit_rate")});
      f.adopt(*p);
    }
  }
  return run;
}

ReportReplay read_replay(Fields& root) {
  ReportReplay r;
  if (auto p = root.child("params", false)) {
    r.log = p->text("log");
    r.store = p->text("store");
    r.mode = p->text("mode");
    r.embedder = p->text("embedder");
    root.adopt(*p);
  }
  const bool has_threshold = r.mode != "exact";
  if (auto per_threshold = root.list("per_threshold", false); per_threshold && per_threshold->size() > 0) {
    std::size_t i = 0;
    for (element e : *per_threshold) {
      auto f = root.item("per_threshold", i++, e);
      if (!f) return r;
      r.runs.push_back(read_replay_run(*f, has_threshold));
      root.adopt(*f);
      if (!root.status()) return r;
    }
  } else {
    r.runs.push_back(read_replay_run(root, has_threshold && root.has("threshold")));
  }
  return r;
}

ReportThresholdCurve read_curve(Fields& root, bool tune) {
  ReportThresholdCurve c;
  c.hit_rate_name = tune ? "hit rate" : "recall";
  if (auto p = root.child("params", false)) {
    c.source = p->has("pairs_file") ? p->text("pairs_file") : p->text("log");
    c.embedder = p->text("embedder");
    if (tune) {
      c.summary.emplace_back("max false-hit rate", fmt::format("{:.3g}%", 100 * p->number("max_false_hit_rate", 0)));
    }
    root.adopt(*p);
  }
  const auto percent = [](double v) { return std::isnan(v) ? std::string("-") : fmt::format("{:.2f}%", 100 * v); };
  if (tune) {
    const double threshold = root.number("threshold");
    if (!std::isnan(threshold)) c.chosen_threshold = threshold;
    c.summary.emplace_back("recommended threshold",
                           c.chosen_threshold ? fmt::format("{:.3f} (similarity {:.3f})", threshold, 1 - threshold)
                                              : std::string("none meets the bound"));
    c.summary.emplace_back("expected hit rate", percent(root.number("expected_hit_rate")));
    c.summary.emplace_back("expected false-hit rate", percent(root.number("expected_false_hit_rate")));
    c.summary.emplace_back("its 95% upper bound", percent(root.number("expected_false_hit_rate_upper", std::numeric_limits<double>::quiet_NaN())));
  } else {
    c.summary.emplace_back("pairs", fmt::format("{} ({} positive)", root.count("pairs"), root.count("positives", 0)));
    c.summary.emplace_back("ROC AUC", fmt::format("{:.4f}", root.number("roc_auc")));
    const double best = root.number("best_threshold");
    if (!std::isnan(best)) c.chosen_threshold = best;
    c.summary.emplace_back("best threshold", fmt::format("{:.3f} (accuracy {})", best, percent(root.number("best_accuracy"))));
  }
  auto curve = root.list("curve", true);
  if (!curve) return c;
  std::size_t i = 0;
  for (element e : *curve) {
    auto f = root.item("curve", i++, e);
    if (!f) return c;
    ReportCurvePoint p;
    p.threshold = f->number("threshold");
    p.hit_rate = f->number(tune ? "hit_rate" : "recall");
    p.false_hit_rate = f->number("false_hit_rate");
    if (!tune) p.precision = f->number("precision");
    root.adopt(*f);
    if (!root.status()) return c;
    c.curve.push_back(p);
  }
  return c;
}

}  // namespace

std::string_view report_kinds() { return "recall, replay, eval-pairs, tune"; }

Expected<ReportInput> parse_report_input(std::string_view json, const std::string& name) {
  simdjson::dom::parser parser;
  const simdjson::padded_string padded(json);
  element doc;
  if (const auto error = parser.parse(padded).get(doc); error) {
    const auto located = JsonLocator(json).find_error();
    if (located) {
      return Status::bad_input(fmt::format("{}:{}: not valid JSON: {}expected {}{}", name, position_of(json, located->first),
                                           located->first == json.size() ? "the file ends early (" : "", located->second,
                                           located->first == json.size() ? ")" : ""));
    }
    return Status::bad_input(fmt::format("{}: not valid JSON: {}", name, simdjson::error_message(error)));
  }
  object root_object;
  if (doc.get_object().get(root_object)) {
    return Status::bad_input(fmt::format("{}: a result file must be a JSON object with \"kind\" ({}), got {}", name,
                                         report_kinds(), type_name(doc)));
  }
  Fields root(name, "", root_object);
  ReportInput input;
  input.path = name;
  input.kind = root.text("kind");
  if (!root.status()) return root.status();
  if (input.kind.empty()) {
    return Status::bad_input(
        fmt::format("{}: no \"kind\": not a semcache result file (expected one of the kinds {})", name, report_kinds()));
  }
  input.semcache_version = root.text("semcache_version");
  input.machine = machine_text(root);
  if (input.kind == "recall") {
    input.figures = read_recall(root);
  } else if (input.kind == "replay") {
    input.figures = read_replay(root);
  } else if (input.kind == "eval-pairs" || input.kind == "tune") {
    input.figures = read_curve(root, input.kind == "tune");
  } else {
    return Status::bad_input(fmt::format("{}: kind \"{}\" has no report (supported kinds: {})", name, input.kind,
                                         report_kinds()));
  }
  if (!root.status()) return root.status();
  return input;
}

Expected<ReportInput> read_report_input(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found(path + ": cannot open the result file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::io(path + ": read failed");
  return parse_report_input(text.str(), path);
}

Expected<ReportFormat> parse_report_format(std::string_view name) {
  if (name == "text") return ReportFormat::kText;
  if (name == "md" || name == "markdown") return ReportFormat::kMarkdown;
  if (name == "html") return ReportFormat::kHtml;
  return Status::invalid_argument(fmt::format("report format '{}' is not one of text, md, html", name));
}

}  // namespace semcache
