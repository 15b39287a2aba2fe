// Vector-set snapshots: the whole set (options, ids, attributes, codes and links) as one byte
// string, kept in a file (save/load with a path) or anywhere else (save_to_memory /
// load_from_memory: the cache publishes it to Redis in chunks, namespace_snapshot.cpp).
//
// Format, version 1, little-endian:
//   "SEMCVSET" u32 version
//   u32 dim, u8 metric, u8 quantization, u16 zero, u32 m, u32 ef_construction, u64 seed,
//   u64 level sequence, u32 slot_end, u32 entry (0xffffffff = empty), u64 live count, u32 code bytes
//   per slot in 0..slot_end: u8 live; when live: u32 id length, id, u32 attributes length,
//     attributes, u8 level, code bytes, then per level 0..level: u32 count, count x u32 neighbour
//   u64 checksum (checksum.hpp) of every byte before it
//
// Slots are written in slot order with the links exactly as they are, so loading rebuilds the
// same graph with no distance computed, and save -> load -> save gives identical bytes.
// load() trusts nothing: the checksum is checked before parsing, and then every length, level,
// count and neighbour id is checked against the header, so a file that was altered and
// re-checksummed is refused too instead of crashing a search later. There is one serializer
// and one parser, over memory: the file form writes the serialized bytes to a temporary file
// and renames it (a crash mid-save never leaves half a snapshot under the name), and reads a
// file by mapping it and parsing the mapping. Error messages name the file, or the name the
// caller gave the buffer.

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <unistd.h>

#include "io/checksum.hpp"
#include "io/mapped_file.hpp"
#include "vector/vector_set_impl.hpp"

namespace semcache::detail {
namespace {

constexpr char kMagic[8] = {'S', 'E', 'M', 'C', 'V', 'S', 'E', 'T'};
constexpr std::uint32_t kVersion = 1;

class SnapshotWriter {
 public:
  explicit SnapshotWriter(std::string& out) : out_(out) {}
  template <typename T>
  void put(T value) {
    write(&value, sizeof value);
  }
  void write(const void* data, std::size_t size) { out_.append(static_cast<const char*>(data), size); }
  void put_string(const std::string& s) {
    put<std::uint32_t>(static_cast<std::uint32_t>(s.size()));
    write(s.data(), s.size());
  }

 private:
  std::string& out_;
};

class SnapshotReader {
 public:
  SnapshotReader(const unsigned char* data, std::size_t size, const std::string& path)
      : data_(reinterpret_cast<const std::byte*>(data)), size_(size), path_(path) {}

  template <typename T>
  bool get(T& value, const char* what) {
    if (!need(sizeof value, what)) return false;
    std::memcpy(&value, data_ + offset_, sizeof value);
    offset_ += sizeof value;
    return true;
  }
  bool get_bytes(const std::byte*& out, std::size_t size, const char* what) {
    if (!need(size, what)) return false;
    out = data_ + offset_;
    offset_ += size;
    return true;
  }
  bool get_string(std::string& out, std::size_t max_size, const char* what) {
    std::uint32_t length = 0;
    if (!get(length, what)) return false;
    if (length > max_size) return fail(std::string(what) + " length " + std::to_string(length) + " exceeds " + std::to_string(max_size));
    const std::byte* bytes = nullptr;
    if (!get_bytes(bytes, length, what)) return false;
    out.assign(reinterpret_cast<const char*>(bytes), length);
    return true;
  }
  bool fail(const std::string& reason) {
    if (error_.empty()) error_ = path_ + ": corrupt snapshot at byte " + std::to_string(offset_) + ": " + reason;
    return false;
  }
  const std::string& error() const { return error_; }
  std::size_t offset() const { return offset_; }

