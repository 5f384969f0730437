// lowbit plan: before quantizing, what a model costs — parameters by component, stored size at every
// precision, inference memory, FLOPs per token, roofline decode speed, which devices it fits and what
// serving it costs — from a named shape, a config.json alone, or any model file, as tables or JSON.
#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command.h"
#include "core/error.h"
#include "core/memory_bandwidth.h"
#include "formats/type_traits.h"
#include "plan/devices.h"
#include "plan/fit.h"
#include "plan/inference.h"
#include "plan/model_source.h"
#include "plan/model_tensors.h"
#include "plan/storage.h"

namespace lowbit::cli {
namespace {

struct PlanOptions {
  std::string model;
  int64_t context = 0;  // 0: the model's context_length
  int64_t batch = 1;
  std::string kv_type = "f16";
  double bandwidth_gb_s = 0;  // 0: measure this machine's
  std::string devices_file;
  std::vector<std::string> device_names;  // empty: every device
  std::vector<std::string> precisions;    // empty: kDefaultPrecisions for the device and cost tables
  std::string gpu;
  double price = 0;
  double utilization = 1.0;
  bool json = false;
  // --fit: write the per-tensor mix with the least summed sensitivity within this many bytes.
  uint64_t fit_bytes = 0;
  std::string calibration;
  std::string output;
  std::vector<std::string> candidates;  // empty: default_fit_candidates()
  int64_t fit_context = 128;
  int64_t fit_chunks = 32;
  int64_t fit_refine = 200;
  std::string sensitivity_cache;
};

// The precisions the device and cost tables show unless --precisions says otherwise: the float types
// and the named mixes people usually compare (every option stays in the size table and in --json).
constexpr const char* kDefaultPrecisions[] = {"f32", "f16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K"};

// Context used when neither --ctx nor the model gives one (a named shape always does).
constexpr int64_t kFallbackContext = 2048;

std::string gib(double bytes) { return fmt::format("{:.2f} GiB", bytes / (1024.0 * 1024.0 * 1024.0)); }

std::string human_bytes(double bytes) {
  const double magnitude = std::fabs(bytes);
  if (magnitude >= 1024.0 * 1024.0 * 1024.0) return gib(bytes);
  if (magnitude >= 1024.0 * 1024.0) return fmt::format("{:.2f} MiB", bytes / (1024.0 * 1024.0));
  if (magnitude >= 1024.0) return fmt::format("{:.1f} KiB", bytes / 1024.0);
  return fmt::format("{:.0f} B", bytes);
}

std::string human_count(double n) {
  if (n >= 1e9) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.2f} K", n / 1e3);
  return fmt::format("{:.0f}", n);
}

std::string human_flops(double flops) {
  if (flops >= 1e12) return fmt::format("{:.2f} TFLOP", flops / 1e12);
  if (flops >= 1e9) return fmt::format("{:.2f} GFLOP", flops / 1e9);
  if (flops >= 1e6) return fmt::format("{:.2f} MFLOP", flops / 1e6);
  return fmt::format("{:.0f} FLOP", flops);
}

struct Bandwidth {
  double bytes_per_s = 0;
  std::string origin;  // "given" or "measured"
};

Bandwidth this_machine_bandwidth(const PlanOptions& options) {
  if (options.bandwidth_gb_s > 0) return {options.bandwidth_gb_s * 1e9, "given"};
  // A quarter of a GiB is far beyond any last-level cache and keeps the measurement under a second.
  BandwidthOptions measurement;
  measurement.buffer_bytes = uint64_t{256} << 20;
  measurement.passes = 3;
  const BandwidthResult result = measure_read_bandwidth(measurement);
  return {result.best(), "measured"};
}

// One row of the size table: an available storage option with its inference memory and speed.
struct PrecisionPlan {
  const StorageOption* storage;
  InferenceMemory memory;
  double tokens_per_s = 0;  // roofline on this machine
};

struct Plan {
  PlanModel model;
  InferenceSettings settings;
  ParameterCounts parameters;
  FlopCounts flops;
  Bandwidth bandwidth;
  std::vector<StorageOption> storage;
  std::vector<PrecisionPlan> precisions;       // every available option
  std::vector<const PrecisionPlan*> selected;  // for the device and cost tables
  std::vector<Device> devices;
  std::optional<Device> cost_gpu;
};

const PrecisionPlan& find_precision(const Plan& plan, const std::string& name) {
  const StorageOption& option = find_storage_option(plan.storage, name);
  for (const PrecisionPlan& precision : plan.precisions) {
    if (precision.storage == &option) return precision;
  }
  throw_error("precision {} cannot be applied to {}: {}", name, plan.model.source, option.unavailable);
}

Plan make_plan(const PlanOptions& options) {
  Plan plan;
  plan.model = load_plan_model(options.model);
  const ModelConfig& config = plan.model.config;
  const TypeTraits* kv_type = find_type_traits(options.kv_type);
  if (kv_type == nullptr) throw_error("--kv-type {}: unknown type", options.kv_type);
  plan.settings = {options.context > 0 ? options.context
                                       : (config.context_length > 0 ? config.context_length : kFallbackContext),
                   options.batch, kv_type->type};
  const std::vector<TensorTypeRequest> tensors = model_tensors(config);
  plan.parameters = count_parameters(tensors);
  plan.flops = flops_per_token(config, plan.settings.context);
  plan.bandwidth = this_machine_bandwidth(options);
  plan.storage = storage_options(tensors, {config.n_layers, config.n_heads, config.n_kv_heads});
  for (const StorageOption& option : plan.storage) {
    if (!option.available()) continue;
    const InferenceMemory memory = inference_memory(config, plan.settings, option.bytes);
    plan.precisions.push_back({&option, memory, roofline_decode_tokens_per_s(memory, plan.settings.batch, plan.bandwidth.bytes_per_s)});
  }

  plan.devices = builtin_devices();
  if (!options.devices_file.empty()) merge_devices(plan.devices, read_devices(options.devices_file));
  if (!options.device_names.empty()) {
    std::vector<Device> chosen;
    for (const std::string& name : options.device_names) chosen.push_back(find_device(plan.devices, name));
    plan.devices = std::move(chosen);
  }
  if (!options.gpu.empty()) plan.cost_gpu = find_device(plan.devices, options.gpu);

  if (options.precisions.empty()) {
    for (const char* name : kDefaultPrecisions) {
      const StorageOption& option = find_storage_option(plan.storage, name);
      if (option.available()) plan.selected.push_back(&find_precision(plan, name));
    }
  } else {
    for (const std::string& name : options.precisions) plan.selected.push_back(&find_precision(plan, name));
  }
  return plan;
}

double tokens_per_s_on(const PrecisionPlan& precision, const Plan& plan, const Device& device) {
  return roofline_decode_tokens_per_s(precision.memory, plan.settings.batch, device.bandwidth_gb_s * 1e9);
}

// "1 (+57.3 GiB)", "3 (+9.1 GiB)" for GPUs; "no (-1.2 GiB)" where it does not fit.
std::string fit_cell(const DeviceFit& fit) {
  if (fit.devices_needed == 0) return fmt::format("no ({})", human_bytes(fit.margin_bytes));
  return fmt::format("{} (+{})", fit.devices_needed, human_bytes(fit.margin_bytes));
}

void print_text(const Plan& plan, const PlanOptions& options) {
  const ModelConfig& c = plan.model.config;
  fmt::print("{} ({}): {}, dim {}, hidden {}, layers {}, heads {} (KV {}), head_dim {}, vocab {}{}\n", plan.model.source,
             plan.model.kind, c.architecture, c.dim, c.hidden_dim, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim,
             c.vocab_size, c.tied_embeddings ? ", tied embeddings" : "");
  fmt::print("context {}, batch {}, KV cache {}; this machine's bandwidth {:.1f} GB/s ({})\n\n", plan.settings.context,
             plan.settings.batch, type_traits(plan.settings.kv_type).name, plan.bandwidth.bytes_per_s / 1e9,
             plan.bandwidth.origin);

  fmt::print("parameters\n");
  for (Component component : kComponents) {
    const double share = 100.0 * static_cast<double>(plan.parameters[component]) / static_cast<double>(plan.parameters.total);
    fmt::print("  {:<14} {:>16}  {:>5.1f}%\n", component_name(component), plan.parameters[component], share);
  }
  fmt::print("  {:<14} {:>16}  ({})\n\n", "total", plan.parameters.total, human_count(static_cast<double>(plan.parameters.total)));

  const FlopCounts& f = plan.flops;
  fmt::print("FLOPs per token\n");
  fmt::print("  decode at position {}: {} (matrix products {}, of which output layer {}; attention {})\n",
             plan.settings.context, human_flops(f.decode_per_token()), human_flops(f.matmul), human_flops(f.output),
             human_flops(f.attention));
  fmt::print("  prefill of {} tokens: {} in all, {} per token\n\n", plan.settings.context, human_flops(f.prefill_total),
             human_flops(f.prefill_per_token));

  size_t name_width = 9;
  for (const StorageOption& option : plan.storage) name_width = std::max(name_width, option.name.size());
  fmt::print("{:<{}}  {:<9}  {:>6}  {:>11}  {:>11}  {:>11}  {:>11}  {:>12}\n", "precision", name_width, "kind", "bpw",
             "weights", "KV cache", "activations", "total", "decode tok/s");
  for (const PrecisionPlan& p : plan.precisions) {
    const StorageOption& s = *p.storage;
    std::string note;
    if (s.kept_f16 > 0) note = fmt::format("  ({} matrices kept f16: rows not whole blocks)", s.kept_f16);
    if (s.fallbacks > 0) note = fmt::format("  ({} tensors took a row-length fallback)", s.fallbacks);
    fmt::print("{:<{}}  {:<9}  {:>6.3f}  {:>11}  {:>11}  {:>11}  {:>11}  {:>12.1f}{}\n", s.name, name_width,
               storage_kind_name(s.kind), s.bits_per_weight, human_bytes(static_cast<double>(p.memory.weights)),
               human_bytes(static_cast<double>(p.memory.kv_cache)), human_bytes(static_cast<double>(p.memory.activations)),
               human_bytes(static_cast<double>(p.memory.total())), p.tokens_per_s, note);
  }
  for (const StorageOption& s : plan.storage) {
    if (!s.available()) fmt::print("{:<{}}  {:<9}  not applicable: {}\n", s.name, name_width, storage_kind_name(s.kind), s.unavailable);
  }

  fmt::print("\ndevices needed (margin) for the total memory\n");
  size_t device_width = 6;
  for (const Device& device : plan.devices) device_width = std::max(device_width, device.name.size());
  fmt::print("{:<{}}  {:>10}  {:>9}", "device", device_width, "memory", "GB/s");
  for (const PrecisionPlan* p : plan.selected) fmt::print("  {:>18}", p->storage->name);
  fmt::print("\n");
  for (const Device& device : plan.devices) {
    fmt::print("{:<{}}  {:>10}  {:>9.1f}", device.name, device_width, gib(static_cast<double>(device.memory_bytes())),
               device.bandwidth_gb_s);
    for (const PrecisionPlan* p : plan.selected) fmt::print("  {:>18}", fit_cell(fit_on_device(p->memory.total(), device)));
    fmt::print("\n");
  }

  if (plan.cost_gpu) {
    const Device& gpu = *plan.cost_gpu;
    fmt::print("\ncost on {} at ${:.2f} per hour, utilization {:.2f} ({} h per month)\n", gpu.name, options.price,
               options.utilization, kHoursPerMonth);
    fmt::print("{:<{}}  {:>5}  {:>9}  {:>11}  {:>12}  {:>10}\n", "precision", name_width, "GPUs", "$/hour", "$/month",
               "decode tok/s", "$/M tokens");
    for (const PrecisionPlan* p : plan.selected) {
      const DeviceFit fit = fit_on_device(p->memory.total(), gpu);
      const double tokens_per_s = tokens_per_s_on(*p, plan, gpu);
      const ServingCost cost = serving_cost(fit.devices_needed, options.price, options.utilization, tokens_per_s);
      fmt::print("{:<{}}  {:>5}  {:>9.2f}  {:>11.2f}  {:>12.1f}  {:>10.4f}\n", p->storage->name, name_width,
                 fit.devices_needed, cost.per_hour, cost.per_month, tokens_per_s, cost.per_million_tokens());
    }
  }
}

nlohmann::ordered_json memory_json(const InferenceMemory& memory) {
  return {{"weights", memory.weights}, {"kv_cache", memory.kv_cache}, {"activations", memory.activations},
          {"total", memory.total()}};
}

void print_json(const Plan& plan, const PlanOptions& options) {
  const ModelConfig& c = plan.model.config;
  nlohmann::ordered_json out;
  out["model"] = {{"source", plan.model.source}, {"kind", plan.model.kind}, {"architecture", c.architecture},
                  {"dim", c.dim}, {"hidden_dim", c.hidden_dim}, {"n_layers", c.n_layers}, {"n_heads", c.n_heads},
                  {"n_kv_heads", c.n_kv_heads}, {"head_dim", c.head_dim}, {"vocab_size", c.vocab_size},
                  {"tied_embeddings", c.tied_embeddings}};
  out["settings"] = {{"context", plan.settings.context}, {"batch", plan.settings.batch},
                     {"kv_type", type_traits(plan.settings.kv_type).name},
                     {"bandwidth_bytes_per_s", plan.bandwidth.bytes_per_s}, {"bandwidth_origin", plan.bandwidth.origin}};
  nlohmann::ordered_json parameters;
  for (Component component : kComponents) parameters[component_name(component)] = plan.parameters[component];
  parameters["total"] = plan.parameters.total;
  out["parameters"] = parameters;
  const FlopCounts& f = plan.flops;
  out["flops_per_token"] = {{"decode", f.decode_per_token()}, {"decode_matmul", f.matmul}, {"decode_output", f.output},
                            {"decode_attention", f.attention}, {"prefill_total", f.prefill_total},
                            {"prefill_per_token", f.prefill_per_token}};
  out["precisions"] = nlohmann::ordered_json::array();
  for (const StorageOption& s : plan.storage) {
    nlohmann::ordered_json row = {{"name", s.name}, {"kind", storage_kind_name(s.kind)}};
    if (!s.available()) {
      row["unavailable"] = s.unavailable;
      out["precisions"].push_back(std::move(row));
      continue;
    }
    const PrecisionPlan& p = find_precision(plan, s.name);
    row["bits_per_weight"] = s.bits_per_weight;
    row["kept_f16"] = s.kept_f16;
    row["fallbacks"] = s.fallbacks;
    row["memory"] = memory_json(p.memory);
    row["decode_tokens_per_s"] = p.tokens_per_s;
    nlohmann::ordered_json fits = nlohmann::ordered_json::object();
    for (const Device& device : plan.devices) {
      const DeviceFit fit = fit_on_device(p.memory.total(), device);
      fits[device.name] = {{"devices_needed", fit.devices_needed}, {"margin_bytes", fit.margin_bytes},
                           {"decode_tokens_per_s", tokens_per_s_on(p, plan, device)}};
    }
    row["devices"] = std::move(fits);
    if (plan.cost_gpu) {
      const DeviceFit fit = fit_on_device(p.memory.total(), *plan.cost_gpu);
      const ServingCost cost = serving_cost(fit.devices_needed, options.price, options.utilization,
                                            tokens_per_s_on(p, plan, *plan.cost_gpu));
      row["cost"] = {{"gpus", fit.devices_needed}, {"per_hour", cost.per_hour}, {"per_month", cost.per_month},
                     {"tokens_per_month", cost.tokens_per_month}, {"per_million_tokens", cost.per_million_tokens()}};
    }
    out["precisions"].push_back(std::move(row));
  }
  out["devices"] = nlohmann::ordered_json::array();
  for (const Device& device : plan.devices) {
    out["devices"].push_back({{"name", device.name}, {"memory_gib", device.memory_gib},
                              {"bandwidth_gb_s", device.bandwidth_gb_s}, {"gpu", device.gpu}});
  }
  if (plan.cost_gpu) {
    out["cost_settings"] = {{"gpu", plan.cost_gpu->name}, {"price_per_hour", options.price},
                            {"utilization", options.utilization}, {"hours_per_month", kHoursPerMonth}};
  }
  fmt::print("{}\n", out.dump(2));
}

std::vector<TensorType> parse_candidates(const std::vector<std::string>& names) {
  if (names.empty()) return default_fit_candidates();
  std::vector<TensorType> types;
  for (const std::string& name : names) {
    const TypeTraits* traits = find_type_traits(name);
    if (traits == nullptr || traits->from_float == nullptr) throw_error("--candidates: {} is not a type lowbit writes", name);
    types.push_back(traits->type);
  }
  return types;
}

int run_fit(const PlanOptions& options) {
  if (options.calibration.empty() || options.output.empty()) throw_error("--fit needs --calib TEXT and -o OUT.gguf");
  FitOptions fit;
  fit.budget_bytes = options.fit_bytes;
  fit.calibration_path = options.calibration;
  fit.output = options.output;
  fit.candidate_types = parse_candidates(options.candidates);
  fit.context = options.fit_context;
  fit.max_chunks = options.fit_chunks;
  fit.max_refine_evaluations = options.fit_refine;
  fit.sensitivity_cache = options.sensitivity_cache;
  // Counters redrawn in place on a terminal only: a log file gets the report alone.
  if (!options.json && ::isatty(STDERR_FILENO) != 0) {
    fit.progress = [](size_t done, size_t total) { fmt::print(stderr, "\rmeasuring sensitivity {}/{}", done, total); };
    fit.refine_progress = [limit = options.fit_refine](int64_t evaluations) {
      fmt::print(stderr, "\rmeasuring whole mixes {}/{}   ", evaluations, limit + 1);
    };
  }
  const FitReport report = fit_model(options.model, fit);
  if (fit.progress) fmt::print(stderr, "\n");
  const std::vector<TensorCandidates>& matrices = report.sensitivity.matrices;
  const std::vector<size_t>& chosen = report.refined.choice.chosen;
  if (options.json) {
    nlohmann::ordered_json out;
    out["output"] = report.written.output;
    out["budget_bytes"] = options.fit_bytes;
    out["file_bytes"] = report.written.file_bytes;
    out["overhead_bytes"] = report.overhead_bytes;
    out["scored_positions"] = report.sensitivity.positions;
    out["summed_choice"] = {{"summed_kld", report.summed_choice.sensitivity}, {"measured_kld", report.refined.start_kld}};
    out["refined_choice"] = {{"summed_kld", report.refined.choice.sensitivity}, {"measured_kld", report.refined.kld},
                             {"evaluations", report.refined.evaluations}, {"moves", report.refined.moves}};
    out["llama_cpp_loads"] = report.written.lowbit_only_types.empty();
    out["tensors"] = nlohmann::ordered_json::array();
    for (size_t i = 0; i < matrices.size(); ++i) {
      const TensorCandidate& c = matrices[i].candidates[chosen[i]];
      const TensorCandidate& first = matrices[i].candidates[report.summed_choice.chosen[i]];
      nlohmann::ordered_json candidates = nlohmann::ordered_json::object();
      for (const TensorCandidate& candidate : matrices[i].candidates) {
        candidates[type_traits(candidate.type).name] = {{"bytes", candidate.bytes}, {"kld", candidate.sensitivity}};
      }
      out["tensors"].push_back({{"name", matrices[i].name}, {"type", type_traits(c.type).name},
                                {"summed_choice_type", type_traits(first.type).name}, {"bytes", c.bytes},
                                {"kld", c.sensitivity}, {"candidates", candidates}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  size_t name_width = 6;
  for (const TensorCandidates& tensor : matrices) name_width = std::max(name_width, tensor.name.size());
  fmt::print("{:<{}}  {:<8}  {:>12}  {:>12}  {}\n", "tensor", name_width, "type", "bytes", "KL alone", "summed choice");
  for (size_t i = 0; i < matrices.size(); ++i) {
    const TensorCandidate& c = matrices[i].candidates[chosen[i]];
    const TensorCandidate& first = matrices[i].candidates[report.summed_choice.chosen[i]];
    fmt::print("{:<{}}  {:<8}  {:>12}  {:>12.3e}  {}\n", matrices[i].name, name_width, type_traits(c.type).name, c.bytes,
               c.sensitivity, first.type == c.type ? "" : type_traits(first.type).name);
  }
  fmt::print("\nKL divergence on the calibration text ({} positions): {:.5f} for the choice by summed per-tensor KL, "
             "{:.5f} after {} measured moves ({} whole-mix measurements)\n",
             report.sensitivity.positions, report.refined.start_kld, report.refined.kld, report.refined.moves,
             report.refined.evaluations);
  fmt::print("{}: {} bytes (budget {}){}\n", report.written.output, report.written.file_bytes, options.fit_bytes,
             report.written.lowbit_only_types.empty() ? "" : "; uses lowbit's own types: llama.cpp cannot load it");
  return 0;
}

std::string named_shape_list() {
  std::string list;
  for (const NamedShape& shape : named_shapes()) list += fmt::format("\n  {}: {}", shape.name, shape.source);
  return list;
}

}  // namespace

CommandRunner add_plan_command(CLI::App& app) {
  auto options = std::make_shared<PlanOptions>();
  CLI::App* cmd = app.add_subcommand("plan", "Model size, memory, FLOPs, device fit and cost per precision");
  cmd->add_option("model,-m,--model", options->model,
                  "A named shape, a Hugging Face config.json (no weights needed), a folder holding one, or a model "
                  "file (GGUF, llama2.c .bin). Named shapes:" + named_shape_list())
      ->required();
  cmd->add_option("--ctx", options->context, "Context length for the KV cache and FLOPs (default: the model's)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--batch", options->batch, "Sequences decoded together")->check(CLI::PositiveNumber)->capture_default_str();
  cmd->add_option("--kv-type", options->kv_type, "Element type of the KV cache (f32, f16, q8_0, ...)")->capture_default_str();
  cmd->add_option("--bandwidth", options->bandwidth_gb_s, "This machine's memory bandwidth in GB/s (default: measured)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--devices", options->devices_file,
                  "JSON file adding devices: [{\"name\": ..., \"memory_gib\": ..., \"bandwidth_gb_s\": ..., \"gpu\": true}]");
  cmd->add_option("--device", options->device_names, "Only these devices in the fit table (repeatable)");
  cmd->add_option("--precisions", options->precisions, "Precisions of the device and cost tables (comma-separated)")
      ->delimiter(',');
  auto* gpu = cmd->add_option("--gpu", options->gpu, "Device to price: GPUs needed x --price x hours at --util");
  cmd->add_option("--price", options->price, "Price of one --gpu per hour")->check(CLI::PositiveNumber)->needs(gpu);
  cmd->add_option("--util", options->utilization, "Fraction of the month the GPUs are rented and serving")
      ->check(CLI::Range(0.0, 1.0))
      ->needs(gpu)
      ->capture_default_str();
  cmd->add_flag("--json", options->json, "Print JSON instead of tables");
  auto* fit = cmd->add_option("--fit", options->fit_bytes,
                              "Write the per-tensor mix with the least KL divergence on --calib whose GGUF file "
                              "fits in SIZE bytes (suffixes K, M, G: powers of 1024); needs --calib and -o")
                  ->transform(CLI::AsSizeValue(false))
                  ->type_name("SIZE");
  cmd->add_option("--calib", options->calibration, "Calibration text for --fit's sensitivity measurement")->needs(fit);
  cmd->add_option("-o,--output", options->output, "GGUF file --fit writes")->needs(fit);
  cmd->add_option("--candidates", options->candidates, "Types --fit chooses from (comma-separated; default "
                  "f16,q8_0,q6_K,q5_K,q5_1,q5_0,q4_K,q4_1,q4_0,q3_K,q2_K)")->delimiter(',')->needs(fit);
  cmd->add_option("--fit-ctx", options->fit_context, "Tokens per calibration chunk")->check(CLI::Range(3, 1 << 20))
      ->needs(fit)->capture_default_str();
  cmd->add_option("--fit-chunks", options->fit_chunks, "Calibration chunks (0: the whole text)")
      ->check(CLI::NonNegativeNumber)->needs(fit)->capture_default_str();
  cmd->add_option("--fit-refine", options->fit_refine, "Whole-mix KL measurements spent improving the choice by summed "
                  "per-tensor KL (0: keep that choice)")
      ->check(CLI::NonNegativeNumber)->needs(fit)->capture_default_str();
  cmd->add_option("--sensitivity", options->sensitivity_cache, "JSON file of per-tensor KL: read if it exists (same "
                  "model, text and settings), else measured and written, for --fit at other sizes")->needs(fit);
  return [options] {
    if (options->fit_bytes > 0) return run_fit(*options);
    if (!options->gpu.empty() && !(options->price > 0)) throw_error("--gpu {} needs --price (per GPU-hour)", options->gpu);
    if (!(options->utilization > 0)) throw_error("--util must be above 0");
    const Plan plan = make_plan(*options);
    if (options->json) {
      print_json(plan, *options);
    } else {
      print_text(plan, *options);
    }
    return 0;
  };
}

}  // namespace lowbit::cli
