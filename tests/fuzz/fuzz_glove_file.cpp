// Fuzz target: the glove embedder's word-vector file (".sgv", lib/src/embed/glove_file.cpp),
// WordVectorFile::open() and lookups in what it opened.
//
// Input: a word-vector file whose checksum field (bytes 120-127) is replaced by the checksum of
// the rest before it is opened, so that the fuzzer reaches the structural checks behind the
// checksum: glove_file.cpp promises they hold even for a file someone wrote on purpose. Seeds
// are files written by write_word_vector_file().
//
// Invariants on a file that opens: every row's word is non-empty and find() of it gives a row
// with that very word (the hash table reaches every word); candidate() names a row for it
// (-1 would mean "surely absent") and agrees with find() when that row holds the word; scales, weights and the common direction are finite; every
// vector byte can be read.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "embed/glove_file.hpp"
#include "fuzz_common.hpp"
#include "io/checksum.hpp"

namespace {

constexpr std::size_t kHeaderBytes = 128;
constexpr std::size_t kChecksumOffset = 120;
constexpr std::size_t kMaxRowsChecked = 4096;  // keeps one input fast whatever rows() claims

using semcache::fuzz::printable;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string bytes(reinterpret_cast<const char*>(data), size);
  if (size >= kHeaderBytes) {
    semcache::detail::Checksum64 checksum;
    checksum.update(bytes.data(), kChecksumOffset);
    checksum.update(bytes.data() + kHeaderBytes, size - kHeaderBytes);
    const std::uint64_t digest = checksum.digest();
    std::memcpy(bytes.data() + kChecksumOffset, &digest, sizeof digest);
  }
  const std::string path = semcache::fuzz::write_file("words.sgv", bytes);
  const auto opened = semcache::detail::WordVectorFile::open(path);
  if (!opened) {
    FUZZ_CHECK(opened.status().message().starts_with(path), "error does not name the file: " + opened.status().message());
    return 0;
  }
  const semcache::detail::WordVectorFile& file = **opened;
  FUZZ_CHECK(file.dim() >= 1 && file.rows() >= 1, "opened a file of " + std::to_string(file.rows()) + " x " +
                                                       std::to_string(file.dim()));
  for (float x : file.common_direction()) FUZZ_CHECK(std::isfinite(x), "non-finite common direction");

  std::int64_t sum = 0;  // of every vector byte read: a read outside the file would fault
  std::size_t rows_checked = 0;
  for (std::size_t r = 0; r < file.rows() && r < kMaxRowsChecked; ++r, ++rows_checked) {
    const std::string_view word = file.word(r);
    FUZZ_CHECK(!word.empty(), "row " + std::to_string(r) + " has an empty word");
    FUZZ_CHECK(std::isfinite(file.scale(r)) && std::isfinite(file.weight(r)), "row " + std::to_string(r) + " is not finite");
    const std::int8_t* values = file.row(r);
    for (std::size_t i = 0; i < file.dim(); ++i) sum += values[i];

    const std::int64_t found = file.find(word);
    FUZZ_CHECK(found == -1 || (found >= 0 && static_cast<std::size_t>(found) < file.rows() &&
                               file.word(static_cast<std::size_t>(found)) == word),
               "find('" + printable(word) + "') of row " + std::to_string(r) + " gave " + std::to_string(found));
    const std::uint64_t h = semcache::detail::WordVectorFile::hash(word);
    const std::int64_t candidate = file.candidate(h);
    FUZZ_CHECK(candidate >= -1 && candidate < static_cast<std::int64_t>(file.rows()),
               "candidate() gave row " + std::to_string(candidate) + " for the word of row " + std::to_string(r));
    if (candidate >= 0 && file.word(static_cast<std::size_t>(candidate)) == word) {
      FUZZ_CHECK(candidate == found, "candidate() and find() disagree on '" + printable(word) + "'");
    }
    if (found >= 0) FUZZ_CHECK(candidate >= 0, "candidate() says '" + printable(word) + "' is surely absent; find() found it");
  }
  const std::int64_t absent = file.find(std::string_view("\x01 no such word", 14));
  FUZZ_CHECK(absent == -1 || file.word(static_cast<std::size_t>(absent)) == std::string_view("\x01 no such word", 14),
             "find() of an absent word gave row " + std::to_string(absent));
  const auto bound = static_cast<std::int64_t>(128 * file.dim() * rows_checked);
  FUZZ_CHECK(sum >= -bound && sum <= bound, "int8 vector bytes sum to " + std::to_string(sum));
  return 0;
}
