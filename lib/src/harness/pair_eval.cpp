// Labelled-pair evaluation (`semcache eval pairs`, see pair_eval.hpp).
//
// Reading. The file is walked a line at a time (detail::JsonlLines, shared with the other
// JSONL readers), each line parsed alone by one reused simdjson DOM parser. DOM
// rather than On-Demand because it validates the whole line, so a defect in a field we do not
// use still makes the line bad, and because the parser's string buffer is reused, the two
// texts are copied into the pending batch before the next line. A repeated field is refused
// rather than silently taking one of the two. Errors name file:line and what was expected;
// skip_bad_lines counts them and keeps the first kMaxSkippedMessages.
//
// Embedding. Pairs are embedded batch_pairs at a time in one embed() call of 2 * batch_pairs
// texts (text_a and text_b interleaved), so an embedder with per-call cost (HTTP) is used as
// it is meant to be. Only the distance and the label of each pair are kept: memory is the
// batch plus 16 bytes a pair.
//
// Figures. Everything is computed exactly from the sorted distances: AUC from mid-ranks
// (ties count one half, as in the Mann-Whitney U statistic), the confusion counts at a
// threshold t from the number of positives and negatives at distance <= t (binary search over
// prefix counts), and the best accuracy by one sweep over the distinct distances. No binning.

#include "semcache/pair_eval.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "io/jsonl_lines.hpp"
#include "semcache/json_writer.hpp"
#include "semcache/machine.hpp"
#include "vector/distance.hpp"
#include "harness/ratio.hpp"

namespace semcache {

namespace {

namespace dom = simdjson::dom;

constexpr std::string_view kExpectedLine = R"(expected {"text_a": "...", "text_b": "...", "label": 0 or 1})";

std::string_view type_name(dom::element_type type) {
  switch (type) {
    case dom::element_type::ARRAY: return "array";
    case dom::element_type::OBJECT: return "object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
    case dom::element_type::DOUBLE: return "number";
    case dom::element_type::STRING: return "string";
    case dom::element_type::BOOL: return "boolean";
    case dom::element_type::NULL_VALUE: return "null";
  }
  return "unknown";
}

struct ParsedPair {
  std::string_view text_a;
  std::string_view text_b;
  bool positive = false;
};

// One line into `out` (views into the parser's buffers, valid until its next parse), or the
// reason it is bad, without the "file:line: " prefix.
Status parse_pair(dom::parser& parser, std::string_view line, ParsedPair& out) {
  dom::element doc;
  if (auto error = parser.parse(line.data(), line.size(), true).get(doc); error != simdjson::SUCCESS) {
    return Status::bad_input(fmt::format("not valid JSON ({}); {}", simdjson::error_message(error), kExpectedLine));
  }
  dom::object object;
  if (doc.get(object) != simdjson::SUCCESS) {
    return Status::bad_input(fmt::format("the line is a JSON {}, not an object; {}", type_name(doc.type()), kExpectedLine));
  }
  bool seen_a = false, seen_b = false, seen_label = false;
  for (auto field : object) {
    const std::string_view key = field.key;
    const dom::element value = field.value;
    if (key == "text_a" || key == "text_b") {
      bool& seen = key == "text_a" ? seen_a : seen_b;
      if (seen) return Status::bad_input(fmt::format("field \"{}\" appears twice", key));
      seen = true;
      std::string_view text;
      if (value.get(text) != simdjson::SUCCESS) {
        return Status::bad_input(fmt::format("field \"{}\" must be a string, got {}", key, type_name(value.type())));
      }
      (key == "text_a" ? out.text_a : out.text_b) = text;
    } else if (key == "label") {
      if (seen_label) return Status::bad_input("field \"label\" appears twice");
      seen_label = true;
      bool flag = false;
      double number = 0;
      if (value.get(flag) == simdjson::SUCCESS) {
        out.positive = flag;
      } else if (value.get(number) == simdjson::SUCCESS && (number == 0 || number == 1)) {
        out.positive = number == 1;
      } else {
        return Status::bad_input(fmt::format("field \"label\" must be 0, 1, true or false, got {}{}",
                                             type_name(value.type()),
                                             value.is_number() ? fmt::format(" {}", simdjson::to_string(value)) : ""));
      }
    }
  }
  if (!seen_a || !seen_b || !seen_label) {
    return Status::bad_input(fmt::format("missing field \"{}\"; {}", !seen_a ? "text_a" : !seen_b ? "text_b" : "label",
                                         kExpectedLine));
  }
  return Status::ok();
}

using detail::ratio;

// The pairs sorted by distance with running counts, to answer "how many positives and
// negatives lie at distance <= t" by binary search.
class SortedPairs {
 public:
  explicit SortedPairs(std::span<const ScoredPair> pairs) : sorted_(pairs.begin(), pairs.end()) {
    std::sort(sorted_.begin(), sorted_.end(),
              [](const ScoredPair& x, const ScoredPair& y) { return x.distance < y.distance; });
    positives_before_.reserve(sorted_.size() + 1);
    positives_before_.push_back(0);
    for (const ScoredPair& p : sorted_) positives_before_.push_back(positives_before_.back() + (p.positive ? 1 : 0));
  }

