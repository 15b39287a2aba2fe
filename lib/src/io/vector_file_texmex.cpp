// TEXMEX vector files (the fvecs / ivecs / bvecs of the ANN_SIFT1M and BIGANN corpora):
// every row is a little-endian int32 dimension followed by that many float32, int32 or
// uint8 values. There is no file header, so the only structure to check is that every row
// repeats the first row's dimension and that the file ends exactly at a row boundary.
//
// Reading walks the mapping with TexmexCursor. An fvecs row is 4-byte aligned in the mapping
// (rows are 4 + 4*dim bytes from a page-aligned base) and is handed out in place; a bvecs
// row is widened into one buffer that lives as long as the reader. Defects are reported
// where the walk meets them, not at open(): a streaming load can start at once, and the
// message can name the exact row. count() is therefore the size-derived row count, exact for
// any file that reads to the end without error.
//
// Writing stages rows in a 1 MiB buffer and write()s it, into a temporary file in the target
// directory that is renamed over the target once complete: a crash or a full disk never
// leaves a half-written file under the real name for a later run to trust.

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <vector>

#include "io/vector_file_detail.hpp"

namespace semcache::detail {

namespace {

std::string row_where(const std::string& path, std::size_t row, std::uint64_t offset) {
  return path + ": row " + std::to_string(row) + " (byte offset " + std::to_string(offset) + ")";
}

class TexmexVectorReader final : public VectorReader {
 public:
  TexmexVectorReader(MappedFile file, VectorFormat format, TexmexCursor cursor)
      : file_(std::move(file)), format_(format), cursor_(std::move(cursor)) {
    if (format_ == VectorFormat::kBvecs) buffer_.resize(cursor_.dim());
  }

  VectorFormat format() const override { return format_; }
  std::size_t dim() const override { return cursor_.dim(); }
  std::optional<std::size_t> count() const override { return cursor_.count_hint(); }
  std::uint64_t bytes_read() const override { return cursor_.offset(); }

  Expected<bool> next(VectorRecord& out) override {
    const std::size_t row = cursor_.row();
    auto payload = cursor_.next();
    if (!payload) return payload.status();
    if (*payload == nullptr) return false;
    const std::size_t dim = cursor_.dim();
    const float* vector;
    if (format_ == VectorFormat::kFvecs) {
      vector = reinterpret_cast<const float*>(*payload);
      if (std::size_t bad = find_non_finite(vector, dim); bad != dim) {
        return non_finite_error(file_.path() + ": row " + std::to_string(row), bad, vector[bad]);
      }
    } else {
      widen_bytes<std::uint8_t>(*payload, buffer_.data(), dim);
      vector = buffer_.data();
    }
    out.id = row_id(row, id_buf_);
    out.vector = std::span<const float>(vector, dim);
    out.attributes_json = {};
    out.row = row;
    return true;
  }

