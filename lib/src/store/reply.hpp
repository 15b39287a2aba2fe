#pragma once
// Reply: one reply of a Redis server, owning its data (internal). RespReader builds them;
// RedisConnection hands them to the stores.

#include <string>
#include <string_view>
#include <vector>

namespace semcache::detail {

struct Reply {
  enum class Type { kNil, kString, kStatus, kError, kInteger, kArray };
  Type type = Type::kNil;
  long long integer = 0;        // kInteger
  std::string str;              // kString (binary-safe), kStatus, kError
  std::vector<Reply> elements;  // kArray

  bool is_nil() const { return type == Type::kNil; }
  bool is_error() const { return type == Type::kError; }
  bool is_string() const { return type == Type::kString; }
  bool is_integer() const { return type == Type::kInteger; }
  bool is_array() const { return type == Type::kArray; }
};

std::string_view to_string(Reply::Type type);

}  // namespace semcache::detail
