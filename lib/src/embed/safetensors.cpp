// The safetensors reader. The format (github.com/huggingface/safetensors) is: bytes 0..8 the
// header length N as a little-endian u64; bytes 8..8+N a JSON object mapping each tensor name to
// {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]} plus an optional
// "__metadata__" object of string -> string; then the data buffer, to which the offsets are
// relative. The header may be padded with trailing spaces.
//
// The file is untrusted input (a model a user downloaded, later a fuzzer's bytes), so every
// number is checked before it is used, with overflow-checked arithmetic: N against the file
// size and against the format's own 100 MB cap; each dtype against the known list; each shape's
// element count times the element size against its data_offsets; every range against the data
// buffer. Like the reference implementation we also require the tensors to tile the buffer
// exactly (sorted by offset, each starting where the previous ends, the last ending at the end
// of the file): a hole or an overlap means the file was cut, padded or hand-edited, and a
// model whose bytes we cannot account for is not one we want to hash into a cache identity.
// Unknown fields inside a tensor entry are ignored (the format may grow); duplicate names are
// refused because which one "wins" would be a guess.
//
// Errors are bad_input naming the file and what was expected. The header is parsed with
// simdjson's DOM API, which copies it into its own padded buffer, so the mapping is never read
// beyond its end.

#include "embed/safetensors.hpp"
#include "embed/in_quotes.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>
#include <utility>

namespace semcache::detail {

namespace {

constexpr std::uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit

struct DTypeEntry {
  std::string_view name;
  TensorDType dtype;
  std::size_t size;
};

constexpr DTypeEntry kDTypes[] = {
    {"BOOL", TensorDType::kBool, 1},      {"U8", TensorDType::kU8, 1},   {"I8", TensorDType::kI8, 1},
    {"F8_E5M2", TensorDType::kF8E5M2, 1}, {"F8_E4M3", TensorDType::kF8E4M3, 1},
    {"I16", TensorDType::kI16, 2},        {"U16", TensorDType::kU16, 2}, {"F16", TensorDType::kF16, 2},
    {"BF16", TensorDType::kBF16, 2},      {"I32", TensorDType::kI32, 4}, {"U32", TensorDType::kU32, 4},
    {"F32", TensorDType::kF32, 4},        {"F64", TensorDType::kF64, 8}, {"I64", TensorDType::kI64, 8},
    {"U64", TensorDType::kU64, 8},
};

std::optional<TensorDType> parse_dtype(std::string_view name) {
  for (const DTypeEntry& entry : kDTypes) {
    if (entry.name == name) return entry.dtype;
  }
  return std::nullopt;
}

std::string known_dtypes() {
  std::string list;
  for (const DTypeEntry& entry : kDTypes) {
    if (!list.empty()) list += ", ";
    list += entry.name;
  }
  return list;
}

using detail::in_quotes;

std::string shape_text(const std::vector<std::uint64_t>& shape) {
  std::string text = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) text += ", ";
    text += std::to_string(shape[i]);
  }
  return text + "]";
}

// An array of non-negative integers, or nullopt.
std::optional<std::vector<std::uint64_t>> read_uint_array(simdjson::dom::element value) {
  simdjson::dom::array array;
  if (value.get_array().get(array) != simdjson::SUCCESS) return std::nullopt;
  std::vector<std::uint64_t> numbers;
  for (const simdjson::dom::element item : array) {
    std::uint64_t number = 0;
    if (item.get_uint64().get(number) != simdjson::SUCCESS) return std::nullopt;
    numbers.push_back(number);
  }
  return numbers;
}

// Reads one tensor entry; offsets are relative to the data buffer of data_size bytes.
Status read_entry(std::string_view name, simdjson::dom::element value, std::span<const unsigned char> data,
                  const std::string& where, TensorInfo& out, std::uint64_t& begin) {
  const std::string tensor = where + "tensor " + in_quotes(name) + ": ";
  simdjson::dom::object fields;
  if (value.get_object().get(fields) != simdjson::SUCCESS) {
    return Status::bad_input(tensor + "expected an object {\"dtype\", \"shape\", \"data_offsets\"}");
  }
  std::string_view dtype_text;
  if (fields["dtype"].get_string().get(dtype_text) != simdjson::SUCCESS) {
    return Status::bad_input(tensor + "\"dtype\" must be a string such as \"F32\"");
  }
  const std::optional<TensorDType> dtype = parse_dtype(dtype_text);
  if (!dtype) return Status::bad_input(tensor + "unknown dtype " + in_quotes(dtype_text) + " (known: " + known_dtypes() + ")");
  simdjson::dom::element shape_value;
  std::optional<std::vector<std::uint64_t>> shape;
  if (fields["shape"].get(shape_value) == simdjson::SUCCESS) shape = read_uint_array(shape_value);
  if (!shape) return Status::bad_input(tensor + "\"shape\" must be an array of non-negative integers");
  simdjson::dom::element offsets_value;
  std::optional<std::vector<std::uint64_t>> offsets;
  if (fields["data_offsets"].get(offsets_value) == simdjson::SUCCESS) offsets = read_uint_array(offsets_value);
  if (!offsets || offsets->size() != 2) {
    return Status::bad_input(tensor + "\"data_offsets\" must be an array of two non-negative integers [begin, end]");
  }
  const std::uint64_t first = (*offsets)[0];
  const std::uint64_t last = (*offsets)[1];
  const std::string range = "[" + std::to_string(first) + ", " + std::to_string(last) + "]";
  if (first > last || last > data.size()) {
    return Status::bad_input(tensor + "data_offsets " + range + " do not lie within the " + std::to_string(data.size()) +
                             "-byte data section (is the file truncated?)");
  }
  std::uint64_t bytes = dtype_size(*dtype);
  for (const std::uint64_t extent : *shape) {
    if (extent != 0 && bytes > std::numeric_limits<std::uint64_t>::max() / extent) {
      return Status::bad_input(tensor + "shape " + shape_text(*shape) + " is too large");
    }
    bytes *= extent;
  }
  if (bytes != last - first) {
    return Status::bad_input(tensor + "dtype " + std::string(dtype_text) + " and shape " + shape_text(*shape) + " need " +
                             std::to_string(bytes) + " bytes, but data_offsets " + range + " hold " +
                             std::to_string(last - first));
  }
  out.name = std::string(name);
  out.dtype = *dtype;
  out.shape = std::move(*shape);
  out.bytes = data.subspan(static_cast<std::size_t>(first), static_cast<std::size_t>(bytes));
  begin = first;
  return Status::ok();
}

}  // namespace

