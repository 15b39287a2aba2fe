// Fuzz target: the prompt-log reader (lib/src/io/prompt_log*.cpp), PromptLogReader over a
// JSONL file, and parse_field_mapping() (the --field option).
//
// Input: a prompt log. When its first line starts with "#fields ", the rest of that line is a
// --field mapping (e.g. "#fields prompt=input,response=output") and the log is what follows.
// The reader maps a file, so the log is written to a scratch file first.
//
// The log is read twice, strictly and with skip_bad_lines. Invariants:
//   - with skip_bad_lines, next() never fails; records + skipped never exceed the lines read,
//     line numbers increase, and at the end every byte of the file was read;
//   - the strict reader returns the same records as the skipping one up to its first error,
//     and fails exactly when the skipping one skipped something;
//   - an error names the file and the line ("PATH:LINE: ...");
//   - no record has both a prompt and messages; embeddings have finite embedding components, and its
//     canonical_request() is a JSON object that simdjson accepts and that a second reading
//     of the same line reproduces.

#include <simdjson.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "semcache/prompt_log.hpp"

namespace {

using semcache::fuzz::printable;

struct Reading {
  std::vector<std::string> canonical;  // of each record, in order
  std::vector<std::size_t> lines;      // the line of each record
  bool failed = false;
  std::size_t skipped = 0;
};

void check_record(const semcache::PromptRecord& record, std::size_t previous_line, std::size_t lines_read) {
  FUZZ_CHECK(record.line > previous_line && record.line <= lines_read,
             "record line " + std::to_string(record.line) + " after line " + std::to_string(previous_line) + " of " +
                 std::to_string(lines_read) + " read");
  FUZZ_CHECK(!(record.has_messages() && !record.prompt.empty()),
             "line " + std::to_string(record.line) + " has both a prompt and messages");
  for (float component : record.embedding) {
    FUZZ_CHECK(std::isfinite(component), "line " + std::to_string(record.line) + ": non-finite embedding component");
  }
  const std::string canonical = semcache::canonical_request(record);
  simdjson::dom::parser parser;
  simdjson::dom::object object;
  const auto error = parser.parse(canonical).get(object);
  FUZZ_CHECK(error == simdjson::SUCCESS, "line " + std::to_string(record.line) + ": canonical_request() is not a JSON object (" +
                                             simdjson::error_message(error) + "): '" + printable(canonical) + "'");
}

Reading read_log(const std::string& path, const semcache::PromptLogOptions& options, std::size_t file_size) {
  Reading reading;
  auto opened = semcache::PromptLogReader::open(path, options);
  FUZZ_CHECK(opened.has_value(), "cannot open the scratch file: " + opened.status().message());
  semcache::PromptLogReader& reader = **opened;
  semcache::PromptRecord record;
  std::size_t previous_line = 0;
  for (;;) {
    auto more = reader.next(record);
    if (!more) {
      FUZZ_CHECK(!options.skip_bad_lines, "next() failed with skip_bad_lines: " + more.status().message());
      FUZZ_CHECK(more.status().message().starts_with(path + ":" + std::to_string(reader.lines_read()) + ": "),
                 "error does not name the file and line: " + more.status().message());
      reading.failed = true;
      break;
    }
    if (!*more) break;
    check_record(record, previous_line, reader.lines_read());
    previous_line = record.line;
    reading.canonical.push_back(semcache::canonical_request(record));
    reading.lines.push_back(record.line);
  }
  FUZZ_CHECK(reader.records() == reading.canonical.size(), "records() disagrees with the records returned");
  FUZZ_CHECK(reader.records() + reader.skipped() <= reader.lines_read(),
             std::to_string(reader.records()) + " records + " + std::to_string(reader.skipped()) + " skipped > " +
                 std::to_string(reader.lines_read()) + " lines");
  FUZZ_CHECK(reader.skipped_messages().size() == std::min(reader.skipped(), semcache::PromptLogReader::kMaxSkippedMessages),
             "skipped_messages() does not hold the first skipped lines");
  if (!reading.failed) {
    FUZZ_CHECK(reader.bytes_read() == file_size,
               "read " + std::to_string(reader.bytes_read()) + " of " + std::to_string(file_size) + " bytes");
  }
  reading.skipped = reader.skipped();
  return reading;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view log = semcache::fuzz::as_text(data, size);
  semcache::PromptLogOptions options;
  if (log.starts_with("#fields ")) {
    const std::size_t end = log.find('\n');
    const std::string_view line = log.substr(0, end);
    auto mapping = semcache::parse_field_mapping(line.substr(8));
    if (!mapping) return 0;
    options.field_names = std::move(*mapping);
    log = end == std::string_view::npos ? std::string_view() : log.substr(end + 1);
  }
  const std::string path = semcache::fuzz::write_file("log.jsonl", log);

  options.skip_bad_lines = false;
  const Reading strict = read_log(path, options, log.size());
  options.skip_bad_lines = true;
  const Reading lenient = read_log(path, options, log.size());

  FUZZ_CHECK(strict.failed == (lenient.skipped > 0), std::string("strict reading ") + (strict.failed ? "failed" : "passed") +
                                                         " but " + std::to_string(lenient.skipped) + " lines were skipped");
  FUZZ_CHECK(strict.canonical.size() <= lenient.canonical.size(), "the strict reader returned more records");
  for (std::size_t i = 0; i < strict.canonical.size(); ++i) {
    FUZZ_CHECK(strict.canonical[i] == lenient.canonical[i] && strict.lines[i] == lenient.lines[i],
               "the two readings differ at record " + std::to_string(i));
  }
  return 0;
}
