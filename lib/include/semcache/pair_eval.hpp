#pragma once
// Evaluation of an embedder on labelled text pairs (`semcache eval pairs`): how well does the
// cosine distance between two texts separate pairs that deserve the same answer (label 1, e.g.
// Quora duplicate questions) from pairs that do not (label 0)?
//
// A pair plays the part of a cache lookup: text_a is the request, text_b the closest cached
// prompt. At threshold t the pair is accepted (the cache would serve text_b's answer) when its
// cosine distance (1 - cosine similarity; a zero vector is at distance 1) is <= t. Over N pairs,
// P positives and M negatives, with TP accepted positives and FP accepted negatives:
//   recall          TP / P          the hit rate on pairs that deserve a hit
//   precision       TP / (TP + FP)  the share of served answers that are right
//   false_hit_rate  FP / N          the share of lookups served a wrong answer
// false_hit_rate divides by every pair, not by the hits, to keep replay's meaning (false hits /
// requests, DESIGN.md): it is the rate a user meets, and it is what `tune` bounds. Its other
// reading, the share of hits that are wrong, is 1 - precision, reported beside it. Each rate
// carries a Wilson 95% interval (statistics.hpp) over its own denominator.
//
// Input: JSONL, one {"text_a": "...", "text_b": "...", "label": 0 | 1 | true | false} per line;
// other fields are ignored (but must be valid JSON), blank lines skipped. Pairs are read a line
// at a time and embedded in batches, so only their distances and labels are held in memory.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "semcache/embedder.hpp"
#include "semcache/statistics.hpp"
#include "semcache/status.hpp"

namespace semcache {

struct ScoredPair {
  double distance = 0;    // cosine distance between the two texts' embeddings, 0..2
  bool positive = false;  // label 1 / true
};

struct PairReadOptions {
  bool skip_bad_lines = false;           // --on-error skip: count a bad line and go on
  std::size_t limit = 0;                 // only the first N pairs; 0: all
  std::size_t batch_pairs = 256;         // pairs per embed() call (2x as many texts)
};

struct PairDistances {
  std::string path;
  std::string embedder;                  // identity
  std::size_t dim = 0;
  std::uint64_t lines = 0;               // lines read (blank and skipped ones included)
  std::uint64_t skipped_lines = 0;
  std::vector<std::string> skipped_messages;  // the first kMaxSkippedMessages
  std::vector<ScoredPair> pairs;         // in file order
  static constexpr std::size_t kMaxSkippedMessages = 20;
};

struct PairProgress {
  std::uint64_t pairs = 0;               // embedded so far
  std::uint64_t bytes_read = 0;
  std::uint64_t bytes_total = 0;
};

// Reads and embeds the pairs of a JSONL file. A bad line is bad_input
// "pairs.jsonl:7: field \"label\" must be 0, 1, true or false, got string" (unless
// skip_bad_lines); a missing file is not_found; a file without any pair is bad_input; an
// embedder failure is returned with the line it happened at.
Expected<PairDistances> embed_pairs(const std::string& path, Embedder& embedder, const PairReadOptions& options = {},
                                    const std::function<void(const PairProgress&)>& progress = {});

// The cosine distance of two vectors of one size: 1 - a.b / (|a| |b|), clamped to [0, 2]; 1
// when either is all zeros.
double cosine_distance(std::span<const float> a, std::span<const float> b);

// ROC AUC of the distance as a score for "positive" (smaller = more alike): the probability
// that a random positive pair is closer than a random negative one, ties counting one half
// (the Mann-Whitney U statistic from mid-ranks, exact). NaN when either class is empty.
double roc_auc(std::span<const ScoredPair> pairs);

// The confusion counts at one threshold.
struct PairThresholdFigures {
  double threshold = 0;
  std::uint64_t pairs = 0;
  std::uint64_t positives = 0;
  std::uint64_t true_hits = 0;           // accepted positives (TP)
  std::uint64_t false_hits = 0;          // accepted negatives (FP)

  std::uint64_t accepted() const { return true_hits + false_hits; }
  double recall() const;                 // TP / P (0 without positives)
  double precision() const;              // TP / (TP + FP) (1 when nothing is accepted)
  double false_hit_rate() const;         // FP / N
  double accuracy() const;               // (TP + rejected negatives) / N
  Interval recall_interval() const;      // Wilson 95% of each
  Interval precision_interval() const;
  Interval false_hit_rate_interval() const;
};

struct PairEvaluation {
  std::uint64_t pairs = 0;
  std::uint64_t positives = 0;
  double roc_auc = 0;                    // NaN when a class is empty
  // The threshold, among the observed distances, of the highest accuracy (the smallest such
  // threshold on a tie), and that accuracy.
  double best_threshold = 0;
  double best_accuracy = 0;
  std::vector<PairThresholdFigures> per_threshold;  // at the thresholds asked for, in that order
  std::vector<PairThresholdFigures> curve;          // at 0, 0.005, ..., 1 (DESIGN.md "curve[]")
};

// The table thresholds of `eval pairs` and `tune` when none are given: 0.02, 0.04, ..., 0.5.
std::vector<double> default_thresholds();

// The figures of `pairs` (any order). pairs must not be empty.
PairEvaluation evaluate_pairs(std::span<const ScoredPair> pairs, std::span<const double> thresholds);

// The result JSON ("kind": "eval-pairs"): params, machine, pairs, positives, roc_auc,
// best_threshold, best_accuracy, per_threshold[] (with counts and Wilson intervals) and
// curve[] of {threshold, precision, recall, false_hit_rate}.
std::string pair_eval_json(const PairEvaluation& evaluation, const PairDistances& source, const PairReadOptions& options);

}  // namespace semcache
