// Fuzz target: RespReader (lib/src/store/resp_reader.cpp), which parses what a Redis server
// sends: any bytes a broken or hostile server (or a man in the middle) could produce.
//
// Input: one byte that sets the piece size (1..64), then the bytes from the server.
//
// Invariants:
//   - fed whole or a piece at a time, the reader returns the same replies and then the same
//     protocol error (or runs out of input) at the same point;
//   - every reply written back as RESP parses to the same reply, with nothing left over.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "store/resp_reader.hpp"

namespace {

using semcache::detail::Reply;
using semcache::detail::RespReader;

void write_resp(const Reply& reply, std::string& out) {
  switch (reply.type) {
    case Reply::Type::kNil: out += "$-1\r\n"; break;
    case Reply::Type::kString: out += "$" + std::to_string(reply.str.size()) + "\r\n" + reply.str + "\r\n"; break;
    case Reply::Type::kStatus: out += "+" + reply.str + "\r\n"; break;
    case Reply::Type::kError: out += "-" + reply.str + "\r\n"; break;
    case Reply::Type::kInteger: out += ":" + std::to_string(reply.integer) + "\r\n"; break;
    case Reply::Type::kArray:
      out += "*" + std::to_string(reply.elements.size()) + "\r\n";
      for (const Reply& element : reply.elements) write_resp(element, out);
      break;
  }
}

// The replies as RESP, one string each, then "error: ..." or "incomplete" or "end".
std::vector<std::string> read_all(std::string_view bytes, std::size_t piece) {
  RespReader reader;
  std::vector<std::string> out;
  std::size_t fed = 0;
  while (true) {
    Reply reply;
    std::string error;
    const auto result = reader.next(reply, error);
    if (result == RespReader::Result::kReply) {
      write_resp(reply, out.emplace_back());
      continue;
    }
    if (result == RespReader::Result::kProtocolError) {
      out.push_back("error: " + error);
      return out;
    }
    if (fed == bytes.size()) {
      out.push_back(reader.buffered() > 0 ? "incomplete" : "end");
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

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::vector<std::string> whole = read_all(bytes, bytes.size() + 1);
  const std::vector<std::string> pieces = read_all(bytes, piece);
  FUZZ_CHECK(whole == pieces, "fed " + std::to_string(piece) + " bytes at a time, the reader saw " +
                                  std::to_string(pieces.size()) + " results instead of " + std::to_string(whole.size()));
  for (std::size_t i = 0; i + 1 < whole.size(); ++i) {
    const std::vector<std::string> again = read_all(whole[i], whole[i].size());
    FUZZ_CHECK(again.size() == 2 && again[0] == whole[i] && again[1] == "end",
               "reply " + std::to_string(i) + " written back as RESP does not parse to itself");
  }
  return 0;
}
