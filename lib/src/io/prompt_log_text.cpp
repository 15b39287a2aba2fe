// Text helpers of the prompt-log reader: RFC 3339 parsing and canonical JSON spelling.
//
// RFC 3339 is parsed by hand rather than with strptime/timegm: those depend on the C locale
// and the TZ environment, ignore fractional seconds and offsets, and accept more than the
// grammar allows. The date is turned into days with Howard Hinnant's days_from_civil, which
// is exact for the whole proleptic Gregorian calendar, so no table or time zone is involved.
// A leap second (:60) counts as the first second of the next minute, as POSIX time does.
//
// Canonical JSON (for params_json and canonical_request) must give one text per value, so
// strings get exactly one escape for each character that needs one, and numbers are printed
// from their value, not copied from the log: 0.70, 7e-1 and 0.7 are one temperature, 1 and
// 1.0 one max_tokens.

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "io/prompt_log_detail.hpp"

namespace semcache::detail {

namespace {

class Scanner {
 public:
  explicit Scanner(std::string_view text) : text_(text) {}

  bool digits(std::size_t count, int& value) {
    if (text_.size() - pos_ < count) return false;
    value = 0;
    for (std::size_t i = 0; i < count; ++i) {
      const char c = text_[pos_ + i];
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    pos_ += count;
    return true;
  }

  bool literal(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool one_of(std::string_view options, char& which) {
    if (pos_ < text_.size() && options.find(text_[pos_]) != std::string_view::npos) {
      which = text_[pos_++];
      return true;
    }
    return false;
  }

  bool is_digit() const { return pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9'; }
  char take() { return text_[pos_++]; }
  bool at_end() const { return pos_ == text_.size(); }

 private:
  std::string_view text_;
  std::size_t pos_ = 0;
};

bool is_leap_year(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int days_in_month(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap_year(year) ? 29 : kDays[month - 1];
}

std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day) {
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<std::int64_t>(day_of_era) - 719468;
}

}  // namespace

std::optional<double> parse_rfc3339(std::string_view text) {
  Scanner in(text);
  int year, month, day, hour, minute, second;
  char separator;
  if (!in.digits(4, year) || !in.literal('-') || !in.digits(2, month) || !in.literal('-') ||
      !in.digits(2, day) || !in.one_of("Tt ", separator) || !in.digits(2, hour) || !in.literal(':') ||
      !in.digits(2, minute) || !in.literal(':') || !in.digits(2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month) || hour > 23 || minute > 59 ||
      second > 60) {
    return std::nullopt;
  }
  double fraction = 0;
  if (in.literal('.')) {
    if (!in.is_digit()) return std::nullopt;
    double scale = 0.1;
    while (in.is_digit()) {
      fraction += (in.take() - '0') * scale;
      scale /= 10;
    }
  }
  int offset_seconds = 0;
  char zone;
  if (!in.one_of("Zz+-", zone)) return std::nullopt;
  if (zone == '+' || zone == '-') {
    int offset_hour, offset_minute;
    if (!in.digits(2, offset_hour) || !in.literal(':') || !in.digits(2, offset_minute) || offset_hour > 23 ||
        offset_minute > 59) {
      return std::nullopt;
    }
    offset_seconds = (offset_hour * 3600 + offset_minute * 60) * (zone == '-' ? -1 : 1);
  }
  if (!in.at_end()) return std::nullopt;
  const std::int64_t whole = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
                             hour * 3600 + minute * 60 + second - offset_seconds;
  return static_cast<double>(whole) + fraction;
}

void append_json_string(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.reserve(out.size() + text.size() + 2);
  out.push_back('"');
  // Bytes that need no escape are copied a run at a time: canonical requests are built per
  // replayed request, and a push_back per byte was a tenth of the replay's reading thread.
  // Eight bytes are checked at once while none needs an escape (a control byte, '"', '\\').
  std::size_t run = 0;
  std::size_t i = 0;
  const auto needs_escape = [](std::uint64_t w) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    const auto has_zero = [](std::uint64_t v) { return (v - kOnes) & ~v & kHigh; };
    return (((w - 0x20 * kOnes) & ~w & kHigh) | has_zero(w ^ ('"' * kOnes)) | has_zero(w ^ ('\\' * kOnes))) != 0;
  };
  for (; i < text.size(); ++i) {
    if (i + 8 <= text.size()) {
      std::uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if (!needs_escape(word)) {
        i += 7;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(text.data() + run, text.size() - run);
  out.push_back('"');
}

void append_json_integer(std::string& out, long long value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

void append_json_unsigned(std::string& out, unsigned long long value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

void append_json_number(std::string& out, double value) {
  constexpr double kExactIntegers = 9007199254740992.0;  // 2^53
  if (value == std::floor(value) && std::fabs(value) < kExactIntegers) {
    append_json_integer(out, static_cast<long long>(value));
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out.append(buf, end);
}

}  // namespace semcache::detail
