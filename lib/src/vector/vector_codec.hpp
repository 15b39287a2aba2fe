#pragma once
// How one vector is held in memory (its "code") and how two codes are compared.
//
// int8 (default): [float scale][float norm2][int8 x dim]. Each vector gets its own scale
//   (max |x| / 127), so the codes use the full range and never hold -128 (the kernels rely on
//   that). norm2 = |x|^2 of the dequantised vector, for L2. For the cosine metric the vector is
//   normalised before quantisation, so cosine distance = 1 - scale_a * scale_b * dot(a, b).
// f32: the floats (normalised for cosine).
// binary: one sign bit per component; distance from the Hamming distance (2 h / dim for
//   cosine and inner product, h for L2), the usual binary-quantisation estimate.
// A query is encoded the same way, so search compares code to code with one integer dot
// product per distance (AVX-512 VNNI where the CPU has it); int8 search then re-scores its final
// candidates against the unquantised query (exact_query_distance).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "semcache/metric.hpp"
#include "vector/distance.hpp"

namespace semcache::detail {

class VectorCodec {
 public:
  VectorCodec(std::size_t dim, Metric metric, Quantization quantization);

  std::size_t dim() const { return dim_; }
  Metric metric() const { return metric_; }
  Quantization quantization() const { return quantization_; }
  // Bytes of one code, a multiple of 4.
  std::size_t code_bytes() const { return code_bytes_; }

  // Encodes `dim` floats (finite) into `code` (code_bytes() bytes).
  void encode(const float* vector, std::byte* code) const;
  // Whether `code` is one encode() could have written: finite floats (int8: a non-negative
  // scale and norm, no -128 byte). Codes read from files are checked before use, since a
  // NaN distance would make every ordering of search results undefined.
  bool valid(const std::byte* code) const;
  // Dequantises a code back into `dim` floats.
  void decode(const std::byte* code, float* vector) const;

  float distance(const std::byte* a, const std::byte* b) const { return (this->*distance_fn_)(a, b); }

  // Re-ranking: the distance from an unquantised query to an int8 code. Symmetric int8 distances
  // carry the quantisation error of both sides; this one only the element's, at the cost of a
  // float dot product, so search uses it on its final candidates only.
  bool has_exact_query_distance() const { return quantization_ == Quantization::kInt8; }
  // `prepared` gets dim floats (normalised for cosine); returns the query's squared norm.
  float prepare_query(const float* vector, float* prepared) const;
  float exact_query_distance(const float* prepared, float query_norm2, const std::byte* code) const;

 private:
  float distance_int8(const std::byte* a, const std::byte* b) const;
  float distance_f32(const std::byte* a, const std::byte* b) const;
  float distance_binary(const std::byte* a, const std::byte* b) const;

  std::size_t dim_;
  Metric metric_;
  Quantization quantization_;
  std::size_t code_bytes_;
  const DistanceKernels* kernels_;
  float (VectorCodec::*distance_fn_)(const std::byte*, const std::byte*) const;
};

}  // namespace semcache::detail
