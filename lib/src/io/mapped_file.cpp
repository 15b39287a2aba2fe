// Every binary reader in io/ works on a read-only mapping of the whole file instead of
// read() into a buffer: rows can then be served in place (an fvecs row is already the float
// array a caller wants), the kernel's read-ahead does the I/O, and there is no buffer
// boundary for a row to straddle. MADV_SEQUENTIAL asks for aggressive read-ahead and lets
// the kernel drop pages behind us, which is the access pattern of every reader here.
//
// The descriptor is closed right after mmap(); the mapping keeps the file alive. A file that
// is truncated by someone else while mapped would raise SIGBUS on access: we accept that,
// as every mmap-based loader does, rather than pay for copying.

#include "io/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace semcache::detail {

Status os_error(const std::string& path, std::string_view what, int errnum) {
  std::string message = path + ": " + std::string(what) + ": " +
                        std::error_code(errnum, std::generic_category()).message();
  if (errnum == ENOENT || errnum == ENOTDIR) return Status::not_found(std::move(message));
  return Status::io(std::move(message));
}

void FileDescriptor::reset() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

Expected<OpenedFile> open_regular_file(const std::string& path) {
  OpenedFile file{FileDescriptor(::open(path.c_str(), O_RDONLY | O_CLOEXEC))};
  if (file.fd.get() < 0) return os_error(path, "cannot open", errno);
  struct stat st {};
  if (::fstat(file.fd.get(), &st) != 0) return os_error(path, "cannot stat", errno);
  if (!S_ISREG(st.st_mode)) return Status::bad_input(path + ": not a regular file");
  file.size = static_cast<std::uint64_t>(st.st_size);
  return file;
}

Expected<MappedFile> MappedFile::open(const std::string& path) {
  auto opened = open_regular_file(path);
  if (!opened) return opened.status();
  MappedFile file;
  file.path_ = path;
  file.size_ = static_cast<std::size_t>(opened->size);
  if (file.size_ > 0) {
    void* p = ::mmap(nullptr, file.size_, PROT_READ, MAP_PRIVATE, opened->fd.get(), 0);
    if (p == MAP_FAILED) return os_error(path, "cannot mmap", errno);
    ::madvise(p, file.size_, MADV_SEQUENTIAL);
    file.data_ = static_cast<const unsigned char*>(p);
  }
  return file;  // the descriptor closes here; the mapping keeps the file alive
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : path_(std::move(other.path_)),
      data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    path_ = std::move(other.path_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() {
  if (data_ != nullptr) ::munmap(const_cast<unsigned char*>(data_), size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace semcache::detail
