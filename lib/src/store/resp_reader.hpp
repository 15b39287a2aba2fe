#pragma once
// RespReader: turns the bytes a Redis server sends into Replies (RESP2: +status, -error,
// :integer, $bulk, *array, with -1 lengths for nil), one reply at a time, in place.
//
// RedisConnection receives into space() / commit() and asks next() for a reply; next() says
// kIncomplete until every byte of the next reply is there. It first walks the reply's headers
// without copying (cheap to repeat while a large reply arrives in pieces), then builds the
// Reply in one pass, one copy per bulk string. A reply that breaks the protocol (an unknown
// type byte, a malformed length, a bulk without its CRLF, arrays nested deeper than
// kMaxDepth) is kProtocolError with a message: the connection cannot be trusted after it.
//
// Thread model: one reader per connection, used by one thread at a time.

#include <cstddef>
#include <span>
#include <string>

#include "store/reply.hpp"

namespace semcache::detail {

class RespReader {
 public:
  static constexpr int kMaxDepth = 16;                          // nested arrays
  static constexpr long long kMaxBulk = 512LL * 1024 * 1024;    // Redis's own proto-max-bulk-len

  enum class Result { kReply, kIncomplete, kProtocolError };

  // Room for at least `min_size` more bytes (the buffer grows or compacts as needed).
  std::span<char> space(std::size_t min_size);
  // `size` bytes were written at the start of the last space().
  void commit(std::size_t size) { end_ += size; }

  // The next reply, if all of it has arrived. On kProtocolError, `error` says what was wrong.
  Result next(Reply& reply, std::string& error);

  // Bytes received and not yet returned as a reply.
  std::size_t buffered() const { return end_ - begin_; }
  void clear() { begin_ = end_ = 0; }

 private:
  // Where the reply starting at `at` ends: npos while incomplete, kInvalid on a protocol error.
  static constexpr std::size_t kInvalid = static_cast<std::size_t>(-2);
  std::size_t scan(std::size_t at, int depth, std::string& error) const;
  // Builds the (complete, already scanned) reply at `at`; returns where it ends.
  std::size_t build(std::size_t at, Reply& reply) const;
  std::string buffer_;
  std::size_t begin_ = 0;  // first unread byte
  std::size_t end_ = 0;    // one past the last received byte
};

}  // namespace semcache::detail
