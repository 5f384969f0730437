// lowbit bench: prefill and decode speed of a model, its memory, and its decode speed against this
// machine's memory bandwidth (eval/bench.h); --compare runs the same over several types of one model.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "command.h"
#include "core/cpu_features.h"
#include "core/error.h"
#include "eval/bench.h"
#include "quant/quantize_model.h"

namespace lowbit::cli {
namespace {

namespace fs = std::filesystem;

struct BenchCommandOptions {
  std::string model;
  std::string compare;
  std::vector<std::string> types = {"F32", "F16", "BF16", "Q8_0", "Q4_K_M"};
  bool keep = false;
  BenchOptions bench;
  uint64_t bandwidth_mib = 1024;
  bool json = false;
};

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }
double gb(double bytes) { return bytes / 1e9; }

std::string rate_text(const RateStats& s) {
  return fmt::format("{:8.2f} t/s  (min {:.2f}, max {:.2f}, sd {:.2f}; {} runs)", s.median(), s.min(), s.max(), s.stddev(),
                     s.samples.size());
}

std::string types_text(const BenchResult& r) {
  std::vector<std::string> parts;
  for (const auto& [type, bytes] : r.type_bytes) {
    parts.push_back(fmt::format("{} {:.1f}%", type, 100.0 * static_cast<double>(bytes) / static_cast<double>(r.model_bytes)));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

void print_result(const BenchResult& r) {
  fmt::print("model           {}\n", r.model);
  fmt::print("  file          {} bytes ({:.1f} MiB), {} parameters; {}\n", r.model_bytes, mib(r.model_bytes), r.parameters,
             types_text(r));
  fmt::print("  weights/token {} bytes ({:.3f} GB: every tensor but token_embd)\n", r.weight_bytes_per_token,
             gb(static_cast<double>(r.weight_bytes_per_token)));
  fmt::print("threads         {}\n", r.threads);
  fmt::print("kernels         {}\n", active_kernel_set());
  fmt::print("prefill pp{:<4}  {}\n", r.options.prompt_tokens, rate_text(r.prefill));
  fmt::print("decode  tg{:<4}  {}\n", r.options.decode_tokens, rate_text(r.decode));
  fmt::print("peak resident   {:.1f} MiB (weights {})\n", mib(r.peak_resident_bytes),
             r.weights_in_memory ? "in huge-page memory" : "used from the file's map");
  if (r.bandwidth.bytes_per_second.empty()) return;
  fmt::print("bandwidth       {:.1f} GB/s median, {:.1f} GB/s best (a {:.0f} MiB buffer read after each decode run for as "
             "long as it took, {} threads)\n",
             gb(r.bandwidth.median()), gb(r.bandwidth.best()), mib(r.options.bandwidth_buffer_bytes), r.threads);
  fmt::print("decode reads    {:.1f} GB/s of weights; efficiency {:.1f}% (median over the runs of each decode against its own "
             "reads)\n",
             gb(r.decode_bytes_per_second()), 100.0 * r.decode_efficiency());
}

nlohmann::ordered_json rate_json(const RateStats& s) {
  return {{"median", s.median()}, {"min", s.min()}, {"max", s.max()}, {"stddev", s.stddev()}, {"samples", s.samples}};
}

nlohmann::ordered_json result_json(const BenchResult& r) {
  nlohmann::ordered_json out;
  out["model"] = r.model;
  out["model_bytes"] = r.model_bytes;
  out["parameters"] = r.parameters;
  out["type_bytes"] = nlohmann::ordered_json::object();
  for (const auto& [type, bytes] : r.type_bytes) out["type_bytes"][type] = bytes;
  out["weight_bytes_per_token"] = r.weight_bytes_per_token;
  out["threads"] = r.threads;
  out["kernels"] = active_kernel_set();
  out["prompt_tokens"] = r.options.prompt_tokens;
  out["decode_tokens"] = r.options.decode_tokens;
  out["repetitions"] = r.options.repetitions;
  out["prefill_tokens_per_second"] = rate_json(r.prefill);
  out["decode_tokens_per_second"] = rate_json(r.decode);
  out["peak_resident_bytes"] = r.peak_resident_bytes;
  out["weights_in_memory"] = r.weights_in_memory;
  out["bandwidth_bytes_per_second"] = {{"median", r.bandwidth.median()}, {"best", r.bandwidth.best()},
                                       {"samples", r.bandwidth.bytes_per_second},
                                       {"buffer_bytes", r.options.bandwidth_buffer_bytes}};
  out["decode_weight_bytes_per_second"] = r.decode_bytes_per_second();
  out["decode_efficiency"] = r.decode_efficiency();
  out["decode_efficiency_samples"] = r.decode_efficiencies();
  return out;
}

// A folder that is removed with everything in it when the comparison ends, however it ends.
class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / fmt::format("lowbit-bench-{}", ::getpid())) { fs::create_directories(path_); }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Where a type's file of `model` is kept with --keep, and looked for first: "m.gguf" -> "m-Q8_0.gguf".
fs::path kept_path(const fs::path& model, const std::string& type) {
  return model.parent_path() / fmt::format("{}-{}.gguf", model.stem().string(), type);
}

fs::path model_of_type(const BenchCommandOptions& options, const std::string& type, const TempDir& temp) {
  const fs::path kept = kept_path(options.compare, type);
  if (fs::exists(kept)) {
    fmt::print(stderr, "lowbit bench: {}: reusing {}\n", type, kept.string());
    return kept;
  }
  const fs::path output = options.keep ? kept : temp.path() / fmt::format("{}.gguf", type);
  fmt::print(stderr, "lowbit bench: {}: quantizing {} to {}\n", type, options.compare, output.string());
  QuantizeOptions quantize;
  quantize.type = type;
  quantize_model(options.compare, output.string(), quantize);
  return output;
}

void print_comparison(const std::vector<std::string>& types, const std::vector<BenchResult>& results) {
  // Speed-ups are over F32 when it was measured, else over the first type listed.
  size_t base = 0;
  for (size_t i = 0; i < types.size(); ++i) {
    if (types[i] == "F32") base = i;
  }
  const BenchResult& b = results[base];
  fmt::print("{:<8} {:>9} {:>13} {:>12} {:>11} {:>10} {:>10} {:>9} {:>10}\n", "type", "file MiB", "weights/tok MB",
             "prefill t/s", "decode t/s", "pp vs " + types[base], "tg vs " + types[base], "peak MiB", "decode BW");
  for (size_t i = 0; i < results.size(); ++i) {
    const BenchResult& r = results[i];
    fmt::print("{:<8} {:>9.1f} {:>13.1f} {:>12.2f} {:>11.2f} {:>9.2f}x {:>9.2f}x {:>9.1f} {:>9.1f}%\n", types[i],
               mib(r.model_bytes), static_cast<double>(r.weight_bytes_per_token) / 1e6, r.prefill.median(),
               r.decode.median(), r.prefill.median() / b.prefill.median(), r.decode.median() / b.decode.median(),
               mib(r.peak_resident_bytes), 100.0 * r.decode_efficiency());
  }
  fmt::print("\n{} threads, pp{} / tg{}, median of {} runs; decode BW: each decode run against the streaming reads right after "
             "it, for as long as it took\n",
             b.threads, b.options.prompt_tokens, b.options.decode_tokens, b.options.repetitions);
}

int run_compare(const BenchCommandOptions& options) {
  const TempDir temp;
  std::vector<BenchResult> results;
  for (const std::string& type : options.types) {
    const fs::path path = model_of_type(options, type, temp);
    results.push_back(run_bench(path.string(), options.bench));
    fmt::print(stderr, "lowbit bench: {}: prefill {:.2f} t/s, decode {:.2f} t/s\n", type, results.back().prefill.median(),
               results.back().decode.median());
    if (!options.keep && path.parent_path() == temp.path()) fs::remove(path);  // one quantized copy on disk at a time
  }
  if (options.json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (size_t i = 0; i < results.size(); ++i) {
      nlohmann::ordered_json row = result_json(results[i]);
      row["type"] = options.types[i];
      out.push_back(std::move(row));
    }
    fmt::print("{}\n", out.dump(2));
  } else {
    print_comparison(options.types, results);
  }
  return 0;
}

int run_bench_command(BenchCommandOptions& options) {
  options.bench.bandwidth_buffer_bytes = options.bandwidth_mib << 20;
  if (!options.compare.empty()) return run_compare(options);
  const BenchResult result = run_bench(options.model, options.bench);
  if (options.json) {
    fmt::print("{}\n", result_json(result).dump(2));
  } else {
    print_result(result);
  }
  return 0;
}

}  // namespace

CommandRunner add_bench_command(CLI::App& app) {
  auto options = std::make_shared<BenchCommandOptions>();
  CLI::App* cmd = app.add_subcommand("bench", "Prefill/decode speed, memory and bandwidth efficiency");
  CLI::Option* model = cmd->add_option("-m,--model", options->model, "Model to benchmark (GGUF, llama2.c, Hugging Face folder)");
  CLI::Option* compare = cmd->add_option("--compare", options->compare,
                                         "Quantize this model to each of --types (or reuse MODEL-TYPE.gguf beside it) and compare them");
  model->excludes(compare);
  cmd->add_option("--types", options->types, "Types for --compare (named mixes, as `lowbit quantize` takes them)")
      ->delimiter(',')
      ->capture_default_str();
  cmd->add_flag("--keep", options->keep, "With --compare: keep the quantized files beside the model as MODEL-TYPE.gguf");
  cmd->add_option("-t,--threads", options->bench.threads, "Threads (default: every core)")->check(CLI::PositiveNumber);
  cmd->add_option("-p,--prompt-tokens", options->bench.prompt_tokens, "Prompt tokens of the prefill run")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("-n,--decode-tokens", options->bench.decode_tokens, "Single-token decode steps")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("-r,--repetitions", options->bench.repetitions, "Repetitions (median and spread are over these)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--bandwidth-mib", options->bandwidth_mib, "Buffer of the streaming-read bandwidth measurement, MiB")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_mmap_flag(*cmd, options->bench.use_map);
  cmd->add_flag("--json", options->json, "Print the results as JSON");
  cmd->callback([model, compare] {
    if (model->count() == 0 && compare->count() == 0) throw CLI::RequiredError("-m,--model or --compare");
  });
  return [options] { return run_bench_command(*options); };
}

}  // namespace lowbit::cli
