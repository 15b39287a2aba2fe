// Namespace snapshots in the store.
//
// Layout (all under the namespace's hash tag, so one cluster slot holds a whole snapshot):
//   PREFIX:{NAME:MODEL}:snap              the manifest of the newest snapshot (a record of
//                                         decimal/hex text fields, see SnapshotManifest)
//   PREFIX:{NAME:MODEL}:snap:ID:INDEX     chunk INDEX (0-based) of snapshot ID: a one-field
//                                         record, field "b" = up to chunk_bytes payload bytes
// The payload is the VectorSet snapshot (vector_set.hpp, versioned and checksummed itself); the
// manifest adds what a loader must check before trusting it: its own format version, the
// vector identity and set options (a set of another embedder or quantisation is refused, not
// searched), the chunk count and sizes, and a checksum of the whole payload.
//
// Publishing order: every chunk under a new snapshot id, then the manifest (one record write:
// atomic), then the chunks of snapshots older than the replaced one are deleted. A loader that
// read the previous manifest finds its chunks still there; a publisher that dies midway leaves
// chunks no manifest names, removed by a later publish. The sequence is 1 + the replaced
// manifest's; chunks whose sequence is below the replaced one's are deleted, so two publishers
// racing at the same sequence never delete each other's chunks (the manifest written last wins).
//
// The log position. The manifest's log_id is a position such that the set holds the effect of
// every event up to it (the caller guarantees it: NamespaceIndex::snapshot()). Replaying events
// after it is safe because events are idempotent (namespace_index.cpp). A snapshot is stale when
// the log can no longer replay them: its first retained entry is newer than log_id (trimmed past
// it; when log_id is "0-0", any entry at all, since we cannot tell whether older ones were
// trimmed), or its last entry is older than log_id (the log was deleted and restarted). The
// check runs before the chunks are read; a trim between the check and the replay would need the
// whole retained log (change_log_max_length events) to be appended in between.
//
// Sizes: chunks of 1 MiB, written and read kChunksPerBatch per round trip (16 MiB), which stays
// well inside a Redis command timeout on a LAN and far below Redis's 512 MB bulk limit. Larger
// values read slower through the Redis store: 16 MiB in one batch took about 15 ms as 16 x 1 MiB
// but about 100 ms as 4 x 4 MiB and 150 ms as one 16 MiB value (loopback, warm connection).

#include "cache/namespace_snapshot.hpp"

#include <charconv>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "io/checksum.hpp"

namespace semcache::detail {
namespace {

constexpr std::size_t kChunksPerBatch = 16;
constexpr std::string_view kChunkField = "b";

namespace mf {
inline constexpr std::string_view kFormat = "format";
inline constexpr std::string_view kSequence = "sequence";
inline constexpr std::string_view kId = "id";
inline constexpr std::string_view kLogId = "log_id";
inline constexpr std::string_view kChunks = "chunks";
inline constexpr std::string_view kChunkBytes = "chunk_bytes";
inline constexpr std::string_view kTotalBytes = "total_bytes";
inline constexpr std::string_view kChecksum = "checksum";
inline constexpr std::string_view kIdentity = "identity";
inline constexpr std::string_view kDim = "dim";
inline constexpr std::string_view kMetric = "metric";
inline constexpr std::string_view kQuantization = "quantization";
inline constexpr std::string_view kM = "m";
inline constexpr std::string_view kEfConstruction = "ef_construction";
inline constexpr std::string_view kElements = "elements";
inline constexpr std::string_view kCreated = "created_ms";
}  // namespace mf

std::optional<std::uint64_t> parse_u64(std::string_view text, int base = 10) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string hex64(std::uint64_t value) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(value));
  return text;
}

std::uint64_t random_token() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device() ^
         static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
}

Record manifest_record(const SnapshotManifest& m) {
  return Record{
      {std::string(mf::kFormat), std::to_string(m.format)},
      {std::string(mf::kSequence), std::to_string(m.sequence)},
      {std::string(mf::kId), m.id},
      {std::string(mf::kLogId), m.log_id},
      {std::string(mf::kChunks), std::to_string(m.chunks)},
      {std::string(mf::kChunkBytes), std::to_string(m.chunk_bytes)},
      {std::string(mf::kTotalBytes), std::to_string(m.total_bytes)},
      {std::string(mf::kChecksum), hex64(m.checksum)},
      {std::string(mf::kIdentity), m.identity},
      {std::string(mf::kDim), std::to_string(m.dim)},
      {std::string(mf::kMetric), std::string(to_string(m.metric))},
      {std::string(mf::kQuantization), std::string(to_string(m.quantization))},
      {std::string(mf::kM), std::to_string(m.m)},
      {std::string(mf::kEfConstruction), std::to_string(m.ef_construction)},
      {std::string(mf::kElements), std::to_string(m.elements)},
      {std::string(mf::kCreated), std::to_string(m.created_ms)},
  };
}

