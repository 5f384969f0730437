// lowbit synth: a Llama model with random weights of a named shape (io/synth_model.h), in any type
// `lowbit quantize` writes, with the tensor types llama-quantize would choose for that mix.
#include <fmt/format.h>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "formats/type_traits.h"
#include "io/synth_model.h"
#include "quant/mix_policy.h"

namespace lowbit::cli {
namespace {

struct SynthCommandOptions {
  std::string shape;
  std::string type = "F16";
  std::string output;
  uint64_t seed = 0;
  int threads = 0;  // 0: OpenMP's default (every core)
};

std::string shape_help() {
  std::string help = "Model shape:";
  for (const SynthShape& shape : synth_shapes()) help += fmt::format("\n  {}: {}", shape.name, shape.description);
  return help;
}

std::string mix_names() {
  std::string names;
  for (const NamedMix& mix : named_mixes()) names += (names.empty() ? "" : ", ") + std::string(mix.name);
  return names;
}

int run_synth(const SynthCommandOptions& options) {
  if (options.threads > 0) omp_set_num_threads(options.threads);
  const SynthShape& shape = find_synth_shape(options.shape);
  const ModelConfig& config = shape.config;

  std::vector<TensorTypeRequest> requests;
  for (SynthTensor& tensor : synth_tensors(config)) requests.push_back({std::move(tensor.name), std::move(tensor.shape)});
  MixOptions mix;
  mix.mix = options.type;
  const MixPolicy policy(mix, {config.n_layers, config.n_heads, config.n_kv_heads}, requests);
  SynthOptions synth;
  synth.seed = options.seed;
  synth.file_type = policy.mix().file_type;
  for (const TensorTypeChoice& choice : policy.choices()) {
    synth.types.push_back(choice.type);
    if (choice.fell_back()) fmt::print(stderr, "lowbit synth: note: {}\n", describe_fallback(choice));
  }

  if (::isatty(STDERR_FILENO)) {
    synth.progress = [](size_t index, size_t count) {
      fmt::print(stderr, "\r\033[K[{}/{}] tensors written", index + 1, count);
      if (index + 1 == count) fmt::print(stderr, "\r\033[K");
      std::fflush(stderr);
    };
  }
  const auto start = std::chrono::steady_clock::now();
  write_synth_model(shape, options.output, synth);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t parameters = 0;
  for (const TensorTypeRequest& r : requests) {
    int64_t n = 1;
    for (int64_t d : r.shape) n *= d;
    parameters += n;
  }
  const uint64_t bytes = std::filesystem::file_size(options.output);
  fmt::print("{}: {} ({}, seed {}), {} tensors, {} parameters, {} bytes ({:.1f} MiB), written in {:.1f} s\n",
             options.output, shape.name, policy.mix().name, options.seed, requests.size(), parameters, bytes,
             static_cast<double>(bytes) / (1 << 20), seconds);
  return 0;
}

}  // namespace

CommandRunner add_synth_command(CLI::App& app) {
  auto options = std::make_shared<SynthCommandOptions>();
  CLI::App* cmd = app.add_subcommand("synth", "Write a Llama model with random weights of a named shape (for benchmarks)");
  cmd->add_option("--shape", options->shape, shape_help())->required();
  cmd->add_option("--type", options->type, "Named mix or type, as `lowbit quantize` takes it: " + mix_names())
      ->capture_default_str();
  cmd->add_option("-o,--output", options->output, "GGUF file to write (replaced atomically)")->required();
  cmd->add_option("--seed", options->seed, "Seed of the random weights (same seed, same file)")->capture_default_str();
  cmd->add_option("--threads", options->threads, "Threads (default: every core)")->check(CLI::PositiveNumber);
  return [options] { return run_synth(*options); };
}

}  // namespace lowbit::cli
