#include "progress.hpp"

#include <cstdio>

#include <fmt/format.h>
#include <unistd.h>

namespace semcache::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::update(const std::string& label, std::size_t done, std::size_t total) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (label != label_) {
    finish();
    label_ = label;
    start_ = now;
  } else if (drawn_ && done < total && now - last_draw_ < std::chrono::milliseconds(100)) {
    return;
  }
  last_draw_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double fraction = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 0.0;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(fraction * kWidth);
  std::string eta;
  if (fraction > 0.01 && done < total) eta = fmt::format("  eta {:.1f}s", elapsed / fraction - elapsed);
  fmt::print(stderr, "\r{:<12} [{}{}] {:3.0f}%  {}/{}  {:.1f}s{}\x1b[K", label_, std::string(filled, '#'),
             std::string(kWidth - filled, ' '), fraction * 100, done, total, elapsed, eta);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (enabled_ && drawn_) {
    fmt::print(stderr, "\n");
    drawn_ = false;
  }
}

}  // namespace semcache::cli
