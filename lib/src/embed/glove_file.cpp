// The word-vector file of the glove embedder (".sgv", "semcache glove vectors"). It is made once,
// by `semcache embedder import-glove`, from GloVe vectors in another layout, and then opened by
// every process that embeds: opening must cost a few milliseconds, so the file holds everything
// the embedder needs ready to use, including the hash table of the vocabulary, and opening is
// mmap() plus verification, with no per-word parsing and no allocation per word.
//
// Layout, version 1. Little-endian (we refuse to build elsewhere rather than byte-swap), every
// section starts at an offset that is a multiple of 8, and the offsets follow from the counts in
// the header, so a reader never trusts an offset read from the file:
//
//   offset  size               field
//   0       8                  magic "SCGLOVE\0"
//   8       4   u32            version = 1
//   12      4   u32            dim: components per word vector (1..4096)
//   16      4   u32            rows: words (>= 1), in frequency order, row 0 the most frequent
//   20      4   u32            slots: hash table slots, a power of two >= 2 * rows
//   24      8   f64            sif_a: the a of the SIF weights below
//   32      8   f64            sentence_words: the n of the common direction below
//   40      8   u64            word_bytes: the size of the word byte section
//   48      8   u64            file_bytes: the size of the whole file
//   56      64                 zero (reserved)
//   120     8   u64            checksum: Checksum64 (io/checksum.hpp) of bytes [0, 120) and
//                              [128, file_bytes), so it covers everything but itself
//   128     rows * R           one record per word, R = 16 + dim rounded up to a multiple of 8:
//                 u32              offset of the word in the word bytes
//                 u32              length of the word in bytes (1..1024)
//                 f32              scale: component = value * scale
//                 f32              SIF weight
//                 i8 x dim         the word vector, then zero padding
//           dim * 4     f32    the common direction (unit length)
//           slots * 8   u32x2  hash table: {row + 1, fingerprint}, {0, 0} = an empty slot
//           word_bytes         the words, UTF-8, concatenated without separators
//
// Why records: a lookup is memory-bound. Everything the embedder needs of a word (where its
// spelling is, to confirm the match, and its scale, weight and vector) sits in one record of two
// cache lines, so a token costs three cache misses (slot, record, spelling), and the embedder
// overlaps those of all the tokens of a text with prefetches (WordVectorFile::candidate()).
//
// The hash table: h = FNV-1a 64 of the word's bytes finished with murmur3's fmix64 (our own hash,
// never std::hash, so files are the same on every machine); the home slot is h mod slots, with
// linear probing; the fingerprint is the top 32 bits of h, so a probe compares word bytes only
// when the fingerprints agree. At a load factor of at most 1/2 a lookup touches one or two slots.
//
// The SIF weights ("smooth inverse frequency", Arora, Liang and Ma, ICLR 2017): a word's weight
// is a / (a + p(w)). The vector files carry no counts, only the frequency order, so p(w) is
// estimated from the rank r (1-based) by Zipf's law over GloVe 6B's 400,000-word vocabulary:
// p = 1 / (r * H), H = the 400,000th harmonic number. The same word gets the same weight in the
// 30,000-word and the 341,479-word files, because both keep the order of the full list.
//
// The common direction: Arora et al. remove from every sentence vector its projection on the
// first principal component of the sentence vectors, which mostly carries frequent, meaningless
// context. We have no sentences at conversion time, so we compute what that component is in
// expectation: for x = weight(w) * v(w) with w drawn from p (renormalised over the file's rows),
// a sentence of n independent words averages to s with E[s s^T] = mu mu^T + (E[x x^T] - mu mu^T)/n,
// mu = E[x]. The direction is the top eigenvector of that 100 x 100 matrix (power iteration in
// double, started from mu, sign chosen so that it points along mu), with n = sentence_words.
// Storing it in the file keeps it fixed with the vectors: it is part of the content checksum.
//
// Verification at open: sizes against the header, the checksum (a pass over the file at memory
// speed: tens of milliseconds for the full 341,479 words), then the structure that the checksum
// cannot vouch for in a file someone wrote on purpose: words that lie within the byte section,
// table entries that name real rows, finite scales, weights and direction.

