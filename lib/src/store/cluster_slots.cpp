// Hash slots and slot-map parsing for the cluster store (cluster_slots.hpp).
//
// The CRC16 is table-driven (the table is computed at compile time from the polynomial, so
// there is no literal table to get wrong). The parsers accept what Redis 7.0 to 7.4 send: for
// CLUSTER SHARDS a map per shard with "slots" (a flat list of first/last pairs) and "nodes"
// (maps with id, port, ip, endpoint, role, health; unknown fields are skipped, so later
// additions such as "hostname" or "tls-port" are harmless); for CLUSTER SLOTS one array per
// range, [first, last, [host, port, id, ...], replica...].

#include "store/cluster_slots.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <utility>

namespace semcache::detail {
namespace {

constexpr std::array<std::uint16_t, 256> make_crc16_table() {
  std::array<std::uint16_t, 256> table{};
  for (unsigned byte = 0; byte < 256; ++byte) {
    auto crc = static_cast<std::uint16_t>(byte << 8);
    for (int bit = 0; bit < 8; ++bit) {
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    table[byte] = crc;
  }
  return table;
}

constexpr std::array<std::uint16_t, 256> kCrc16Table = make_crc16_table();

Status malformed(std::string_view source, std::string_view command, std::string_view what) {
  return Status::unavailable(std::string(source) + ": " + std::string(command) + " reply: " + std::string(what));
}

bool valid_slot(long long value) { return value >= 0 && value < kClusterSlots; }

bool valid_port(long long value) { return value > 0 && value <= 65535; }

// The host to reach a node at: its endpoint, else its ip, else where we reached the answering
// node ("" and "?" are Redis's "unknown").
std::string reachable_host(std::string_view endpoint, std::string_view ip, std::string_view answering_host) {
  auto known = [](std::string_view host) { return !host.empty() && host != "?"; };
  if (known(endpoint)) return std::string(endpoint);
  if (known(ip)) return std::string(ip);
  return std::string(answering_host);
}

// Sorts the ranges and refuses overlaps.
Expected<SlotMap> finish(std::vector<SlotRange> ranges, std::string_view source, std::string_view command) {
  std::sort(ranges.begin(), ranges.end(), [](const SlotRange& a, const SlotRange& b) { return a.first < b.first; });
  for (std::size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first <= ranges[i - 1].last) {
      return malformed(source, command,
                       "slot ranges " + std::to_string(ranges[i - 1].first) + "-" + std::to_string(ranges[i - 1].last) +
                           " and " + std::to_string(ranges[i].first) + "-" + std::to_string(ranges[i].last) +
                           " overlap");
    }
  }
  SlotMap map;
  map.ranges = std::move(ranges);
  return map;
}

}  // namespace

std::uint16_t crc16(std::string_view bytes) {
  std::uint16_t crc = 0;
  for (char c : bytes) {
    const auto byte = static_cast<unsigned char>(c);
    crc = static_cast<std::uint16_t>((crc << 8) ^ kCrc16Table[((crc >> 8) ^ byte) & 0xff]);
  }
  return crc;
}

std::uint16_t key_slot(std::string_view key) {
  const std::size_t open = key.find('{');
  if (open != std::string_view::npos) {
    const std::size_t close = key.find('}', open + 1);
    if (close != std::string_view::npos && close > open + 1) key = key.substr(open + 1, close - open - 1);
  }
  return static_cast<std::uint16_t>(crc16(key) & (kClusterSlots - 1));
}

std::string ClusterNode::address() const {
  const std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

const SlotRange* SlotMap::find(std::uint16_t slot) const {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), slot,
                             [](std::uint16_t s, const SlotRange& range) { return s < range.first; });
  if (it == ranges.begin()) return nullptr;
  --it;
  return slot <= it->last ? &*it : nullptr;
}

std::size_t SlotMap::covered_slots() const {
  std::size_t covered = 0;
  for (const SlotRange& range : ranges) covered += static_cast<std::size_t>(range.last - range.first) + 1;
  return covered;
}

