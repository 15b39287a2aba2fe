#pragma once
// What every fuzz target shares: a failed invariant that libFuzzer reports as a crash, and the
// private file through which the readers that only take a path (they memory-map it) see the
// input.
//
// A target checks more than "does not crash": each one states the promises of its parser as
// FUZZ_CHECK invariants (round trips, agreement between two ways of reading the same input).
// A failed check prints what was expected and aborts, so libFuzzer saves the input like any
// other crash and scripts/fuzz replays it from tests/fuzz/regressions/<target>/ once fixed.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>

namespace semcache::fuzz {

[[noreturn]] inline void check_failed(const char* condition, const char* file, int line, const std::string& detail) {
  std::fprintf(stderr, "\nFUZZ INVARIANT FAILED at %s:%d: %s\n  %s\n", file, line, condition, detail.c_str());
  std::abort();
}

// FUZZ_CHECK(cond, detail): `detail` (a std::string expression) is only evaluated on failure.
#define FUZZ_CHECK(condition, detail)                                                   \
  do {                                                                                  \
    if (!(condition)) ::semcache::fuzz::check_failed(#condition, __FILE__, __LINE__, (detail)); \
  } while (false)

// A directory of this process's own, removed at a normal exit: under $SEMCACHE_FUZZ_TMPDIR
// (scripts/fuzz points it at a directory it removes itself, since a crashing target never gets
// to clean up), else /dev/shm when there is one (no disk I/O per input), else the temp
// directory. Several fuzzers never share it: the name holds the pid.
class ScratchDir {
 public:
  static ScratchDir& instance() {
    static ScratchDir dir;
    return dir;
  }
  const std::filesystem::path& path() const { return path_; }

  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }

 private:
  ScratchDir() {
    std::error_code error;
    std::filesystem::path base;
    if (const char* configured = std::getenv("SEMCACHE_FUZZ_TMPDIR"); configured != nullptr && *configured != '\0') {
      base = configured;
    } else if (std::filesystem::is_directory("/dev/shm", error)) {
      base = "/dev/shm";
    } else {
      base = std::filesystem::temp_directory_path();
    }
    path_ = base / ("semcache-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path_, error);
    if (error) check_failed("create_directories", __FILE__, __LINE__, path_.string() + ": " + error.message());
  }
  std::filesystem::path path_;
};

// Writes `bytes` to `name` in the scratch directory (replacing what was there) and returns its
// path. The reader of the previous input must be closed before: its mapping would see the new bytes.
inline std::string write_file(std::string_view name, std::string_view bytes) {
  const std::string path = (ScratchDir::instance().path() / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) check_failed("write_file", __FILE__, __LINE__, "cannot write " + path);
  return path;
}

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) check_failed("read_file", __FILE__, __LINE__, "cannot read " + path);
  return bytes;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Shows bytes in a failure message: printable ASCII as is, the rest as \xNN, cut after 200.
inline std::string printable(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < 200; ++i) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (bytes.size() > 200) out += "...(" + std::to_string(bytes.size()) + " bytes)";
  return out;
}

}  // namespace semcache::fuzz
