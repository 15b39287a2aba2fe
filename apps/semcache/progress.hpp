#pragma once
// A progress bar on stderr, drawn only when stderr is a terminal (so logs and CI output stay
// clean): "build  [##########          ]  52%  52000/100000  3.1s  eta 2.9s".

#include <chrono>
#include <cstddef>
#include <string>

namespace semcache::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  // Redraws at most ten times a second; a new label starts a new line.
  void update(const std::string& label, std::size_t done, std::size_t total);
  void finish();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace semcache::cli
