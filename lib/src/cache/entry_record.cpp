// The cache's data layout in a Store. These formats are read back by other processes (and
// other builds), so they are fixed and portable: hashes are MurmurHash3 x64_128 over bytes
// (key_hash.hpp), numbers in records are decimal text, vectors are float32 little-endian, and
// events use explicit little-endian integers rather than a memcpy of a struct.
//
// Entry ids. ID = hash128 over the length-framed pair (tenant, canonical): framing makes
// ("ab", "c") and ("a", "bc") different inputs. The id carries the tenant's own 64-bit hash
// in front ("TENANT16HEX:ID32HEX") so one tenant's entries share a key prefix (invalidation by
// tenant is a prefix scan) and the vector-set attributes follow from the id alone.
//
// Event payload (version 1):
//   byte 0     version (1)
//   byte 1     kind (1 add, 2 del, 3 drop)
//   bytes 2-9  writer id, u64 LE
//   add:  str id, str identity, str vector bytes      (str = u32 LE length + bytes)
//         The vector bytes are empty when the vector is the entry's own (field v of its record,
//         which followers read): what this version writes, so that the log, which keeps up to
//         change_log_max_length events, does not hold every vector a second time. Events with
//         vector bytes (from earlier writers) are still applied as they are.
//   del:  u32 LE count, then count x str id
//   drop: nothing
// A payload with trailing bytes, a short field or an unknown version/kind is rejected.

#include "cache/entry_record.hpp"

#include <bit>
#include <charconv>
#include <cstring>

#include "cache/key_hash.hpp"
#include "semcache/json_writer.hpp"

namespace semcache::detail {
namespace {

constexpr std::uint64_t kTenantSeed = 0x7465'6e61'6e74'0001ULL;  // "tenant", v1
constexpr std::uint64_t kEntrySeed = 0x656e'7472'7900'0001ULL;   // "entry", v1
constexpr std::uint8_t kEventVersion = 1;

void append_u32(std::string& out, std::uint32_t value) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

void append_u64(std::string& out, std::uint64_t value) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  out.append(bytes, sizeof bytes);
}

void append_str(std::string& out, std::string_view text) {
  append_u32(out, static_cast<std::uint32_t>(text.size()));
  out.append(text);
}

// Reads an event payload front to back; every read checks the remaining length.
class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool u8(std::uint8_t& out) {
    if (data_.empty()) return false;
    out = static_cast<std::uint8_t>(data_[0]);
    data_.remove_prefix(1);
    return true;
  }
  bool u32(std::uint32_t& out) {
    if (data_.size() < 4) return false;
    out = 0;
    for (int i = 3; i >= 0; --i) out = (out << 8) | static_cast<unsigned char>(data_[static_cast<std::size_t>(i)]);
    data_.remove_prefix(4);
    return true;
  }
  bool u64(std::uint64_t& out) {
    if (data_.size() < 8) return false;
    out = 0;
    for (int i = 7; i >= 0; --i) out = (out << 8) | static_cast<unsigned char>(data_[static_cast<std::size_t>(i)]);
    data_.remove_prefix(8);
    return true;
  }
  bool str(std::string& out) {
    std::uint32_t size = 0;
    if (!u32(size) || data_.size() < size) return false;
    out.assign(data_.substr(0, size));
    data_.remove_prefix(size);
    return true;
  }
  bool at_end() const { return data_.empty(); }

 private:
  std::string_view data_;
};

std::optional<std::int64_t> parse_int(const std::string* text) {
  if (text == nullptr) return std::nullopt;
  std::int64_t value = 0;
  const char* end = text->data() + text->size();
  auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

bool field_equals(const Record& record, std::string_view name, std::string_view expected) {
  const std::string* value = find_field(record, name);
  return value != nullptr && *value == expected;
}

}  // namespace

std::string percent_encode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '%': out += "%25"; break;
      case ':': out += "%3A"; break;
      case '{': out += "%7B"; break;
      case '}': out += "%7D"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const std::string_view code = text.substr(i + 1, 2);
    if (code == "25") out.push_back('%');
    else if (code == "3A") out.push_back(':');
    else if (code == "7B") out.push_back('{');
    else if (code == "7D") out.push_back('}');
    else return std::nullopt;
    i += 2;
  }
  return out;
}

NamespaceKeys namespace_keys(std::string_view prefix, std::string_view name, std::string_view model) {
  NamespaceKeys keys;
  keys.model = std::string(model);
  keys.key = percent_encode(name) + ":" + percent_encode(model);
  keys.entry_prefix = std::string(prefix) + ":" + keys.key + ":e:";
  keys.log_key = std::string(prefix) + ":{" + keys.key + "}:log";
  keys.snapshot_key = std::string(prefix) + ":{" + keys.key + "}:snap";
  return keys;
}

std::string name_prefix(std::string_view prefix, std::string_view name) {
  return std::string(prefix) + ":" + percent_encode(name) + ":";
}

std::string tenant_hex(std::string_view tenant) {
  std::string out;
  out.reserve(16);
  append_hex(out, hash128(tenant, kTenantSeed).high);
  return out;
}

void append_entry_id(std::string& out, std::string_view tenant, std::string_view canonical) {
  // The framed input, in a buffer reused by the thread: a key is built per request.
  thread_local std::string framed;
  framed.clear();
  append_u64(framed, tenant.size());
  framed.append(tenant);
  framed.append(canonical);
  const Hash128 id = hash128(framed, kEntrySeed);
  out.reserve(out.size() + kEntryIdSize);
  append_hex(out, hash128(tenant, kTenantSeed).high);
  out.push_back(':');
  append_hex(out, id.high);
  append_hex(out, id.low);
}

