// The front door of the vector file readers: format names, format detection, and the
// dispatch from VectorReader::open() to one reader per format family (TEXMEX in
// vector_file_texmex.cpp, NumPy in vector_file_npy.cpp, JSONL in vector_file_jsonl.cpp).
//
// Detection trusts the extension first, because a TEXMEX file has no magic number at all:
// its first four bytes are just a dimension. Only when the extension says nothing do we
// look at the content, and then only for the two formats that announce themselves (.npy's
// "\x93NUMPY", JSONL's opening brace). Guessing TEXMEX from a plausible dimension was
// rejected: fvecs, ivecs and bvecs share a header and a wrong guess loads garbage silently.
//
// read_float_matrix() is a loop over a VectorReader, so the whole-file path checks exactly
// what the streaming path checks; it reserves the final size up front when the format knows
// the row count, so a 100k x 384 load is one allocation.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "io/vector_file_detail.hpp"

namespace semcache {

namespace {

struct FormatName {
  std::string_view name;
  VectorFormat format;
};

constexpr std::array<FormatName, 7> kFormatNames = {{
    {"auto", VectorFormat::kAuto},
    {"fvecs", VectorFormat::kFvecs},
    {"ivecs", VectorFormat::kIvecs},
    {"bvecs", VectorFormat::kBvecs},
    {"npy", VectorFormat::kNpy},
    {"jsonl", VectorFormat::kJsonl},
    {"ndjson", VectorFormat::kJsonl},
}};

std::string lowercase(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c); });
  return out;
}

std::optional<VectorFormat> format_from_extension(const std::string& path) {
  std::string_view name(path);
  if (auto slash = name.find_last_of('/'); slash != std::string_view::npos) name.remove_prefix(slash + 1);
  auto dot = name.find_last_of('.');
  if (dot == std::string_view::npos || dot == 0) return std::nullopt;
  auto format = parse_vector_format(lowercase(name.substr(dot + 1)));
  if (!format || *format == VectorFormat::kAuto) return std::nullopt;
  return format;
}

}  // namespace

std::optional<VectorFormat> parse_vector_format(std::string_view name) {
  for (const auto& entry : kFormatNames) {
    if (entry.name == name) return entry.format;
  }
  return std::nullopt;
}

std::string_view to_string(VectorFormat format) {
  for (const auto& entry : kFormatNames) {
    if (entry.format == format) return entry.name;
  }
  return "unknown";
}

Expected<VectorFormat> detect_vector_format(const std::string& path) {
  if (auto format = format_from_extension(path)) return *format;

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return detail::os_error(path, "cannot open", errno);
  std::array<char, 256> head{};
  ssize_t n;
  do {
    n = ::read(fd, head.data(), head.size());
  } while (n < 0 && errno == EINTR);
  int err = errno;
  ::close(fd);
  if (n < 0) return detail::os_error(path, "cannot read", err);
  std::string_view bytes(head.data(), static_cast<std::size_t>(n));
  if (bytes.empty()) return Status::bad_input(path + ": file is empty");

  if (bytes.starts_with("\x93NUMPY")) return VectorFormat::kNpy;
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  auto first = bytes.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && bytes[first] == '{') return VectorFormat::kJsonl;
  return Status::bad_input(path +
                           ": cannot tell the vector format from the extension or the content "
                           "(expected .fvecs, .ivecs, .bvecs, .npy, .jsonl or .ndjson; name the format explicitly)");
}

VectorReader::~VectorReader() = default;

Expected<std::unique_ptr<VectorReader>> VectorReader::open(const std::string& path, VectorFormat format) {
  if (format == VectorFormat::kAuto) {
    auto detected = detect_vector_format(path);
    if (!detected) return detected.status();
    format = *detected;
  }
  switch (format) {
    case VectorFormat::kFvecs:
    case VectorFormat::kBvecs: return detail::open_texmex_reader(path, format);
    case VectorFormat::kNpy: return detail::open_npy_reader(path);
    case VectorFormat::kJsonl: return detail::open_jsonl_reader(path);
    case VectorFormat::kIvecs:
      return Status::invalid_argument(path + ": ivecs holds integer ids (e.g. ground truth), not vectors; "
                                             "read it with read_ivecs()");
    case VectorFormat::kAuto: break;
  }
  return Status::internal(path + ": unhandled vector format");
}

Expected<FloatMatrix> read_float_matrix(const std::string& path, VectorFormat format) {
  auto opened = VectorReader::open(path, format);
  if (!opened) return opened.status();
  VectorReader& reader = **opened;

  FloatMatrix matrix;
  matrix.dim = reader.dim();
  if (auto count = reader.count()) matrix.data.reserve(*count * matrix.dim);
  VectorRecord record;
  for (;;) {
    auto more = reader.next(record);
    if (!more) return more.status();
    if (!*more) break;
    matrix.data.insert(matrix.data.end(), record.vector.begin(), record.vector.end());
    ++matrix.rows;
  }
  return matrix;
}

}  // namespace semcache
