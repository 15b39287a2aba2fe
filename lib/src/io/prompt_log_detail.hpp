#pragma once
// Internals of the prompt-log reader (prompt_log*.cpp) that are worth testing on their own:
// RFC 3339 timestamps and the JSON text of canonical values.

#include <optional>
#include <string>
#include <string_view>

namespace semcache::detail {

// Epoch seconds of an RFC 3339 date-time, "2025-01-01T12:00:00.123Z" or "...+02:00" ('t', ' '
// and 'z' accepted as RFC 3339 section 5.6 allows); nullopt when malformed, out of range, or
// without its offset (a time without one names no instant).
std::optional<double> parse_rfc3339(std::string_view text);

// Appends `text` as a JSON string literal: '"' and '\\' escaped, control characters as
// \b \f \n \r \t or \u00XX, everything else (UTF-8 included) as is. One spelling per string,
// so equal strings give equal text.
void append_json_string(std::string& out, std::string_view text);

// Appends a number in one spelling per value: integers (and doubles that are whole and below
// 2^53 in magnitude) in decimal, other doubles in the shortest text that reads back exactly.
void append_json_number(std::string& out, double value);
void append_json_integer(std::string& out, long long value);
void append_json_unsigned(std::string& out, unsigned long long value);

}  // namespace semcache::detail
