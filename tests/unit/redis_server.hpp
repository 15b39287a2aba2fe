#pragma once
// RedisServer: a real redis-server for one test, on a free loopback port, gone afterwards.
//
//   semcache::testing::RedisServer server;                          // plain
//   semcache::testing::RedisServer secured({"--requirepass", "secret"});
//   auto store = RedisVectorStore::open(secured.url(":secret@"), "docs");
//   server.stop(); server.restart(); server.pause(); server.resume();  // fault tests
//
// The port comes from binding 127.0.0.1:0 and closing the socket; if another process takes it
// before redis-server binds it, the server exits with "Address already in use" and the
// fixture retries on a new port. The server runs in the foreground of a child process
// (fork/exec: the child closes every inherited descriptor, so the test's own client sockets
// are not kept open by the server, and dies with the test through PR_SET_PDEATHSIG) with no
// persistence, its working directory and log in a fresh temporary directory. Ready means, within
// 5 seconds, that this start logged "Ready to accept connections" (a PING alone could be answered
// by another test's server that took the port) and that the port answers PING (+PONG, or -NOAUTH
// when a password is required).
//
// A missing redis-server FAILS the test with a message saying how to install it: an
// integration test that silently skips is a test that never runs. SEMCACHE_REDIS_SERVER
// overrides the binary.

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "semcache/redis_store.hpp"

namespace semcache::testing {

// A loopback TCP port that was free a moment ago (nothing listens on it now).
inline int find_free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  ::close(fd);
  REQUIRE(ok);
  return ntohs(addr.sin_port);
}

// The redis-server binary: $SEMCACHE_REDIS_SERVER, else the first one on $PATH; "" if none.
inline std::string find_redis_server() {
  if (const char* explicit_path = std::getenv("SEMCACHE_REDIS_SERVER"); explicit_path && *explicit_path) {
    return ::access(explicit_path, X_OK) == 0 ? explicit_path : "";
  }
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/redis-server";
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// True when something on 127.0.0.1:port answers PING as Redis does.
inline bool redis_answers_ping(int port, std::chrono::milliseconds timeout = std::chrono::milliseconds(200)) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  bool answered = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    static constexpr char kPing[] = "PING\r\n";
    if (::send(fd, kPing, sizeof(kPing) - 1, MSG_NOSIGNAL) == static_cast<ssize_t>(sizeof(kPing) - 1)) {
      char buf[64];
      const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      answered = n > 0 && (std::string_view(buf, static_cast<std::size_t>(n)).rfind("+PONG", 0) == 0 ||
                           std::string_view(buf, static_cast<std::size_t>(n)).rfind("-NOAUTH", 0) == 0);
    }
  }
  ::close(fd);
  return answered;
}

class RedisServer {
 public:
  static constexpr auto kReadyTimeout = std::chrono::seconds(5);
  static constexpr int kPortAttempts = 5;

  explicit RedisServer(std::vector<std::string> extra_args = {}) : extra_args_(std::move(extra_args)) {
    binary_ = find_redis_server();
    if (binary_.empty()) {
      const char* explicit_path = std::getenv("SEMCACHE_REDIS_SERVER");
      FAIL((explicit_path && *explicit_path ? "SEMCACHE_REDIS_SERVER=" + std::string(explicit_path) +
                                                  " is not an executable"
                                            : std::string("redis-server not found on PATH")) +
           ": the Redis integration tests need it (apt-get install redis-server, or set "
           "SEMCACHE_REDIS_SERVER=/path/to/redis-server)");
    }
    char dir_template[] = "/tmp/semcache-redis-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) FAIL("mkdtemp failed: " << std::strerror(errno));
    dir_ = dir_template;
    std::string why;
    for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
      port_ = find_free_port();
      if (start(why)) return;
      if (why.find("Address already in use") == std::string::npos) break;
    }
    const std::string message = why;
    cleanup();
    FAIL(message);
  }

  ~RedisServer() { cleanup(); }

  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string host() const { return "127.0.0.1"; }
  // "redis://127.0.0.1:PORT", or with credentials and a db: url(":secret@", 3).
  std::string url(std::string_view userinfo = {}, int db = 0) const {
    std::string out = "redis://";
    out += userinfo;
    out += "127.0.0.1:" + std::to_string(port_);
    if (db != 0) out += "/" + std::to_string(db);
    return out;
  }
  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& log_path() const { return log_path_; }
  std::string log() const {
    std::ifstream in(log_path_);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  // SIGTERM, then SIGKILL if it has not exited after 5 s; waits for it. Idempotent.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    pid_ = -1;
  }

  // Stops the server if it runs and starts it again on the same port with the same
  // arguments (the data is gone: there is no persistence).
  void restart() {
    stop();
    std::string why;
    if (!start(why)) FAIL("restart: " << why);
  }

  // SIGSTOP: connections stay open but nothing is answered (a hung or very slow server).
  void pause() {
    REQUIRE(pid_ > 0);
    ::kill(pid_, SIGSTOP);
  }
  void resume() {
    REQUIRE(pid_ > 0);
    ::kill(pid_, SIGCONT);
  }

 private:
  // Starts redis-server on port_; false with `why` when it exits or does not answer in time.
  bool start(std::string& why) {
    log_path_ = dir_ + "/redis-" + std::to_string(port_) + ".log";
    std::vector<std::string> args = {binary_,      "--port",       std::to_string(port_), "--bind", "127.0.0.1",
                                     "--save",     "",             "--appendonly",        "no",     "--daemonize",
                                     "no",         "--dir",        dir_};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    const std::string log_path = log_path_;
    const pid_t parent = ::getpid();
    const std::size_t ready_before = ready_lines();

    const pid_t child = ::fork();
    if (child < 0) {
      why = std::string("fork failed: ") + std::strerror(errno);
      return false;
    }
    if (child == 0) {
      // Only async-signal-safe calls from here to exec.
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      const int null_fd = ::open("/dev/null", O_RDONLY);
      const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (null_fd < 0 || log_fd < 0) ::_exit(126);
      ::dup2(null_fd, 0);
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
      if (::close_range(3, ~0U, 0) != 0) {
        for (int fd = 3; fd < 4096; ++fd) ::close(fd);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    pid_ = child;

    const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        why = "redis-server (" + binary_ + ") on port " + std::to_string(port_) + " exited at start; its log:\n" + log();
        return false;
      }
      if (ready_lines() > ready_before && redis_answers_ping(port_)) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    stop();
    why = "redis-server on port " + std::to_string(port_) + " did not answer PING within 5 s; its log:\n" + log();
    return false;
  }

  // How many starts on this port logged that they listen (a restart appends to the same log).
  std::size_t ready_lines() const {
    const std::string text = log();
    std::size_t count = 0;
    for (std::size_t at = text.find(kReadyLine); at != std::string::npos; at = text.find(kReadyLine, at + 1)) ++count;
    return count;
  }
  static constexpr std::string_view kReadyLine = "Ready to accept connections";

  void cleanup() noexcept {
    stop();
    if (!dir_.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(dir_, ignored);
      dir_.clear();
    }
  }

  std::vector<std::string> extra_args_;
  std::string binary_;
  std::string dir_;
  std::string log_path_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A store on `server` that gives up on connects and commands after 200 ms, for the tests that
// stop the server under it.
inline std::shared_ptr<Store> open_impatient_store(const RedisServer& server) {
  RedisStoreOptions options;
  options.connect_timeout = std::chrono::milliseconds(200);
  options.command_timeout = std::chrono::milliseconds(200);
  auto store = open_redis_store(server.url(), options);
  REQUIRE(store);
  return *store;
}

}  // namespace semcache::testing
