// The replay engine (`semcache replay`): a prompt log streamed through the caches, one run per
// threshold, each on its own empty namespace, so several thresholds in one invocation give
// exactly what separate invocations would.
//
// Shape of one run. The calling thread reads the log (PromptLogReader: constant memory),
// checks each record and turns it into an Item (the cache request's strings, the entry
// attributes, the intended start under recorded pacing), and pushes it into a bounded queue;
// `concurrency` worker threads take items in log order, look up, store on a miss, and tally
// into their own Tally (histograms, counts, timeline windows), merged when the run ends. So
// reading overlaps the round trips, memory stays bounded by the queue, and workers share
// nothing but the cache, the queue and the decisions file. The log is read once more per run
// (and once up front to count its lines for the timeline windows and to peek at its first
// record) rather than held in memory.
//
// Two ways to execute a request:
//  - pace max, exact mode: a worker takes batch_size items at once and calls
//    Cache::WriteBehind::lookup_or_store, whose outcomes are exactly those of the sequential
//    calls while the whole batch costs one round trip: its reads travel with the previous
//    batch's writes (the worker flushes the last ones before it ends, inside the run's time).
//    Each request's lookup latency is its batch's time (what a caller batching like this would
//    wait); the result's params say so. With
//    several workers each has its own queue and the reader routes a request by its exact key
//    (model, tenant, canonical request): an exact outcome depends only on the earlier requests
//    of the same key, which all reach the same worker in log order, so the outcomes stay those
//    of the sequential calls while one worker computes as another waits for Redis.
//  - otherwise: lookup(), then store() on a miss or an error (as lookup_or_store does). Under
//    recorded pacing a worker sleeps until the item's intended start and measures from that
//    start, so a worker that is late (a stall in front of it) reports the wait as latency.
//
// Vectors. The log's first record decides the vector space of semantic lookups: its
// precomputed embedding (identity "precomputed", its dimension), or the embedder's. A record
// with an embedding of another size than the first embedding is bad input; a record without
// one is embedded by the embedder (in the worker, timed as part of its lookup) when the
// embedder's dimension fits the space. The Cache itself gets no embedder: every vector it
// sees is handed in, so a miss's store reuses the lookup's vector.
//
// Errors. Bad input found by the reader (a malformed line, a wrong-dimension embedding, an
// unpriced model with prices_required, a record without ts under recorded pacing) is skipped
// and counted with skip_bad_lines. Otherwise it stops reading; the workers still finish every
// item read before it, so all that was stored before the bad line is in the store (and stays
// with keep), and the run returns bad_input naming the line. A store failing during the run is
// not an error: lookups come back kError (counted as errors, stored as misses would be),
// stores are dropped (counted from the cache's statistics), and a restarted Redis is used
// again by the store's reconnect.
//
// Namespaces: options.name, or "replay-<12 random hex digits>", plus "-t<i>" when several
// thresholds are replayed. Unless keep, a run's namespaces and their change logs are deleted
// when it ends.

#include "semcache/replay.hpp"

#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "io/prompt_log_detail.hpp"
#include "semcache/embedding_cache.hpp"
#include "semcache/json_writer.hpp"
#include "semcache/memory_store.hpp"
#include "semcache/redis_cluster_store.hpp"

namespace semcache {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kUnknownModel = "unknown";
constexpr std::uint64_t kProgressEvery = 256;

std::uint64_t ns_between(Clock::time_point from, Clock::time_point to) {
  return to > from ? static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(to - from).count())
                   : 0;
}

// The vector space of semantic lookups, fixed by the log's first record.
struct VectorSpace {
  std::string identity;         // "precomputed" or the embedder's identity
  std::size_t dim = 0;
  bool precomputed = false;
  std::size_t first_embedding_line = 0;  // the first record's line when precomputed
};

// One request on its way from the reader to a worker.
struct Item {
  std::uint64_t index = 0;               // 0-based position in the run
  PromptRecord record;
  std::string canonical;
  std::string text;
  std::string attributes;
  bool embed = false;                    // the worker embeds `text` into record.embedding
  const ModelPrice* price = nullptr;
  Clock::time_point intended;            // kRecorded: when the request is due

  std::string_view model() const { return record.model.empty() ? kUnknownModel : std::string_view(record.model); }
};

// Requests travel from the reader to the workers in chunks: a worker's batch (batched
// replays) or one request. A chunk comes back to the reader with its Items once a worker is
// done with it, and the reader reads the next lines into them: their strings keep their
// capacity, so a line costs no allocation, no Item is moved, and a lock is taken per chunk.
using Chunk = std::vector<Item>;

// A bounded FIFO of chunks between the reader and the workers. close(): no more chunks
// (workers drain what is left); abort(): stop now (a worker failed).
class ChunkQueue {
 public:
  explicit ChunkQueue(std::size_t capacity) : capacity_(capacity) {}

