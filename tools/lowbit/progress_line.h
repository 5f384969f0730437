// A long command's progress on stderr: one line redrawn in place on a terminal; elsewhere (a log file)
// one line per tenth of the work, and one at the end.
#pragma once

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace lowbit {

class ProgressLine {
 public:
  // `done` of `total` units; text() gives the line (called only when it is drawn).
  template <typename Text>
  void update(int64_t done, int64_t total, const Text& text) {
    const int64_t decile = total > 0 ? 10 * done / total : 10;
    if (!tty_ && done != total && decile == last_decile_) return;
    last_decile_ = decile;
    fmt::print(stderr, "{}{}{}", tty_ ? "\r\033[K" : "", text(), tty_ && done != total ? "" : "\n");
    std::fflush(stderr);
  }

  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  bool tty_ = ::isatty(STDERR_FILENO) != 0;
  int64_t last_decile_ = -1;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace lowbit
