// Errors: every failure the user can cause (bad file, bad option, bad data) is a lowbit::Error whose
// message already names the file or tensor and the problem, so front ends print it on one line.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace lowbit {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// throw_error("{}: tensor {} has {} elements, expected {}", path, name, n, expected)
template <typename... Args>
[[noreturn]] void throw_error(fmt::format_string<Args...> format, Args&&... args) {
  throw Error(fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace lowbit
