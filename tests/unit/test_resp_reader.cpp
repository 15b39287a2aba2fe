// RespReader: RESP2 replies parsed in place, whole or arriving in pieces, and protocol errors.

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "store/resp_reader.hpp"

namespace semcache::detail {
namespace {

// Every reply of `bytes`, fed `piece` bytes at a time; "ERROR: ..." last on a protocol error.
std::vector<std::string> read_all(std::string_view bytes, std::size_t piece) {
  RespReader reader;
  std::vector<std::string> out;
  std::function<std::string(const Reply&)> show = [&](const Reply& reply) -> std::string {
    switch (reply.type) {
      case Reply::Type::kNil: return "nil";
      case Reply::Type::kString: return "$" + reply.str;
      case Reply::Type::kStatus: return "+" + reply.str;
      case Reply::Type::kError: return "-" + reply.str;
      case Reply::Type::kInteger: return ":" + std::to_string(reply.integer);
      case Reply::Type::kArray: {
        std::string text = "[";
        for (const Reply& element : reply.elements) text += show(element) + ";";
        return text + "]";
      }
    }
    return "?";
  };
  std::size_t fed = 0;
  while (true) {
    Reply reply;
    std::string error;
    const auto result = reader.next(reply, error);
    if (result == RespReader::Result::kReply) {
      out.push_back(show(reply));
      continue;
    }
    if (result == RespReader::Result::kProtocolError) {
      out.push_back("ERROR: " + error);
      return out;
    }
    if (fed == bytes.size()) {
      if (reader.buffered() > 0) out.push_back("INCOMPLETE");
      return out;
    }
    const std::size_t n = std::min(piece, bytes.size() - fed);
    const auto room = reader.space(n);
    std::memcpy(room.data(), bytes.data() + fed, n);
    reader.commit(n);
    fed += n;
  }
}

}  // namespace

TEST_CASE("resp reader: every reply type, whole or a byte at a time", "[redis]") {
  const std::string binary("a\r\nb\0c", 6);
  const std::string stream = "+OK\r\n-ERR wrong\r\n:-42\r\n$-1\r\n*-1\r\n$0\r\n\r\n$6\r\n" + binary +
                             "\r\n*3\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n*0\r\n+PONG\r\n";
  const std::vector<std::string> expected = {
      "+OK", "-ERR wrong", ":-42", "nil", "nil", "$", "$" + binary, "[:1;[$x;nil;];[];]", "+PONG"};
  CHECK(read_all(stream, stream.size()) == expected);
  for (std::size_t piece : {1, 2, 3, 7, 64}) {
    INFO("fed " << piece << " bytes at a time");
    CHECK(read_all(stream, piece) == expected);
  }
  // A reply cut short is not returned.
  CHECK(read_all("$5\r\nhel", 1) == std::vector<std::string>{"INCOMPLETE"});
  CHECK(read_all("*2\r\n:1\r\n", 3) == std::vector<std::string>{"INCOMPLETE"});
}

TEST_CASE("resp reader: a large bulk string arriving in pieces", "[redis]") {
  std::string value(3 * 1024 * 1024, 'v');
  for (std::size_t i = 0; i < value.size(); i += 4099) value[i] = static_cast<char>('a' + i % 26);
  const std::string stream = "$" + std::to_string(value.size()) + "\r\n" + value + "\r\n:7\r\n";
  CHECK(read_all(stream, 65536) == std::vector<std::string>{"$" + value, ":7"});
}

TEST_CASE("resp reader: protocol errors are named", "[redis]") {
  auto error_of = [](std::string_view bytes) {
    auto replies = read_all(bytes, bytes.size());
    return replies.empty() ? std::string() : replies.back();
  };
  CHECK(error_of("?what\r\n") == "ERROR: unexpected reply type byte 0x3f");
  CHECK(error_of(":12a\r\n") == "ERROR: a malformed ':' header");
  CHECK(error_of("$\r\n") == "ERROR: a malformed '$' header");
  CHECK(error_of("$-2\r\n") == "ERROR: a negative '$' length");
  CHECK(error_of("$3\r\nabcd\r\n") == "ERROR: a bulk string without its CRLF");
  CHECK(error_of("+OK\rx") == "ERROR: a status line without its CRLF");
  CHECK(error_of("$999999999999\r\n") == "ERROR: a bulk string of 999999999999 bytes");
  CHECK(error_of(":" + std::string(40, '1')) == "ERROR: a reply header longer than 32 bytes");
  // Judged the same whole or in pieces (a fuzz finding): too long, before malformed.
  const std::string long_header = "*" + std::string(40, '9') + "\rx";
  CHECK(error_of(long_header) == "ERROR: a reply header longer than 32 bytes");
  CHECK(read_all(long_header, 2).back() == "ERROR: a reply header longer than 32 bytes");
  std::string deep;
  for (int i = 0; i <= RespReader::kMaxDepth; ++i) deep += "*1\r\n";
  CHECK(error_of(deep + ":1\r\n") == "ERROR: arrays nested deeper than 16 levels");
  // The replies before the broken one are still returned.
  CHECK(read_all("+OK\r\n!", 1) == std::vector<std::string>{"+OK", "ERROR: unexpected reply type byte 0x21"});
}

}  // namespace semcache::detail
