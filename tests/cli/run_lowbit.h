// Runs the built `lowbit` program in a shell and captures what it printed and its exit code.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace lowbit::test {

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

// `arguments` is pasted into a shell command line after the program's path.
inline CommandResult run_lowbit(const std::string& arguments) {
  const std::string command = std::string(LOWBIT_BINARY_DIR "/lowbit ") + arguments + " 2>&1";
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.output.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

inline const std::string kTestdata = LOWBIT_SOURCE_DIR "/testdata";

}  // namespace lowbit::test
