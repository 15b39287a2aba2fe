// VectorSet: the id layer over the HNSW graph.
//
// Ids map to dense slots (reused after deletion); per slot the set keeps the id and the
// attributes (SlotRecord) and the graph keeps the code and the links. The order of an insert
// is what makes lock-free readers safe: reserve the slot in the id map, write the SlotRecord,
// encode the vector and set the slot's live bit (release), then link it into the graph. A
// reader that finds the id before the live bit is set treats it as absent.
//
// Locks, outermost first: rw_mutex (shared: search, add; exclusive: remove, set_attributes,
// save, an add of an existing id), then id_mutex (the id map), then the graph's own link
// stripes. See vector_set.hpp for what runs concurrently with what.
//
// Filtered search walks the graph as usual but only admits matching elements into the
// results, visiting at most filter_effort nodes; when that yields fewer than k elements it
// falls back to an exact scan of the matching elements, so a selective filter is never
// answered with fewer results than exist.

#include "semcache/vector_set.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <thread>

#include "vector/vector_set_impl.hpp"

namespace semcache {
namespace {

using detail::Neighbor;
using detail::VectorSetImpl;

Status validate_vector(std::span<const float> vector, std::size_t dim, std::string_view what) {
  if (vector.size() != dim) {
    return Status::bad_input(std::string(what) + ": vector has " + std::to_string(vector.size()) +
                             " components, expected " + std::to_string(dim));
  }
  for (std::size_t i = 0; i < vector.size(); ++i) {
    if (!std::isfinite(vector[i])) {
      return Status::bad_input(std::string(what) + ": component " + std::to_string(i) + " is " +
                               (std::isnan(vector[i]) ? "NaN" : "infinite"));
    }
  }
  return Status::ok();
}

// When `id` holds exactly the code `vector` encodes to (the same vector added again, as a cache
// entry stored anew after it had been evicted), sets its attributes and returns true: the graph
// stays as it is, where a replacement would remove the element, a pass over every link list
// that was a third of the soak's time under eviction, and insert it again.
bool keep_same_vector(VectorSetImpl& s, std::string_view id, std::span<const float> vector, std::string& attributes) {
  const detail::VectorCodec& codec = s.graph.codec();
  std::vector<std::byte> code(codec.code_bytes());
  codec.encode(vector.data(), code.data());
  std::unique_lock<std::shared_mutex> exclusive(s.rw_mutex);
  auto it = s.ids.find(id);
  if (it == s.ids.end() || !s.graph.is_live(it->second) ||
      std::memcmp(s.graph.code(it->second), code.data(), code.size()) != 0) {
    return false;
  }
  s.records.at(it->second).attributes = std::move(attributes);
  return true;
}

// A query in the two forms search needs: the code the graph compares with, and (int8 with
// re-ranking) the unquantised vector for the final scores. Per thread, reused across searches.
struct PreparedQuery {
  std::vector<std::byte> code;
  std::vector<float> exact;
  float norm2 = 0;
  bool rerank = false;

  float distance(const detail::VectorCodec& codec, const std::byte* element) const {
    return rerank ? codec.exact_query_distance(exact.data(), norm2, element) : codec.distance(code.data(), element);
  }
};

PreparedQuery& prepare(const detail::VectorCodec& codec, std::span<const float> query, bool rerank) {
  thread_local PreparedQuery prepared;
  prepared.code.resize(codec.code_bytes());
  codec.encode(query.data(), prepared.code.data());
  prepared.rerank = rerank && codec.has_exact_query_distance();
  if (prepared.rerank) {
    prepared.exact.resize(codec.dim());
    prepared.norm2 = codec.prepare_query(query.data(), prepared.exact.data());
  }
  return prepared;
}

// What a filtered search admits: an id prefix and/or an attribute filter, both when given.
struct FilterContext {
  const VectorSetImpl* set;
  const Filter* filter;
  std::string_view id_prefix;

  bool admits(std::uint32_t slot) const {
    const auto& record = set->records.at(slot);
    if (!id_prefix.empty() && !std::string_view(record.id).starts_with(id_prefix)) return false;
    return filter == nullptr || filter->matches(record.attributes);
  }
};

bool slot_matches(const void* context, std::uint32_t slot) {
  return static_cast<const FilterContext*>(context)->admits(slot);
}

std::vector<Neighbor> scan(const VectorSetImpl& set, const PreparedQuery& query, std::size_t k,
                           const FilterContext& admit) {
  std::vector<Neighbor> all;
  const std::uint32_t end = set.graph.slot_end();
  const bool filtered = admit.filter != nullptr || !admit.id_prefix.empty();
  for (std::uint32_t slot = 0; slot < end; ++slot) {
    if (!set.graph.is_live(slot)) continue;
    if (filtered && !admit.admits(slot)) continue;
    all.push_back({query.distance(set.codec, set.graph.code(slot)), slot});
  }
  const std::size_t keep = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(keep), all.end());
  all.resize(keep);
  return all;
}

std::vector<SearchHit> to_hits(const VectorSetImpl& set, const std::vector<Neighbor>& found) {
  std::vector<SearchHit> hits;
  hits.reserve(found.size());
  for (const Neighbor& n : found) hits.push_back({set.records.at(n.slot).id, n.distance});
  return hits;
}

}  // namespace

