// Fuzz target: the vector file readers (lib/src/io/vector_file*.cpp): TEXMEX fvecs / bvecs /
// ivecs, NumPy .npy (header and data) and JSONL, through VectorReader, read_float_matrix()
// and read_ivecs(), plus format detection by content.
//
// Input: one selector byte, then the file. The selector (mod 6) picks the file name and so the
// format: 0 .fvecs, 1 .bvecs, 2 .ivecs, 3 .npy, 4 .jsonl, 5 no extension (detected from the
// content). The readers map files, so the bytes go to a scratch file first.
//
// Invariants:
//   - every record has dim() components (1..kMaxVectorDim), all finite, and rows numbered from
//     0; binary formats give the row number in decimal as the id and no attributes; JSONL
//     attributes are an object's text (a JSONL id may be "": VectorSet refuses it, not the reader);
//   - a file read to the end was read to its last byte, and count(), when known, is the
//     number of records;
//   - read_float_matrix() fails exactly when streaming fails and otherwise holds the same
//     vectors, bit for bit;
//   - an fvecs or ivecs file that reads without error is written back (write_fvecs /
//     write_ivecs) to the very same bytes: the format has one encoding per matrix.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_common.hpp"
#include "semcache/vector_file.hpp"

namespace {

using semcache::VectorFormat;
using semcache::fuzz::printable;

struct Case {
  const char* file_name;
  VectorFormat expected;  // kAuto: whatever detection finds
};

constexpr Case kCases[] = {
    {"input.fvecs", VectorFormat::kFvecs}, {"input.bvecs", VectorFormat::kBvecs}, {"input.ivecs", VectorFormat::kIvecs},
    {"input.npy", VectorFormat::kNpy},     {"input.jsonl", VectorFormat::kJsonl}, {"input", VectorFormat::kAuto},
};

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

void check_ivecs(const std::string& path, std::string_view bytes) {
  const auto matrix = semcache::read_ivecs(path);
  if (!matrix) {
    FUZZ_CHECK(matrix.status().message().starts_with(path), "error does not name the file: " + matrix.status().message());
    return;
  }
  FUZZ_CHECK(matrix->dim >= 1 && matrix->dim <= semcache::kMaxVectorDim && matrix->rows >= 1 &&
                 matrix->data.size() == matrix->rows * matrix->dim,
             "ivecs matrix of " + std::to_string(matrix->rows) + " x " + std::to_string(matrix->dim) + " holds " +
                 std::to_string(matrix->data.size()) + " values");
  const std::string copy = path + ".rewritten.ivecs";
  const semcache::Status written = semcache::write_ivecs(copy, *matrix);
  FUZZ_CHECK(written.is_ok(), "write_ivecs() refuses what read_ivecs() read: " + written.message());
  FUZZ_CHECK(semcache::fuzz::read_file(copy) == bytes, "ivecs written back differs from the file read");
}

void check_vectors(const std::string& path, VectorFormat requested, std::string_view bytes) {
  auto opened = semcache::VectorReader::open(path, requested);
  if (!opened) {
    FUZZ_CHECK(opened.status().message().starts_with(path), "error does not name the file: " + opened.status().message());
    FUZZ_CHECK(!semcache::read_float_matrix(path, requested), "read_float_matrix() reads what open() refuses");
    return;
  }
  semcache::VectorReader& reader = **opened;
  const VectorFormat format = reader.format();
  FUZZ_CHECK(requested == VectorFormat::kAuto || format == requested, "reader format differs from the one asked for");
  const std::size_t dim = reader.dim();
  FUZZ_CHECK(dim >= 1 && dim <= semcache::kMaxVectorDim, "dim() is " + std::to_string(dim));

  std::vector<float> streamed;
  std::size_t rows = 0;
  bool failed = false;
  semcache::VectorRecord record;
  for (;;) {
    auto more = reader.next(record);
    if (!more) {
      FUZZ_CHECK(more.status().message().starts_with(path), "error does not name the file: " + more.status().message());
      failed = true;
      break;
    }
    if (!*more) break;
    FUZZ_CHECK(record.row == rows, "row " + std::to_string(record.row) + " where " + std::to_string(rows) + " was due");
    FUZZ_CHECK(record.vector.size() == dim, "row " + std::to_string(rows) + " has " + std::to_string(record.vector.size()) +
                                                " components, dim() is " + std::to_string(dim));
    for (float component : record.vector) FUZZ_CHECK(std::isfinite(component), "row " + std::to_string(rows) + " is not finite");
    if (format == VectorFormat::kJsonl) {
      const std::string_view a = record.attributes_json;
      FUZZ_CHECK(a.empty() || (a.front() == '{' && a.back() == '}'), "attributes are not an object: '" + printable(a) + "'");
    } else {
      FUZZ_CHECK(record.id == std::to_string(rows), "binary row " + std::to_string(rows) + " has id '" + printable(record.id) + "'");
      FUZZ_CHECK(record.attributes_json.empty(), "a binary format gave attributes");
    }
    streamed.insert(streamed.end(), record.vector.begin(), record.vector.end());
    ++rows;
  }
  if (!failed) {
    FUZZ_CHECK(reader.bytes_read() == bytes.size(),
               "read " + std::to_string(reader.bytes_read()) + " of " + std::to_string(bytes.size()) + " bytes");
    if (auto count = reader.count()) {
      FUZZ_CHECK(*count == rows, "count() said " + std::to_string(*count) + ", read " + std::to_string(rows));
    }
  }

  const auto matrix = semcache::read_float_matrix(path, requested);
  FUZZ_CHECK(matrix.has_value() == !failed, std::string("read_float_matrix() ") + (matrix ? "succeeds" : "fails") +
                                                " where streaming " + (failed ? "fails" : "succeeds"));
  if (!matrix) return;
  FUZZ_CHECK(matrix->rows == rows && matrix->dim == dim && same_bits(matrix->data, streamed),
             "read_float_matrix() differs from streaming");

  if (format == VectorFormat::kFvecs && rows > 0) {
    const std::string copy = path + ".rewritten.fvecs";
    const semcache::Status written = semcache::write_fvecs(copy, *matrix);
    FUZZ_CHECK(written.is_ok(), "write_fvecs() refuses what the reader read: " + written.message());
    FUZZ_CHECK(semcache::fuzz::read_file(copy) == bytes, "fvecs written back differs from the file read");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Case& c = kCases[data[0] % std::size(kCases)];
  const std::string_view bytes = semcache::fuzz::as_text(data + 1, size - 1);
  const std::string path = semcache::fuzz::write_file(c.file_name, bytes);
  if (c.expected == VectorFormat::kIvecs) {
    check_ivecs(path, bytes);
    FUZZ_CHECK(!semcache::VectorReader::open(path), "VectorReader::open() accepts ivecs");
    return 0;
  }
  check_vectors(path, c.expected, bytes);
  return 0;
}
