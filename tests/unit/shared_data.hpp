#pragma once
// The project's shared test data (../shared/data beside the repository; its README says what
// each file is). tests/CMakeLists.txt passes its path as SEMCACHE_SHARED_DATA.

#include <filesystem>

namespace semcache::testing {

inline std::filesystem::path shared_data() { return SEMCACHE_SHARED_DATA; }

}  // namespace semcache::testing