  // Blocks while full; false when aborted.
  bool push(Chunk&& chunk) {
    std::unique_lock lock(mutex_);
    not_full_.wait(lock, [&] { return chunks_.size() < capacity_ || aborted_; });
    if (aborted_) return false;
    chunks_.push_back(std::move(chunk));
    not_empty_.notify_one();
    return true;
  }

  // The next chunk into `out`; false when nothing more will come.
  bool pop(Chunk& out) {
    std::unique_lock lock(mutex_);
    not_empty_.wait(lock, [&] { return !chunks_.empty() || closed_ || aborted_; });
    if (aborted_ || chunks_.empty()) return false;
    out = std::move(chunks_.front());
    chunks_.pop_front();
    not_full_.notify_one();
    return true;
  }

  void close() {
    std::lock_guard lock(mutex_);
    closed_ = true;
    not_empty_.notify_all();
  }

  void abort() {
    std::lock_guard lock(mutex_);
    aborted_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable not_full_;
  std::condition_variable not_empty_;
  std::deque<Chunk> chunks_;
  std::size_t capacity_;
  bool closed_ = false;
  bool aborted_ = false;
};

// Where the reader puts items: one queue that every worker takes from, or (by_key) one queue
// per worker, the item's queue chosen by a hash of its exact key, so that all the requests of
// one key go to one worker in log order. The reader fills item(), then push() adds it to its
// queue's open chunk, which is queued when it holds chunk_size items.
class ItemRouter {
 public:
  ItemRouter(std::size_t workers, std::size_t chunk_size, std::size_t capacity, bool by_key)
      : by_key_(by_key), chunk_size_(chunk_size) {
    for (std::size_t w = 0; w < (by_key ? workers : 1); ++w) {
      queues_.push_back(std::make_unique<ChunkQueue>(capacity));
      open_.emplace_back();
    }
  }

  ChunkQueue& queue_of(std::size_t worker) { return *queues_[by_key_ ? worker : 0]; }

  // The item the reader fills next: a used one whose strings keep their capacity.
  Item& item() {
    next_.embed = false;
    next_.price = nullptr;
    next_.intended = {};
    return next_;
  }

  // Adds item() to its queue's open chunk; false when aborted.
  bool push() {
    std::size_t at = 0;
    if (by_key_ && queues_.size() > 1) {
      const std::hash<std::string_view> hash;
      std::size_t h = hash(next_.model());
      h = h * 31 + hash(next_.record.tenant);
      h = h * 31 + hash(next_.canonical);
      at = h % queues_.size();
    }
    OpenChunk& open = open_[at];
    if (open.filled < open.items.size()) {
      std::swap(next_, open.items[open.filled]);  // next_ takes the used item it replaces
    } else {
      open.items.push_back(std::move(next_));
    }
    return ++open.filled < chunk_size_ || send(at);
  }

  // Queues what the open chunks hold, then tells the workers that nothing more comes.
  void close() {
    for (std::size_t at = 0; at < open_.size(); ++at) {
      if (open_[at].filled > 0) (void)send(at);
    }
    for (auto& queue : queues_) queue->close();
  }
  void abort() {
    for (auto& queue : queues_) queue->abort();
  }

  // A worker's processed chunk, for the reader to reuse (`chunk` is left empty).
  void give_back(Chunk& chunk) {
    std::lock_guard lock(spare_mutex_);
    spare_.push_back(std::move(chunk));
    chunk.clear();
  }

 private:
  struct OpenChunk {
    Chunk items;             // items [0, filled) are this chunk's; the rest wait to be reused
    std::size_t filled = 0;
  };

  bool send(std::size_t at) {
    OpenChunk& open = open_[at];
    open.items.resize(open.filled);
    const bool sent = queues_[at]->push(std::move(open.items));
    open.items.clear();
    open.filled = 0;
    std::lock_guard lock(spare_mutex_);
    if (!spare_.empty()) {
      open.items = std::move(spare_.back());
      spare_.pop_back();
    }
    return sent;
  }

  bool by_key_;
  std::size_t chunk_size_;
  std::vector<std::unique_ptr<ChunkQueue>> queues_;
  std::vector<OpenChunk> open_;  // per queue
  Item next_;
  std::mutex spare_mutex_;
  std::vector<Chunk> spare_;     // given back, under spare_mutex_
};

// The decisions file: one JSON line per request, written by every worker under one lock from
// per-worker buffers.
class DecisionLog {
 public:
  static Expected<std::unique_ptr<DecisionLog>> open(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr) return Status::io(path + ": cannot open for writing");
    return std::unique_ptr<DecisionLog>(new DecisionLog(file, path));
  }
  ~DecisionLog() { std::fclose(file_); }
  DecisionLog(const DecisionLog&) = delete;
  DecisionLog& operator=(const DecisionLog&) = delete;

