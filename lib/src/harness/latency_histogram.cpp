// LatencyHistogram: bucket i < 2048 holds the value i; above that, a value v with highest set
// bit b (b >= 11) falls in group e = b - 10, and keeps its top 11 bits: index
// 2048 + (e - 1) * 1024 + ((v >> e) - 1024). 54 groups cover every uint64; the buckets grow
// a group at a time up to the largest value recorded.

#include "semcache/latency_histogram.hpp"

#include "semcache/json_writer.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace semcache {
namespace {

constexpr std::size_t kExact = 2048;
constexpr std::size_t kSubBuckets = 1024;

std::size_t bucket_of(std::uint64_t v) {
  if (v < kExact) return static_cast<std::size_t>(v);
  const int b = 63 - std::countl_zero(v);
  const int e = b - 10;
  return kExact + static_cast<std::size_t>(e - 1) * kSubBuckets + static_cast<std::size_t>((v >> e) - kSubBuckets);
}

double bucket_middle(std::size_t index) {
  if (index < kExact) return static_cast<double>(index);
  const std::size_t e = (index - kExact) / kSubBuckets + 1;
  const std::uint64_t top = (index - kExact) % kSubBuckets + kSubBuckets;
  const double low = std::ldexp(static_cast<double>(top), static_cast<int>(e));
  return low + std::ldexp(0.5, static_cast<int>(e)) - 0.5;
}

}  // namespace

void LatencyHistogram::grow_to(std::size_t bucket) {
  // up to the end of the bucket's group: a group is 1,024 buckets, so growth stays rare
  const std::size_t size = bucket < kExact ? kExact : kExact + ((bucket - kExact) / kSubBuckets + 1) * kSubBuckets;
  buckets_.resize(size, 0);
}

void LatencyHistogram::record(std::uint64_t value) {
  const std::size_t bucket = bucket_of(value);
  if (bucket >= buckets_.size()) grow_to(bucket);
  ++buckets_[bucket];
  ++count_;
  max_ = std::max(max_, value);
  sum_ += static_cast<double>(value);
}

void LatencyHistogram::merge(const LatencyHistogram& other) {
  if (other.buckets_.size() > buckets_.size()) buckets_.resize(other.buckets_.size(), 0);
  for (std::size_t i = 0; i < other.buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_ = std::max(max_, other.max_);
  sum_ += other.sum_;
}

void LatencyHistogram::clear() {
  std::fill(buckets_.begin(), buckets_.end(), 0);
  count_ = 0;
  max_ = 0;
  sum_ = 0;
}

double LatencyHistogram::quantile(double q) const {
  if (count_ == 0) return 0;
  const double clamped = std::clamp(q, 0.0, 1.0);
  const std::uint64_t rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::ceil(clamped * static_cast<double>(count_))));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) return std::min(bucket_middle(i), static_cast<double>(max_));
  }
  return static_cast<double>(max_);
}

LatencySummary LatencyHistogram::summary(double divisor) const {
  LatencySummary s;
  s.count = count_;
  if (count_ == 0) return s;
  s.p50 = quantile(0.50) / divisor;
  s.p90 = quantile(0.90) / divisor;
  s.p99 = quantile(0.99) / divisor;
  s.p999 = quantile(0.999) / divisor;
  s.max = static_cast<double>(max_) / divisor;
  s.mean = sum_ / static_cast<double>(count_) / divisor;
  return s;
}

void write_latency_summary(JsonWriter& out, const LatencySummary& summary) {
  out.begin_object();
  out.key("p50").value(summary.p50);
  out.key("p90").value(summary.p90);
  out.key("p99").value(summary.p99);
  out.key("p999").value(summary.p999);
  out.key("max").value(summary.max);
  out.key("mean").value(summary.mean);
  out.end_object();
}

}  // namespace semcache
