// Names of metrics and quantisations, as the CLI and the snapshot header spell them.

#include "semcache/metric.hpp"

namespace semcache {

std::string_view to_string(Metric metric) {
  switch (metric) {
    case Metric::kCosine: return "cosine";
    case Metric::kInnerProduct: return "ip";
    case Metric::kL2: return "l2";
  }
  return "?";
}

std::string_view to_string(Quantization quantization) {
  switch (quantization) {
    case Quantization::kInt8: return "int8";
    case Quantization::kF32: return "f32";
    case Quantization::kBinary: return "bin";
  }
  return "?";
}

std::optional<Metric> parse_metric(std::string_view name) {
  if (name == "cosine") return Metric::kCosine;
  if (name == "ip") return Metric::kInnerProduct;
  if (name == "l2") return Metric::kL2;
  return std::nullopt;
}

std::optional<Quantization> parse_quantization(std::string_view name) {
  if (name == "int8" || name == "q8") return Quantization::kInt8;
  if (name == "f32" || name == "noquant") return Quantization::kF32;
  if (name == "bin" || name == "binary") return Quantization::kBinary;
  return std::nullopt;
}

}  // namespace semcache