#include "embed/glove_file.hpp"

#include <sys/mman.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <unordered_map>

#include "io/checksum.hpp"

static_assert(std::endian::native == std::endian::little, "the word-vector file is little-endian");

namespace semcache::detail {

namespace {

constexpr char kMagic[8] = {'S', 'C', 'G', 'L', 'O', 'V', 'E', '\0'};
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kHeaderBytes = 128;
constexpr std::size_t kChecksumOffset = 120;
constexpr std::size_t kMaxGloveDim = 4096;
constexpr std::size_t kMaxWordBytes = 1024;
constexpr double kGloveVocabulary = 400000;
constexpr int kPowerIterations = 300;

struct Header {
  char magic[8];
  std::uint32_t version;
  std::uint32_t dim;
  std::uint32_t rows;
  std::uint32_t slots;
  double sif_a;
  double sentence_words;
  std::uint64_t word_bytes;
  std::uint64_t file_bytes;
  unsigned char reserved[64];
  std::uint64_t checksum;
};
static_assert(sizeof(Header) == kHeaderBytes && offsetof(Header, checksum) == kChecksumOffset);

std::size_t align8(std::size_t n) { return (n + 7) & ~std::size_t{7}; }

// Where each section starts, from the counts alone.
struct Layout {
  std::size_t record_bytes, records, direction, table, word_bytes, end;
};

Layout layout_of(std::size_t dim, std::size_t rows, std::size_t slots, std::size_t word_bytes) {
  Layout l{};
  l.record_bytes = align8(16 + dim);
  l.records = kHeaderBytes;
  l.direction = l.records + rows * l.record_bytes;
  l.table = align8(l.direction + dim * 4);
  l.word_bytes = l.table + slots * 8;
  l.end = align8(l.word_bytes + word_bytes);
  return l;
}

std::size_t table_slots(std::size_t rows) { return std::bit_ceil(std::max<std::size_t>(2 * rows, 8)); }

double zipf_probability(std::size_t rank) {
  static const double harmonic = std::log(kGloveVocabulary) + 0.5772156649015329 + 1.0 / (2 * kGloveVocabulary);
  return 1.0 / (static_cast<double>(rank) * harmonic);
}

// The common direction (see the top of the file).
std::vector<float> common_direction(const WordVectors& v, const std::vector<float>& weights, double sentence_words) {
  const std::size_t dim = v.dim;
  std::vector<double> mu(dim, 0.0);
  std::vector<double> second(dim * dim, 0.0);  // E[x x^T], upper triangle
  std::vector<double> x(dim);
  double mass = 0;
  for (std::size_t r = 0; r < v.words.size(); ++r) {
    const double p = zipf_probability(r + 1);
    mass += p;
    const double factor = static_cast<double>(weights[r]) * v.scales[r];
    for (std::size_t d = 0; d < dim; ++d) x[d] = factor * v.values[r * dim + d];
    for (std::size_t i = 0; i < dim; ++i) {
      mu[i] += p * x[i];
      const double pxi = p * x[i];
      double* row = second.data() + i * dim;
      for (std::size_t j = i; j < dim; ++j) row[j] += pxi * x[j];
    }
  }
  for (double& m : mu) m /= mass;
  std::vector<double> matrix(dim * dim);
  for (std::size_t i = 0; i < dim; ++i) {
    for (std::size_t j = i; j < dim; ++j) {
      const double mean_outer = mu[i] * mu[j];
      const double value = mean_outer + (second[i * dim + j] / mass - mean_outer) / sentence_words;
      matrix[i * dim + j] = value;
      matrix[j * dim + i] = value;
    }
  }
  std::vector<double> u = mu;
  std::vector<double> next(dim);
  auto normalise = [](std::vector<double>& w) {
    double norm = 0;
    for (const double c : w) norm += c * c;
    norm = std::sqrt(norm);
    if (norm > 0) {
      for (double& c : w) c /= norm;
    }
    return norm;
  };
  if (normalise(u) == 0) u.assign(dim, 1.0 / std::sqrt(static_cast<double>(dim)));
  for (int iteration = 0; iteration < kPowerIterations; ++iteration) {
    for (std::size_t i = 0; i < dim; ++i) {
      double sum = 0;
      for (std::size_t j = 0; j < dim; ++j) sum += matrix[i * dim + j] * u[j];
      next[i] = sum;
    }
    if (normalise(next) == 0) break;
    u.swap(next);
  }
  double along = 0;
  for (std::size_t i = 0; i < dim; ++i) along += u[i] * mu[i];
  std::vector<float> direction(dim);
  for (std::size_t i = 0; i < dim; ++i) direction[i] = static_cast<float>(along < 0 ? -u[i] : u[i]);
  return direction;
}

template <typename T>
void put(std::vector<unsigned char>& file, std::size_t offset, const T* data, std::size_t count) {
  std::memcpy(file.data() + offset, data, count * sizeof(T));
}

std::uint64_t file_checksum(const unsigned char* data, std::size_t size) {
  Checksum64 checksum;
  checksum.update(data, kChecksumOffset);
  checksum.update(data + kHeaderBytes, size - kHeaderBytes);
  return checksum.digest();
}

bool all_finite(const float* values, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) return false;
  }
  return true;
}

}  // namespace

