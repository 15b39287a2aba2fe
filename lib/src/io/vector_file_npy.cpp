// NumPy .npy files (format versions 1.0, 2.0 and 3.0): a magic string, a version, a
// little-endian header length (2 bytes in 1.0, 4 in 2.0/3.0), a Python dict literal such as
// {'descr': '<f4', 'fortran_order': False, 'shape': (100000, 384), } padded with spaces to
// an aligned length, then the raw array in C order.
//
// The header is parsed by a small recursive-descent reader for exactly the literals numpy
// writes (quoted strings, True/False, tuples of integers); evaluating Python is out of the
// question and a regex would accept too much. Everything is checked before the first row is
// served: the three keys, a supported dtype, C order, a 2-D shape with sane sizes, and a
// data length equal to rows * dim * itemsize, so a truncated or padded file fails at open().
//
// Rows of '<f4' are served in place when the data offset is 4-byte aligned (numpy pads the
// header to 64 bytes, so it always is for files numpy wrote); otherwise, and for '<f2',
// '|i1' and '|u1', each row is converted into one buffer owned by the reader. Half floats
// are widened with bit arithmetic (detail::half_to_float), exact for subnormals; a half
// NaN or Inf survives the widening and is refused by the same scan as float32.

#include <cerrno>
#include <vector>

#include "io/vector_file_detail.hpp"

namespace semcache::detail {

namespace {

enum class NpyDtype { kF32, kF16, kI8, kU8 };

std::size_t itemsize(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::kF32: return 4;
    case NpyDtype::kF16: return 2;
    case NpyDtype::kI8:
    case NpyDtype::kU8: return 1;
  }
  return 1;
}

std::optional<NpyDtype> parse_dtype(std::string_view descr) {
  if (descr == "<f4") return NpyDtype::kF32;
  if (descr == "<f2") return NpyDtype::kF16;
  if (descr == "|i1" || descr == "i1" || descr == "<i1" || descr == ">i1") return NpyDtype::kI8;
  if (descr == "|u1" || descr == "u1" || descr == "<u1" || descr == ">u1") return NpyDtype::kU8;
  return std::nullopt;
}

struct NpyHeader {
  std::string descr;
  bool fortran_order = false;
  std::vector<std::uint64_t> shape;
};

// Parses the dict literal of an .npy header. Errors name the character position in the
// header text (0-based, counted from the opening brace).
class HeaderParser {
 public:
  explicit HeaderParser(std::string_view text) : text_(text) {}

  Expected<NpyHeader> parse() {
    NpyHeader header;
    bool have_descr = false, have_order = false, have_shape = false;
    skip_space();
    if (!consume('{')) return fail("expected '{'");
    for (;;) {
      skip_space();
      if (consume('}')) break;
      std::string key;
      if (!parse_string(key)) return fail("expected a quoted key");
      skip_space();
      if (!consume(':')) return fail("expected ':' after '" + key + "'");
      skip_space();
      if (key == "descr") {
        if (have_descr) return fail("duplicate key 'descr'");
        if (!parse_string(header.descr)) return fail("'descr' must be a quoted string");
        have_descr = true;
      } else if (key == "fortran_order") {
        if (have_order) return fail("duplicate key 'fortran_order'");
        if (!parse_bool(header.fortran_order)) return fail("'fortran_order' must be True or False");
        have_order = true;
      } else if (key == "shape") {
        if (have_shape) return fail("duplicate key 'shape'");
        if (Status s = parse_shape(header.shape); !s) return s;
        have_shape = true;
      } else {
        return fail("unexpected key '" + key + "'");
      }
      skip_space();
      if (consume(',')) continue;
      if (consume('}')) break;
      return fail("expected ',' or '}'");
    }
    skip_space();
    if (pos_ != text_.size()) return fail("unexpected text after the dictionary");
    if (!have_descr) return Status::bad_input("missing key 'descr'");
    if (!have_order) return Status::bad_input("missing key 'fortran_order'");
    if (!have_shape) return Status::bad_input("missing key 'shape'");
    return header;
  }

