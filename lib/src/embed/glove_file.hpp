#pragma once
// The project's word-vector file (".sgv"): int8 rows with per-row scales, SIF weights, the common
// direction and a vocabulary hash table, memory-mapped. The layout is documented at the top of
// glove_file.cpp.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.hpp"
#include "semcache/status.hpp"

namespace semcache::detail {

// Word vectors in memory, in frequency order (row 0 = the most frequent word): the writer's input.
struct WordVectors {
  std::size_t dim = 0;
  std::vector<std::string> words;
  std::vector<std::int8_t> values;  // words.size() * dim, row-major
  std::vector<float> scales;        // one per row: component = value * scale
};

// How the writer derives the weights and the common direction (glove_file.cpp explains both).
struct WordVectorParams {
  double sif_a = 3e-4;          // SIF weight a / (a + p(w)); tuned on qqp-dev's even lines
  double sentence_words = 10;   // words per sentence assumed for the common direction
};

// Quantises a float row to int8 with a scale of max|x| / 127 (all-zero rows get scale 0).
void quantize_row(std::span<const float> row, std::span<std::int8_t> out, float& scale);

// SIF weights from frequency ranks: p(w) of the word of rank r (1-based) under Zipf's law over
// the 400,000-word GloVe 6B vocabulary, weight = a / (a + p(w)).
std::vector<float> sif_weights(std::size_t rows, double sif_a);

// Writes `vectors` to `path` (through a temporary file renamed into place). Rejects empty input,
// inconsistent sizes, empty, over-long or repeated words, and non-finite scales.
Status write_word_vector_file(const WordVectors& vectors, const WordVectorParams& params, const std::string& path);

// A verified, read-only, memory-mapped word-vector file. Immutable after open: any number of
// threads may read it at once.
class WordVectorFile {
 public:
  // Maps and verifies the file (structure and checksum). Errors name the file and the problem:
  // not_found / io from the OS, corrupt for a file that is not a valid word-vector file.
  static Expected<std::shared_ptr<const WordVectorFile>> open(const std::string& path);

  std::size_t dim() const { return dim_; }
  std::size_t rows() const { return rows_; }
  const std::int8_t* row(std::size_t r) const { return reinterpret_cast<const std::int8_t*>(record(r) + kRecordHeader); }
  float scale(std::size_t r) const { return load_float(record(r) + 8); }
  float weight(std::size_t r) const { return load_float(record(r) + 12); }
  std::string_view word(std::size_t r) const {
    return {word_bytes_ + load_u32(record(r)), load_u32(record(r) + 4)};
  }
  std::span<const float> common_direction() const { return {direction_, dim_}; }

  // The row of `word`, or -1 when the vocabulary lacks it. O(1): one hash and a short probe.
  std::int64_t find(std::string_view word) const { return find(word, hash(word)); }
  std::int64_t find(std::string_view word, std::uint64_t h) const;

  // The pieces of find(), for looking up many words with their memory accesses overlapped:
  // hash every word and prefetch its slot, then take each candidate (the first row whose
  // fingerprint matches, -1 for none: the word is surely absent) and prefetch its record, then
  // its word bytes, and only then compare. A candidate whose word differs (a fingerprint
  // collision) needs a full find().
  static std::uint64_t hash(std::string_view word);
  void prefetch_slot(std::uint64_t h) const { __builtin_prefetch(table_ + 2 * (h & slot_mask_)); }
  std::int64_t candidate(std::uint64_t h) const;
  void prefetch_record(std::size_t r) const {
    __builtin_prefetch(record(r));
    __builtin_prefetch(record(r) + record_bytes_ - 1);
  }
  void prefetch_word(std::size_t r) const { __builtin_prefetch(word_bytes_ + load_u32(record(r))); }

  std::uint64_t checksum() const { return checksum_; }
  std::uint64_t file_bytes() const { return file_.size(); }
  double sif_a() const { return sif_a_; }
  double sentence_words() const { return sentence_words_; }
  const std::string& path() const { return file_.path(); }

 private:
  MappedFile file_;
  std::size_t dim_ = 0;
  std::size_t rows_ = 0;
  std::size_t slot_mask_ = 0;
  static constexpr std::size_t kRecordHeader = 16;  // word offset, word length, scale, weight
  static std::uint32_t load_u32(const unsigned char* p) {
    std::uint32_t value;
    std::memcpy(&value, p, sizeof value);
    return value;
  }
  static float load_float(const unsigned char* p) {
    float value;
    std::memcpy(&value, p, sizeof value);
    return value;
  }
  const unsigned char* record(std::size_t r) const { return records_ + r * record_bytes_; }

  const unsigned char* records_ = nullptr;
  std::size_t record_bytes_ = 0;
  const float* direction_ = nullptr;
  const std::uint32_t* table_ = nullptr;  // slots x {row + 1 (0 = empty), fingerprint}
  const char* word_bytes_ = nullptr;
  std::uint64_t checksum_ = 0;
  double sif_a_ = 0;
  double sentence_words_ = 0;
};

}  // namespace semcache::detail