void quantize_row(std::span<const float> row, std::span<std::int8_t> out, float& scale) {
  float largest = 0;
  for (const float x : row) largest = std::max(largest, std::fabs(x));
  scale = largest / 127.0f;
  for (std::size_t d = 0; d < row.size(); ++d) {
    out[d] = scale > 0 ? static_cast<std::int8_t>(std::lround(std::clamp(row[d] / scale, -127.0f, 127.0f))) : 0;
  }
}

std::vector<float> sif_weights(std::size_t rows, double sif_a) {
  std::vector<float> weights(rows);
  for (std::size_t r = 0; r < rows; ++r) weights[r] = static_cast<float>(sif_a / (sif_a + zipf_probability(r + 1)));
  return weights;
}

Status write_word_vector_file(const WordVectors& v, const WordVectorParams& params, const std::string& path) {
  const std::size_t rows = v.words.size();
  const std::string where = path + ": cannot write word vectors: ";
  if (v.dim == 0 || v.dim > kMaxGloveDim) {
    return Status::invalid_argument(where + "dimension " + std::to_string(v.dim) + " is out of range (1 to 4096)");
  }
  if (rows == 0 || rows > std::numeric_limits<std::uint32_t>::max() / 4) {
    return Status::invalid_argument(where + "the vocabulary holds " + std::to_string(rows) + " words");
  }
  if (v.values.size() != rows * v.dim || v.scales.size() != rows) {
    return Status::invalid_argument(where + std::to_string(rows) + " words but " + std::to_string(v.values.size()) +
                                    " values and " + std::to_string(v.scales.size()) + " scales");
  }
  if (!(params.sif_a > 0) || !(params.sentence_words >= 1)) {
    return Status::invalid_argument(where + "sif_a must be > 0 and sentence_words >= 1");
  }
  std::uint64_t word_bytes = 0;
  std::unordered_map<std::string_view, std::size_t> seen;
  seen.reserve(rows);
  for (std::size_t r = 0; r < rows; ++r) {
    const std::string& word = v.words[r];
    if (word.empty() || word.size() > kMaxWordBytes) {
      return Status::invalid_argument(where + "word " + std::to_string(r) + " is empty or longer than 1024 bytes");
    }
    if (auto [it, added] = seen.emplace(word, r); !added) {
      return Status::invalid_argument(where + "the word '" + word + "' appears twice (rows " + std::to_string(it->second) +
                                      " and " + std::to_string(r) + ")");
    }
    if (!std::isfinite(v.scales[r]) || v.scales[r] < 0) {
      return Status::invalid_argument(where + "the scale of the word '" + word + "' is not a finite number >= 0");
    }
    word_bytes += word.size();
  }
  if (word_bytes > std::numeric_limits<std::uint32_t>::max()) {
    return Status::invalid_argument(where + "the words take more than 4 GB");
  }

  const std::size_t slots = table_slots(rows);
  const Layout l = layout_of(v.dim, rows, slots, word_bytes);
  std::vector<unsigned char> file(l.end, 0);
  Header header{};
  std::memcpy(header.magic, kMagic, sizeof kMagic);
  header.version = kVersion;
  header.dim = static_cast<std::uint32_t>(v.dim);
  header.rows = static_cast<std::uint32_t>(rows);
  header.slots = static_cast<std::uint32_t>(slots);
  header.sif_a = params.sif_a;
  header.sentence_words = params.sentence_words;
  header.word_bytes = word_bytes;
  header.file_bytes = l.end;

  const std::vector<float> weights = sif_weights(rows, params.sif_a);
  const std::vector<float> direction = common_direction(v, weights, params.sentence_words);
  put(file, l.direction, direction.data(), v.dim);
  std::vector<std::uint32_t> table(slots * 2, 0);
  std::uint32_t offset = 0;
  for (std::size_t r = 0; r < rows; ++r) {
    const std::string& word = v.words[r];
    const std::size_t record = l.records + r * l.record_bytes;
    const auto length = static_cast<std::uint32_t>(word.size());
    put(file, record, &offset, 1);
    put(file, record + 4, &length, 1);
    put(file, record + 8, &v.scales[r], 1);
    put(file, record + 12, &weights[r], 1);
    put(file, record + 16, v.values.data() + r * v.dim, v.dim);
    std::memcpy(file.data() + l.word_bytes + offset, word.data(), word.size());
    offset += length;
    const std::uint64_t h = WordVectorFile::hash(word);
    std::size_t slot = h & (slots - 1);
    while (table[slot * 2] != 0) slot = (slot + 1) & (slots - 1);
    table[slot * 2] = static_cast<std::uint32_t>(r + 1);
    table[slot * 2 + 1] = static_cast<std::uint32_t>(h >> 32);
  }
  put(file, l.table, table.data(), table.size());
  std::memcpy(file.data(), &header, sizeof header);
  header.checksum = file_checksum(file.data(), file.size());
  std::memcpy(file.data() + kChecksumOffset, &header.checksum, sizeof header.checksum);

  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    if (!out) return os_error(temporary, "cannot open for writing", errno);
    out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
    out.close();
    if (!out) {
      std::remove(temporary.c_str());
      return Status::io(temporary + ": write failed");
    }
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  if (error) {
    std::remove(temporary.c_str());
    return Status::io(path + ": cannot rename " + temporary + " into place: " + error.message());
  }
  return Status::ok();
}

