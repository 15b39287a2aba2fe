#pragma once
// Reading and writing files of vectors: TEXMEX fvecs/ivecs/bvecs, NumPy .npy and JSONL.
//
// VectorReader streams one record at a time (binary formats from a memory-mapped file, JSONL
// a block at a time) with no per-row allocation; read_float_matrix() and read_ivecs() load a
// whole file for code that needs random access (queries, ground truth). Every defect in a
// file is reported as Status::bad_input with a message that names the file, the position
// (row and byte offset, or line for JSONL) and the reason. NaN and infinite components are
// refused in every format. Rows and components are counted from 0, JSONL lines from 1.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "semcache/status.hpp"

namespace semcache {

enum class VectorFormat { kAuto, kFvecs, kIvecs, kBvecs, kNpy, kJsonl };

// "auto", "fvecs", "ivecs", "bvecs", "npy", "jsonl" (also "ndjson"); nullopt for anything else.
std::optional<VectorFormat> parse_vector_format(std::string_view name);
std::string_view to_string(VectorFormat format);

// By extension (.fvecs .ivecs .bvecs .npy .jsonl .ndjson, any case) and, when the extension
// says nothing, by content: "\x93NUMPY" is .npy, a first non-blank '{' is JSONL.
Expected<VectorFormat> detect_vector_format(const std::string& path);

// Largest dimension any reader accepts; a larger one is taken as a corrupt header.
inline constexpr std::size_t kMaxVectorDim = 65536;

struct VectorRecord {
  std::string_view id;               // JSONL "id" (string, or integer in decimal); else the row as decimal
  std::span<const float> vector;     // dim() components
  std::string_view attributes_json;  // JSONL "attributes" object as raw JSON text; empty when absent
  std::size_t row = 0;               // 0-based record index
};
// Lifetime: every view in a VectorRecord is valid until the next call to next() or until
// the reader is destroyed, whichever comes first.

// Streams the records of one file. fvecs rows and aligned .npy float32 rows are served
// straight from the mapping; bvecs, .npy float16 / int8 / uint8 and JSONL rows are converted
// into one reusable buffer. Integer formats are converted to float as is (no scaling).
// ivecs holds integers (ground truth), not vectors: open() refuses it, use read_ivecs().
class VectorReader {
 public:
  static Expected<std::unique_ptr<VectorReader>> open(const std::string& path,
                                                      VectorFormat format = VectorFormat::kAuto);
  virtual ~VectorReader();
  VectorReader(const VectorReader&) = delete;
  VectorReader& operator=(const VectorReader&) = delete;

  virtual VectorFormat format() const = 0;
  // Known after open(); for JSONL it is the length of the first record's vector.
  virtual std::size_t dim() const = 0;
  // The number of records when the format tells it up front (fvecs/bvecs: from the file
  // size, assuming every row is well-formed; .npy: from the shape); nullopt for JSONL.
  virtual std::optional<std::size_t> count() const = 0;
  // Fills `out` with the next record and returns true, false at the end of the file, or the
  // Status of the first defect found. After an error the reader must not be used again.
  virtual Expected<bool> next(VectorRecord& out) = 0;
  // Bytes of the file consumed so far (headers included); the file size once next() is false.
  virtual std::uint64_t bytes_read() const = 0;

 protected:
  VectorReader() = default;
};

struct FloatMatrix {
  std::size_t rows = 0;
  std::size_t dim = 0;
  std::vector<float> data;  // rows * dim, row-major
  const float* row(std::size_t i) const { return data.data() + i * dim; }
};

struct IntMatrix {
  std::size_t rows = 0;
  std::size_t dim = 0;
  std::vector<std::int32_t> data;  // rows * dim, row-major
  const std::int32_t* row(std::size_t i) const { return data.data() + i * dim; }
};

// Loads every vector of a fvecs, bvecs, .npy or JSONL file (ids and attributes dropped).
Expected<FloatMatrix> read_float_matrix(const std::string& path, VectorFormat format = VectorFormat::kAuto);
// Loads an ivecs file (e.g. ground-truth neighbour ids).
Expected<IntMatrix> read_ivecs(const std::string& path);

// Write a matrix as TEXMEX fvecs / ivecs. The file appears under `path` only when complete
// (written to a temporary name in the same directory, then renamed). A matrix with no rows,
// whose data size disagrees with rows * dim, whose dim is 0 or above kMaxVectorDim, or
// (fvecs) that holds NaN or Inf is refused with invalid_argument: no reader would accept it.
Status write_fvecs(const std::string& path, const FloatMatrix& matrix);
Status write_ivecs(const std::string& path, const IntMatrix& matrix);

}  // namespace semcache
