// Each sub-command lives in its own file and registers itself with the CLI11 app: it adds its
// sub-command and options and returns the function that runs it once parsing succeeded.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace lowbit::cli {

using CommandRunner = std::function<int()>;

// Registered commands, in the order `lowbit --help` lists them.
CommandRunner add_plan_command(CLI::App& app);
CommandRunner add_calibrate_command(CLI::App& app);
CommandRunner add_quantize_command(CLI::App& app);
CommandRunner add_run_command(CLI::App& app);
CommandRunner add_eval_command(CLI::App& app);
CommandRunner add_bench_command(CLI::App& app);
CommandRunner add_synth_command(CLI::App& app);
CommandRunner add_inspect_command(CLI::App& app);

}  // namespace lowbit::cli
