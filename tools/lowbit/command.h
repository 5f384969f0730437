// Each sub-command lives in its own file and registers itself with the CLI11 app: it adds its
// sub-command and options and returns the function that runs it once parsing succeeded.
#pragma once

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <functional>

#include "io/model_file.h"
#include "kernels/matmul.h"

namespace lowbit::cli {

using CommandRunner = std::function<int()>;

// --mmap of the commands that run a model: set, the weights are used in place from the file's memory
// map; unset (the default), ModelFile::load_weights_into_memory reads them into huge-page memory first,
// where the matrices the CPU's kernels read faster in another layout are converted (kernel_layout).
inline void add_mmap_flag(CLI::App& cmd, bool& use_map) {
  cmd.add_flag("--mmap", use_map,
               "Use the weights in place from the file's memory map (default: read them into huge-page memory, "
               "where decode streams them faster; --mmap for models larger than the free memory)");
}

// Unless --mmap was given: the model's weights into huge-page memory, or a note on stderr where they do
// not fit in the available memory and stay in the file's map.
inline void load_weights_unless_mapped(ModelFile& model, bool use_map) {
  if (use_map) return;
  if (model.load_weights_into_memory()) {
    model.relayout_loaded_weights(kernel_layout);
  } else {
    fmt::print(stderr, "note: {}: the weights exceed the available memory; using them from the file's map\n",
               model.path());
  }
}

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