  void write(const std::string& lines) {
    std::lock_guard lock(mutex_);
    if (std::fwrite(lines.data(), 1, lines.size(), file_) != lines.size()) failed_ = true;
  }
  Status finish() {
    std::lock_guard lock(mutex_);
    if (std::fflush(file_) != 0 || failed_) return Status::io(path_ + ": write failed");
    return Status::ok();
  }

 private:
  DecisionLog(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  std::mutex mutex_;
  std::FILE* file_;
  std::string path_;
  bool failed_ = false;
};

struct Window {
  std::uint64_t requests = 0;
  std::uint64_t hits = 0;
  std::uint64_t last_index = 0;
  double last_ts = 0;
};

// What one worker counted; merged into ReplayFigures at the end of a run.
struct Tally {
  std::uint64_t exact_hits = 0, semantic_hits = 0, misses = 0, errors = 0;
  std::uint64_t judged_hits = 0, false_hits = 0;
  std::uint64_t prompt_tokens_saved = 0, completion_tokens_saved = 0, unpriced_hits = 0;
  double cost_saved_usd = 0;
  std::uint64_t embed_ns = 0;
  std::uint64_t search_ns = 0;
  std::uint64_t store_ns = 0;
  bool has_groups = false;
  LatencyHistogram lookup_ns;
  LatencyHistogram end_to_end_ns;
  std::vector<Window> windows;
  std::set<std::string, std::less<>> unpriced_models;
};

// Everything the workers of one run share.
struct RunContext {
  const ReplayOptions* options = nullptr;
  std::string log_path;
  double threshold = 0;
  Cache* cache = nullptr;
  Embedder* embedder = nullptr;          // null in exact mode
  std::size_t dim = 0;
  std::uint64_t window_size = 1;
  DecisionLog* decisions = nullptr;
  std::atomic<std::uint64_t> done{0};
  std::mutex failure_mutex;
  Status failure;                        // a worker's unexpected error (not a store outage)
};

// The "line" and "group" an entry was stored with (its attributes), to judge a hit.
struct Origin {
  std::uint64_t line = 0;
  std::string group;
};

Origin parse_origin(simdjson::dom::parser& parser, const std::string& attributes_json) {
  Origin origin;
  if (attributes_json.empty()) return origin;
  simdjson::dom::element doc;
  if (parser.parse(attributes_json).get(doc) != simdjson::SUCCESS) return origin;
  std::uint64_t line = 0;
  if (doc["line"].get(line) == simdjson::SUCCESS) origin.line = line;
  std::string_view group;
  if (doc["group"].get(group) == simdjson::SUCCESS) origin.group = std::string(group);
  return origin;
}

class Worker {
 public:
  Worker(RunContext& context, ChunkQueue& queue, ItemRouter& router)
      : context_(context), queue_(queue), router_(router) {
    tally_.windows.resize(context.options->timeline_points + 1);
  }

  void run() {
    const ReplayOptions& o = *context_.options;
    const bool batched = replays_in_batches(o);
    std::optional<Cache::WriteBehind> write_behind;
    if (batched) write_behind.emplace(context_.cache->write_behind());
    Chunk items;
    while (queue_.pop(items)) {
      if (batched) {
        run_batch(*write_behind, items);
      } else {
        run_one(items.front());
      }
      if (!failed_.is_ok()) break;
      router_.give_back(items);
      if (decisions_.size() > (1u << 16)) flush_decisions();
    }
    // The last batch's writes; a failure is counted by the cache as dropped stores.
    if (write_behind) (void)write_behind->flush();
    flush_decisions();
    if (!failed_.is_ok()) {
      std::lock_guard lock(context_.failure_mutex);
      if (context_.failure.is_ok()) context_.failure = failed_;
      router_.abort();
    }
  }

  Tally& tally() { return tally_; }

 private:
  static CacheRequest request_of(const Item& item) {
    return CacheRequest{item.model(), item.record.tenant, item.canonical, item.text, item.record.embedding};
  }

  void run_batch(Cache::WriteBehind& write_behind, Chunk& items) {
    std::vector<CacheRequest> requests;
    std::vector<std::string_view> responses;
    std::vector<std::string_view> attributes;
    requests.reserve(items.size());
    responses.reserve(items.size());
    attributes.reserve(items.size());
    for (const Item& item : items) {
      requests.push_back(request_of(item));
      responses.push_back(item.record.response);
      attributes.push_back(item.attributes);
    }
    const auto start = Clock::now();
    std::vector<LookupResult> results = write_behind.lookup_or_store(requests, responses, attributes);
    const std::uint64_t batch_ns = ns_between(start, Clock::now());
    for (std::size_t i = 0; i < items.size(); ++i) {
      // A miss's store goes out with the next batch (write-behind), so it is not in batch_ns;
      // the model's time comes from the log.
      const std::uint64_t e2e = results[i].hit() ? batch_ns : batch_ns + model_ns(items[i]);
      count(items[i], results[i], batch_ns, e2e);
    }
  }