VectorSet::VectorSet(std::unique_ptr<detail::VectorSetImpl> impl) : impl_(std::move(impl)) {}
VectorSet::~VectorSet() = default;

Expected<std::unique_ptr<VectorSet>> VectorSet::create(const VectorSetOptions& options) {
  if (options.dim == 0 || options.dim > 65536) {
    return Status::invalid_argument("vector set: dimension must be 1..65536, got " + std::to_string(options.dim));
  }
  if (options.m < 2 || options.m > 128) {
    return Status::invalid_argument("vector set: M must be 2..128, got " + std::to_string(options.m));
  }
  if (options.ef_construction < 1 || options.ef_construction > 10000) {
    return Status::invalid_argument("vector set: ef_construction must be 1..10000, got " +
                                    std::to_string(options.ef_construction));
  }
  return std::unique_ptr<VectorSet>(new VectorSet(std::make_unique<VectorSetImpl>(options)));
}

Expected<bool> VectorSet::add(std::string_view id, std::span<const float> vector, std::string_view attributes_json) {
  VectorSetImpl& s = *impl_;
  if (id.empty()) return Status::bad_input("element id must not be empty");
  if (Status st = validate_vector(vector, s.options.dim, "element '" + std::string(id) + "'"); !st) return st;
  auto attributes = normalize_attributes(attributes_json);
  if (!attributes) return attributes.status().with_context("element '" + std::string(id) + "'");

  bool replaced = false;
  for (;;) {
    std::shared_lock<std::shared_mutex> shared(s.rw_mutex);
    std::uint32_t slot = 0;
    {
      std::unique_lock<std::shared_mutex> ids(s.id_mutex);
      if (s.ids.find(id) != s.ids.end()) {
        ids.unlock();
        shared.unlock();
        if (keep_same_vector(s, id, vector, attributes.value())) return false;
        remove(id);  // replace = remove + insert; another writer may race us, hence the loop
        replaced = true;
        continue;
      }
      if (!s.free_slots.empty()) {
        slot = s.free_slots.back();
        s.free_slots.pop_back();
      } else {
        slot = s.next_slot++;
      }
      if (!s.records.ensure(slot)) return Status::internal("vector set: out of memory");
      s.ids.emplace(std::string(id), slot);
    }
    s.records.at(slot) = {std::string(id), std::move(attributes.value())};
    if (!s.graph.prepare(slot, vector.data())) return Status::internal("vector set: out of memory");
    s.graph.insert(slot);
    return !replaced;
  }
}

Status VectorSet::add_batch(std::span<const std::string> ids, std::span<const float> rows,
                            std::span<const std::string> attributes, std::size_t threads,
                            const std::function<void(const BuildProgress&)>& progress) {
  VectorSetImpl& s = *impl_;
  const std::size_t n = ids.size();
  const std::size_t dim = s.options.dim;
  if (rows.size() != n * dim) {
    return Status::invalid_argument("add_batch: " + std::to_string(rows.size()) + " floats for " + std::to_string(n) +
                                    " rows of dimension " + std::to_string(dim));
  }
  if (!attributes.empty() && attributes.size() != n) {
    return Status::invalid_argument("add_batch: attributes for " + std::to_string(attributes.size()) + " of " +
                                    std::to_string(n) + " rows");
  }
  std::vector<std::string> normalized(attributes.empty() ? 0 : n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::string what = "row " + std::to_string(i) + " (id '" + ids[i] + "')";
    if (ids[i].empty()) return Status::bad_input(what + ": id must not be empty");
    if (Status st = validate_vector(rows.subspan(i * dim, dim), dim, what); !st) return st;
    if (!attributes.empty()) {
      auto a = normalize_attributes(attributes[i]);
      if (!a) return a.status().with_context(what);
      normalized[i] = std::move(a.value());
    }
  }

  std::shared_lock<std::shared_mutex> shared(s.rw_mutex);
  std::vector<std::uint32_t> slots(n);
  {
    std::unique_lock<std::shared_mutex> id_guard(s.id_mutex);
    std::unordered_map<std::string_view, std::size_t> seen;
    seen.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      if (s.ids.find(ids[i]) != s.ids.end()) return Status::bad_input("id '" + ids[i] + "' is already in the set");
      if (auto [it, fresh] = seen.emplace(ids[i], i); !fresh) {
        return Status::bad_input("id '" + ids[i] + "' repeats (rows " + std::to_string(it->second) + " and " +
                                 std::to_string(i) + ")");
      }
    }
    for (std::size_t i = 0; i < n; ++i) {
      if (!s.free_slots.empty()) {
        slots[i] = s.free_slots.back();
        s.free_slots.pop_back();
      } else {
        slots[i] = s.next_slot++;
      }
      if (!s.records.ensure(slots[i])) return Status::internal("vector set: out of memory");
      s.ids.emplace(ids[i], slots[i]);
    }
  }
  for (std::size_t i = 0; i < n; ++i) {
    s.records.at(slots[i]) = {ids[i], attributes.empty() ? std::string() : std::move(normalized[i])};
  }

  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  std::atomic<bool> failed{false};
  std::mutex progress_mutex;
  const std::size_t report_every = std::max<std::size_t>(1, n / 200);
  auto work = [&] {
    for (;;) {
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n || failed.load(std::memory_order_relaxed)) return;
      if (!s.graph.prepare(slots[i], rows.data() + i * dim)) {
        failed = true;
        return;
      }
      s.graph.insert(slots[i]);
      const std::size_t finished = done.fetch_add(1, std::memory_order_relaxed) + 1;
      if (progress && (finished % report_every == 0 || finished == n)) {
        std::lock_guard<std::mutex> guard(progress_mutex);
        progress({finished, n});
      }
    }
  };
  const std::size_t workers = std::clamp<std::size_t>(threads, 1, 256);
  std::vector<std::thread> pool;
  for (std::size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failed) return Status::internal("vector set: out of memory while building");
  return Status::ok();
}