 private:
  bool need(std::size_t bytes, const char* what) {
    if (size_ - offset_ < bytes) return fail(std::string("truncated while reading ") + what);
    return true;
  }
  const std::byte* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
  std::string path_;
  std::string error_;
};

}  // namespace

std::string serialize_snapshot(const VectorSetImpl& set) {
  const VectorSetOptions& o = set.options;
  const Hnsw& graph = set.graph;
  const std::uint32_t slot_end = graph.slot_end();
  std::string bytes;
  // About one code, an id and a half-full layer-0 link list per element: one allocation for
  // most sets instead of a doubling series over hundreds of megabytes.
  bytes.reserve(64 + static_cast<std::size_t>(slot_end) * (set.codec.code_bytes() + 64 + o.m * 4 * 2));
  SnapshotWriter out(bytes);
  out.write(kMagic, sizeof kMagic);
  out.put<std::uint32_t>(kVersion);
  out.put<std::uint32_t>(static_cast<std::uint32_t>(o.dim));
  out.put<std::uint8_t>(static_cast<std::uint8_t>(o.metric));
  out.put<std::uint8_t>(static_cast<std::uint8_t>(o.quantization));
  out.put<std::uint16_t>(0);
  out.put<std::uint32_t>(static_cast<std::uint32_t>(o.m));
  out.put<std::uint32_t>(static_cast<std::uint32_t>(o.ef_construction));
  out.put<std::uint64_t>(o.seed);
  out.put<std::uint64_t>(graph.sequence());
  out.put<std::uint32_t>(slot_end);
  out.put<std::uint32_t>(graph.entry_point());
  out.put<std::uint64_t>(set.ids.size());
  out.put<std::uint32_t>(static_cast<std::uint32_t>(set.codec.code_bytes()));
  for (std::uint32_t slot = 0; slot < slot_end; ++slot) {
    const Hnsw::NodeView node = graph.node_view(slot);
    out.put<std::uint8_t>(node.live ? 1 : 0);
    if (!node.live) continue;
    const SlotRecord& record = set.records.at(slot);
    out.put_string(record.id);
    out.put_string(record.attributes);
    out.put<std::uint8_t>(static_cast<std::uint8_t>(node.level));
    out.write(graph.code(slot), set.codec.code_bytes());
    for (const auto& links : node.links) {
      out.put<std::uint32_t>(static_cast<std::uint32_t>(links.size()));
      out.write(links.data(), links.size() * sizeof(std::uint32_t));
    }
  }
  Checksum64 checksum;
  checksum.update(bytes.data(), bytes.size());
  out.put<std::uint64_t>(checksum.digest());
  return bytes;
}

Status save_snapshot(const VectorSetImpl& set, const std::string& path) {
  const std::string bytes = serialize_snapshot(set);
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  std::FILE* file = std::fopen(temporary.c_str(), "wb");
  if (file == nullptr) return Status::io(path + ": cannot create snapshot: " + std::strerror(errno));
  const bool written = std::fwrite(bytes.data(), 1, bytes.size(), file) == bytes.size();
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(temporary.c_str());
    return Status::io(path + ": cannot write snapshot: " + std::strerror(errno));
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(temporary.c_str());
    return Status::io(path + ": cannot rename snapshot into place: " + std::strerror(err));
  }
  return Status::ok();
}

Expected<std::unique_ptr<VectorSetImpl>> load_snapshot(const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.status();
  return parse_snapshot(std::string_view(reinterpret_cast<const char*>(mapped->data()), mapped->size()), path);
}