 private:
  Status fail(const std::string& reason) const {
    return Status::bad_input("malformed dictionary at character " + std::to_string(pos_) + ": " + reason);
  }

  void skip_space() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\n' ||
                                   text_[pos_] == '\r')) {
      ++pos_;
    }
  }

  bool consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  bool consume_word(std::string_view word) {
    if (text_.substr(pos_).starts_with(word)) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  bool parse_string(std::string& out) {
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) return false;
    const char quote = text_[pos_];
    auto end = text_.find(quote, pos_ + 1);
    if (end == std::string_view::npos) return false;
    out.assign(text_.substr(pos_ + 1, end - pos_ - 1));
    pos_ = end + 1;
    return true;
  }

  bool parse_bool(bool& out) {
    if (consume_word("True")) {
      out = true;
      return true;
    }
    if (consume_word("False")) {
      out = false;
      return true;
    }
    return false;
  }

  Status parse_shape(std::vector<std::uint64_t>& shape) {
    if (!consume('(')) return fail("'shape' must be a tuple");
    for (;;) {
      skip_space();
      if (consume(')')) return Status::ok();
      const std::size_t start = pos_;
      std::uint64_t value = 0;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
        const std::uint64_t digit = static_cast<std::uint64_t>(text_[pos_] - '0');
        if (value > (UINT64_MAX - digit) / 10) return fail("shape value out of range");
        value = value * 10 + digit;
        ++pos_;
      }
      if (pos_ == start) return fail("'shape' must hold non-negative integers");
      consume('L');  // Python 2 era long literals
      shape.push_back(value);
      skip_space();
      if (consume(',')) continue;
      if (consume(')')) return Status::ok();
      return fail("expected ',' or ')' in 'shape'");
    }
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string out = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(shape[i]);
  }
  if (shape.size() == 1) out += ",";
  return out + ")";
}

class NpyVectorReader final : public VectorReader {
 public:
  NpyVectorReader(MappedFile file, NpyDtype dtype, std::size_t rows, std::size_t dim, std::size_t data_offset)
      : file_(std::move(file)), dtype_(dtype), rows_(rows), dim_(dim), data_offset_(data_offset),
        row_bytes_(dim * itemsize(dtype)) {
    in_place_ = dtype_ == NpyDtype::kF32 &&
                reinterpret_cast<std::uintptr_t>(file_.data() + data_offset_) % alignof(float) == 0;
    if (!in_place_) buffer_.resize(dim_);
  }

  VectorFormat format() const override { return VectorFormat::kNpy; }
  std::size_t dim() const override { return dim_; }
  std::optional<std::size_t> count() const override { return rows_; }
  std::uint64_t bytes_read() const override { return data_offset_ + row_ * row_bytes_; }

  Expected<bool> next(VectorRecord& out) override {
    if (row_ == rows_) return false;
    const unsigned char* src = file_.data() + data_offset_ + row_ * row_bytes_;
    const float* vector = buffer_.data();
    switch (dtype_) {
      case NpyDtype::kF32:
        if (in_place_) {
          vector = reinterpret_cast<const float*>(src);
        } else {
          std::memcpy(buffer_.data(), src, row_bytes_);
        }
        if (std::size_t bad = find_non_finite(vector, dim_); bad != dim_) return non_finite(bad, vector[bad]);
        break;
      case NpyDtype::kF16:
        widen_halves(src, buffer_.data(), dim_);
        if (std::size_t bad = find_non_finite(vector, dim_); bad != dim_) return non_finite(bad, vector[bad]);
        break;
      case NpyDtype::kI8:
        widen_bytes<std::int8_t>(src, buffer_.data(), dim_);
        break;
      case NpyDtype::kU8:
        widen_bytes<std::uint8_t>(src, buffer_.data(), dim_);
        break;
    }
    out.id = row_id(row_, id_buf_);
    out.vector = std::span<const float>(vector, dim_);
    out.attributes_json = {};
    out.row = row_;
    ++row_;
    return true;
  }

 private:
  Status non_finite(std::size_t component, float value) const {
    return non_finite_error(file_.path() + ": row " + std::to_string(row_), component, value);
  }

