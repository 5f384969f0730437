// lowbit quantize: any model lowbit reads to a GGUF v3 file, then a per-tensor report of what it cost
// (bytes, bits per weight) and what it lost (relative RMS error, SQNR) against the source values.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "command.h"
#include "core/process_memory.h"
#include "formats/type_traits.h"
#include "quant/named_mix.h"
#include "quant/quant_method.h"
#include "quant/quantize_model.h"

namespace lowbit::cli {
namespace {

struct QuantizeCommandOptions {
  std::string input;
  std::string output;
  QuantizeOptions quantize;
  int threads = 0;  // 0: OpenMP's default (every core)
  bool json = false;
};

// One status line on a terminal, redrawn at most ten times a second: tensor, overall percentage, ETA.
class ProgressBar {
 public:
  void update(const QuantizeProgress& p) {
    const auto now = Clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(100) && p.model_fraction < 1.0) return;
    last_draw_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const std::string eta = p.model_fraction > 0.01 ? fmt::format("{:.0f}s", elapsed * (1.0 - p.model_fraction) / p.model_fraction) : "?";
    fmt::print(stderr, "\r\033[K[{:3.0f}%] {}/{} {}  ETA {}", 100.0 * p.model_fraction, p.index + 1, p.count, p.tensor, eta);
    std::fflush(stderr);
  }
  void finish() const { fmt::print(stderr, "\r\033[K"); }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_draw_{};
};

std::string mix_names() {
  std::string names;
  for (const NamedMix& mix : named_mixes()) names += (names.empty() ? "" : ", ") + std::string(mix.name);
  return names;
}

std::string method_names() {
  std::string names;
  for (const QuantMethod& method : all_quant_methods()) {
    names += fmt::format("{}{} ({}{})", names.empty() ? "" : "; ", method.name, method.description, method.needs_stats ? ", needs --calib" : "");
  }
  return names;
}

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("[{}]", fmt::join(shape, ", ")); }

std::string sqnr_text(double db) { return std::isinf(db) ? "exact" : fmt::format("{:.1f}", db); }

void print_table(const QuantizeReport& report, uint64_t peak_rss) {
  size_t name_width = 6;
  for (const TensorReport& t : report.tensors) name_width = std::max(name_width, t.name.size());
  fmt::print("{:<{}}  {:<14}  {:<5}  {:>11}  {:>6}  {:>10}  {:>9}  {:>8}\n", "tensor", name_width, "shape", "type", "bytes", "bpw",
             "rel. RMS", "SQNR dB", "time s");
  for (const TensorReport& t : report.tensors) {
    fmt::print("{:<{}}  {:<14}  {:<5}  {:>11}  {:>6.2f}  {:>10.3e}  {:>9}  {:>8.3f}\n", t.name, name_width, shape_text(t.shape),
               type_traits(t.type).name, t.bytes, t.bits_per_weight(), t.error.relative_rms(), sqnr_text(t.error.sqnr_db()), t.seconds);
  }
  const ErrorSums error = report.error();
  fmt::print("\n{}: {} bytes, {} tensors, {} weights\n", report.output, report.file_bytes, report.tensors.size(), report.elements());
  fmt::print("  {:.3f} bits per weight, {:.2f}x smaller than F32, {:.2f}x smaller than F16\n", report.bits_per_weight(),
             report.compression_vs_f32(), report.compression_vs_f16());
  fmt::print("  relative RMS error {:.3e}, SQNR {} dB\n", error.relative_rms(), sqnr_text(error.sqnr_db()));
  fmt::print("  method {}{}, {:.2f} s in all\n", report.method, report.calib_path.empty() ? "" : " with statistics " + report.calib_path,
             report.seconds);
  fmt::print("  peak resident memory {:.1f} MiB\n", static_cast<double>(peak_rss) / (1024.0 * 1024.0));
}

// JSON has no infinity: an exact tensor's SQNR is null.
nlohmann::ordered_json sqnr_json(double db) { return std::isinf(db) ? nlohmann::ordered_json() : nlohmann::ordered_json(db); }

void print_json(const QuantizeReport& report, uint64_t peak_rss) {
  nlohmann::ordered_json out;
  out["input"] = report.input;
  out["output"] = report.output;
  out["source_format"] = report.source_format;
  out["type"] = report.type;
  out["method"] = report.method;
  out["calib"] = report.calib_path.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(report.calib_path);
  out["tensors"] = nlohmann::ordered_json::array();
  for (const TensorReport& t : report.tensors) {
    out["tensors"].push_back({{"name", t.name}, {"shape", t.shape}, {"source_type", type_traits(t.source_type).name},
                              {"type", type_traits(t.type).name}, {"bytes", t.bytes}, {"bits_per_weight", t.bits_per_weight()},
                              {"relative_rms_error", t.error.relative_rms()}, {"sqnr_db", sqnr_json(t.error.sqnr_db())},
                              {"seconds", t.seconds}});
  }
  const ErrorSums error = report.error();
  out["totals"] = {{"file_bytes", report.file_bytes}, {"tensors", report.tensors.size()}, {"elements", report.elements()},
                   {"bits_per_weight", report.bits_per_weight()}, {"compression_vs_f32", report.compression_vs_f32()},
                   {"compression_vs_f16", report.compression_vs_f16()}, {"relative_rms_error", error.relative_rms()},
                   {"sqnr_db", sqnr_json(error.sqnr_db())}, {"seconds", report.seconds}};
  out["peak_rss_bytes"] = peak_rss;
  out["fallbacks"] = report.fallbacks;
  out["lowbit_only_types"] = report.lowbit_only_types;
  fmt::print("{}\n", out.dump(2));
}