std::size_t VectorSet::remove_batch(std::span<const std::string> ids) {
  VectorSetImpl& s = *impl_;
  std::unique_lock<std::shared_mutex> exclusive(s.rw_mutex);
  std::unique_lock<std::shared_mutex> id_guard(s.id_mutex);
  std::vector<std::uint32_t> slots;
  for (const std::string& id : ids) {
    auto it = s.ids.find(id);
    if (it == s.ids.end()) continue;
    slots.push_back(it->second);
    s.ids.erase(it);
  }
  if (slots.empty()) return 0;
  s.graph.remove(slots);
  for (std::uint32_t slot : slots) {
    s.records.at(slot) = {};
    s.free_slots.push_back(slot);
  }
  return slots.size();
}

bool VectorSet::remove(std::string_view id) {
  const std::string key(id);
  return remove_batch(std::span<const std::string>(&key, 1)) == 1;
}

Status VectorSet::set_attributes(std::string_view id, std::string_view attributes_json) {
  VectorSetImpl& s = *impl_;
  auto attributes = normalize_attributes(attributes_json);
  if (!attributes) return attributes.status().with_context("element '" + std::string(id) + "'");
  std::unique_lock<std::shared_mutex> exclusive(s.rw_mutex);
  auto it = s.ids.find(id);
  if (it == s.ids.end()) return Status::not_found("no element '" + std::string(id) + "'");
  s.records.at(it->second).attributes = std::move(attributes.value());
  return Status::ok();
}

Expected<std::string> VectorSet::attributes(std::string_view id) const {
  const VectorSetImpl& s = *impl_;
  std::shared_lock<std::shared_mutex> shared(s.rw_mutex);
  std::shared_lock<std::shared_mutex> id_guard(s.id_mutex);
  auto it = s.ids.find(id);
  if (it == s.ids.end() || !s.graph.is_live(it->second)) return Status::not_found("no element '" + std::string(id) + "'");
  return s.records.at(it->second).attributes;
}

Expected<std::vector<float>> VectorSet::get_vector(std::string_view id) const {
  const VectorSetImpl& s = *impl_;
  std::shared_lock<std::shared_mutex> shared(s.rw_mutex);
  std::shared_lock<std::shared_mutex> id_guard(s.id_mutex);
  auto it = s.ids.find(id);
  if (it == s.ids.end() || !s.graph.is_live(it->second)) return Status::not_found("no element '" + std::string(id) + "'");
  std::vector<float> vector(s.options.dim);
  s.codec.decode(s.graph.code(it->second), vector.data());
  return vector;
}

bool VectorSet::contains(std::string_view id) const {
  const VectorSetImpl& s = *impl_;
  std::shared_lock<std::shared_mutex> id_guard(s.id_mutex);
  auto it = s.ids.find(id);
  return it != s.ids.end() && s.graph.is_live(it->second);
}

