#pragma once
// A log-linear latency histogram (HdrHistogram's layout): exact below 2048, then 1024 buckets
// per power of two, so every recorded value keeps 3 significant digits (error < 0.1%).
// Values are integers in any unit the caller picks (the harness records nanoseconds). The buckets
// reach only as far as the largest value recorded: 66 kB for latencies up to 131 us in
// nanoseconds, 172 kB up to a second, against 459 kB for every uint64 (each cache namespace
// and each replay worker holds one, made when it starts).

#include <cstdint>
#include <vector>

namespace semcache {

class JsonWriter;

struct LatencySummary {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0;
  std::uint64_t count = 0;
};

class LatencyHistogram {
 public:
  void record(std::uint64_t value);
  void merge(const LatencyHistogram& other);
  void clear();

  std::uint64_t count() const { return count_; }
  std::uint64_t max() const { return max_; }
  // The value at quantile q in [0, 1] (nearest rank), at the middle of its bucket.
  double quantile(double q) const;
  // Percentiles divided by `divisor` (e.g. 1000 to turn nanoseconds into microseconds).
  LatencySummary summary(double divisor = 1.0) const;

 private:
  void grow_to(std::size_t bucket);

  std::vector<std::uint64_t> buckets_;
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  double sum_ = 0;
};

// Writes {"p50", "p90", "p99", "p999", "max", "mean"}: the latency object of every result JSON.
void write_latency_summary(JsonWriter& out, const LatencySummary& summary);

}  // namespace semcache
