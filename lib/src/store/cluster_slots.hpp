#pragma once
// Redis Cluster routing (internal): which of the 16384 hash slots a key lives in, and which
// node serves each slot, as learnt from the cluster itself.
//
// key_slot() is the Redis Cluster specification's HASH_SLOT: CRC16 (the XMODEM variant:
// polynomial 0x1021, initial value 0, no reflection) of the key modulo 16384, where a key that
// holds a hash tag -- a '{', then a non-empty run up to the first '}' after it -- hashes only
// the tag. "{user1000}.following" and "{user1000}.followers" share a slot; "foo{}{bar}" hashes
// whole (the first tag is empty); "foo{{bar}}" hashes "{bar".
//
// The slot map comes from CLUSTER SHARDS (Redis 7) or, where that is refused, CLUSTER SLOTS.
// Both parsers check every element they use and say what they expected where, so a reply of
// another shape is refused rather than misread; the map they return is sorted by first slot,
// its ranges do not overlap, and slots no range covers have no owner (a cluster in trouble).
// CLUSTER SHARDS lists a shard's nodes with a role and a health: the primary is the node with
// role "master" and health "online", else the first "master" (a primary that has just failed
// and not been replaced yet). A failed former primary shows up as a shard without slots
// (Redis 7.0) and is ignored.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/status.hpp"
#include "store/redis_connection.hpp"

namespace semcache::detail {

inline constexpr std::uint16_t kClusterSlots = 16384;

// CRC16/XMODEM of the bytes ("123456789" -> 0x31C3).
std::uint16_t crc16(std::string_view bytes);
// The hash slot of `key` (0..16383), hash tags honoured.
std::uint16_t key_slot(std::string_view key);

struct ClusterNode {
  std::string host;
  std::uint16_t port = 0;
  std::string id;  // the node id; empty when the reply does not give one

  std::string address() const;  // "host:port" ("[::1]:port" for IPv6)
};

struct SlotRange {
  std::uint16_t first = 0;  // inclusive
  std::uint16_t last = 0;   // inclusive
  ClusterNode primary;
  std::vector<ClusterNode> replicas;
};

struct SlotMap {
  std::vector<SlotRange> ranges;  // sorted by first, disjoint

  // The range that holds `slot`, or nullptr when no node serves it.
  const SlotRange* find(std::uint16_t slot) const;
  // How many of the 16384 slots have an owner.
  std::size_t covered_slots() const;
};

// Parsers of the two replies. `answering_host` is the host of the node that answered, used for
// a node listed with an empty endpoint (Redis's "unknown endpoint": reach it where we reached
// the answering node). Errors are Status::unavailable naming `source` (the node's redacted
// URL) and the element that was not as expected.
Expected<SlotMap> parse_cluster_shards(const Reply& reply, std::string_view answering_host, std::string_view source);
Expected<SlotMap> parse_cluster_slots(const Reply& reply, std::string_view answering_host, std::string_view source);

// A redirection error reply: "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381".
struct Redirect {
  enum class Kind { kMoved, kAsk };
  Kind kind = Kind::kMoved;
  std::uint16_t slot = 0;
  std::string host;  // empty when the server gave ":port" (unknown endpoint)
  std::uint16_t port = 0;
};
// nullopt: the error is not a well-formed MOVED or ASK.
std::optional<Redirect> parse_redirect(std::string_view error);

}  // namespace semcache::detail