  const std::vector<ScoredPair>& sorted() const { return sorted_; }
  std::uint64_t positives() const { return positives_before_.back(); }

  PairThresholdFigures at(double threshold) const {
    const auto end = std::upper_bound(sorted_.begin(), sorted_.end(), threshold,
                                      [](double t, const ScoredPair& p) { return t < p.distance; });
    const auto accepted = static_cast<std::size_t>(end - sorted_.begin());
    PairThresholdFigures f;
    f.threshold = threshold;
    f.pairs = sorted_.size();
    f.positives = positives();
    f.true_hits = positives_before_[accepted];
    f.false_hits = accepted - f.true_hits;
    return f;
  }

 private:
  std::vector<ScoredPair> sorted_;
  std::vector<std::uint64_t> positives_before_;  // [i]: positives among sorted_[0, i)
};

void write_interval(JsonWriter& out, std::string_view name, Interval ci) {
  out.key(name).begin_object();
  out.key("low").value(ci.low);
  out.key("high").value(ci.high);
  out.end_object();
}

}  // namespace

double PairThresholdFigures::recall() const { return ratio(true_hits, positives); }
double PairThresholdFigures::precision() const { return accepted() > 0 ? ratio(true_hits, accepted()) : 1.0; }
double PairThresholdFigures::false_hit_rate() const { return ratio(false_hits, pairs); }
double PairThresholdFigures::accuracy() const { return ratio(true_hits + (pairs - positives - false_hits), pairs); }
Interval PairThresholdFigures::recall_interval() const { return wilson_interval(true_hits, positives); }
Interval PairThresholdFigures::precision_interval() const { return wilson_interval(true_hits, accepted()); }
Interval PairThresholdFigures::false_hit_rate_interval() const { return wilson_interval(false_hits, pairs); }

double cosine_distance(std::span<const float> a, std::span<const float> b) {
  return static_cast<double>(detail::kernels().cosine_f32(a.data(), b.data(), std::min(a.size(), b.size())));
}

Expected<PairDistances> embed_pairs(const std::string& path, Embedder& embedder, const PairReadOptions& options,
                                    const std::function<void(const PairProgress&)>& progress) {
  auto opened = detail::JsonlLines::open(path);
  if (!opened) return opened.status();
  detail::JsonlLines& lines = *opened;
  PairDistances result;
  result.path = path;
  result.embedder = embedder.identity();
  result.dim = embedder.dim();
  const std::size_t dim = embedder.dim();
  const std::size_t batch_pairs = std::max<std::size_t>(1, options.batch_pairs);

  std::vector<std::string> texts;          // text_a, text_b of each pending pair
  std::vector<bool> labels;                // of each pending pair
  std::size_t first_pending_line = 0;
  std::vector<float> vectors;
  const auto flush = [&](std::size_t last_line) -> Status {
    if (labels.empty()) return Status::ok();
    std::vector<std::string_view> views(texts.begin(), texts.end());
    vectors.resize(views.size() * dim);
    if (Status st = embedder.embed(views, vectors); !st) {
      return st.with_context(fmt::format("{}:{}-{}: embedding the pairs", path, first_pending_line, last_line));
    }
    for (std::size_t i = 0; i < labels.size(); ++i) {
      const std::span<const float> a(vectors.data() + 2 * i * dim, dim);
      const std::span<const float> b(vectors.data() + (2 * i + 1) * dim, dim);
      result.pairs.push_back({cosine_distance(a, b), static_cast<bool>(labels[i])});
    }
    texts.clear();
    labels.clear();
    return Status::ok();
  };

  dom::parser parser;
  std::string_view line;
  std::size_t last_line = 0;
  while ((options.limit == 0 || result.pairs.size() + labels.size() < options.limit) && lines.next(line)) {
    last_line = lines.line_number();
    ParsedPair pair;
    if (Status st = parse_pair(parser, line, pair); !st) {
      const std::string message = fmt::format("{}:{}: {}", path, lines.line_number(), st.message());
      if (!options.skip_bad_lines) return Status::bad_input(message);
      ++result.skipped_lines;
      if (result.skipped_messages.size() < PairDistances::kMaxSkippedMessages) result.skipped_messages.push_back(message);
      continue;
    }
    if (labels.empty()) first_pending_line = lines.line_number();
    texts.emplace_back(pair.text_a);
    texts.emplace_back(pair.text_b);
    labels.push_back(pair.positive);
    if (labels.size() == batch_pairs) {
      if (Status st = flush(last_line); !st) return st;
      if (progress) progress({result.pairs.size(), lines.bytes_consumed(), lines.size()});
    }
  }
  if (!lines.status()) return lines.status();
  if (Status st = flush(last_line); !st) return st;
  result.lines = lines.line_number();
  if (progress) progress({result.pairs.size(), lines.bytes_consumed(), lines.size()});
  if (result.pairs.empty()) {
    return Status::bad_input(fmt::format("{}: no labelled pairs in {} lines{}; {}", path, result.lines,
                                         result.skipped_lines > 0 ? fmt::format(" ({} skipped)", result.skipped_lines) : "",
                                         kExpectedLine));
  }
  return result;
}

double roc_auc(std::span<const ScoredPair> pairs) {
  std::vector<ScoredPair> sorted(pairs.begin(), pairs.end());
  std::sort(sorted.begin(), sorted.end(), [](const ScoredPair& x, const ScoredPair& y) { return x.distance < y.distance; });
  // Ranks ascend with the distance; a negative ranked above a positive is a pair the score
  // orders correctly. U = (sum of the negatives' mid-ranks) - M (M + 1) / 2 counts those pairs,
  // ties one half.
  double negatives = 0;
  double negative_rank_sum = 0;
  for (std::size_t i = 0; i < sorted.size();) {
    std::size_t j = i;
    while (j < sorted.size() && sorted[j].distance == sorted[i].distance) ++j;
    const double mid_rank = static_cast<double>(i + 1 + j) / 2.0;
    for (std::size_t k = i; k < j; ++k) {
      if (!sorted[k].positive) {
        negatives += 1;
        negative_rank_sum += mid_rank;
      }
    }
    i = j;
  }
  const double positives = static_cast<double>(sorted.size()) - negatives;
  if (positives == 0 || negatives == 0) return std::numeric_limits<double>::quiet_NaN();
  return (negative_rank_sum - negatives * (negatives + 1) / 2) / (positives * negatives);
}

std::vector<double> default_thresholds() {
  std::vector<double> thresholds;
  for (int i = 1; i <= 25; ++i) thresholds.push_back(i / 50.0);
  return thresholds;
}

PairEvaluation evaluate_pairs(std::span<const ScoredPair> pairs, std::span<const double> thresholds) {
  const SortedPairs sorted(pairs);
  PairEvaluation e;
  e.pairs = pairs.size();
  e.positives = sorted.positives();
  e.roc_auc = roc_auc(pairs);
  // Accuracy changes only where the threshold passes an observed distance: evaluate it at the
  // end of each run of equal distances.
  const std::vector<ScoredPair>& s = sorted.sorted();
  const std::uint64_t negatives = e.pairs - e.positives;
  std::uint64_t true_hits = 0, false_hits = 0;
  e.best_accuracy = -1;
  for (std::size_t i = 0; i < s.size(); ++i) {
    (s[i].positive ? true_hits : false_hits) += 1;
    if (i + 1 < s.size() && s[i + 1].distance == s[i].distance) continue;
    const double accuracy = ratio(true_hits + (negatives - false_hits), e.pairs);
    if (accuracy > e.best_accuracy) {
      e.best_accuracy = accuracy;
      e.best_threshold = s[i].distance;
    }
  }
  for (double t : thresholds) e.per_threshold.push_back(sorted.at(t));
  for (int i = 0; i <= 200; ++i) e.curve.push_back(sorted.at(i / 200.0));
  return e;
}

std::string pair_eval_json(const PairEvaluation& e, const PairDistances& source, const PairReadOptions& options) {
  JsonWriter out;
  out.begin_object();
  out.key("kind").value("eval-pairs");
  out.key("tool").value("semcache");
  out.key("semcache_version").value(version());
  out.key("params").begin_object();
  out.key("pairs_file").value(source.path);
  out.key("embedder").value(source.embedder);
  out.key("dim").value(static_cast<std::uint64_t>(source.dim));
  out.key("limit").value(static_cast<std::uint64_t>(options.limit));
  out.key("on_error").value(options.skip_bad_lines ? "skip" : "fail");
  out.key("accept").value("cosine distance <= threshold");
  out.key("false_hit_rate").value("accepted negatives / all pairs");
  out.end_object();
  out.key("machine");
  write_json(out, machine_info());
  out.key("lines").value(source.lines);
  out.key("skipped_lines").value(source.skipped_lines);
  out.key("skipped_messages").begin_array();
  for (const std::string& message : source.skipped_messages) out.value(message);
  out.end_array();
  out.key("pairs").value(e.pairs);
  out.key("positives").value(e.positives);
  out.key("negatives").value(e.pairs - e.positives);
  out.key("roc_auc").value(e.roc_auc);
  out.key("best_threshold").value(e.best_threshold);
  out.key("best_accuracy").value(e.best_accuracy);
  out.key("per_threshold").begin_array();
  for (const PairThresholdFigures& f : e.per_threshold) {
    out.begin_object();
    out.key("threshold").value(f.threshold);
    out.key("similarity").value(1.0 - f.threshold);
    out.key("accepted").value(f.accepted());
    out.key("true_hits").value(f.true_hits);
    out.key("false_hits").value(f.false_hits);
    out.key("recall").value(f.recall());
    write_interval(out, "recall_ci95", f.recall_interval());
    out.key("precision").value(f.precision());
    write_interval(out, "precision_ci95", f.precision_interval());
    out.key("false_hit_rate").value(f.false_hit_rate());
    write_interval(out, "false_hit_rate_ci95", f.false_hit_rate_interval());
    out.key("accuracy").value(f.accuracy());
    out.end_object();
  }
  out.end_array();
  out.key("curve").begin_array();
  for (const PairThresholdFigures& f : e.curve) {
    out.begin_object();
    out.key("threshold").value(f.threshold);
    out.key("precision").value(f.precision());
    out.key("recall").value(f.recall());
    out.key("false_hit_rate").value(f.false_hit_rate());
    out.end_object();
  }
  out.end_array();
  out.end_object();
  return out.str();
}

}  // namespace semcache
