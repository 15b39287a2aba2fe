// JsonlLines: a JSONL file read a block at a time (see jsonl_lines.hpp).
//
// Why read() and not the mapping the binary readers use: finding the lines of a 112 MB prompt
// log with memchr took 77-110 ms through a mapping (MADV_SEQUENTIAL, with or without
// MAP_POPULATE) and 31-45 ms through read() into a 64 kB-1 MB buffer on the project's 2-core
// VM (page cache warm, 3 runs each); the copy leaves the block in the CPU cache, where the
// parser reads it next. 256 kB blocks: no difference from 64 kB to 1 MB, and few system calls.

#include "io/jsonl_lines.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "io/mapped_file.hpp"

namespace semcache::detail {
namespace {

constexpr std::size_t kBlock = std::size_t{256} << 10;
constexpr std::size_t kPadding = simdjson::SIMDJSON_PADDING;
constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";

}  // namespace

Expected<JsonlLines> JsonlLines::open(const std::string& path) {
  auto opened = open_regular_file(path);
  if (!opened) return opened.status();
  ::posix_fadvise(opened->fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  JsonlLines lines;
  lines.fd_ = std::move(opened->fd);
  lines.path_ = path;
  lines.size_ = opened->size;
  // A small file gets a small buffer (at least a page: /proc files say size 0); it grows anyway
  // when a line does not fit.
  lines.buffer_.resize(std::clamp<std::size_t>(static_cast<std::size_t>(opened->size), 4096, kBlock) + kPadding);
  return lines;
}

bool JsonlLines::next(std::string_view& line) {
  while (true) {
    const char* start = buffer_.data() + begin_;
    const auto* newline = begin_ < end_ ? static_cast<const char*>(std::memchr(start, '\n', end_ - begin_)) : nullptr;
    if (newline == nullptr && refill()) continue;  // the line goes on in the next block
    // The end, or a read error (status()): a line cut short by the error is not returned.
    if (newline == nullptr && (begin_ == end_ || !status_.is_ok())) return false;
    // A line, or the file's last one without a '\n'.
    const std::size_t length = newline != nullptr ? static_cast<std::size_t>(newline - start) : end_ - begin_;
    const std::size_t taken = length + (newline != nullptr ? 1 : 0);
    begin_ += taken;
    consumed_ += taken;
    ++line_number_;
    line = std::string_view(start, length);
    if (line_number_ == 1 && line.starts_with(kByteOrderMark)) line.remove_prefix(kByteOrderMark.size());
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) return true;
  }
}

bool JsonlLines::refill() {
  if (at_end_) return false;
  if (begin_ > 0) {  // keep the unfinished line, at the front
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ + kPadding == buffer_.size()) buffer_.resize(2 * buffer_.size());  // one line fills it
  ssize_t got = 0;
  do {
    got = ::read(fd_.get(), buffer_.data() + end_, buffer_.size() - kPadding - end_);
  } while (got < 0 && errno == EINTR);
  if (got <= 0) {
    if (got < 0) status_ = os_error(path_, "read failed", errno);
    at_end_ = true;
    fd_.reset();
    return false;
  }
  end_ += static_cast<std::size_t>(got);
  return true;
}

}  // namespace semcache::detail
