#pragma once
// `semcache bench recall`: build a vector set from a file, then measure recall@k, QPS and latency
// percentiles at several ef values against exact ground truth.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/latency_histogram.hpp"
#include "semcache/machine.hpp"
#include "semcache/metric.hpp"
#include "semcache/status.hpp"
#include "semcache/vector_file.hpp"

namespace semcache {

struct RecallBenchOptions {
  std::string base_path;
  std::string queries_path;
  std::string gt_path;                   // empty: computed exactly from the base
  VectorFormat format = VectorFormat::kAuto;
  std::size_t k = 10;
  std::vector<std::size_t> ef_values = {16, 32, 64, 128, 256};
  Metric metric = Metric::kCosine;
  Quantization quantization = Quantization::kInt8;
  std::size_t m = 16;
  std::size_t ef_construction = 200;
  std::size_t threads = 0;               // build threads; 0 = all cores
  std::size_t query_threads = 0;         // > 0 adds an aggregate qps_parallel with that many threads
  std::size_t repeat = 1;                // timed passes over the queries per ef; figures are medians
  std::uint64_t seed = 1;
};

// What one timed pass over the queries measured (repeat > 1).
struct RecallRepetition {
  double qps = 0;
  LatencySummary latency_us;
};

struct RecallRun {
  std::size_t ef = 0;
  std::size_t k = 0;
  double recall_at_k = 0;
  double qps = 0;                        // one thread, one query at a time; median over repeats
  std::vector<RecallRepetition> repeats; // every repetition, in order
  double qps_parallel = 0;               // 0 when not measured
  LatencySummary latency_us;             // all repetitions pooled
  double distances_per_query = 0;
  double visited_per_query = 0;
};

struct RecallResult {
  RecallBenchOptions params;
  std::size_t n = 0;
  std::size_t dim = 0;
  std::size_t queries = 0;
  double build_seconds = 0;
  double vectors_per_second = 0;
  std::size_t memory_bytes = 0;
  double ground_truth_seconds = 0;       // 0 when read from --gt
  std::vector<RecallRun> runs;
  MachineInfo machine;
};

// phase is "read", "ground truth", "build" or "search"; done/total count rows or queries.
using BenchProgress = std::function<void(std::string_view phase, std::size_t done, std::size_t total)>;

Expected<RecallResult> run_recall_bench(const RecallBenchOptions& options, const BenchProgress& progress = {});

// The result in the schema of DESIGN.md ("kind": "recall").
std::string to_json(const RecallResult& result);

}  // namespace semcache
