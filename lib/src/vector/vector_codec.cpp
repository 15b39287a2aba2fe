// Encoding and comparing vector codes. Layouts and formulas are described in vector_codec.hpp;
// the kernels come from distance.hpp, picked once for this CPU when the codec is built.

#include "vector/vector_codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

namespace semcache::detail {
namespace {

constexpr std::size_t kInt8Header = 2 * sizeof(float);

std::size_t round_up4(std::size_t n) { return (n + 3) / 4 * 4; }

float load_float(const std::byte* p) {
  float value;
  std::memcpy(&value, p, sizeof value);
  return value;
}

void store_float(std::byte* p, float value) { std::memcpy(p, &value, sizeof value); }

}  // namespace

VectorCodec::VectorCodec(std::size_t dim, Metric metric, Quantization quantization)
    : dim_(dim), metric_(metric), quantization_(quantization), kernels_(&kernels()) {
  switch (quantization) {
    case Quantization::kInt8:
      code_bytes_ = round_up4(kInt8Header + dim);
      distance_fn_ = &VectorCodec::distance_int8;
      break;
    case Quantization::kF32:
      code_bytes_ = dim * sizeof(float);
      distance_fn_ = &VectorCodec::distance_f32;
      break;
    case Quantization::kBinary:
      code_bytes_ = round_up4((dim + 7) / 8);
      distance_fn_ = &VectorCodec::distance_binary;
      break;
  }
}

bool VectorCodec::valid(const std::byte* code) const {
  auto finite_at = [code](std::size_t offset) {
    float value = 0;
    std::memcpy(&value, code + offset, sizeof value);
    return std::isfinite(value) ? std::optional<float>(value) : std::nullopt;
  };
  switch (quantization_) {
    case Quantization::kInt8: {
      const auto scale = finite_at(0);
      const auto norm2 = finite_at(sizeof(float));
      // The scale times the largest code must stay finite too, or decoding overflows to inf.
      if (!scale || !norm2 || *scale < 0 || *norm2 < 0 || !std::isfinite(*scale * 127.0f)) return false;
      const auto* values = reinterpret_cast<const std::int8_t*>(code + 2 * sizeof(float));
      return std::none_of(values, values + dim_, [](std::int8_t v) { return v == -128; });
    }
    case Quantization::kF32:
      for (std::size_t i = 0; i < dim_; ++i) {
        if (!finite_at(i * sizeof(float))) return false;
      }
      return true;
    case Quantization::kBinary: return true;
  }
  return false;
}

void VectorCodec::encode(const float* vector, std::byte* code) const {
  std::memset(code, 0, code_bytes_);
  float norm_scale = 1.0f;
  if (metric_ == Metric::kCosine) {
    double sum = 0;
    for (std::size_t i = 0; i < dim_; ++i) sum += static_cast<double>(vector[i]) * vector[i];
    if (sum > 0) norm_scale = static_cast<float>(1.0 / std::sqrt(sum));
  }
  switch (quantization_) {
    case Quantization::kInt8: {
      float max_abs = 0;
      for (std::size_t i = 0; i < dim_; ++i) max_abs = std::max(max_abs, std::fabs(vector[i] * norm_scale));
      const float scale = max_abs / 127.0f;
      const float inverse = scale > 0 ? 1.0f / scale : 0.0f;
      auto* values = reinterpret_cast<std::int8_t*>(code + kInt8Header);
      double norm2 = 0;
      for (std::size_t i = 0; i < dim_; ++i) {
        const float q = std::clamp(std::nearbyint(vector[i] * norm_scale * inverse), -127.0f, 127.0f);
        values[i] = static_cast<std::int8_t>(q);
        norm2 += static_cast<double>(q) * q;
      }
      store_float(code, scale);
      store_float(code + sizeof(float), static_cast<float>(norm2 * scale * scale));
      break;
    }
    case Quantization::kF32:
      for (std::size_t i = 0; i < dim_; ++i) store_float(code + i * sizeof(float), vector[i] * norm_scale);
      break;
    case Quantization::kBinary:
      for (std::size_t i = 0; i < dim_; ++i) {
        if (vector[i] > 0) code[i / 8] |= std::byte{static_cast<unsigned char>(1u << (i % 8))};
      }
      break;
  }
}

void VectorCodec::decode(const std::byte* code, float* vector) const {
  switch (quantization_) {
    case Quantization::kInt8: {
      const float scale = load_float(code);
      const auto* values = reinterpret_cast<const std::int8_t*>(code + kInt8Header);
      for (std::size_t i = 0; i < dim_; ++i) vector[i] = values[i] * scale;
      break;
    }
    case Quantization::kF32:
      std::memcpy(vector, code, dim_ * sizeof(float));
      break;
    case Quantization::kBinary: {
      // Signs only: +-1/sqrt(dim) keeps the decoded vector on the unit sphere.
      const float magnitude = dim_ > 0 ? 1.0f / std::sqrt(static_cast<float>(dim_)) : 0.0f;
      for (std::size_t i = 0; i < dim_; ++i) {
        const bool set = (std::to_integer<unsigned>(code[i / 8]) >> (i % 8)) & 1u;
        vector[i] = set ? magnitude : -magnitude;
      }
      break;
    }
  }
}

float VectorCodec::distance_int8(const std::byte* a, const std::byte* b) const {
  const std::int32_t dot = kernels_->dot_i8(reinterpret_cast<const std::int8_t*>(a + kInt8Header),
                                            reinterpret_cast<const std::int8_t*>(b + kInt8Header), dim_);
  const float scaled = load_float(a) * load_float(b) * static_cast<float>(dot);
  if (metric_ == Metric::kL2) return std::max(0.0f, load_float(a + sizeof(float)) + load_float(b + sizeof(float)) - 2 * scaled);
  return 1.0f - scaled;
}

float VectorCodec::distance_f32(const std::byte* a, const std::byte* b) const {
  const auto* x = reinterpret_cast<const float*>(a);
  const auto* y = reinterpret_cast<const float*>(b);
  if (metric_ == Metric::kL2) return kernels_->l2sq_f32(x, y, dim_);
  return 1.0f - kernels_->dot_f32(x, y, dim_);
}

float VectorCodec::distance_binary(const std::byte* a, const std::byte* b) const {
  const std::uint32_t h = kernels_->hamming_bin(reinterpret_cast<const std::uint8_t*>(a),
                                                reinterpret_cast<const std::uint8_t*>(b), (dim_ + 7) / 8);
  if (metric_ == Metric::kL2) return static_cast<float>(h);
  return dim_ > 0 ? 2.0f * static_cast<float>(h) / static_cast<float>(dim_) : 0.0f;
}

float VectorCodec::prepare_query(const float* vector, float* prepared) const {
  double sum = 0;
  for (std::size_t i = 0; i < dim_; ++i) sum += static_cast<double>(vector[i]) * vector[i];
  const float scale = metric_ == Metric::kCosine && sum > 0 ? static_cast<float>(1.0 / std::sqrt(sum)) : 1.0f;
  for (std::size_t i = 0; i < dim_; ++i) prepared[i] = vector[i] * scale;
  return static_cast<float>(sum) * scale * scale;
}

float VectorCodec::exact_query_distance(const float* prepared, float query_norm2, const std::byte* code) const {
  const float dot = load_float(code) * kernels_->dot_f32_i8(prepared, reinterpret_cast<const std::int8_t*>(code + kInt8Header), dim_);
  if (metric_ == Metric::kL2) return std::max(0.0f, query_norm2 + load_float(code + sizeof(float)) - 2 * dot);
  return 1.0f - dot;
}

}  // namespace semcache::detail
