#pragma once
// A read-only memory mapping of a whole regular file, and the Status of an OS failure.

#include <cstddef>
#include <string>
#include <string_view>

#include "semcache/status.hpp"

namespace semcache::detail {

class MappedFile {
 public:
  // Maps `path` read-only with MADV_SEQUENTIAL. An empty file gives size() == 0 and no mapping
  // (mmap refuses length 0); whether that is an error is the caller's call.
  static Expected<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const unsigned char* data() const { return data_; }
  std::size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  void release();
  std::string path_;
  const unsigned char* data_ = nullptr;
  std::size_t size_ = 0;
};

// "path: what: <strerror>" as not_found for ENOENT/ENOTDIR, io for anything else.
Status os_error(const std::string& path, std::string_view what, int errnum);

}  // namespace semcache::detail
