// RespReader: see resp_reader.hpp. scan() and build() follow the same grammar; scan() only
// checks and measures, so a reply is copied out once, when all of it is there.

#include "store/resp_reader.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <string_view>

namespace semcache::detail {
namespace {

constexpr std::size_t kNpos = static_cast<std::size_t>(-1);
constexpr std::size_t kMaxHeader = 32;  // a type byte, a 64-bit number and CRLF fit well within

}  // namespace

std::span<char> RespReader::space(std::size_t min_size) {
  if (begin_ == end_) begin_ = end_ = 0;
  if (buffer_.size() - end_ < min_size) {
    if (begin_ > 0) {
      std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (buffer_.size() - end_ < min_size) buffer_.resize(std::max(end_ + min_size, 2 * buffer_.size()));
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

RespReader::Result RespReader::next(Reply& reply, std::string& error) {
  const std::size_t end = scan(begin_, 0, error);
  if (end == kNpos) return Result::kIncomplete;
  if (end == kInvalid) return Result::kProtocolError;
  reply = Reply{};
  build(begin_, reply);
  begin_ = end;
  return Result::kReply;
}

// The first '\r' after the type byte at `at`, or kNpos when none has arrived yet.
static std::size_t find_cr(const std::string& buffer, std::size_t at, std::size_t end) {
  const void* cr = std::memchr(buffer.data() + at + 1, '\r', end - at - 1);
  return cr == nullptr ? kNpos : static_cast<std::size_t>(static_cast<const char*>(cr) - buffer.data());
}

std::size_t RespReader::scan(std::size_t at, int depth, std::string& error) const {
  if (at >= end_) return kNpos;
  const char type = buffer_[at];
  if (type == '+' || type == '-') {
    const std::size_t crlf = find_cr(buffer_, at, end_);
    if (crlf == kNpos || crlf + 1 == end_) return kNpos;
    if (buffer_[crlf + 1] != '\n') {
      error = "a status line without its CRLF";
      return kInvalid;
    }
    return crlf + 2;
  }
  if (type != ':' && type != '$' && type != '*') {
    error = "unexpected reply type byte 0x" + std::string(1, "0123456789abcdef"[(type >> 4) & 15]) +
            "0123456789abcdef"[type & 15];
    return kInvalid;
  }
  // The same verdict however the bytes arrive: too long is judged up to the '\r' (or on what
  // has arrived while there is none), before anything else.
  const std::size_t crlf = find_cr(buffer_, at, end_);
  if ((crlf == kNpos ? end_ : crlf) - at > kMaxHeader) {
    error = "a reply header longer than " + std::to_string(kMaxHeader) + " bytes";
    return kInvalid;
  }
  if (crlf == kNpos || crlf + 1 == end_) return kNpos;
  long long number = 0;
  const char* first = buffer_.data() + at + 1;
  const char* last = buffer_.data() + crlf;
  const auto [parsed_end, ec] = std::from_chars(first, last, number);
  if (ec != std::errc() || parsed_end != last || first == last || buffer_[crlf + 1] != '\n') {
    error = std::string("a malformed '") + type + "' header";
    return kInvalid;
  }
  const std::size_t after = crlf + 2;
  if (type == ':') return after;
  if (number == -1) return after;  // nil bulk or nil array
  if (number < 0) {
    error = std::string("a negative '") + type + "' length";
    return kInvalid;
  }
  if (type == '$') {
    if (number > kMaxBulk) {
      error = "a bulk string of " + std::to_string(number) + " bytes";
      return kInvalid;
    }
    const auto size = static_cast<std::size_t>(number);
    if (end_ - after < size + 2) return kNpos;
    if (buffer_[after + size] != '\r' || buffer_[after + size + 1] != '\n') {
      error = "a bulk string without its CRLF";
      return kInvalid;
    }
    return after + size + 2;
  }
  if (depth >= kMaxDepth) {
    error = "arrays nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return kInvalid;
  }
  std::size_t pos = after;
  for (long long i = 0; i < number; ++i) {
    pos = scan(pos, depth + 1, error);
    if (pos == kNpos || pos == kInvalid) return pos;
  }
  return pos;
}

std::size_t RespReader::build(std::size_t at, Reply& reply) const {
  const char type = buffer_[at];
  const std::size_t crlf = find_cr(buffer_, at, end_);
  const std::string_view line(buffer_.data() + at + 1, crlf - at - 1);
  const std::size_t after = crlf + 2;
  if (type == '+' || type == '-') {
    reply.type = type == '+' ? Reply::Type::kStatus : Reply::Type::kError;
    reply.str.assign(line);
    return after;
  }
  long long number = 0;
  std::from_chars(line.data(), line.data() + line.size(), number);  // scan() checked it
  if (type == ':') {
    reply.type = Reply::Type::kInteger;
    reply.integer = number;
    return after;
  }
  if (number < 0) {
    reply.type = Reply::Type::kNil;
    return after;
  }
  if (type == '$') {
    reply.type = Reply::Type::kString;
    reply.str.assign(buffer_.data() + after, static_cast<std::size_t>(number));
    return after + static_cast<std::size_t>(number) + 2;
  }
  reply.type = Reply::Type::kArray;
  reply.elements.resize(static_cast<std::size_t>(number));
  std::size_t pos = after;
  for (Reply& element : reply.elements) pos = build(pos, element);
  return pos;
}

}  // namespace semcache::detail
