#include <fmt/format.h>

#include <cstdio>

#include "command.h"

namespace lowbit::cli {

CommandRunner add_unbuilt_command(CLI::App& app, const std::string& name, const std::string& description,
                                  const std::string& missing) {
  CLI::App* cmd = app.add_subcommand(name, description + " (not built yet)");
  cmd->allow_extras();  // its options are not defined yet; say what is missing instead of rejecting them
  return [name, missing] {
    fmt::print(stderr, "lowbit {}: not built yet: {}\n", name, missing);
    return 1;
  };
}

}  // namespace lowbit::cli
