#pragma once
// What every JSONL reader of semcache shares (vector files, prompt logs, labelled pairs):
// walking the lines of a file, and handing simdjson a padded view of one line.
//
// The file is read a block at a time into one buffer (read(), not a mapping: on this project's
// VMs, walking a mapping of the page cache cost 2-3x the time of copying the same bytes into a
// small buffer that then stays in the CPU cache for the parser; see jsonl_lines.cpp). The
// buffer holds whole lines, grows only to the longest line, and always keeps
// SIMDJSON_PADDING bytes after its data, so every line is parsed in place. A UTF-8 byte-order
// mark on line 1 and blank lines are skipped, and line numbers count every line (1-based) so
// messages point at the right one.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "io/mapped_file.hpp"
#include "semcache/status.hpp"

namespace semcache::detail {

class JsonlLines {
 public:
  // Opens a regular file for reading (not_found, io, or bad_input for a directory or device).
  static Expected<JsonlLines> open(const std::string& path);

  // The next non-blank line (without its '\n'), valid until the next call and followed by at
  // least SIMDJSON_PADDING readable bytes. False at the end of the file, or when reading
  // failed: status() says which.
  bool next(std::string_view& line);
  const Status& status() const { return status_; }

  std::size_t line_number() const { return line_number_; }  // of the line last returned
  std::uint64_t bytes_consumed() const { return consumed_; }
  std::uint64_t size() const { return size_; }  // of the file when it was opened
  const std::string& path() const { return path_; }

 private:
  // Moves the unread bytes to the front, grows the buffer when a line fills it, and reads the
  // next block; false at the end of the file or on an error.
  bool refill();

  FileDescriptor fd_;  // closed at the end of the file
  std::string path_;
  std::vector<char> buffer_;  // [begin_, end_) read and not yet returned
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool at_end_ = false;
  Status status_;
  std::size_t line_number_ = 0;
  std::uint64_t consumed_ = 0;
  std::uint64_t size_ = 0;
};

// Starts simdjson on a line that JsonlLines::next() returned (in place: the padding is there).
inline simdjson::simdjson_result<simdjson::ondemand::document> iterate_line(simdjson::ondemand::parser& parser,
                                                                           std::string_view line) {
  return parser.iterate(line.data(), line.size(), line.size() + simdjson::SIMDJSON_PADDING);
}

inline std::string_view json_type_name(simdjson::ondemand::json_type type) {
  using simdjson::ondemand::json_type;
  switch (type) {
    case json_type::array: return "array";
    case json_type::object: return "object";
    case json_type::number: return "number";
    case json_type::string: return "string";
    case json_type::boolean: return "boolean";
    case json_type::null: return "null";
  }
  return "unknown";
}

}  // namespace semcache::detail