Expected<SnapshotManifest> manifest_from_record(const Record& record, const std::string& key) {
  auto missing = [&](std::string_view field) {
    return Status::corrupt(key + ": snapshot manifest field \"" + std::string(field) + "\" is missing or malformed");
  };
  auto number = [&](std::string_view field) -> std::optional<std::uint64_t> {
    const std::string* text = find_field(record, field);
    return text ? parse_u64(*text) : std::nullopt;
  };
  SnapshotManifest m;
  auto format = number(mf::kFormat);
  if (!format) return missing(mf::kFormat);
  if (*format != kSnapshotFormat) {
    return Status::corrupt(key + ": snapshot format " + std::to_string(*format) +
                           " is not supported (this build reads format " + std::to_string(kSnapshotFormat) + ")");
  }
  m.format = static_cast<std::uint32_t>(*format);
  const std::string* id = find_field(record, mf::kId);
  const std::string* log_id = find_field(record, mf::kLogId);
  const std::string* identity = find_field(record, mf::kIdentity);
  const std::string* checksum = find_field(record, mf::kChecksum);
  const std::string* metric = find_field(record, mf::kMetric);
  const std::string* quantization = find_field(record, mf::kQuantization);
  if (id == nullptr || id->empty()) return missing(mf::kId);
  if (log_id == nullptr || !parse_log_id(*log_id)) return missing(mf::kLogId);
  if (identity == nullptr) return missing(mf::kIdentity);
  auto checksum_value = checksum ? parse_u64(*checksum, 16) : std::nullopt;
  if (!checksum_value) return missing(mf::kChecksum);
  auto metric_value = metric ? parse_metric(*metric) : std::nullopt;
  if (!metric_value) return missing(mf::kMetric);
  auto quantization_value = quantization ? parse_quantization(*quantization) : std::nullopt;
  if (!quantization_value) return missing(mf::kQuantization);
  m.id = *id;
  m.log_id = *log_id;
  m.identity = *identity;
  m.checksum = *checksum_value;
  m.metric = *metric_value;
  m.quantization = *quantization_value;
  struct {
    std::string_view field;
    std::uint64_t* out;
  } numbers[] = {{mf::kSequence, &m.sequence}, {mf::kChunks, &m.chunks}, {mf::kChunkBytes, &m.chunk_bytes},
                 {mf::kTotalBytes, &m.total_bytes}, {mf::kElements, &m.elements}};
  for (auto& [field, out] : numbers) {
    auto value = number(field);
    if (!value) return missing(field);
    *out = *value;
  }
  auto dim = number(mf::kDim), m_links = number(mf::kM), ef = number(mf::kEfConstruction),
       created = number(mf::kCreated);
  if (!dim) return missing(mf::kDim);
  if (!m_links) return missing(mf::kM);
  if (!ef) return missing(mf::kEfConstruction);
  if (!created) return missing(mf::kCreated);
  m.dim = *dim;
  m.m = *m_links;
  m.ef_construction = *ef;
  m.created_ms = static_cast<std::int64_t>(*created);
  if (m.chunk_bytes == 0 || m.chunks != (m.total_bytes + m.chunk_bytes - 1) / m.chunk_bytes) {
    return Status::corrupt(key + ": snapshot manifest claims " + std::to_string(m.chunks) + " chunks of " +
                           std::to_string(m.chunk_bytes) + " bytes for " + std::to_string(m.total_bytes) + " bytes");
  }
  return m;
}

// Why a snapshot of these options cannot serve this context ("" when it can).
std::string mismatch(const SnapshotManifest& m, const VectorContext& context) {
  const VectorSetOptions& o = context.set_options;
  if (m.identity != context.identity) return "vector identity '" + m.identity + "', this cache uses '" + context.identity + "'";
  if (m.dim != o.dim) return "dim " + std::to_string(m.dim) + ", this cache uses " + std::to_string(o.dim);
  if (m.metric != o.metric) return "metric " + std::string(to_string(m.metric)) + ", this cache uses " + std::string(to_string(o.metric));
  if (m.quantization != o.quantization) {
    return "quantization " + std::string(to_string(m.quantization)) + ", this cache uses " +
           std::string(to_string(o.quantization));
  }
  if (m.m != o.m || m.ef_construction != o.ef_construction) {
    return "M " + std::to_string(m.m) + " / ef_construction " + std::to_string(m.ef_construction) +
           ", this cache uses " + std::to_string(o.m) + " / " + std::to_string(o.ef_construction);
  }
  return {};
}