Expected<std::unique_ptr<VectorSetImpl>> parse_snapshot(std::string_view snapshot, const std::string& path) {
  const auto* data = reinterpret_cast<const unsigned char*>(snapshot.data());
  constexpr std::size_t kMinimum = sizeof kMagic + sizeof(std::uint32_t) + sizeof(std::uint64_t);
  if (snapshot.size() < kMinimum) {
    return Status::corrupt(path + ": not a semcache vector-set snapshot (only " + std::to_string(snapshot.size()) +
                           " bytes)");
  }
  if (std::memcmp(data, kMagic, sizeof kMagic) != 0) {
    return Status::corrupt(path + ": not a semcache vector-set snapshot (bad magic; expected \"SEMCVSET\")");
  }
  std::uint32_t version = 0;
  std::memcpy(&version, data + sizeof kMagic, sizeof version);
  if (version != kVersion) {
    return Status::corrupt(path + ": snapshot version " + std::to_string(version) + " is not supported (this build reads version " +
                           std::to_string(kVersion) + ")");
  }
  const std::size_t body = snapshot.size() - sizeof(std::uint64_t);
  std::uint64_t stored = 0;
  std::memcpy(&stored, data + body, sizeof stored);
  Checksum64 checksum;
  checksum.update(data, body);
  if (checksum.digest() != stored) {
    return Status::corrupt(path + ": snapshot checksum mismatch: the snapshot is truncated or corrupt");
  }

  std::uint32_t dim = 0, m = 0, ef_construction = 0, slot_end = 0, entry = 0, code_bytes = 0;
  std::uint8_t metric = 0, quantization = 0;
  std::uint16_t zero = 0;
  std::uint64_t seed = 0, sequence = 0, live_count = 0;
  SnapshotReader r(data, body, path);
  const std::byte* skip = nullptr;
  const bool header_ok = r.get_bytes(skip, sizeof kMagic + sizeof version, "magic") && r.get(dim, "dim") &&
                         r.get(metric, "metric") && r.get(quantization, "quantization") && r.get(zero, "header") &&
                         r.get(m, "M") && r.get(ef_construction, "ef_construction") && r.get(seed, "seed") &&
                         r.get(sequence, "sequence") && r.get(slot_end, "slot count") && r.get(entry, "entry point") &&
                         r.get(live_count, "element count") && r.get(code_bytes, "code size");
  if (!header_ok) return Status::corrupt(r.error());
  if (metric > static_cast<std::uint8_t>(Metric::kL2)) return Status::corrupt(path + ": unknown metric " + std::to_string(metric));
  if (quantization > static_cast<std::uint8_t>(Quantization::kBinary)) {
    return Status::corrupt(path + ": unknown quantization " + std::to_string(quantization));
  }
  VectorSetOptions options;
  options.dim = dim;
  options.metric = static_cast<Metric>(metric);
  options.quantization = static_cast<Quantization>(quantization);
  options.m = m;
  options.ef_construction = ef_construction;
  options.seed = seed;
  if (dim == 0 || dim > 65536 || m < 2 || m > 128 || ef_construction < 1 || ef_construction > 10000) {
    return Status::corrupt(path + ": header holds impossible options (dim " + std::to_string(dim) + ", M " +
                           std::to_string(m) + ", ef_construction " + std::to_string(ef_construction) + ")");
  }
  // Every live slot takes at least 14 bytes, so a slot count beyond the snapshot's size is a lie.
  if (slot_end > body || live_count > slot_end) {
    return Status::corrupt(path + ": header claims " + std::to_string(slot_end) + " slots and " +
                           std::to_string(live_count) + " elements, more than the snapshot can hold");
  }
  auto set = std::make_unique<VectorSetImpl>(options);
  if (set->codec.code_bytes() != code_bytes) {
    return Status::corrupt(path + ": code size " + std::to_string(code_bytes) + " does not match dim " +
                           std::to_string(dim) + " / " + std::string(to_string(options.quantization)));
  }

  // One link buffer reused for every slot (its lists keep their capacity). A link to an earlier
  // slot is checked at once; one to a later slot waits in `forward` until every level is
  // known. Link errors are reported after the structural ones, as if all were checked last.
  std::vector<std::vector<std::uint32_t>> links(Hnsw::kMaxLevel + 1);
  std::vector<int> levels(slot_end, -1);
  struct ForwardLink {
    std::uint32_t slot, target, layer;
  };
  std::vector<ForwardLink> forward;
  std::string link_error;
  auto bad_link = [&](std::uint32_t slot, std::uint32_t target, std::uint32_t layer) {
    if (link_error.empty()) {
      link_error = path + ": slot " + std::to_string(slot) + " links to invalid slot " + std::to_string(target) +
                   " on layer " + std::to_string(layer);
    }
  };
  for (std::uint32_t slot = 0; slot < slot_end; ++slot) {
    std::uint8_t live = 0;
    if (!r.get(live, "slot flag")) return Status::corrupt(r.error());
    if (live > 1) return Status::corrupt(path + ": slot " + std::to_string(slot) + " has an invalid live flag");
    if (live == 0) {
      if (!set->records.ensure(slot) || !set->graph.restore_node(slot, nullptr, 0, false, {})) {
        return Status::internal("out of memory loading " + path);
      }
      set->free_slots.push_back(slot);
      continue;
    }
    SlotRecord record;
    std::uint8_t level = 0;
    const std::byte* code = nullptr;
    if (!r.get_string(record.id, 1u << 20, "id") || !r.get_string(record.attributes, 1u << 26, "attributes") ||
        !r.get(level, "level") || !r.get_bytes(code, code_bytes, "vector code")) {
      return Status::corrupt(r.error());
    }
    if (record.id.empty()) return Status::corrupt(path + ": slot " + std::to_string(slot) + " has an empty id");
    if (!set->codec.valid(code)) {
      return Status::corrupt(path + ": slot " + std::to_string(slot) + " ('" + record.id +
                             "') holds a vector code no encoder writes (a non-finite value or an int8 -128)");
    }
    if (level > Hnsw::kMaxLevel) return Status::corrupt(path + ": slot " + std::to_string(slot) + " has level " + std::to_string(level));
    for (int l = 0; l <= level; ++l) {
      std::uint32_t count = 0;
      if (!r.get(count, "link count")) return Status::corrupt(r.error());
      if (count > set->graph.max_links(l)) {
        return Status::corrupt(path + ": slot " + std::to_string(slot) + " has " + std::to_string(count) +
                               " links on layer " + std::to_string(l) + ", more than " +
                               std::to_string(set->graph.max_links(l)));
      }
      const std::byte* bytes = nullptr;
      if (!r.get_bytes(bytes, count * sizeof(std::uint32_t), "links")) return Status::corrupt(r.error());
      auto& ids = links[static_cast<std::size_t>(l)];
      ids.resize(count);
      if (count > 0) std::memcpy(ids.data(), bytes, count * sizeof(std::uint32_t));
      const auto layer = static_cast<std::uint32_t>(l);
      for (std::uint32_t target : ids) {
        if (target >= slot_end || target == slot || (target < slot && levels[target] < l)) {
          bad_link(slot, target, layer);
        } else if (target > slot) {
          forward.push_back(ForwardLink{slot, target, layer});
        }
      }
    }
    levels[slot] = level;
    if (!set->records.ensure(slot)) return Status::internal("out of memory loading " + path);
    if (!set->ids.emplace(record.id, slot).second) {
      return Status::corrupt(path + ": id '" + record.id + "' appears twice");
    }
    set->records.at(slot) = std::move(record);
    if (!set->graph.restore_node(slot, code, level, true, links)) return Status::internal("out of memory loading " + path);
  }
  if (r.offset() != body) return Status::corrupt(path + ": " + std::to_string(body - r.offset()) + " unexpected bytes after the last slot");
  if (set->ids.size() != live_count) {
    return Status::corrupt(path + ": header claims " + std::to_string(live_count) + " elements, found " +
                           std::to_string(set->ids.size()));
  }
  // Links may only point at live slots that exist on that layer.
  for (const ForwardLink& link : forward) {
    if (levels[link.target] < static_cast<int>(link.layer)) bad_link(link.slot, link.target, link.layer);
  }
  if (!link_error.empty()) return Status::corrupt(link_error);
  int top = -1;
  for (int level : levels) top = std::max(top, level);
  if (live_count == 0 ? entry != kNoSlot : (entry >= slot_end || levels[entry] != top)) {
    return Status::corrupt(path + ": entry point " + std::to_string(entry) + " is not a top-level element");
  }
  set->graph.restore_entry(entry, sequence);
  set->next_slot = slot_end;
  std::reverse(set->free_slots.begin(), set->free_slots.end());
  return set;
}

}  // namespace semcache::detail
