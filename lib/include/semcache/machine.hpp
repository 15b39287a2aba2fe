#pragma once
// What a result was measured on: written into every result JSON as "machine".

#include <string>
#include <vector>

#include "semcache/json_writer.hpp"

namespace semcache {

// The library's version (the CMake project version).
const char* version();

struct MachineInfo {
  unsigned cores = 0;
  std::string cpu_model;
  std::string simd_level;               // the distance kernels in use: scalar, avx2, avx512, avx512vnni
  std::vector<std::string> cpu_flags;   // the instruction-set extensions those kernels use
};

MachineInfo machine_info();
void write_json(JsonWriter& out, const MachineInfo& machine);

}  // namespace semcache