Expected<std::vector<SearchHit>> VectorSet::search(std::span<const float> query, const SearchOptions& options,
                                                   SearchStats* stats) const {
  const VectorSetImpl& s = *impl_;
  if (Status st = validate_vector(query, s.options.dim, "query"); !st) return st;
  if (options.k == 0) return std::vector<SearchHit>{};
  const PreparedQuery& query_code = prepare(s.codec, query, options.rerank);
  const std::size_t ef = std::max(options.ef == 0 ? std::max<std::size_t>(options.k, 64) : options.ef, options.k);
  // With re-ranking the graph hands back all ef candidates; the exact scores pick the k best.
  const std::size_t wanted = query_code.rerank ? ef : options.k;

  std::shared_lock<std::shared_mutex> shared(s.rw_mutex);
  thread_local std::vector<Neighbor> found;
  detail::SearchCounters counters;
  bool exact = false;
  if (options.filter == nullptr && options.id_prefix.empty()) {
    s.graph.search(query_code.code.data(), wanted, ef, nullptr, found, counters);
  } else {
    const FilterContext context{&s, options.filter, options.id_prefix};
    detail::SlotFilter filter{&slot_matches, &context, options.filter_effort == 0 ? 100 * ef : options.filter_effort};
    s.graph.search(query_code.code.data(), wanted, ef, &filter, found, counters);
    if (found.size() < options.k) {
      found = scan(s, query_code, options.k, context);
      exact = true;
    }
  }
  if (query_code.rerank && !exact) {
    for (Neighbor& n : found) n.distance = query_code.distance(s.codec, s.graph.code(n.slot));
    const std::size_t keep = std::min(options.k, found.size());
    std::partial_sort(found.begin(), found.begin() + static_cast<std::ptrdiff_t>(keep), found.end());
    found.resize(keep);
    counters.distances += found.size();
  }
  if (stats != nullptr) {
    stats->distances_computed += counters.distances;
    stats->nodes_visited += counters.visited;
    stats->used_exact_scan = exact;
  }
  return to_hits(s, found);
}

Expected<std::vector<SearchHit>> VectorSet::exact_search(std::span<const float> query, std::size_t k,
                                                         const Filter* filter) const {
  const VectorSetImpl& s = *impl_;
  if (Status st = validate_vector(query, s.options.dim, "query"); !st) return st;
  const PreparedQuery& prepared = prepare(s.codec, query, true);
  std::shared_lock<std::shared_mutex> shared(s.rw_mutex);
  return to_hits(s, scan(s, prepared, k, FilterContext{&s, filter, {}}));
}

std::size_t VectorSet::size() const {
  std::shared_lock<std::shared_mutex> id_guard(impl_->id_mutex);
  return impl_->ids.size();
}

std::size_t VectorSet::dim() const { return impl_->options.dim; }
const VectorSetOptions& VectorSet::options() const { return impl_->options; }

std::size_t VectorSet::memory_bytes() const {
  const VectorSetImpl& s = *impl_;
  std::shared_lock<std::shared_mutex> shared(s.rw_mutex);
  std::shared_lock<std::shared_mutex> id_guard(s.id_mutex);
  std::size_t bytes = s.graph.memory_bytes();
  // Ids and attributes: the strings' heap blocks beyond the small-string buffer, the records,
  // and the hash map's node and bucket overhead.
  constexpr std::size_t kSmallString = 15;
  for (std::uint32_t slot = 0; slot < s.next_slot; ++slot) {
    const detail::SlotRecord& r = s.records.at(slot);
    bytes += sizeof(detail::SlotRecord);
    if (r.id.capacity() > kSmallString) bytes += 2 * (r.id.capacity() + 1);  // record + map key
    if (r.attributes.capacity() > kSmallString) bytes += r.attributes.capacity() + 1;
  }
  bytes += s.ids.size() * (sizeof(std::string) + sizeof(std::uint32_t) + 2 * sizeof(void*)) +
           s.ids.bucket_count() * sizeof(void*);
  return bytes;
}

Status VectorSet::save(const std::string& path) const {
  std::unique_lock<std::shared_mutex> exclusive(impl_->rw_mutex);
  return detail::save_snapshot(*impl_, path);
}

Expected<std::unique_ptr<VectorSet>> VectorSet::load(const std::string& path) {
  auto impl = detail::load_snapshot(path);
  if (!impl) return impl.status();
  return std::unique_ptr<VectorSet>(new VectorSet(std::move(impl.value())));
}

std::string VectorSet::save_to_memory() const {
  std::unique_lock<std::shared_mutex> exclusive(impl_->rw_mutex);
  return detail::serialize_snapshot(*impl_);
}

Expected<std::unique_ptr<VectorSet>> VectorSet::load_from_memory(std::string_view bytes, const std::string& name) {
  auto impl = detail::parse_snapshot(bytes, name);
  if (!impl) return impl.status();
  return std::unique_ptr<VectorSet>(new VectorSet(std::move(impl.value())));
}

}  // namespace semcache
