// lowbit calibrate: runs a model over calibration text and saves the statistics of every linear layer's
// input (quant/calib_stats.h) for `lowbit quantize --calib`.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "progress_line.h"
#include "quant/calibrate.h"

namespace lowbit::cli {
namespace {

struct CalibrateCommandOptions {
  std::string model;
  std::string text;
  std::string output;
  CalibrateOptions calibrate;
  bool no_gram = false;
};

// Contexts done and seconds elapsed, redrawn in place on a terminal; elsewhere one line per 10%.

int run_calibrate(CalibrateCommandOptions& options) {
  ProgressLine progress;
  options.calibrate.with_gram = !options.no_gram;
  options.calibrate.progress = [&progress](int64_t done, int64_t total) {
    progress.update(done, total, [&] {
      return fmt::format("calibrating: {}/{} contexts ({:.0f}%), {:.1f} s", done, total,
                         100.0 * static_cast<double>(done) / static_cast<double>(total), progress.seconds());
    });
  };
  const CalibStats stats = calibrate(options.model, options.text, options.calibrate);
  stats.save(options.output);
  fmt::print("{}: {} sites, {} tokens in contexts of {} from {}{}\n", options.output, stats.sites.size(), stats.source.tokens,
             stats.source.context, options.text, options.no_gram ? " (no Gram matrices)" : "");
  return 0;
}

}  // namespace

CommandRunner add_calibrate_command(CLI::App& app) {
  auto options = std::make_shared<CalibrateCommandOptions>();
  CLI::App* cmd = app.add_subcommand("calibrate", "Record the activation statistics of every linear layer's input on calibration text "
                                                  "(for quantize --calib)");
  cmd->add_option("-m,--model", options->model, "Model: GGUF file, llama2.c .bin, or Hugging Face folder")->required();
  cmd->add_option("-z,--tokenizer", options->calibrate.tokenizer_path, "llama2.c tokenizer.bin (default: found beside the .bin)");
  cmd->add_option("-f,--file", options->text, "Calibration text (never the evaluation text)")->required()->check(CLI::ExistingFile);
  cmd->add_option("--tokens", options->calibrate.max_tokens, "Run at most this many tokens, in whole contexts (default: the whole text)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--ctx", options->calibrate.context, "Tokens per forward pass; each context starts with BOS")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{3}, int64_t{1} << 20));
  cmd->add_option("--bins", options->calibrate.observer_options.bins,
                  "Histogram bins of the percentile, kl and mse range observers (their search time grows with the square)")
      ->capture_default_str()
      ->check(CLI::Range(16, kMaxHistogramBins));
  cmd->add_flag("--no-gram", options->no_gram, "Skip the Gram matrices X^T X (GPTQ needs them; each takes channels^2 floats)");
  cmd->add_option("-o,--output", options->output, "Stats file to write (replaced atomically)")->required();
  return [options] { return run_calibrate(*options); };
}

}  // namespace lowbit::cli
