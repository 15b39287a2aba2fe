// bench recall. The measurement follows ann-benchmarks' rules: the build is timed on its own
// (wall clock, `threads` threads); queries are then timed one at a time on one thread, so QPS is
// the inverse of mean latency and comparable with any other single-threaded engine; recall is
// computed outside the timed section against exact ground truth; one untimed warm-up pass runs
// before the first timed one. With repeat > 1 every ef is timed that many times: the run reports
// the median QPS and the latency percentiles of all passes pooled, and repeats[] holds each
// pass's QPS and percentiles, so `compare` can tell noise from change.

#include "semcache/recall_bench.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <thread>
#include <unordered_set>

#include "semcache/dataset.hpp"
#include "semcache/json_writer.hpp"
#include "semcache/vector_set.hpp"

namespace semcache {
namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const std::size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid] : (values[mid - 1] + values[mid]) / 2;
}

Status check_ground_truth(const IntMatrix& gt, std::size_t queries, std::size_t n, std::size_t k, const std::string& path) {
  if (gt.rows != queries) {
    return Status::bad_input(path + ": ground truth has " + std::to_string(gt.rows) + " rows, the queries " +
                             std::to_string(queries));
  }
  if (gt.dim < k) {
    return Status::bad_input(path + ": ground truth has " + std::to_string(gt.dim) + " neighbours per query, -k is " +
                             std::to_string(k));
  }
  for (std::size_t q = 0; q < gt.rows; ++q) {
    for (std::size_t j = 0; j < k; ++j) {
      const std::int32_t id = gt.row(q)[j];
      if (id < 0 || static_cast<std::size_t>(id) >= n) {
        return Status::bad_input(path + ": row " + std::to_string(q) + " neighbour " + std::to_string(j) + " is " +
                                 std::to_string(id) + ", outside the base (" + std::to_string(n) + " rows)");
      }
    }
  }
  return Status::ok();
}

double recall_of(const std::vector<SearchHit>& hits, const std::int32_t* truth, std::size_t k) {
  std::size_t found = 0;
  for (const SearchHit& hit : hits) {
    std::int32_t id = -1;
    std::from_chars(hit.id.data(), hit.id.data() + hit.id.size(), id);
    if (std::find(truth, truth + k, id) != truth + k) ++found;
  }
  return static_cast<double>(found) / static_cast<double>(k);
}

}  // namespace

Expected<RecallResult> run_recall_bench(const RecallBenchOptions& o, const BenchProgress& progress) {
  if (o.k == 0) return Status::invalid_argument("bench recall: -k must be > 0");
  if (o.ef_values.empty()) return Status::invalid_argument("bench recall: --ef needs at least one value");
  if (o.repeat == 0) return Status::invalid_argument("bench recall: --repeat must be >= 1");
  RecallResult result;
  result.params = o;
  result.machine = machine_info();

  if (progress) progress("read", 0, 1);
  auto base = read_float_matrix(o.base_path, o.format);
  if (!base) return base.status();
  auto queries = read_float_matrix(o.queries_path, o.format);
  if (!queries) return queries.status();
  if (queries->dim != base->dim) {
    return Status::bad_input(o.queries_path + ": queries have dimension " + std::to_string(queries->dim) + ", but " +
                             o.base_path + " has dimension " + std::to_string(base->dim));
  }
  result.n = base->rows;
  result.dim = base->dim;
  result.queries = queries->rows;
  if (result.n == 0 || result.queries == 0) return Status::bad_input("bench recall: the base and the queries must not be empty");

  IntMatrix gt;
  if (!o.gt_path.empty()) {
    auto read = read_ivecs(o.gt_path);
    if (!read) return read.status();
    gt = std::move(read.value());
    if (Status st = check_ground_truth(gt, result.queries, result.n, o.k, o.gt_path); !st) return st;
  } else {
    const auto start = Clock::now();
    auto computed = exact_ground_truth(*base, *queries, o.k, o.metric, o.threads,
                                       [&](std::size_t done, std::size_t total) {
                                         if (progress) progress("ground truth", done, total);
                                       });
    if (!computed) return computed.status();
    gt = std::move(computed.value());
    result.ground_truth_seconds = seconds_since(start);
  }

  VectorSetOptions set_options;
  set_options.dim = result.dim;
  set_options.metric = o.metric;
  set_options.quantization = o.quantization;
  set_options.m = o.m;
  set_options.ef_construction = o.ef_construction;
  set_options.seed = o.seed;
  auto created = VectorSet::create(set_options);
  if (!created) return created.status();
  VectorSet& set = **created;
  std::vector<std::string> ids(result.n);
  for (std::size_t i = 0; i < result.n; ++i) ids[i] = std::to_string(i);
  const std::size_t threads = o.threads > 0 ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  result.params.threads = threads;
  const auto build_start = Clock::now();
  Status built = set.add_batch(ids, base->data, {}, threads, [&](const BuildProgress& p) {
    if (progress) progress("build", p.done, p.total);
  });
  if (!built) return built;
  result.build_seconds = seconds_since(build_start);
  result.vectors_per_second = static_cast<double>(result.n) / result.build_seconds;
  result.memory_bytes = set.memory_bytes();
  base->data.clear();
  base->data.shrink_to_fit();

  const std::size_t nq = result.queries;
  auto query_row = [&](std::size_t q) { return std::span<const float>(queries->row(q), result.dim); };
  for (std::size_t q = 0; q < nq; ++q) {
    SearchOptions warm;
    warm.k = o.k;
    warm.ef = o.ef_values.front();
    if (auto hits = set.search(query_row(q), warm); !hits) return hits.status();
  }

  std::size_t step = 0;
  const std::size_t steps = o.ef_values.size() * o.repeat;
  for (std::size_t ef : o.ef_values) {
    RecallRun run;
    run.ef = ef;
    run.k = o.k;
    SearchOptions search_options;
    search_options.k = o.k;
    search_options.ef = ef;
    LatencyHistogram histogram;
    double recall_sum = 0;
    SearchStats stats;
    std::vector<double> qps_values;
    for (std::size_t r = 0; r < o.repeat; ++r) {
      LatencyHistogram pass;
      double total_seconds = 0;
      for (std::size_t q = 0; q < nq; ++q) {
        const auto start = Clock::now();
        auto hits = set.search(query_row(q), search_options, r == 0 ? &stats : nullptr);
        const auto elapsed = Clock::now() - start;
        if (!hits) return hits.status();
        total_seconds += std::chrono::duration<double>(elapsed).count();
        const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
        histogram.record(ns);
        pass.record(ns);
        if (r == 0) recall_sum += recall_of(*hits, gt.row(q), o.k);
      }
      qps_values.push_back(static_cast<double>(nq) / total_seconds);
      run.repeats.push_back(RecallRepetition{qps_values.back(), pass.summary(1000.0)});
      if (progress) progress("search", ++step, steps);
    }
    run.recall_at_k = recall_sum / static_cast<double>(nq);
    run.qps = median(qps_values);
    run.latency_us = histogram.summary(1000.0);
    run.distances_per_query = static_cast<double>(stats.distances_computed) / static_cast<double>(nq);
    run.visited_per_query = static_cast<double>(stats.nodes_visited) / static_cast<double>(nq);

    if (o.query_threads > 0) {
      std::atomic<std::size_t> next{0};
      auto worker = [&] {
        for (std::size_t q = next.fetch_add(1); q < nq; q = next.fetch_add(1)) (void)set.search(query_row(q), search_options);
      };
      const auto start = Clock::now();
      std::vector<std::thread> pool;
      for (std::size_t t = 1; t < o.query_threads; ++t) pool.emplace_back(worker);
      worker();
      for (auto& t : pool) t.join();
      run.qps_parallel = static_cast<double>(nq) / seconds_since(start);
    }
    result.runs.push_back(std::move(run));
  }
  return result;
}

