#pragma once
// TempDir: a fresh directory under the system temp dir for one test, removed with the object.
//
//   semcache::testing::TempDir dir;
//   const std::string log = dir.write("log.jsonl", "{\"prompt\":\"hi\"}\n");
//   const std::string out = dir.path("out.json");   // a path inside, not created
//   const std::string model = dir.dir("model");     // a sub-directory, created

#include <catch2/catch.hpp>

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace semcache::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "semcache-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path(const std::string& name) const { return (path_ / name).string(); }

  // A sub-directory `name` inside, created.
  std::string dir(const std::string& name) const {
    std::filesystem::create_directories(path_ / name);
    return (path_ / name).string();
  }

  // Writes `content` to the file `name` inside and returns its path.
  std::string write(const std::string& name, const std::string& content) const {
    const std::string file = path(name);
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(content.data(), static_cast<std::streamsize>(content.size()));
    REQUIRE(out.good());
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace semcache::testing
