#pragma once
// A read-only memory mapping of a whole regular file; opening a regular file for reading (the
// JSONL readers read it a block at a time instead); the Status of an OS failure.

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
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

// A file descriptor that closes itself.
class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor() { reset(); }

  int get() const { return fd_; }
  void reset();

 private:
  int fd_ = -1;
};

struct OpenedFile {
  FileDescriptor fd;
  std::uint64_t size = 0;
};
// Opens `path` read-only: not_found or io as os_error() says, bad_input "PATH: not a regular
// file" for a directory or a device.
Expected<OpenedFile> open_regular_file(const std::string& path);

}  // namespace semcache::detail