bool log_id_less(std::string_view a, std::string_view b) { return *parse_log_id(a) < *parse_log_id(b); }

}  // namespace

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_log_id(std::string_view id) {
  const std::size_t dash = id.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto ms = parse_u64(id.substr(0, dash));
  auto seq = parse_u64(id.substr(dash + 1));
  if (!ms || !seq) return std::nullopt;
  return std::make_pair(*ms, *seq);
}

SnapshotInfo to_snapshot_info(std::string model, const SnapshotManifest& m) {
  SnapshotInfo info;
  info.model = std::move(model);
  info.id = m.id;
  info.sequence = m.sequence;
  info.log_id = m.log_id;
  info.chunks = m.chunks;
  info.bytes = m.total_bytes;
  info.elements = m.elements;
  info.created_ms = m.created_ms;
  info.identity = m.identity;
  return info;
}

std::string snapshot_chunk_key(const NamespaceKeys& keys, std::string_view id, std::uint64_t index) {
  return keys.snapshot_key + ":" + std::string(id) + ":" + std::to_string(index);
}

Expected<std::optional<SnapshotManifest>> read_snapshot_manifest(Store& store, const NamespaceKeys& keys) {
  const std::string key = keys.snapshot_key;
  auto records = store.read(std::span<const std::string>(&key, 1));
  if (!records) return records.status().with_context("reading snapshot manifest " + key);
  const auto& record = records->front();
  if (!record) return std::optional<SnapshotManifest>();
  auto manifest = manifest_from_record(*record, key);
  if (!manifest) return manifest.status();
  return std::optional<SnapshotManifest>(std::move(manifest.value()));
}

Expected<PublishResult> publish_snapshot(Store& store, const NamespaceKeys& keys, const VectorContext& context,
                                         std::string_view payload, std::string_view log_id, std::uint64_t elements,
                                         std::size_t chunk_bytes) {
  const std::string where = "publishing snapshot of namespace " + keys.key;
  if (chunk_bytes == 0) return Status::invalid_argument(where + ": chunk size must be >= 1");
  if (!parse_log_id(log_id)) return Status::invalid_argument(where + ": '" + std::string(log_id) + "' is not a log id");
  auto previous = read_snapshot_manifest(store, keys);
  // A malformed manifest is replaced, not an obstacle: sequence 1 starts over.
  const std::uint64_t previous_sequence = previous && previous->has_value() ? (*previous)->sequence : 0;
  if (!previous && previous.status().code() != ErrorCode::kCorrupt) return previous.status().with_context(where);

  SnapshotManifest m;
  m.sequence = previous_sequence + 1;
  m.id = std::to_string(m.sequence) + "-" + hex64(random_token());
  m.log_id = std::string(log_id);
  m.chunk_bytes = chunk_bytes;
  m.total_bytes = payload.size();
  m.chunks = (payload.size() + chunk_bytes - 1) / chunk_bytes;
  Checksum64 checksum;
  checksum.update(payload.data(), payload.size());
  m.checksum = checksum.digest();
  m.identity = context.identity;
  m.dim = context.set_options.dim;
  m.metric = context.set_options.metric;
  m.quantization = context.set_options.quantization;
  m.m = context.set_options.m;
  m.ef_construction = context.set_options.ef_construction;
  m.elements = elements;
  m.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();

  for (std::uint64_t first = 0; first < m.chunks; first += kChunksPerBatch) {
    StoreBatch batch;
    for (std::uint64_t i = first; i < std::min<std::uint64_t>(m.chunks, first + kChunksPerBatch); ++i) {
      const std::size_t offset = static_cast<std::size_t>(i * chunk_bytes);
      batch.writes.push_back(RecordWrite{snapshot_chunk_key(keys, m.id, i),
                                         Record{{std::string(kChunkField), std::string(payload.substr(offset, chunk_bytes))}},
                                         std::chrono::milliseconds(0)});
    }
    if (auto done = store.execute(batch); !done) return done.status().with_context(where);
  }
  {
    StoreBatch batch;
    batch.writes.push_back(RecordWrite{keys.snapshot_key, manifest_record(m), std::chrono::milliseconds(0)});
    if (auto done = store.execute(batch); !done) return done.status().with_context(where);
  }

  PublishResult result;
  result.manifest = m;
  // Chunks of snapshots older than the one just replaced (and of abandoned publishes).
  const std::string chunk_prefix = keys.snapshot_key + ":";
  std::vector<std::string> old;
  Status scanned = store.scan(chunk_prefix, 256, [&](std::span<const std::string> found) {
    for (const std::string& key : found) {
      const std::string_view rest = std::string_view(key).substr(chunk_prefix.size());
      auto sequence = parse_u64(rest.substr(0, rest.find('-')));
      if (sequence && *sequence < previous_sequence) old.push_back(key);
    }
    return Status::ok();
  });
  if (!scanned) return scanned.with_context(where + ": removing older snapshots");
  for (std::size_t start = 0; start < old.size(); start += 256) {
    StoreBatch batch;
    batch.deletes.assign(old.begin() + static_cast<std::ptrdiff_t>(start),
                         old.begin() + static_cast<std::ptrdiff_t>(std::min(old.size(), start + 256)));
    auto done = store.execute(batch);
    if (!done) return done.status().with_context(where + ": removing older snapshots");
    result.removed_chunks += done->deleted;
  }
  return result;
}

