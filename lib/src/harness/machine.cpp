// Machine description for result files: cores, CPU model (from /proc/cpuinfo) and the SIMD level
// the distance kernels were dispatched to.

#include "semcache/machine.hpp"

#include <fstream>
#include <thread>

#include "vector/distance.hpp"

namespace semcache {

const char* version() { return SEMCACHE_VERSION; }

MachineInfo machine_info() {
  MachineInfo info;
  info.cores = std::thread::hardware_concurrency();
  std::ifstream cpuinfo("/proc/cpuinfo");
  for (std::string line; std::getline(cpuinfo, line);) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      if (colon != std::string::npos) info.cpu_model = line.substr(colon + 2);
      break;
    }
  }
  const detail::SimdLevel level = detail::kernels().level;
  info.simd_level = detail::simd_level_name(level);
  if (level >= detail::SimdLevel::kAvx2) info.cpu_flags.insert(info.cpu_flags.end(), {"avx2", "fma"});
  if (level >= detail::SimdLevel::kAvx512) info.cpu_flags.insert(info.cpu_flags.end(), {"avx512f", "avx512bw", "avx512vl", "avx512dq"});
  if (level >= detail::SimdLevel::kAvx512Vnni) info.cpu_flags.push_back("avx512vnni");
  return info;
}

void write_json(JsonWriter& out, const MachineInfo& machine) {
  out.begin_object();
  out.key("cores").value(static_cast<std::uint64_t>(machine.cores));
  out.key("cpu_model").value(machine.cpu_model);
  out.key("simd_level").value(machine.simd_level);
  out.key("cpu_flags").begin_array();
  for (const auto& flag : machine.cpu_flags) out.value(flag);
  out.end_array();
  out.end_object();
}

}  // namespace semcache