  MappedFile file_;
  NpyDtype dtype_;
  std::size_t rows_;
  std::size_t dim_;
  std::size_t data_offset_;
  std::size_t row_bytes_;
  std::size_t row_ = 0;
  bool in_place_ = false;
  std::vector<float> buffer_;
  char id_buf_[24] = {};
};

}  // namespace

Expected<std::unique_ptr<VectorReader>> open_npy_reader(const std::string& path) {
  auto mapped = MappedFile::open(path);
  if (!mapped) return mapped.status();
  MappedFile& file = *mapped;
  const std::string where = path + ": header";
  if (file.size() == 0) return Status::bad_input(path + ": file is empty");

  constexpr std::string_view kMagic = "\x93NUMPY";
  const unsigned char* p = file.data();
  const std::size_t size = file.size();
  if (size < kMagic.size() + 2 || std::string_view(reinterpret_cast<const char*>(p), kMagic.size()) != kMagic) {
    return Status::bad_input(where + ": not a .npy file (the magic string \\x93NUMPY is missing)");
  }
  const unsigned major = p[6], minor = p[7];
  if ((major != 1 && major != 2 && major != 3) || minor != 0) {
    return Status::bad_input(where + ": unsupported format version " + std::to_string(major) + "." +
                             std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  }
  const std::size_t length_bytes = major == 1 ? 2 : 4;
  const std::size_t prefix = kMagic.size() + 2 + length_bytes;
  if (size < prefix) return Status::bad_input(where + ": truncated: the file ends inside the header length");
  std::size_t header_len = p[8] | (static_cast<std::size_t>(p[9]) << 8);
  if (length_bytes == 4) header_len |= (static_cast<std::size_t>(p[10]) << 16) | (static_cast<std::size_t>(p[11]) << 24);
  if (header_len > size - prefix) {
    return Status::bad_input(where + ": truncated: header length " + std::to_string(header_len) +
                             " runs past the end of the file (" + std::to_string(size) + " bytes)");
  }
  const std::string_view text(reinterpret_cast<const char*>(p + prefix), header_len);

  auto parsed = HeaderParser(text).parse();
  if (!parsed) return parsed.status().with_context(where);
  const NpyHeader& header = *parsed;

  auto dtype = parse_dtype(header.descr);
  if (!dtype) {
    return Status::bad_input(where + ": unsupported dtype '" + header.descr +
                             "' (expected '<f4', '<f2', '|i1' or '|u1')");
  }
  if (header.fortran_order) {
    return Status::bad_input(where + ": fortran_order True (column-major data) is not supported; "
                                     "save a C-ordered array (numpy.ascontiguousarray)");
  }
  if (header.shape.size() != 2) {
    return Status::bad_input(where + ": shape " + shape_text(header.shape) +
                             " must have 2 dimensions (rows, dim)");
  }
  const std::uint64_t rows = header.shape[0], dim = header.shape[1];
  if (dim == 0 || dim > kMaxVectorDim) {
    return Status::bad_input(where + ": shape " + shape_text(header.shape) + ": dimension " + std::to_string(dim) +
                             " is out of range (1.." + std::to_string(kMaxVectorDim) + ")");
  }
  if (rows == 0) return Status::bad_input(where + ": shape " + shape_text(header.shape) + " holds no rows");

  const std::size_t data_offset = prefix + header_len;
  const std::size_t data_bytes = size - data_offset;
  const std::uint64_t row_bytes = dim * itemsize(*dtype);
  if (rows > data_bytes / row_bytes || rows * row_bytes != data_bytes) {
    std::string expected = rows > UINT64_MAX / row_bytes ? std::string("more than 2^64") : to_decimal(rows * row_bytes);
    return Status::bad_input(where + ": shape " + shape_text(header.shape) + " of '" + header.descr + "' needs " +
                             expected + " bytes of data after the header (byte offset " +
                             std::to_string(data_offset) + "), found " + std::to_string(data_bytes));
  }
  return std::unique_ptr<VectorReader>(
      new NpyVectorReader(std::move(file), *dtype, static_cast<std::size_t>(rows), static_cast<std::size_t>(dim),
                          data_offset));
}

}  // namespace semcache::detail
