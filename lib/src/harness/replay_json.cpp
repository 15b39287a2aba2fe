// The replay's derived figures and its result JSON (DESIGN.md "Result JSON", kind "replay").
//
// The first run's figures are written at the top level, so a tool that reads one replay reads
// it like any other result, and every run (the first included) is in per_threshold[], each
// with its "threshold", so one key serves one threshold or several. The judged figures
// (false hits and precision) are written only when the log carries ground-truth groups:
// without them a zero would claim a correctness the replay could not check. A Redis Cluster
// store adds "redis_nodes" (commands each node answered during the run) and "redis_redirects";
// other stores' JSON has neither.

#include <cmath>

#include "semcache/json_writer.hpp"
#include "semcache/machine.hpp"
#include "semcache/replay.hpp"
#include "harness/ratio.hpp"

namespace semcache {

namespace {

using detail::ratio;

void write_latency(JsonWriter& out, const LatencyHistogram& histogram_ns) {
  write_latency_summary(out, histogram_ns.summary(1000.0));
}

void write_counters(JsonWriter& out, const StoreCounters& c) {
  out.begin_object();
  out.key("batches").value(c.batches);
  out.key("failed_batches").value(c.failed_batches);
  out.key("records_read").value(c.records_read);
  out.key("failed_reads").value(c.failed_reads);
  out.key("records_written").value(c.records_written);
  out.key("dropped_writes").value(c.dropped_writes);
  out.key("round_trips").value(c.round_trips);
  out.key("connects").value(c.connects);
  out.key("reconnects").value(c.reconnects);
  out.key("connect_failures").value(c.connect_failures);
  out.key("timeouts").value(c.timeouts);
  out.key("evictions").value(c.evictions);
  out.key("expirations").value(c.expirations);
  out.end_object();
}

// One run's figures as members of the object being written.
void write_figures(JsonWriter& out, const ReplayFigures& f) {
  out.key("threshold").value(f.threshold);
  out.key("similarity").value(1.0 - f.threshold);
  out.key("requests").value(f.requests);
  out.key("hits").begin_object();
  out.key("exact").value(f.exact_hits);
  out.key("semantic").value(f.semantic_hits);
  out.end_object();
  out.key("misses").value(f.misses);
  out.key("hit_rate").value(f.hit_rate());
  if (f.has_groups) {
    out.key("judged_hits").value(f.judged_hits);
    out.key("false_hits").value(f.false_hits);
    out.key("false_hit_rate").value(f.false_hit_rate());
    const Interval ci = f.false_hit_rate_interval();
    out.key("false_hit_rate_ci95").begin_object();
    out.key("low").value(ci.low);
    out.key("high").value(ci.high);
    out.end_object();
    out.key("precision").value(f.precision());
  }
  out.key("latency_us").begin_object();
  out.key("lookup");
  write_latency(out, f.lookup_ns);
  out.key("end_to_end");
  write_latency(out, f.end_to_end_ns);
  out.end_object();
  out.key("throughput_rps").value(f.throughput_rps());
  out.key("tokens_saved").value(f.prompt_tokens_saved + f.completion_tokens_saved);
  out.key("prompt_tokens_saved").value(f.prompt_tokens_saved);
  out.key("completion_tokens_saved").value(f.completion_tokens_saved);
  out.key("cost_saved_usd").value(f.cost_saved_usd);
  out.key("unpriced_hits").value(f.unpriced_hits);
  out.key("errors").value(f.errors);
  out.key("dropped_stores").value(f.dropped_stores);
  if (!f.first_store_error.empty()) out.key("first_store_error").value(f.first_store_error);
  out.key("seconds").value(f.seconds);
  const double lookup_total_ns = f.lookup_ns.summary().mean * static_cast<double>(f.lookup_ns.count());
  auto share = [&](std::uint64_t ns) { return lookup_total_ns > 0 ? static_cast<double>(ns) / lookup_total_ns : 0.0; };
  out.key("embed_share").value(share(f.embed_ns));
  out.key("search_share").value(share(f.search_ns));
  out.key("store_share").value(share(f.store_ns));
  out.key("timeline").begin_array();
  for (const TimelinePoint& point : f.timeline) {
    out.begin_object();
    out.key("requests").value(point.requests);
    out.key("ts").value(point.ts);
    out.key("hit_rate").value(point.hit_rate);
    out.end_object();
  }
  out.end_array();
  out.key("store");
  write_counters(out, f.store);
  if (f.cluster) {
    out.key("redis_nodes").begin_array();
    for (const auto& [node, commands] : f.cluster->node_commands) {
      out.begin_object();
      out.key("node").value(node);
      out.key("commands").value(commands);
      out.end_object();
    }
    out.end_array();
    out.key("redis_redirects").begin_object();
    out.key("moved").value(f.cluster->moved);
    out.key("asked").value(f.cluster->asked);
    out.key("try_again").value(f.cluster->try_again);
    out.key("slot_map_loads").value(f.cluster->slot_map_loads);
    out.end_object();
  }
  if (!f.repeats.empty()) {
    out.key("repeats").begin_array();
    for (const ReplayRepetition& r : f.repeats) {
      out.begin_object();
      out.key("seconds").value(r.seconds);
      out.key("throughput_rps").value(r.throughput_rps);
      out.key("hit_rate").value(r.hit_rate);
      if (f.has_groups) out.key("false_hit_rate").value(r.false_hit_rate);
      out.key("errors").value(r.errors);
      out.key("latency_us").begin_object();
      out.key("lookup");
      write_latency_summary(out, r.lookup_us);
      out.key("end_to_end");
      write_latency_summary(out, r.end_to_end_us);
      out.end_object();
      out.end_object();
    }
    out.end_array();
  }
}

std::string_view pace_name(Pace pace) { return pace == Pace::kMax ? "max" : "recorded"; }

}  // namespace

double ReplayFigures::hit_rate() const { return ratio(hits(), requests); }
double ReplayFigures::false_hit_rate() const { return ratio(false_hits, requests); }
double ReplayFigures::precision() const { return judged_hits > 0 ? ratio(judged_hits - false_hits, judged_hits) : 1.0; }
Interval ReplayFigures::false_hit_rate_interval() const { return wilson_interval(false_hits, requests); }
double ReplayFigures::throughput_rps() const { return seconds > 0 ? static_cast<double>(requests) / seconds : 0.0; }

std::string replay_result_json(const ReplayResult& result, const ReplayOptions& options) {
  JsonWriter out;
  out.begin_object();
  out.key("kind").value("replay");
  out.key("tool").value("semcache");
  out.key("semcache_version").value(version());
  const bool batched = replays_in_batches(options);
  out.key("params").begin_object();
  out.key("log").value(result.log_path);
  out.key("store").value(result.store);
  out.key("mode").value(to_string(options.mode));
  out.key("thresholds").begin_array();
  for (double t : options.thresholds) out.value(t);
  out.end_array();
  out.key("embedder").value(result.embedder);
  out.key("dim").value(static_cast<std::uint64_t>(result.dim));
  out.key("embedding_cache").value(options.embedding_cache);
  out.key("pace").value(pace_name(options.pace));
  out.key("speed").value(options.speed);
  out.key("concurrency").value(static_cast<std::uint64_t>(options.concurrency));
  out.key("batch_size").value(static_cast<std::uint64_t>(batched ? options.batch_size : 1));
  out.key("lookup_latency").value(
      batched ? "each request's lookup latency is the time of its pipelined batch: one round trip with the reads of "
                "batch_size requests and the previous batch's writes (Cache::WriteBehind)"
              : options.pace == Pace::kRecorded ? "from each request's intended start (open loop)"
                                                : "per request, from when a worker took it");
  out.key("repeat").value(static_cast<std::uint64_t>(options.repeat));
  if (options.repeat > 1) {
    out.key("figures").value("the repetition with the median throughput_rps; repeats[] holds every repetition");
  }
  out.key("ttl_seconds").value(static_cast<double>(options.ttl.count()) / 1000.0);
  out.key("ef").value(static_cast<std::uint64_t>(options.ef));
  out.key("candidates").value(static_cast<std::uint64_t>(options.candidates));
  out.key("prefix").value(options.prefix);
  out.key("limit").value(static_cast<std::uint64_t>(options.limit));
  out.key("on_error").value(options.log.skip_bad_lines ? "skip" : "fail");
  out.key("prices").value(options.prices ? options.prices->source() : PriceTable::defaults().source());
  out.key("fields").begin_object();
  for (const auto& [canonical, in_file] : options.log.field_names) out.key(canonical).value(in_file);
  out.end_object();
  out.end_object();
  out.key("machine");
  write_json(out, machine_info());
  out.key("lines").value(result.lines);
  out.key("skipped_lines").value(result.skipped_lines);
  out.key("skipped_messages").begin_array();
  for (const std::string& message : result.skipped_messages) out.value(message);
  out.end_array();
  out.key("unpriced_models").begin_array();
  for (const std::string& model : result.unpriced_models) out.value(model);
  out.end_array();
  if (!result.runs.empty()) write_figures(out, result.runs.front());
  out.key("per_threshold").begin_array();
  for (const ReplayFigures& run : result.runs) {
    out.begin_object();
    write_figures(out, run);
    out.end_object();
  }
  out.end_array();
  out.end_object();
  return out.str();
}

}  // namespace semcache