std::size_t dtype_size(TensorDType dtype) {
  for (const DTypeEntry& entry : kDTypes) {
    if (entry.dtype == dtype) return entry.size;
  }
  return 1;
}

std::string_view dtype_name(TensorDType dtype) {
  for (const DTypeEntry& entry : kDTypes) {
    if (entry.dtype == dtype) return entry.name;
  }
  return "?";
}

Expected<std::vector<TensorInfo>> parse_safetensors(std::span<const unsigned char> image, const std::string& source) {
  const std::string where = source + ": ";
  if (image.size() < 8) {
    return Status::bad_input(where + "not a safetensors file: " + std::to_string(image.size()) +
                             " bytes, expected at least the 8-byte header length");
  }
  std::uint64_t header_bytes = 0;
  for (int i = 7; i >= 0; --i) header_bytes = (header_bytes << 8) | image[static_cast<std::size_t>(i)];
  const std::uint64_t after_length = image.size() - 8;
  if (header_bytes > kMaxHeaderBytes || header_bytes > after_length) {
    return Status::bad_input(where + "safetensors header length " + std::to_string(header_bytes) + " exceeds the " +
                             std::to_string(after_length) + " bytes that follow it" +
                             (header_bytes > kMaxHeaderBytes ? " (and the format's 100 MB limit)" : "") +
                             " (truncated or not a safetensors file?)");
  }
  const auto header_size = static_cast<std::size_t>(header_bytes);
  const std::string_view header(reinterpret_cast<const char*>(image.data() + 8), header_size);
  const std::span<const unsigned char> data = image.subspan(8 + header_size);
  const std::string in_header = where + "safetensors header: ";
  if (header.empty() || header.front() != '{') {
    return Status::bad_input(in_header + "expected a JSON object starting with '{'");
  }

  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (const auto error = parser.parse(header.data(), header.size()).get(root); error != simdjson::SUCCESS) {
    return Status::bad_input(in_header + "not valid JSON: " + simdjson::error_message(error));
  }
  simdjson::dom::object entries;
  if (root.get_object().get(entries) != simdjson::SUCCESS) return Status::bad_input(in_header + "expected a JSON object");

  std::vector<TensorInfo> tensors;
  std::vector<std::pair<std::uint64_t, std::size_t>> order;  // (begin offset, index in tensors)
  std::unordered_set<std::string_view> names;                 // views into the parser's copy
  for (const auto [key, value] : entries) {
    const std::string_view name = key;
    if (name == "__metadata__") {
      simdjson::dom::object metadata;
      if (value.get_object().get(metadata) != simdjson::SUCCESS) {
        return Status::bad_input(in_header + "\"__metadata__\" must be an object of strings");
      }
      for (const auto [meta_key, meta_value] : metadata) {
        if (!meta_value.is_string()) {
          return Status::bad_input(in_header + "\"__metadata__\" value " + in_quotes(meta_key) + " must be a string");
        }
      }
      continue;
    }
    if (!names.insert(name).second) return Status::bad_input(in_header + "tensor " + in_quotes(name) + " is listed twice");
    TensorInfo info;
    std::uint64_t begin = 0;
    if (Status status = read_entry(name, value, data, in_header, info, begin); !status) return status;
    order.emplace_back(begin, tensors.size());
    tensors.push_back(std::move(info));
  }

  // The tensors must tile the data section: sorted by begin, each starts where the last ended.
  std::sort(order.begin(), order.end());
  std::uint64_t expected_begin = 0;
  for (const auto& [begin, index] : order) {
    if (begin != expected_begin) {
      return Status::bad_input(in_header + "tensor " + in_quotes(tensors[index].name) + " starts at data offset " +
                               std::to_string(begin) + ", expected " + std::to_string(expected_begin) +
                               " (tensors must follow each other without gaps or overlaps)");
    }
    expected_begin = begin + tensors[index].bytes.size();
  }
  if (expected_begin != data.size()) {
    return Status::bad_input(in_header + "the tensors cover " + std::to_string(expected_begin) +
                             " bytes of the data section, but the file holds " + std::to_string(data.size()) +
                             " bytes after the header");
  }
  return tensors;
}

Expected<SafetensorsFile> SafetensorsFile::open(const std::string& path) {
  auto file = MappedFile::open(path);
  if (!file) return file.status();
  auto tensors = parse_safetensors({file->data(), file->size()}, path);
  if (!tensors) return tensors.status();
  SafetensorsFile result;
  result.file_ = std::move(*file);
  result.tensors_ = std::move(*tensors);
  return result;
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  for (const TensorInfo& tensor : tensors_) {
    if (tensor.name == name) return &tensor;
  }
  return nullptr;
}

}  // namespace semcache::detail
