#pragma once
// RedisCluster: a real local Redis Cluster for the cluster store's tests, gone afterwards.
//
//   semcache::testing::RedisCluster cluster;                 // 3 primaries
//   semcache::testing::RedisCluster with_replicas(1);        // 3 primaries + 3 replicas
//   auto store = open_redis_cluster_store(cluster.seed_url());
//   cluster.kill(port);                                      // SIGKILL one node (failover tests)
//   cluster.cli(port, "CLUSTER INFO");                       // redis-cli's output
//
// It drives scripts/redis-cluster (start DIR, nodes DIR, stop DIR), the same test bed a person
// uses by hand: nodes on random free loopback ports, cluster-node-timeout 1000 ms, ready when
// every node says cluster_state:ok with all 16384 slots. The nodes run daemonised (redis-cli
// --cluster create needs them up before it runs), so unlike RedisServer they do not die with
// the test process if it is killed; the destructor stops them and removes the directory.
//
// A missing redis-server or redis-cli FAILS the test with the script's message: an
// integration test that silently skips never runs. SEMCACHE_REDIS_SERVER and SEMCACHE_REDIS_CLI
// override the binaries (the script reads them too).

#include <catch2/catch.hpp>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "semcache/redis_url.hpp"
#include "store/redis_connection.hpp"

namespace semcache::testing {

class RedisCluster {
 public:
  struct NodeProcess {
    int port = 0;
    pid_t pid = -1;
  };

  explicit RedisCluster(int replicas = 0) {
    char dir_template[] = "/tmp/semcache-cluster-XXXXXX";
    if (::mkdtemp(dir_template) == nullptr) FAIL("mkdtemp failed: " << std::strerror(errno));
    dir_ = dir_template;
    const std::string command = script() + " start " + dir_ + (replicas > 0 ? " --replicas 1" : "");
    int status = 0;
    const std::string out = run(command + " 2>&1", status);
    if (status != 0) {
      cleanup();
      FAIL("scripts/redis-cluster start failed (exit " << status << "): " << out);
    }
    const std::size_t at = out.rfind("redis+cluster://");
    REQUIRE(at != std::string::npos);
    seed_url_ = out.substr(at);
    while (!seed_url_.empty() && (seed_url_.back() == '\n' || seed_url_.back() == '\r')) seed_url_.pop_back();
    std::istringstream lines(run(script() + " nodes " + dir_, status));
    NodeProcess node;
    while (lines >> node.port >> node.pid) nodes_.push_back(node);
    REQUIRE(nodes_.size() == static_cast<std::size_t>(3 * (1 + replicas)));
  }

  ~RedisCluster() { cleanup(); }
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // "redis+cluster://127.0.0.1:P1,127.0.0.1:P2,127.0.0.1:P3" (the three first primaries).
  const std::string& seed_url() const { return seed_url_; }
  const std::vector<NodeProcess>& nodes() const { return nodes_; }

  // redis-cli -p PORT ARGS (ARGS split by the shell; no quoting needed for what tests send):
  // its stdout without the trailing newline.
  std::string cli(int port, const std::string& args) const {
    int status = 0;
    const char* explicit_cli = std::getenv("SEMCACHE_REDIS_CLI");
    const std::string binary = explicit_cli && *explicit_cli ? explicit_cli : "redis-cli";
    std::string out = run(binary + " -p " + std::to_string(port) + " " + args + " 2>&1", status);
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

  // The ports of the live nodes that say (ROLE) they are primaries now.
  std::vector<int> primaries() const {
    std::vector<int> out;
    for (const NodeProcess& node : nodes_) {
      if (node.pid > 0 && cli(node.port, "ROLE").rfind("master", 0) == 0) out.push_back(node.port);
    }
    return out;
  }

  // SIGKILL: the node vanishes at once, as in a crash.
  void kill(int port) {
    for (NodeProcess& node : nodes_) {
      if (node.port != port || node.pid <= 0) continue;
      ::kill(node.pid, SIGKILL);
      for (int i = 0; i < 200 && ::kill(node.pid, 0) == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      node.pid = -1;
      return;
    }
    FAIL("no running cluster node on port " << port);
  }

 private:
  static std::string script() { return std::string("bash ") + SEMCACHE_SOURCE_DIR + "/scripts/redis-cluster"; }

  static std::string run(const std::string& command, int& status) {
    std::string out;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      status = -1;
      return "popen failed: " + std::string(std::strerror(errno));
    }
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof(buffer), pipe)) > 0) out.append(buffer, n);
    const int raw = ::pclose(pipe);
    status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return out;
  }

  void cleanup() noexcept {
    if (dir_.empty()) return;
    int status = 0;
    run(script() + " stop " + dir_ + " 2>&1", status);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    dir_.clear();
  }

  std::string dir_;
  std::string seed_url_;
  std::vector<NodeProcess> nodes_;
};

// A plain connection to one node (by port), for commands aimed at that node (CLUSTER ..., DEBUG).
inline detail::RedisConnection connect_node(int port) {
  auto url = parse_redis_url("redis://127.0.0.1:" + std::to_string(port));
  REQUIRE(url);
  auto connection = detail::RedisConnection::connect(*url);
  INFO(connection.status().message());
  REQUIRE(connection);
  return std::move(*connection);
}

}  // namespace semcache::testing