  void run_one(Item& item) {
    const ReplayOptions& o = *context_.options;
    Clock::time_point start = Clock::now();
    if (o.pace == Pace::kRecorded) {
      std::this_thread::sleep_until(item.intended);
      start = item.intended;
    }
    if (item.embed) {
      const auto embed_start = Clock::now();
      item.record.embedding.resize(context_.dim);
      const std::string_view text = item.text;
      if (Status st = context_.embedder->embed(std::span<const std::string_view>(&text, 1), item.record.embedding); !st) {
        failed_ = st.with_context(fmt::format("{}:{}: embedding the prompt", context_.log_path, item.record.line));
        return;
      }
      tally_.embed_ns += ns_between(embed_start, Clock::now());
    }
    const CacheRequest request = request_of(item);
    LookupResult result = context_.cache->lookup(request);
    const auto looked = Clock::now();
    const std::uint64_t lookup = ns_between(start, looked);
    std::uint64_t e2e = lookup;
    if (!result.hit()) {
      Status st = context_.cache->store(request, item.record.response, item.attributes);
      // Unavailable is a store outage, counted by the cache as a dropped store; anything else
      // means a request got past the reader's checks, which is a bug worth stopping for.
      if (!st && st.code() != ErrorCode::kUnavailable) {
        failed_ = Status::internal(fmt::format("line {}: store failed: {}", item.record.line, st.message()));
        return;
      }
      e2e = lookup + model_ns(item) + ns_between(looked, Clock::now());
    }
    count(item, result, lookup, e2e);
  }

  static std::uint64_t model_ns(const Item& item) {
    const double ms = item.record.latency_ms.value_or(0.0);
    return ms > 0 ? static_cast<std::uint64_t>(ms * 1e6) : 0;
  }

  void count(const Item& item, const LookupResult& result, std::uint64_t lookup_ns, std::uint64_t e2e_ns) {
    const PromptRecord& r = item.record;
    tally_.lookup_ns.record(lookup_ns);
    tally_.search_ns += result.search_ns;
    tally_.store_ns += result.store_ns;
    tally_.end_to_end_ns.record(e2e_ns);
    if (!r.group.empty()) tally_.has_groups = true;
    Window& window = tally_.windows[std::min<std::uint64_t>(item.index / context_.window_size, tally_.windows.size() - 1)];
    ++window.requests;
    if (window.requests == 1 || item.index >= window.last_index) {
      window.last_index = item.index;
      window.last_ts = r.ts.value_or(0.0);
    }
    std::string_view outcome;
    switch (result.outcome) {
      case LookupOutcome::kMiss: ++tally_.misses; outcome = "miss"; break;
      case LookupOutcome::kError: ++tally_.errors; outcome = "error"; break;
      case LookupOutcome::kExactHit: ++tally_.exact_hits; outcome = "exact"; break;
      case LookupOutcome::kSemanticHit: ++tally_.semantic_hits; outcome = "semantic"; break;
    }
    Origin origin;
    if (result.hit()) {
      ++window.hits;
      origin = parse_origin(parser_, result.entry.attributes_json);
      if (!r.group.empty() && !origin.group.empty()) {
        ++tally_.judged_hits;
        if (origin.group != r.group) ++tally_.false_hits;
      }
      const auto prompt_tokens = static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.prompt_tokens.value_or(0)));
      const auto completion_tokens = static_cast<std::uint64_t>(std::max<std::int64_t>(0, r.completion_tokens.value_or(0)));
      tally_.prompt_tokens_saved += prompt_tokens;
      tally_.completion_tokens_saved += completion_tokens;
      if (item.price != nullptr) {
        tally_.cost_saved_usd += (static_cast<double>(prompt_tokens) * item.price->input_usd_per_mtok +
                                  static_cast<double>(completion_tokens) * item.price->output_usd_per_mtok) / 1e6;
      } else {
        ++tally_.unpriced_hits;
        if (tally_.unpriced_models.find(item.model()) == tally_.unpriced_models.end()) {
          tally_.unpriced_models.emplace(item.model());
        }
      }
    }
    if (context_.decisions != nullptr) {
      decisions_ += fmt::format(R"({{"threshold":{},"line":{},"outcome":"{}")", context_.threshold, r.line, outcome);
      if (result.hit()) decisions_ += fmt::format(R"(,"source_line":{},"distance":{})", origin.line, result.distance);
      decisions_ += "}\n";
    }
    context_.done.fetch_add(1, std::memory_order_relaxed);
  }

  void flush_decisions() {
    if (context_.decisions != nullptr && !decisions_.empty()) context_.decisions->write(decisions_);
    decisions_.clear();
  }

  RunContext& context_;
  ChunkQueue& queue_;
  ItemRouter& router_;
  Tally tally_;
  simdjson::dom::parser parser_;
  std::string decisions_;
  Status failed_;
};

std::string random_hex(std::size_t digits) {
  std::random_device device;
  std::mt19937_64 rng((static_cast<std::uint64_t>(device()) << 32) ^ device());
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < digits; ++i) out.push_back(kHex[rng() % 16]);
  return out;
}

