// lowbit: quantize large language models, run them on the CPU, and measure what was gained and lost.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <utility>
#include <vector>

#include "command.h"
#include "core/error.h"

int main(int argc, char** argv) {
  using namespace lowbit::cli;
  CLI::App app{"lowbit: quantize LLMs, run them on the CPU, and measure what was gained and lost", "lowbit"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "lowbit 0.1.0");

  std::vector<std::pair<CLI::App*, CommandRunner>> commands;
  for (auto add : {add_plan_command, add_calibrate_command, add_quantize_command, add_run_command, add_eval_command,
                   add_bench_command, add_synth_command, add_inspect_command}) {
    CommandRunner runner = add(app);
    commands.emplace_back(app.get_subcommands({}).back(), std::move(runner));
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);  // prints the message
    return 2;
  }

  for (auto& [subcommand, runner] : commands) {
    if (!subcommand->parsed()) continue;
    try {
      return runner();
    } catch (const lowbit::Error& e) {
      std::fflush(stdout);
      fmt::print(stderr, "lowbit {}: error: {}\n", subcommand->get_name(), e.what());
      return 1;
    } catch (const std::bad_alloc&) {
      std::fflush(stdout);
      fmt::print(stderr, "lowbit {}: error: out of memory\n", subcommand->get_name());
      return 1;
    }
  }
  return 2;
}
