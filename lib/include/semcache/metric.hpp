#pragma once
// How a vector set measures distance and how it stores its vectors.

#include <optional>
#include <string_view>

namespace semcache {

// Distances are "smaller is closer" for every metric:
//   kCosine:       1 - cos(a, b), in [0, 2]; vectors are normalised on insertion.
//   kInnerProduct: 1 - a.b (vectors stored as given; equals cosine distance for unit vectors).
//   kL2:           squared Euclidean distance.
enum class Metric { kCosine, kInnerProduct, kL2 };

// How element vectors are held in memory.
//   kInt8:   one signed byte per component plus a per-vector float scale (default; 4x smaller than f32).
//   kF32:    full precision.
//   kBinary: one bit per component (the sign); distance from the Hamming distance.
enum class Quantization { kInt8, kF32, kBinary };

std::string_view to_string(Metric metric);
std::string_view to_string(Quantization quantization);
std::optional<Metric> parse_metric(std::string_view name);            // "cosine", "ip", "l2"
std::optional<Quantization> parse_quantization(std::string_view name);  // "int8", "f32", "bin"

}  // namespace semcache