 private:
  MappedFile file_;
  VectorFormat format_;
  TexmexCursor cursor_;
  std::vector<float> buffer_;
  char id_buf_[24] = {};
};

std::atomic<unsigned> temp_counter{0};

Status write_all(int fd, const unsigned char* data, std::size_t size, const std::string& path) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return os_error(path, "cannot write", errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return Status::ok();
}

template <typename T>
Status check_matrix_shape(const std::string& path, std::size_t rows, std::size_t dim, const std::vector<T>& data) {
  if (dim == 0 || dim > kMaxVectorDim) {
    return Status::invalid_argument(path + ": cannot write: dimension " + std::to_string(dim) +
                                    " is out of range (1.." + std::to_string(kMaxVectorDim) + ")");
  }
  if (rows == 0) return Status::invalid_argument(path + ": cannot write: the matrix has no rows");
  if (data.size() / dim != rows || data.size() % dim != 0) {
    return Status::invalid_argument(path + ": cannot write: " + std::to_string(data.size()) +
                                    " values do not make " + std::to_string(rows) + " rows of " +
                                    std::to_string(dim));
  }
  return Status::ok();
}

template <typename T>
Status write_texmex(const std::string& path, std::size_t rows, std::size_t dim, const std::vector<T>& data) {
  const std::string temp_path = path + ".tmp." + std::to_string(::getpid()) + "." +
                                std::to_string(temp_counter.fetch_add(1, std::memory_order_relaxed));
  int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return os_error(path, "cannot create", errno);

  constexpr std::size_t kStagingBytes = 1 << 20;
  const std::size_t row_bytes = sizeof(std::int32_t) + dim * sizeof(T);
  std::vector<unsigned char> staging;
  staging.reserve(std::max(kStagingBytes, row_bytes));
  const std::int32_t dim32 = static_cast<std::int32_t>(dim);
  Status status;
  for (std::size_t r = 0; r < rows && status.is_ok(); ++r) {
    if (staging.size() + row_bytes > staging.capacity()) {
      status = write_all(fd, staging.data(), staging.size(), path);
      staging.clear();
    }
    const auto* dim_bytes = reinterpret_cast<const unsigned char*>(&dim32);
    const auto* row_data = reinterpret_cast<const unsigned char*>(data.data() + r * dim);
    staging.insert(staging.end(), dim_bytes, dim_bytes + sizeof dim32);
    staging.insert(staging.end(), row_data, row_data + dim * sizeof(T));
  }
  if (status.is_ok()) status = write_all(fd, staging.data(), staging.size(), path);
  if (::close(fd) != 0 && status.is_ok()) status = os_error(path, "cannot write", errno);
  if (status.is_ok() && ::rename(temp_path.c_str(), path.c_str()) != 0) {
    status = os_error(path, "cannot rename the temporary file into place", errno);
  }
  if (!status.is_ok()) ::unlink(temp_path.c_str());
  return status;
}

}  // namespace

Expected<TexmexCursor> TexmexCursor::start(const MappedFile& file, std::size_t elem_bytes) {
  const std::string& path = file.path();
  if (file.size() == 0) return Status::bad_input(path + ": file is empty");
  if (file.size() < sizeof(std::int32_t)) {
    return Status::bad_input(row_where(path, 0, 0) + ": truncated: expected a 4-byte dimension, found " +
                             std::to_string(file.size()) + " bytes");
  }
  const std::int32_t dim = load_le_i32(file.data());
  if (dim <= 0 || static_cast<std::size_t>(dim) > kMaxVectorDim) {
    return Status::bad_input(row_where(path, 0, 0) + ": dimension " + std::to_string(dim) +
                             " is out of range (1.." + std::to_string(kMaxVectorDim) + ")");
  }
  TexmexCursor cursor;
  cursor.path_ = path;
  cursor.data_ = file.data();
  cursor.size_ = file.size();
  cursor.elem_bytes_ = elem_bytes;
  cursor.dim_ = static_cast<std::size_t>(dim);
  cursor.row_bytes_ = sizeof(std::int32_t) + cursor.dim_ * elem_bytes;
  return cursor;
}

Expected<const unsigned char*> TexmexCursor::next() {
  if (offset_ == size_) return static_cast<const unsigned char*>(nullptr);
  const std::size_t remaining = size_ - offset_;
  if (remaining < sizeof(std::int32_t)) {
    return Status::bad_input(path_ + ": byte offset " + std::to_string(offset_) + ": trailing garbage: " +
                             std::to_string(remaining) + " bytes after the last complete row (row " +
                             std::to_string(row_ - 1) + ")");
  }
  const std::int32_t dim = load_le_i32(data_ + offset_);
  const bool complete = remaining >= row_bytes_;
  if (dim != static_cast<std::int32_t>(dim_)) {
    if (!complete) {
      return Status::bad_input(path_ + ": byte offset " + std::to_string(offset_) + ": trailing garbage: " +
                               std::to_string(remaining) + " bytes after the last complete row (row " +
                               std::to_string(row_ - 1) + ") that do not start a row of dimension " +
                               std::to_string(dim_));
    }
    return Status::bad_input(row_where(path_, row_, offset_) + ": dimension " + std::to_string(dim) +
                             " differs from " + std::to_string(dim_) + " (row 0)");
  }
  if (!complete) {
    return Status::bad_input(row_where(path_, row_, offset_) + ": truncated: expected " +
                             std::to_string(dim_ * elem_bytes_) + " bytes of vector data, found " +
                             std::to_string(remaining - sizeof(std::int32_t)));
  }
  const unsigned char* payload = data_ + offset_ + sizeof(std::int32_t);
  offset_ += row_bytes_;
  ++row_;
  return payload;
}

Expected<std::unique_ptr<VectorReader>> open_texmex_reader(const std::string& path, VectorFormat format) {
  auto file = MappedFile::open(path);
  if (!file) return file.status();
  const std::size_t elem_bytes = format == VectorFormat::kBvecs ? 1 : sizeof(float);
  auto cursor = TexmexCursor::start(*file, elem_bytes);
  if (!cursor) return cursor.status();
  return std::unique_ptr<VectorReader>(new TexmexVectorReader(std::move(*file), format, std::move(*cursor)));
}

}  // namespace semcache::detail

namespace semcache {

Expected<IntMatrix> read_ivecs(const std::string& path) {
  auto file = detail::MappedFile::open(path);
  if (!file) return file.status();
  auto cursor = detail::TexmexCursor::start(*file, sizeof(std::int32_t));
  if (!cursor) return cursor.status();

  IntMatrix matrix;
  matrix.dim = cursor->dim();
  matrix.data.resize(cursor->count_hint() * matrix.dim);
  for (;;) {
    auto payload = cursor->next();
    if (!payload) return payload.status();
    if (*payload == nullptr) break;
    std::memcpy(matrix.data.data() + matrix.rows * matrix.dim, *payload, matrix.dim * sizeof(std::int32_t));
    ++matrix.rows;
  }
  return matrix;
}

Status write_fvecs(const std::string& path, const FloatMatrix& matrix) {
  if (Status s = detail::check_matrix_shape(path, matrix.rows, matrix.dim, matrix.data); !s) return s;
  for (std::size_t r = 0; r < matrix.rows; ++r) {
    const float* row = matrix.row(r);
    if (std::size_t bad = detail::find_non_finite(row, matrix.dim); bad != matrix.dim) {
      Status s = detail::non_finite_error(path + ": cannot write: row " + std::to_string(r), bad, row[bad]);
      return Status::invalid_argument(s.message());
    }
  }
  return detail::write_texmex(path, matrix.rows, matrix.dim, matrix.data);
}

Status write_ivecs(const std::string& path, const IntMatrix& matrix) {
  if (Status s = detail::check_matrix_shape(path, matrix.rows, matrix.dim, matrix.data); !s) return s;
  return detail::write_texmex(path, matrix.rows, matrix.dim, matrix.data);
}

}  // namespace semcache
