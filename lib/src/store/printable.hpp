#pragma once
// Keys and ids as they may appear in a message: control bytes as \xNN, so a binary key cannot
// garble a terminal, and (with a limit) long keys cut short with "...".

#include <cstddef>
#include <string>
#include <string_view>

namespace semcache::detail {

inline constexpr std::size_t kMaxKeyInMessage = 64;

inline std::string printable(std::string_view text, std::size_t max_bytes = std::string_view::npos) {
  static constexpr char kHex[] = "0123456789abcdef";
  const std::string_view shown = text.substr(0, max_bytes);
  std::string out;
  out.reserve(shown.size());
  for (char c : shown) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  if (shown.size() < text.size()) out += "...";
  return out;
}

// A store key in a message: printable, cut at kMaxKeyInMessage bytes.
inline std::string printable_key(std::string_view key) { return printable(key, kMaxKeyInMessage); }

}  // namespace semcache::detail