// Lines in the file (a last line without '\n' counts), up to `enough` (0: all), read in blocks:
// the timeline's windows need the request count before the replay, and a counting pass costs
// far less than parsing.
Expected<std::uint64_t> count_lines(const std::string& path, std::uint64_t enough) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) return Status::io(path + ": cannot open");
  std::vector<char> block(1u << 20);
  std::uint64_t lines = 0;
  char last = '\n';
  std::size_t got = 0;
  while ((enough == 0 || lines < enough) && (got = std::fread(block.data(), 1, block.size(), file)) > 0) {
    for (const char* p = block.data(); (p = static_cast<const char*>(std::memchr(p, '\n', block.data() + got - p)));) {
      ++lines;
      ++p;
    }
    last = block[got - 1];
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  if (failed) return Status::io(path + ": read failed");
  return lines + (last == '\n' ? 0 : 1);
}

StoreCounters counters_since(const StoreCounters& now, const StoreCounters& before) {
  StoreCounters d;
  d.batches = now.batches - before.batches;
  d.failed_batches = now.failed_batches - before.failed_batches;
  d.records_read = now.records_read - before.records_read;
  d.failed_reads = now.failed_reads - before.failed_reads;
  d.records_written = now.records_written - before.records_written;
  d.dropped_writes = now.dropped_writes - before.dropped_writes;
  d.round_trips = now.round_trips - before.round_trips;
  d.connects = now.connects - before.connects;
  d.reconnects = now.reconnects - before.reconnects;
  d.connect_failures = now.connect_failures - before.connect_failures;
  d.timeouts = now.timeouts - before.timeouts;
  d.evictions = now.evictions - before.evictions;
  d.expirations = now.expirations - before.expirations;
  return d;
}

// A cluster store's work between two of its ClusterStats; a node first seen in `now` counts
// from zero.
ReplayClusterFigures cluster_since(const ClusterStats& now, const ClusterStats& before) {
  ReplayClusterFigures d;
  for (const auto& [node, commands] : now.node_requests) {
    std::uint64_t earlier = 0;
    for (const auto& [old_node, old_commands] : before.node_requests) {
      if (old_node == node) earlier = old_commands;
    }
    d.node_commands.emplace_back(node, commands - earlier);
  }
  d.moved = now.moved - before.moved;
  d.asked = now.asked - before.asked;
  d.try_again = now.try_again - before.try_again;
  d.slot_map_loads = now.slot_map_loads - before.slot_map_loads;
  return d;
}

// One replay: the shared state of every run and the code that drives one.
class Replayer {
 public:
  Replayer(const std::string& path, const ReplayOptions& options,
           const std::function<void(const ReplayProgress&)>& progress)
      : path_(path), options_(options), progress_(progress),
        prices_(options.prices ? *options.prices : PriceTable::defaults()),
        semantic_(options.mode != CacheMode::kExact) {}

  Expected<ReplayResult> run() {
    if (Status st = check_options(); !st) return st;
    result_.log_path = path_;
    if (Status st = peek(); !st) return st;
    auto lines = count_lines(path_, options_.limit);
    if (!lines) return lines.status();
    total_requests_ = options_.limit > 0 ? std::min<std::uint64_t>(*lines, options_.limit) : *lines;
    if (!options_.redis_url.empty()) {
      auto redis = open_store_url(options_.redis_url, options_.redis);
      if (!redis) return redis.status();
      redis_ = *redis;
      result_.store = redis_->describe();
    } else {
      result_.store = "memory";
    }
    if (!options_.decisions_path.empty()) {
      auto decisions = DecisionLog::open(options_.decisions_path);
      if (!decisions) return decisions.status();
      decisions_ = std::move(*decisions);
    }
    const std::string base = options_.name.empty() ? "replay-" + random_hex(12) : options_.name;
    std::vector<std::vector<ReplayFigures>> repetitions(options_.thresholds.size());
    for (std::size_t rep = 0; rep < options_.repeat; ++rep) {
      for (std::size_t i = 0; i < options_.thresholds.size(); ++i) {
        std::string name = options_.thresholds.size() > 1 ? fmt::format("{}-t{}", base, i) : base;
        if (options_.repeat > 1) name += fmt::format("-r{}", rep);
        auto figures = run_threshold(i, name, rep);
        if (!figures) return figures.status();
        repetitions[i].push_back(std::move(*figures));
      }
    }
    for (auto& runs : repetitions) result_.runs.push_back(median_repetition(std::move(runs)));
    if (decisions_) {
      if (Status st = decisions_->finish(); !st) return st;
    }
    result_.unpriced_models.assign(unpriced_models_.begin(), unpriced_models_.end());
    return std::move(result_);
  }

