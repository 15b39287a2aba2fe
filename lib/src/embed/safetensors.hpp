#pragma once
// A reader of safetensors files (the Hugging Face tensor container): an 8-byte little-endian
// header length N, N bytes of JSON header {"name": {"dtype", "shape", "data_offsets"}, ...},
// then the tensors' bytes. The file is memory-mapped; tensors are served in place as byte spans
// that stay valid as long as the SafetensorsFile lives (moving it keeps them valid).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_file.hpp"
#include "semcache/status.hpp"

namespace semcache::detail {

enum class TensorDType { kBool, kU8, kI8, kF8E5M2, kF8E4M3, kI16, kU16, kF16, kBF16, kI32, kU32, kF32, kF64, kI64, kU64 };

// Bytes per element; the name as the format spells it ("F32").
std::size_t dtype_size(TensorDType dtype);
std::string_view dtype_name(TensorDType dtype);

struct TensorInfo {
  std::string name;
  TensorDType dtype = TensorDType::kF32;
  std::vector<std::uint64_t> shape;
  std::span<const unsigned char> bytes;  // exactly product(shape) * dtype_size(dtype) bytes; may be unaligned
};

// Parses a whole safetensors image held in memory (tests and fuzzers call this directly).
// `source` names the input in error messages. Every offset and size is checked against the
// image, so any byte string gives either tensors or a bad_input Status, never a crash.
Expected<std::vector<TensorInfo>> parse_safetensors(std::span<const unsigned char> image, const std::string& source);

class SafetensorsFile {
 public:
  static Expected<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  // The tensor of that name, or nullptr.
  const TensorInfo* find(std::string_view name) const;
  // The whole file, e.g. to hash it.
  std::span<const unsigned char> image() const { return {file_.data(), file_.size()}; }

 private:
  MappedFile file_;
  std::vector<TensorInfo> tensors_;
};

}  // namespace semcache::detail
