// Fuzz target: the safetensors reader (lib/src/embed/safetensors.cpp), the container of
// model2vec static-embedding models: parse_safetensors() on the bytes, and SafetensorsFile::open()
// on the same bytes as a file.
//
// Invariants when the image parses:
//   - tensor names are distinct; each tensor's bytes lie inside the image, after the header,
//     and hold exactly product(shape) * dtype_size(dtype) bytes; together, in offset order, the
//     tensors cover the data section exactly (the reader promises to refuse holes and overlaps);
//   - a header written back from the tensors (same order, fresh offsets) with the same data
//     parses to the same names, dtypes, shapes and bytes;
//   - the file reader finds the same tensors as the in-memory parser, and find() finds each.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "embed/safetensors.hpp"
#include "fuzz_common.hpp"

namespace {

namespace detail = semcache::detail;
using semcache::fuzz::printable;

std::string json_string(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

// The tensors as a new safetensors image: header in the given order, data packed in that order.
std::string rewrite(const std::vector<detail::TensorInfo>& tensors) {
  std::string header = "{";
  std::string data;
  for (const detail::TensorInfo& t : tensors) {
    if (header.size() > 1) header += ",";
    header += json_string(t.name) + ":{\"dtype\":\"" + std::string(detail::dtype_name(t.dtype)) + "\",\"shape\":[";
    for (std::size_t i = 0; i < t.shape.size(); ++i) header += (i > 0 ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(data.size()) + ",";
    data.append(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size());
    header += std::to_string(data.size()) + "]}";
  }
  header += "}";
  std::string image(8, '\0');
  const std::uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) image[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  return image + header + data;
}

bool same_tensors(const std::vector<detail::TensorInfo>& a, const std::vector<detail::TensorInfo>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].name != b[i].name || a[i].dtype != b[i].dtype || a[i].shape != b[i].shape ||
        !std::equal(a[i].bytes.begin(), a[i].bytes.end(), b[i].bytes.begin(), b[i].bytes.end())) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const unsigned char> image(data, size);
  const auto parsed = detail::parse_safetensors(image, "fuzz.safetensors");
  const std::string path = semcache::fuzz::write_file("model.safetensors", semcache::fuzz::as_text(data, size));
  const auto file = detail::SafetensorsFile::open(path);
  FUZZ_CHECK(file.has_value() == parsed.has_value(), "the file reader and the parser disagree: " +
                                                         (parsed ? file.status().message() : parsed.status().message()));
  if (!parsed) {
    FUZZ_CHECK(parsed.status().message().starts_with("fuzz.safetensors"), "error does not name the input: " + parsed.status().message());
    return 0;
  }
  const std::vector<detail::TensorInfo>& tensors = *parsed;
  FUZZ_CHECK(same_tensors(file->tensors(), tensors), "the file reader and the parser read different tensors");

  std::uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, data, sizeof header_bytes);
  const std::size_t data_begin = 8 + header_bytes;
  std::vector<std::pair<std::size_t, std::size_t>> ranges;  // [begin, end) in the image
  for (const detail::TensorInfo& t : tensors) {
    std::uint64_t elements = 1;
    for (std::uint64_t extent : t.shape) elements *= extent;  // cannot overflow: the bytes exist
    FUZZ_CHECK(t.bytes.size() == elements * detail::dtype_size(t.dtype),
               "tensor '" + printable(t.name) + "' holds " + std::to_string(t.bytes.size()) + " bytes for its shape");
    const std::size_t begin = t.bytes.empty() ? data_begin : static_cast<std::size_t>(t.bytes.data() - data);
    FUZZ_CHECK(t.bytes.empty() || (t.bytes.data() >= data + data_begin && begin + t.bytes.size() <= size),
               "tensor '" + printable(t.name) + "' lies outside the data section");
    if (!t.bytes.empty()) ranges.emplace_back(begin, begin + t.bytes.size());
    FUZZ_CHECK(file->find(t.name) != nullptr && file->find(t.name)->name == t.name, "find('" + printable(t.name) + "') fails");
  }
  std::sort(ranges.begin(), ranges.end());
  std::size_t covered = data_begin;
  for (const auto& [begin, end] : ranges) {
    FUZZ_CHECK(begin == covered, "tensor data has a hole or an overlap at image byte " + std::to_string(begin));
    covered = end;
  }
  FUZZ_CHECK(covered == size, "tensor data ends at " + std::to_string(covered) + " of " + std::to_string(size) + " bytes");

  const std::string rewritten = rewrite(tensors);
  const auto again = detail::parse_safetensors(
      std::span<const unsigned char>(reinterpret_cast<const unsigned char*>(rewritten.data()), rewritten.size()), "rewritten");
  FUZZ_CHECK(again.has_value(), "the rewritten image does not parse: " + again.status().message());
  FUZZ_CHECK(same_tensors(*again, tensors), "the rewritten image holds different tensors");
  return 0;
}