int run_quantize(QuantizeCommandOptions& options) {
  if (options.threads > 0) omp_set_num_threads(options.threads);
  std::unique_ptr<ProgressBar> bar;
  if (::isatty(STDERR_FILENO)) {
    bar = std::make_unique<ProgressBar>();
    options.quantize.progress = [&bar](const QuantizeProgress& p) { bar->update(p); };
  }
  const QuantizeReport report = quantize_model(options.input, options.output, options.quantize);
  if (bar) bar->finish();
  const uint64_t peak_rss = peak_resident_bytes();
  for (const std::string& fallback : report.fallbacks) fmt::print(stderr, "lowbit quantize: note: {}\n", fallback);
  if (!report.lowbit_only_types.empty()) {
    fmt::print(stderr, "lowbit quantize: warning: {} holds lowbit-only types ({}); llama.cpp cannot load it\n", report.output,
               fmt::join(report.lowbit_only_types, ", "));
  }
  if (options.json) {
    print_json(report, peak_rss);
  } else {
    print_table(report, peak_rss);
  }
  return 0;
}

}  // namespace

CommandRunner add_quantize_command(CLI::App& app) {
  auto options = std::make_shared<QuantizeCommandOptions>();
  options->quantize.lowbit_version = "0.1.0";
  CLI::App* cmd = app.add_subcommand("quantize", "Quantize a model (GGUF, llama2.c .bin, Hugging Face folder) and write a GGUF v3 file");
  cmd->add_option("input", options->input, "Model file or Hugging Face folder")->required();
  cmd->add_option("output", options->output, "GGUF file to write (replaced atomically)")->required();
  cmd->add_option("--type", options->quantize.type, "Named mix or type, as llama-quantize takes it: " + mix_names() +
                                                        "; or one of lowbit's own types (lb_i4_asym_g32, lb_nf4_g64, lb_fp8_e4m3_g32, ...: "
                                                        "see the README), which llama.cpp cannot load")
      ->required();
  cmd->add_option("--tensor-type", options->quantize.tensor_types,
                  "PATTERN=TYPE: tensors whose name matches the regular expression PATTERN get TYPE (repeatable, first match wins)");
  cmd->add_option("--output-type", options->quantize.output_type, "Type of output.weight (ggml name: f16, q8_0, q6_K, ...)");
  cmd->add_option("--embedding-type", options->quantize.embedding_type, "Type of token_embd.weight");
  cmd->add_flag("--pure", options->quantize.pure, "Every weight matrix in the mix's base type: no per-tensor rules, no fallbacks");
  cmd->add_option("-z,--tokenizer", options->quantize.tokenizer_path,
                  "llama2.c tokenizer.bin (default: tokenizer.bin or tok*.bin beside the model)");
  cmd->add_flag("--provenance,!--no-provenance", options->quantize.provenance,
                "Write lowbit.* provenance keys (default: only for llama2.c and Hugging Face sources)");
  cmd->add_option("--method", options->quantize.method, "How the quantized numbers are chosen: " + method_names() +
                                                            "; A+B takes A's rewrite and B's quantizer (awq+gptq)")
      ->capture_default_str();
  cmd->add_option("--calib", options->quantize.calib_path, "Statistics from lowbit calibrate on the same model: rtn then minimizes "
                                                           "the error weighted by each input channel's mean square")
      ->check(CLI::ExistingFile);
  MethodOptions& method = options->quantize.method_options;
  cmd->add_option("--damp", method.damp, "GPTQ: dampening added to the Hessian's diagonal, as a fraction of its mean")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_flag("--act-order", method.act_order, "GPTQ: quantize columns in order of decreasing Hessian diagonal");
  method.auto_alpha = true;
  cmd->add_option_function<std::string>(
         "--alpha",
         [&method](const std::string& text) {
           method.auto_alpha = text == "auto";
           if (!method.auto_alpha) method.alpha = std::stod(text);
         },
         "SmoothQuant: migration strength (0: all on the activations, 1: all on the weights), or auto: per site, "
         "the one of least estimated int8 error")
      ->default_str("auto")
      ->check(CLI::IsMember({"auto"}) | CLI::Range(0.0, 1.0));
  cmd->add_option("--act-quant", method.act_quant, "SmoothQuant: activation quantization of the W8A8 matrices")
      ->capture_default_str()
      ->check(CLI::IsMember({"static", "dynamic", "none"}));
  cmd->add_option("--awq-grid", method.awq_grid, "AWQ: exponents tried for the channel scales, in [0, 1)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  cmd->add_flag("!--no-awq-clip", method.awq_clip, "AWQ: skip the clipping search after the scaling");
  cmd->add_option("--threads", options->threads, "Threads (default: every core)")->check(CLI::PositiveNumber);
  cmd->add_flag("--json", options->json, "Print the report as JSON");
  return [options] { return run_quantize(*options); };
}

}  // namespace lowbit::cli