 private:
  Status check_options() const {
    const ReplayOptions& o = options_;
    if (o.thresholds.empty()) return Status::invalid_argument("replay: no threshold given");
    for (double t : o.thresholds) {
      if (!(t >= 0 && t <= 2)) {
        return Status::invalid_argument(fmt::format("replay: threshold {} is outside 0..2 (a cosine distance)", t));
      }
    }
    if (!(o.speed > 0)) return Status::invalid_argument(fmt::format("replay: speed must be positive, got {}", o.speed));
    if (o.concurrency == 0) return Status::invalid_argument("replay: concurrency must be at least 1");
    if (o.batch_size == 0) return Status::invalid_argument("replay: batch size must be at least 1");
    if (o.timeline_points == 0) return Status::invalid_argument("replay: timeline_points must be at least 1");
    if (o.repeat == 0) return Status::invalid_argument("replay: repeat must be at least 1");
    return Status::ok();
  }

  // Reads the first record: its embedding (or its absence) fixes the vector space.
  Status peek() {
    auto reader = PromptLogReader::open(path_, options_.log);
    if (!reader) return reader.status();
    PromptRecord first;
    auto got = (*reader)->next(first);
    if (!got) return got.status();
    if (*got && !first.embedding.empty()) {
      first_embedding_dim_ = first.embedding.size();
      first_embedding_line_ = first.line;
    }
    if (!semantic_) return Status::ok();
    auto embedder = make_embedder(options_.embedder, options_.embedder_options);
    if (!embedder) return embedder.status();
    embedder_ = *embedder;
    if (first_embedding_dim_ > 0) {
      space_ = {"precomputed", first_embedding_dim_, true};
    } else {
      space_ = {embedder_->identity(), embedder_->dim(), false};
    }
    result_.embedder = space_.identity;
    result_.dim = space_.dim;
    return Status::ok();
  }

  Status bad_line(const PromptRecord& record, const std::string& what) const {
    return Status::bad_input(fmt::format("{}:{}: {}", path_, record.line, what));
  }

  // The reader's checks of one record, in log order; fills the item from it.
  Status prepare(Item& item, std::size_t& embedding_dim, std::size_t& embedding_line) const {
    PromptRecord& r = item.record;
    if (!r.embedding.empty() && embedding_dim != 0 && r.embedding.size() != embedding_dim) {
      return bad_line(r, fmt::format("embedding has {} values, expected {} (the dimension of the first embedding, line {})",
                                     r.embedding.size(), embedding_dim, embedding_line));
    }
    if (!semantic_) {
      // exact lookups do not use the vector (cleared below, once its size is noted)
    } else if (r.embedding.empty()) {
      if (embedder_->dim() != space_.dim) {
        return bad_line(r, fmt::format("no embedding, and the log's embeddings (from line {}) have {} dimensions while "
                                       "the embedder {} makes {}: add the embedding, or pass --embedder hash:{}",
                                       first_embedding_line_, space_.dim, embedder_->identity(), embedder_->dim(),
                                       space_.dim));
      }
      item.embed = true;
    } else if (r.embedding.size() != space_.dim) {
      return bad_line(r, fmt::format("embedding has {} values, but the log's first record has none, so vectors come "
                                     "from the embedder {} with {} dimensions",
                                     r.embedding.size(), space_.identity, space_.dim));
    }
    item.price = prices_.find(item.model());
    if (item.price == nullptr && options_.prices_required) {
      return bad_line(r, fmt::format("model \"{}\" has no price in {} (add it, or a \"*\" entry for every other model)",
                                     item.model(), prices_.source()));
    }
    if (options_.pace == Pace::kRecorded && !r.ts) {
      return bad_line(r, "no \"ts\": --pace recorded needs a timestamp on every line");
    }
    if (!r.embedding.empty() && embedding_dim == 0) {  // the first embedding sets the size (a skipped line does not)
      embedding_dim = r.embedding.size();
      embedding_line = r.line;
    }
    if (!semantic_) r.embedding.clear();
    canonical_request(r, item.canonical);
    request_text(r, item.text);
    item.attributes.reserve(32 + r.group.size());
    item.attributes = R"({"line":)";
    detail::append_json_unsigned(item.attributes, r.line);
    if (!r.group.empty()) {
      item.attributes += R"(,"group":)";
      detail::append_json_string(item.attributes, r.group);
    }
    item.attributes += '}';
    return Status::ok();
  }

  Expected<std::shared_ptr<Store>> open_store() const {
    if (redis_) return redis_;
    return make_memory_store();
  }

  // The repetition with the median throughput (the lower middle one of an even count), with
  // every repetition's timing attached when there are several.
  static ReplayFigures median_repetition(std::vector<ReplayFigures> runs) {
    if (runs.size() == 1) return std::move(runs.front());
    std::vector<ReplayRepetition> repeats;
    for (const ReplayFigures& f : runs) {
      repeats.push_back(ReplayRepetition{f.seconds, f.throughput_rps(), f.hit_rate(), f.false_hit_rate(), f.errors,
                                         f.lookup_ns.summary(1000.0), f.end_to_end_ns.summary(1000.0)});
    }
    std::vector<std::size_t> order(runs.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(),
              [&](std::size_t a, std::size_t b) { return runs[a].throughput_rps() < runs[b].throughput_rps(); });
    ReplayFigures median = std::move(runs[order[(order.size() - 1) / 2]]);
    median.repeats = std::move(repeats);
    return median;
  }

