#pragma once
// Errors are values: every fallible library call returns a Status or an Expected<T>.
// The library never prints and never exits; apps/ maps a Status to a message on stderr
// and an exit code (see exit_code_for()).

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace semcache {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,  // the caller asked for something that makes no sense (bad option value)
  kBadInput,         // an input file or expression is malformed; the message names file/line/reason
  kNotFound,         // a file, id or key that was required does not exist
  kIo,               // the operating system refused (open, read, write, mmap)
  kCorrupt,          // a file of ours failed its checksum or structural checks
  kUnavailable,      // a server (Redis) could not be reached or timed out
  kInternal,         // a bug: an invariant did not hold
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(ErrorCode code, std::string message) { return Status(code, std::move(message)); }
  static Status invalid_argument(std::string m) { return error(ErrorCode::kInvalidArgument, std::move(m)); }
  static Status bad_input(std::string m) { return error(ErrorCode::kBadInput, std::move(m)); }
  static Status not_found(std::string m) { return error(ErrorCode::kNotFound, std::move(m)); }
  static Status io(std::string m) { return error(ErrorCode::kIo, std::move(m)); }
  static Status corrupt(std::string m) { return error(ErrorCode::kCorrupt, std::move(m)); }
  static Status unavailable(std::string m) { return error(ErrorCode::kUnavailable, std::move(m)); }
  static Status internal(std::string m) { return error(ErrorCode::kInternal, std::move(m)); }

  bool is_ok() const { return code_ == ErrorCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with context, e.g. the file name: "base.fvecs: " + message.
  Status with_context(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : data_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Expected(Status status) : data_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(data_).is_ok() && "Expected built from an OK status");
  }

  bool has_value() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<T>(data_); }
  const T& value() const& { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  // The error; OK when a value is held.
  Status status() const { return has_value() ? Status::ok() : std::get<Status>(data_); }

 private:
  std::variant<T, Status> data_;
};

// The CLI's exit code for a failed Status (DESIGN.md: 2 bad usage or input, 3 runtime failure).
inline int exit_code_for(const Status& status) {
  switch (status.code()) {
    case ErrorCode::kOk: return 0;
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kBadInput:
    case ErrorCode::kNotFound:
    case ErrorCode::kCorrupt: return 2;
    default: return 3;
  }
}

}  // namespace semcache
