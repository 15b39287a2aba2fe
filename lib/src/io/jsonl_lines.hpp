#pragma once
// What every JSONL reader of semcache shares (vector files, prompt logs): walking the lines of a
// memory-mapped file, and handing simdjson a padded view of one line.
//
// Lines are found with memchr straight in the mapping; a UTF-8 byte-order mark on line 1 and
// blank lines are skipped, and line numbers count every line (1-based) so messages point at the
// right one. simdjson reads up to SIMDJSON_PADDING bytes past a document: a line followed by at
// least that much of the file is parsed in place, only a line near the end of the file is copied
// into the caller's reusable buffer.

#include <cstddef>
#include <cstring>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "io/mapped_file.hpp"

namespace semcache::detail {

class JsonlLines {
 public:
  explicit JsonlLines(const MappedFile& file) : file_(&file) {}

  // The next non-blank line (without its '\n'); false at the end of the file.
  bool next(std::string_view& line) {
    const char* base = reinterpret_cast<const char*>(file_->data());
    const std::size_t size = file_->size();
    while (pos_ < size) {
      const char* start = base + pos_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', size - pos_));
      const std::size_t length = newline != nullptr ? static_cast<std::size_t>(newline - start) : size - pos_;
      pos_ += length + (newline != nullptr ? 1 : 0);
      ++line_number_;
      line = std::string_view(start, length);
      if (line_number_ == 1 && line.starts_with("\xEF\xBB\xBF")) line.remove_prefix(3);
      if (line.find_first_not_of(" \t\r") != std::string_view::npos) return true;
    }
    return false;
  }

  std::size_t line_number() const { return line_number_; }  // of the line last returned
  std::size_t bytes_consumed() const { return pos_; }

 private:
  const MappedFile* file_;
  std::size_t pos_ = 0;
  std::size_t line_number_ = 0;
};

// Starts simdjson on one line of `file`, in place when enough of the file follows it, else on a
// padded copy in `buffer`.
inline simdjson::simdjson_result<simdjson::ondemand::document> iterate_line(simdjson::ondemand::parser& parser,
                                                                           const MappedFile& file,
                                                                           std::string_view line,
                                                                           std::vector<char>& buffer) {
  const auto in_file = static_cast<std::size_t>(line.data() - reinterpret_cast<const char*>(file.data()));
  if (file.size() - in_file >= line.size() + simdjson::SIMDJSON_PADDING) {
    return parser.iterate(line.data(), line.size(), file.size() - in_file);
  }
  buffer.resize(line.size() + simdjson::SIMDJSON_PADDING);
  std::memcpy(buffer.data(), line.data(), line.size());
  return parser.iterate(buffer.data(), line.size(), buffer.size());
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