std::string to_json(const RecallResult& r) {
  JsonWriter out;
  out.begin_object();
  out.key("kind").value("recall");
  out.key("tool").value("semcache");
  out.key("semcache_version").value(version());
  out.key("params").begin_object();
  out.key("base").value(r.params.base_path);
  out.key("queries").value(r.params.queries_path);
  if (r.params.gt_path.empty()) {
    out.key("gt").null();
  } else {
    out.key("gt").value(r.params.gt_path);
  }
  out.key("k").value(static_cast<std::uint64_t>(r.params.k));
  out.key("metric").value(to_string(r.params.metric));
  out.key("quant").value(to_string(r.params.quantization));
  out.key("m").value(static_cast<std::uint64_t>(r.params.m));
  out.key("ef_construction").value(static_cast<std::uint64_t>(r.params.ef_construction));
  out.key("threads").value(static_cast<std::uint64_t>(r.params.threads));
  out.key("query_threads").value(static_cast<std::uint64_t>(r.params.query_threads));
  out.key("repeat").value(static_cast<std::uint64_t>(r.params.repeat));
  out.key("n").value(static_cast<std::uint64_t>(r.n));
  out.key("dim").value(static_cast<std::uint64_t>(r.dim));
  out.key("queries_count").value(static_cast<std::uint64_t>(r.queries));
  out.end_object();
  out.key("machine");
  write_json(out, r.machine);
  out.key("build").begin_object();
  out.key("seconds").value(r.build_seconds);
  out.key("vectors_per_second").value(r.vectors_per_second);
  out.key("memory_bytes").value(static_cast<std::uint64_t>(r.memory_bytes));
  out.key("ground_truth_seconds").value(r.ground_truth_seconds);
  out.end_object();
  out.key("runs").begin_array();
  for (const RecallRun& run : r.runs) {
    out.begin_object();
    out.key("ef").value(static_cast<std::uint64_t>(run.ef));
    out.key("k").value(static_cast<std::uint64_t>(run.k));
    out.key("recall_at_k").value(run.recall_at_k);
    out.key("qps").value(run.qps);
    if (run.repeats.size() > 1) {
      out.key("repeats").begin_array();
      for (const RecallRepetition& rep : run.repeats) {
        out.begin_object();
        out.key("qps").value(rep.qps);
        out.key("recall_at_k").value(run.recall_at_k);
        out.key("latency_us");
        write_latency_summary(out, rep.latency_us);
        out.end_object();
      }
      out.end_array();
    }
    if (run.qps_parallel > 0) out.key("qps_parallel").value(run.qps_parallel);
    out.key("latency_us");
    write_latency_summary(out, run.latency_us);
    out.key("distances_per_query").value(run.distances_per_query);
    out.key("visited_per_query").value(run.visited_per_query);
    out.end_object();
  }
  out.end_array();
  out.end_object();
  return out.str();
}

}  // namespace semcache