Expected<LoadedSnapshot> load_snapshot(Store& store, const NamespaceKeys& keys, const VectorContext& context) {
  auto read = read_snapshot_manifest(store, keys);
  if (!read) return read.status();
  if (!read->has_value()) return Status::not_found("namespace " + keys.key + " has no snapshot");
  SnapshotManifest m = std::move(**read);
  const std::string name = "snapshot " + m.id + " of namespace " + keys.key;
  if (std::string why = mismatch(m, context); !why.empty()) {
    return Status::corrupt(name + " was built for " + why);
  }

  // Stale? The log must still hold every event after m.log_id.
  auto first = store.log_read(keys.log_key, "0-0", 1);
  if (!first) return first.status().with_context("checking " + name);
  auto last = store.log_last_id(keys.log_key);
  if (!last) return last.status().with_context("checking " + name);
  if (!first->empty() && log_id_less(m.log_id, first->front().id)) {
    return Status::corrupt(name + " is stale: it covers the change log up to " + m.log_id +
                           " but the log's oldest entry is " + first->front().id + " (trimmed past it)");
  }
  if (parse_log_id(*last) && log_id_less(*last, m.log_id)) {
    return Status::corrupt(name + " is stale: it covers the change log up to " + m.log_id +
                           " but the log ends at " + *last + " (the log was deleted since)");
  }

  std::string payload;
  payload.reserve(static_cast<std::size_t>(m.total_bytes));
  for (std::uint64_t first_chunk = 0; first_chunk < m.chunks; first_chunk += kChunksPerBatch) {
    std::vector<std::string> chunk_keys;
    for (std::uint64_t i = first_chunk; i < std::min<std::uint64_t>(m.chunks, first_chunk + kChunksPerBatch); ++i) {
      chunk_keys.push_back(snapshot_chunk_key(keys, m.id, i));
    }
    auto records = store.read(chunk_keys);
    if (!records) return records.status().with_context("reading " + name);
    for (std::size_t j = 0; j < chunk_keys.size(); ++j) {
      const std::uint64_t index = first_chunk + j;
      const auto& record = (*records)[j];
      const std::string* bytes = record ? find_field(*record, kChunkField) : nullptr;
      if (bytes == nullptr) {
        return Status::corrupt(name + ": chunk " + std::to_string(index) + " of " + std::to_string(m.chunks) +
                               " is missing (" + chunk_keys[j] + ")");
      }
      const std::uint64_t expected =
          index + 1 < m.chunks ? m.chunk_bytes : m.total_bytes - m.chunk_bytes * (m.chunks - 1);
      if (bytes->size() != expected) {
        return Status::corrupt(name + ": chunk " + std::to_string(index) + " holds " + std::to_string(bytes->size()) +
                               " bytes, expected " + std::to_string(expected));
      }
      payload += *bytes;
    }
  }
  Checksum64 checksum;
  checksum.update(payload.data(), payload.size());
  if (checksum.digest() != m.checksum) {
    return Status::corrupt(name + ": payload checksum " + hex64(checksum.digest()) + " does not match the manifest's " +
                           hex64(m.checksum));
  }
  auto set = VectorSet::load_from_memory(payload, name);
  if (!set) return set.status();
  SnapshotManifest payload_options = m;  // what the payload itself says, checked the same way
  payload_options.dim = (*set)->options().dim;
  payload_options.metric = (*set)->options().metric;
  payload_options.quantization = (*set)->options().quantization;
  payload_options.m = (*set)->options().m;
  payload_options.ef_construction = (*set)->options().ef_construction;
  if (std::string why = mismatch(payload_options, context); !why.empty()) {
    return Status::corrupt(name + ": the payload's set was built for " + why + " (the manifest says otherwise)");
  }
  return LoadedSnapshot{std::move(set.value()), std::move(m)};
}

}  // namespace semcache::detail