std::string entry_id(std::string_view tenant, std::string_view canonical) {
  std::string out;
  append_entry_id(out, tenant, canonical);
  return out;
}

std::string tenant_id_prefix(std::string_view tenant_hex_digits) { return std::string(tenant_hex_digits) + ":"; }

Record make_entry_record(const CacheRequest& request, std::string_view response, std::string_view attributes_json,
                         std::int64_t created_ms, std::span<const float> vector, std::string_view identity) {
  Record record;
  record.reserve(10);
  record.emplace_back(field::kCanonical, request.canonical);
  record.emplace_back(field::kText, request.text);
  record.emplace_back(field::kResponse, response);
  record.emplace_back(field::kModel, request.model);
  record.emplace_back(field::kTenant, request.tenant);
  record.emplace_back(field::kCreated, std::to_string(created_ms));
  if (!attributes_json.empty()) record.emplace_back(field::kAttributes, attributes_json);
  if (!vector.empty()) {
    record.emplace_back(field::kVector, encode_vector(vector));
    record.emplace_back(field::kIdentity, identity);
  }
  return record;
}

std::optional<CacheEntry> entry_from_record(std::string_view key, const Record& record, std::int64_t hits) {
  const std::string* canonical = find_field(record, field::kCanonical);
  const std::string* response = find_field(record, field::kResponse);
  const std::string* model = find_field(record, field::kModel);
  const std::string* tenant = find_field(record, field::kTenant);
  const auto created = parse_int(find_field(record, field::kCreated));
  if (!canonical || !response || !model || !tenant || !created) return std::nullopt;
  CacheEntry entry;
  entry.key = std::string(key);
  entry.model = *model;
  entry.tenant = *tenant;
  entry.canonical = *canonical;
  if (const std::string* text = find_field(record, field::kText)) entry.text = *text;
  entry.response = *response;
  if (const std::string* attributes = find_field(record, field::kAttributes)) entry.attributes_json = *attributes;
  entry.created_ms = *created;
  entry.hits = hits;
  return entry;
}

bool record_matches(const Record& record, std::string_view tenant, std::string_view model) {
  return field_equals(record, field::kTenant, tenant) && field_equals(record, field::kModel, model);
}

bool record_matches_exactly(const Record& record, const CacheRequest& request) {
  return record_matches(record, request.tenant, request.model) &&
         field_equals(record, field::kCanonical, request.canonical);
}

std::string encode_vector(std::span<const float> vector) {
  std::string out;
  out.reserve(vector.size() * 4);
  for (float value : vector) append_u32(out, std::bit_cast<std::uint32_t>(value));
  return out;
}

std::optional<std::vector<float>> decode_vector(std::string_view bytes, std::size_t dim) {
  if (bytes.size() != dim * 4) return std::nullopt;
  std::vector<float> out(dim);
  for (std::size_t i = 0; i < dim; ++i) {
    std::uint32_t bits = 0;
    for (int b = 3; b >= 0; --b)
      bits = (bits << 8) | static_cast<unsigned char>(bytes[i * 4 + static_cast<std::size_t>(b)]);
    out[i] = std::bit_cast<float>(bits);
  }
  return out;
}

std::string encode_event(const ChangeEvent& event) {
  std::string out;
  out.push_back(static_cast<char>(kEventVersion));
  out.push_back(static_cast<char>(event.kind));
  append_u64(out, event.writer);
  switch (event.kind) {
    case EventKind::kAdd:
      append_str(out, event.ids.empty() ? std::string_view() : std::string_view(event.ids.front()));
      append_str(out, event.identity);
      append_str(out, event.vector_bytes);
      break;
    case EventKind::kDel:
      append_u32(out, static_cast<std::uint32_t>(event.ids.size()));
      for (const std::string& id : event.ids) append_str(out, id);
      break;
    case EventKind::kDrop: break;
  }
  return out;
}

Expected<ChangeEvent> decode_event(std::string_view payload) {
  Reader reader(payload);
  std::uint8_t version = 0;
  std::uint8_t kind = 0;
  ChangeEvent event;
  if (!reader.u8(version) || !reader.u8(kind) || !reader.u64(event.writer)) {
    return Status::bad_input("change-log event: truncated header (" + std::to_string(payload.size()) + " bytes)");
  }
  if (version != kEventVersion) {
    return Status::bad_input("change-log event: unknown version " + std::to_string(version) + ", expected 1");
  }
  bool complete = false;
  switch (kind) {
    case static_cast<std::uint8_t>(EventKind::kAdd): {
      event.kind = EventKind::kAdd;
      event.ids.emplace_back();
      complete = reader.str(event.ids.back()) && reader.str(event.identity) && reader.str(event.vector_bytes);
      break;
    }
    case static_cast<std::uint8_t>(EventKind::kDel): {
      event.kind = EventKind::kDel;
      std::uint32_t count = 0;
      complete = reader.u32(count);
      for (std::uint32_t i = 0; complete && i < count; ++i) {
        event.ids.emplace_back();
        complete = reader.str(event.ids.back());
      }
      break;
    }
    case static_cast<std::uint8_t>(EventKind::kDrop):
      event.kind = EventKind::kDrop;
      complete = true;
      break;
    default:
      return Status::bad_input("change-log event: unknown kind " + std::to_string(kind) +
                               ", expected 1 (add), 2 (del) or 3 (drop)");
  }
  if (!complete) return Status::bad_input("change-log event: truncated body");
  if (!reader.at_end()) return Status::bad_input("change-log event: trailing bytes after the event");
  return event;
}

}  // namespace semcache::detail