  // One threshold's replay; `repetition` > 0 replays again (no decisions file then).
  Expected<ReplayFigures> run_threshold(std::size_t index, const std::string& name, std::size_t repetition) {
    const ReplayOptions& o = options_;
    auto opened_store = open_store();
    if (!opened_store) return opened_store.status();
    std::shared_ptr<Store> store = *opened_store;
    const StoreCounters before = store->counters();
    const std::optional<ClusterStats> cluster_before = cluster_stats(*store);

    std::shared_ptr<Embedder> embedder = embedder_;
    if (embedder && o.embedding_cache) {
      embedder = std::make_shared<EmbeddingCache>(embedder_, store, EmbeddingCacheOptions{o.prefix, o.ttl});
    }
    CacheOptions cache_options;
    cache_options.prefix = o.prefix;
    cache_options.name = name;
    cache_options.mode = o.mode;
    cache_options.threshold = o.thresholds[index];
    cache_options.ttl = o.ttl;
    cache_options.ef = o.ef;
    cache_options.candidates = o.candidates;
    cache_options.follow_interval = std::chrono::milliseconds(0);  // one process: nothing to follow
    if (semantic_) {
      cache_options.dim = space_.dim;
      cache_options.vector_identity = space_.identity;
    }
    auto cache = Cache::open(store, cache_options);
    if (!cache) return cache.status();

    RunContext context;
    context.options = &o;
    context.log_path = path_;
    context.threshold = o.thresholds[index];
    context.cache = cache->get();
    context.embedder = embedder.get();
    context.dim = space_.dim;
    context.window_size = std::max<std::uint64_t>(1, (total_requests_ + o.timeline_points - 1) / o.timeline_points);
    context.decisions = repetition == 0 ? decisions_.get() : nullptr;

    const bool batched = replays_in_batches(o);
    // Batched: two batches queued per worker; else single requests, a few per worker.
    ItemRouter router(o.concurrency, batched ? o.batch_size : 1, batched ? 2 : std::max<std::size_t>(64, 8 * o.concurrency),
                      batched);
    std::vector<std::unique_ptr<Worker>> workers;
    std::vector<std::thread> threads;
    for (std::size_t w = 0; w < o.concurrency; ++w) {
      workers.push_back(std::make_unique<Worker>(context, router.queue_of(w), router));
      threads.emplace_back([worker = workers.back().get()] { worker->run(); });
    }

    const auto start = Clock::now();
    Status read_status = feed(router, context, index, start);
    router.close();
    for (std::thread& thread : threads) thread.join();
    ReplayFigures figures = merge(workers, **cache, o.thresholds[index]);
    figures.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    figures.store = counters_since(store->counters(), before);
    if (cluster_before) figures.cluster = cluster_since(*cluster_stats(*store), *cluster_before);
    if (!o.keep) drop_namespaces(**cache, *store);
    if (!read_status) return read_status;
    {
      std::lock_guard lock(context.failure_mutex);
      if (!context.failure) return context.failure;
    }
    return figures;
  }

  // Deletes the run's entries, then its change logs (PREFIX:{NAME:MODEL}:log, cache.hpp), which
  // the drop leaves for other processes to follow: a replay is the only process of its
  // namespaces, so nothing is left behind. Best effort: if the store is down now, the entries
  // are left to their TTL.
  static void drop_namespaces(Cache& cache, Store& store) {
    StoreBatch logs;
    for (const NamespaceStats& stats : cache.stats()) {
      logs.deletes.push_back(cache.options().prefix + ":{" + stats.key + "}:log");
    }
    if (!cache.invalidate_namespace("")) return;
    if (!logs.empty()) (void)store.execute(logs);
  }