Expected<SlotMap> parse_cluster_shards(const Reply& reply, std::string_view answering_host, std::string_view source) {
  constexpr std::string_view kCommand = "CLUSTER SHARDS";
  if (!reply.is_array()) {
    return malformed(source, kCommand, "expected an array of shards, got " + std::string(to_string(reply.type)));
  }
  std::vector<SlotRange> ranges;
  for (std::size_t s = 0; s < reply.elements.size(); ++s) {
    const Reply& shard = reply.elements[s];
    const std::string where = "shard " + std::to_string(s);
    if (!shard.is_array() || shard.elements.size() % 2 != 0) {
      return malformed(source, kCommand, where + ": expected a map (an even-sized array)");
    }
    const Reply* slots = nullptr;
    const Reply* nodes = nullptr;
    for (std::size_t i = 0; i < shard.elements.size(); i += 2) {
      const std::string& name = shard.elements[i].str;
      if (name == "slots") slots = &shard.elements[i + 1];
      if (name == "nodes") nodes = &shard.elements[i + 1];
    }
    if (slots == nullptr || !slots->is_array() || slots->elements.size() % 2 != 0) {
      return malformed(source, kCommand, where + ": expected \"slots\" as a list of first/last pairs");
    }
    if (nodes == nullptr || !nodes->is_array()) {
      return malformed(source, kCommand, where + ": expected \"nodes\" as a list of nodes");
    }
    std::optional<ClusterNode> online_primary;
    std::optional<ClusterNode> any_primary;
    std::vector<ClusterNode> replicas;
    for (std::size_t n = 0; n < nodes->elements.size(); ++n) {
      const Reply& fields = nodes->elements[n];
      const std::string node_where = where + " node " + std::to_string(n);
      if (!fields.is_array() || fields.elements.size() % 2 != 0) {
        return malformed(source, kCommand, node_where + ": expected a map (an even-sized array)");
      }
      ClusterNode node;
      std::string_view ip, endpoint, role, health;
      long long port = -1;
      for (std::size_t i = 0; i < fields.elements.size(); i += 2) {
        const std::string& name = fields.elements[i].str;
        const Reply& value = fields.elements[i + 1];
        if (name == "id") node.id = value.str;
        if (name == "ip") ip = value.str;
        if (name == "endpoint") endpoint = value.str;
        if (name == "role") role = value.str;
        if (name == "health") health = value.str;
        if (name == "port") port = value.is_integer() ? value.integer : -1;
      }
      if (!valid_port(port)) return malformed(source, kCommand, node_where + ": expected \"port\" as 1..65535");
      node.port = static_cast<std::uint16_t>(port);
      node.host = reachable_host(endpoint, ip, answering_host);
      if (role == "master") {
        if (!any_primary) any_primary = node;
        if (health == "online" && !online_primary) online_primary = node;
      } else {
        replicas.push_back(std::move(node));
      }
    }
    if (slots->elements.empty()) continue;  // a shard without slots (a fresh node): serves nothing
    if (!any_primary) return malformed(source, kCommand, where + ": has slots but no node with role \"master\"");
    const ClusterNode& primary = online_primary ? *online_primary : *any_primary;
    for (std::size_t i = 0; i < slots->elements.size(); i += 2) {
      const Reply& first = slots->elements[i];
      const Reply& last = slots->elements[i + 1];
      if (!first.is_integer() || !last.is_integer() || !valid_slot(first.integer) || !valid_slot(last.integer) ||
          first.integer > last.integer) {
        return malformed(source, kCommand, where + ": expected slot pairs first <= last within 0..16383");
      }
      ranges.push_back({static_cast<std::uint16_t>(first.integer), static_cast<std::uint16_t>(last.integer), primary,
                        replicas});
    }
  }
  return finish(std::move(ranges), source, kCommand);
}

Expected<SlotMap> parse_cluster_slots(const Reply& reply, std::string_view answering_host, std::string_view source) {
  constexpr std::string_view kCommand = "CLUSTER SLOTS";
  if (!reply.is_array()) {
    return malformed(source, kCommand, "expected an array of slot ranges, got " + std::string(to_string(reply.type)));
  }
  std::vector<SlotRange> ranges;
  for (std::size_t r = 0; r < reply.elements.size(); ++r) {
    const Reply& entry = reply.elements[r];
    const std::string where = "range " + std::to_string(r);
    if (!entry.is_array() || entry.elements.size() < 3 || !entry.elements[0].is_integer() ||
        !entry.elements[1].is_integer() || !valid_slot(entry.elements[0].integer) ||
        !valid_slot(entry.elements[1].integer) || entry.elements[0].integer > entry.elements[1].integer) {
      return malformed(source, kCommand, where + ": expected [first, last, primary, replica...] with slots 0..16383");
    }
    SlotRange range;
    range.first = static_cast<std::uint16_t>(entry.elements[0].integer);
    range.last = static_cast<std::uint16_t>(entry.elements[1].integer);
    for (std::size_t n = 2; n < entry.elements.size(); ++n) {
      const Reply& node_reply = entry.elements[n];
      if (!node_reply.is_array() || node_reply.elements.size() < 2 || !node_reply.elements[0].is_string() ||
          !node_reply.elements[1].is_integer() || !valid_port(node_reply.elements[1].integer)) {
        return malformed(source, kCommand, where + " node " + std::to_string(n - 2) + ": expected [host, port, id...]");
      }
      ClusterNode node;
      node.host = reachable_host(node_reply.elements[0].str, {}, answering_host);
      node.port = static_cast<std::uint16_t>(node_reply.elements[1].integer);
      if (node_reply.elements.size() > 2 && node_reply.elements[2].is_string()) node.id = node_reply.elements[2].str;
      if (n == 2) {
        range.primary = std::move(node);
      } else {
        range.replicas.push_back(std::move(node));
      }
    }
    ranges.push_back(std::move(range));
  }
  return finish(std::move(ranges), source, kCommand);
}

std::optional<Redirect> parse_redirect(std::string_view error) {
  Redirect redirect;
  if (error.rfind("MOVED ", 0) == 0) {
    redirect.kind = Redirect::Kind::kMoved;
    error.remove_prefix(6);
  } else if (error.rfind("ASK ", 0) == 0) {
    redirect.kind = Redirect::Kind::kAsk;
    error.remove_prefix(4);
  } else {
    return std::nullopt;
  }
  const std::size_t space = error.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  const std::string_view slot_text = error.substr(0, space);
  const std::string_view address = error.substr(space + 1);
  const std::size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = address.substr(0, colon);
  const std::string_view port_text = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned slot = 0;
  unsigned port = 0;
  auto parse = [](std::string_view text, unsigned& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size() && !text.empty();
  };
  if (!parse(slot_text, slot) || slot >= kClusterSlots || !parse(port_text, port) || port == 0 || port > 65535) {
    return std::nullopt;
  }
  redirect.slot = static_cast<std::uint16_t>(slot);
  redirect.host = std::string(host);
  redirect.port = static_cast<std::uint16_t>(port);
  return redirect;
}

}  // namespace semcache::detail