Expected<std::shared_ptr<const WordVectorFile>> WordVectorFile::open(const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.status();
  auto corrupt = [&](const std::string& what) {
    return Status::corrupt(path + ": not a valid semcache word-vector file: " + what +
                           " (convert the vectors again with `semcache embedder import-glove`)");
  };
  const std::size_t size = mapped->size();
  if (size < kHeaderBytes) {
    return corrupt("it is " + std::to_string(size) + " bytes, shorter than the 128-byte header");
  }
  Header header;
  std::memcpy(&header, mapped->data(), sizeof header);
  if (std::memcmp(header.magic, kMagic, sizeof kMagic) != 0) return corrupt("the magic bytes are not \"SCGLOVE\"");
  if (header.version != kVersion) {
    return corrupt("format version " + std::to_string(header.version) + ", this build reads version 1");
  }
  if (header.dim == 0 || header.dim > kMaxGloveDim || header.rows == 0 || !std::has_single_bit(header.slots) ||
      header.slots < 2ull * header.rows || header.word_bytes > std::numeric_limits<std::uint32_t>::max()) {
    return corrupt("impossible counts in the header (dim " + std::to_string(header.dim) + ", rows " +
                   std::to_string(header.rows) + ", slots " + std::to_string(header.slots) + ")");
  }
  const Layout l = layout_of(header.dim, header.rows, header.slots, header.word_bytes);
  if (header.file_bytes != l.end) return corrupt("the header's file size disagrees with its counts");
  if (size != header.file_bytes) {
    return corrupt("it is " + std::to_string(size) + " bytes, the header says " + std::to_string(header.file_bytes) +
                   (size < header.file_bytes ? " (truncated)" : ""));
  }
  // A normal access pattern from here: the checksum reads the file once, then lookups jump.
  ::madvise(const_cast<unsigned char*>(mapped->data()), size, MADV_NORMAL);
  const std::uint64_t checksum = file_checksum(mapped->data(), size);
  if (checksum != header.checksum) return corrupt("checksum mismatch (the file is damaged)");

  auto file = std::shared_ptr<WordVectorFile>(new WordVectorFile());
  const unsigned char* base = mapped->data();
  file->dim_ = header.dim;
  file->rows_ = header.rows;
  file->slot_mask_ = header.slots - 1;
  file->records_ = base + l.records;
  file->record_bytes_ = l.record_bytes;
  file->direction_ = reinterpret_cast<const float*>(base + l.direction);
  file->table_ = reinterpret_cast<const std::uint32_t*>(base + l.table);
  file->word_bytes_ = reinterpret_cast<const char*>(base + l.word_bytes);
  file->checksum_ = checksum;
  file->sif_a_ = header.sif_a;
  file->sentence_words_ = header.sentence_words;

  if (!all_finite(file->direction_, header.dim)) return corrupt("a component of the common direction is not a finite number");
  for (std::size_t r = 0; r < header.rows; ++r) {
    const unsigned char* record = file->record(r);
    const std::uint64_t offset = load_u32(record);
    const std::uint64_t length = load_u32(record + 4);
    if (length == 0 || length > kMaxWordBytes || offset + length > header.word_bytes) {
      return corrupt("the word of row " + std::to_string(r) + " lies outside the word bytes");
    }
    if (!std::isfinite(file->scale(r)) || !std::isfinite(file->weight(r))) {
      return corrupt("the scale or weight of row " + std::to_string(r) + " is not a finite number");
    }
  }
  std::size_t filled = 0;
  for (std::size_t s = 0; s < header.slots; ++s) {
    const std::uint32_t row_plus_one = file->table_[2 * s];
    if (row_plus_one > header.rows) return corrupt("hash table slot " + std::to_string(s) + " names a row past the end");
    filled += row_plus_one != 0 ? 1 : 0;
  }
  if (filled != header.rows) return corrupt("the hash table holds " + std::to_string(filled) + " words, not " + std::to_string(header.rows));
  file->file_ = std::move(*mapped);
  return std::shared_ptr<const WordVectorFile>(std::move(file));
}

std::uint64_t WordVectorFile::hash(std::string_view word) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : word) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

std::int64_t WordVectorFile::candidate(std::uint64_t h) const {
  const auto fingerprint = static_cast<std::uint32_t>(h >> 32);
  for (std::size_t slot = h & slot_mask_;; slot = (slot + 1) & slot_mask_) {
    const std::uint32_t row_plus_one = table_[2 * slot];
    if (row_plus_one == 0) return -1;
    if (table_[2 * slot + 1] == fingerprint) return row_plus_one - 1;
  }
}

std::int64_t WordVectorFile::find(std::string_view word, std::uint64_t h) const {
  const auto fingerprint = static_cast<std::uint32_t>(h >> 32);
  for (std::size_t slot = h & slot_mask_;; slot = (slot + 1) & slot_mask_) {
    const std::uint32_t row_plus_one = table_[2 * slot];
    if (row_plus_one == 0) return -1;
    if (table_[2 * slot + 1] == fingerprint && this->word(row_plus_one - 1) == word) return row_plus_one - 1;
  }
}

}  // namespace semcache::detail