  // The reader's side of a run: records in log order into the queue, until the end, the
  // limit, bad input, or the workers giving up.
  Status feed(ItemRouter& queue, RunContext& context, std::size_t run_index, Clock::time_point start) {
    auto opened = PromptLogReader::open(path_, options_.log);
    if (!opened) return opened.status();
    PromptLogReader& reader = **opened;
    std::size_t embedding_dim = first_embedding_dim_;
    std::size_t embedding_line = first_embedding_line_;
    std::optional<double> first_ts;
    std::uint64_t index = 0;
    // Lines skipped by the reader (malformed) and by prepare() (wrong dimension, unpriced, no
    // ts), their messages in line order, the first kMaxSkippedMessages kept.
    std::uint64_t skipped_here = 0;
    std::size_t reader_messages = 0;
    std::vector<std::string> skipped_messages;
    auto note_skipped = [&](const std::string& message) {
      if (skipped_messages.size() < PromptLogReader::kMaxSkippedMessages) skipped_messages.push_back(message);
    };
    Status status;
    while (options_.limit == 0 || index < options_.limit) {
      Item& item = queue.item();
      auto got = reader.next(item.record);
      for (; reader_messages < reader.skipped_messages().size(); ++reader_messages) {
        note_skipped(reader.skipped_messages()[reader_messages]);
      }
      if (!got) {
        status = got.status();
        break;
      }
      if (!*got) break;
      if (Status st = prepare(item, embedding_dim, embedding_line); !st) {
        if (options_.log.skip_bad_lines) {
          ++skipped_here;
          note_skipped(st.message());
          continue;
        }
        status = st;
        break;
      }
      if (options_.pace == Pace::kRecorded) {
        if (!first_ts) first_ts = item.record.ts;
        const double offset_seconds = (*item.record.ts - *first_ts) / options_.speed;
        item.intended = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(offset_seconds));
      }
      item.index = index++;
      if (!queue.push()) break;
      if (progress_ && index % kProgressEvery == 0) report(run_index, context, reader);
    }
    if (run_index == 0) {
      result_.lines = reader.lines_read();
      result_.skipped_lines = reader.skipped() + skipped_here;
      result_.skipped_messages = std::move(skipped_messages);
    }
    if (progress_) report(run_index, context, reader);
    return status;
  }

  void report(std::size_t run_index, const RunContext& context, const PromptLogReader& reader) const {
    ReplayProgress p;
    p.run = run_index;
    p.runs = options_.thresholds.size();
    p.requests = context.done.load(std::memory_order_relaxed);
    p.bytes_read = reader.bytes_read();
    progress_(p);
  }

  ReplayFigures merge(const std::vector<std::unique_ptr<Worker>>& workers, const Cache& cache, double threshold) {
    ReplayFigures f;
    f.threshold = threshold;
    std::vector<Window> windows(options_.timeline_points + 1);
    for (const auto& worker : workers) {
      const Tally& t = worker->tally();
      f.exact_hits += t.exact_hits;
      f.semantic_hits += t.semantic_hits;
      f.misses += t.misses;
      f.errors += t.errors;
      f.judged_hits += t.judged_hits;
      f.false_hits += t.false_hits;
      f.prompt_tokens_saved += t.prompt_tokens_saved;
      f.completion_tokens_saved += t.completion_tokens_saved;
      f.cost_saved_usd += t.cost_saved_usd;
      f.unpriced_hits += t.unpriced_hits;
      f.embed_ns += t.embed_ns;
      f.search_ns += t.search_ns;
      f.store_ns += t.store_ns;
      f.has_groups = f.has_groups || t.has_groups;
      f.lookup_ns.merge(t.lookup_ns);
      f.end_to_end_ns.merge(t.end_to_end_ns);
      unpriced_models_.insert(t.unpriced_models.begin(), t.unpriced_models.end());
      for (std::size_t w = 0; w < windows.size(); ++w) {
        const Window& from = t.windows[w];
        if (from.requests == 0) continue;
        Window& to = windows[w];
        if (to.requests == 0 || from.last_index > to.last_index) {
          to.last_index = from.last_index;
          to.last_ts = from.last_ts;
        }
        to.requests += from.requests;
        to.hits += from.hits;
      }
    }
    f.requests = f.exact_hits + f.semantic_hits + f.misses + f.errors;
    std::uint64_t cumulative = 0;
    for (const Window& w : windows) {
      if (w.requests == 0) continue;
      cumulative += w.requests;
      f.timeline.push_back({cumulative, w.last_ts, static_cast<double>(w.hits) / static_cast<double>(w.requests)});
    }
    for (const NamespaceStats& stats : cache.stats()) {
      f.dropped_stores += stats.dropped_stores;
      if (f.first_store_error.empty()) f.first_store_error = stats.first_error;
    }
    return f;
  }

  const std::string& path_;
  const ReplayOptions& options_;
  const std::function<void(const ReplayProgress&)>& progress_;
  PriceTable prices_;
  bool semantic_;
  std::shared_ptr<Embedder> embedder_;      // semantic modes
  VectorSpace space_;
  std::size_t first_embedding_dim_ = 0;     // of the log's first record; 0: it has none
  std::size_t first_embedding_line_ = 0;
  std::uint64_t total_requests_ = 0;
  std::shared_ptr<Store> redis_;
  std::unique_ptr<DecisionLog> decisions_;
  std::set<std::string, std::less<>> unpriced_models_;
  ReplayResult result_;
};

}  // namespace

Expected<ReplayResult> run_replay(const std::string& log_path, const ReplayOptions& options,
                                  const std::function<void(const ReplayProgress&)>& progress) {
  return Replayer(log_path, options, progress).run();
}

bool replays_in_batches(const ReplayOptions& options) {
  return options.pace == Pace::kMax && options.mode == CacheMode::kExact;
}

}  // namespace semcache
