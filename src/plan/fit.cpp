#include "plan/fit.h"

#include <filesystem>
#include <fstream>
#include <memory>

#include "core/error.h"
#include "core/text_file.h"
#include "formats/type_traits.h"
#include "io/model_file.h"
#include "plan/calibration_kld.h"
#include "plan/quantized_variants.h"
#include "plan/sensitivity_file.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace {

// GGUF's default alignment: the writer pads every tensor's data to it.
constexpr uint64_t kAlignment = 32;

uint64_t padded(uint64_t bytes) { return (bytes + kAlignment - 1) / kAlignment * kAlignment; }

// The candidates with the bytes each takes in the file, padding included: what the budget counts.
std::vector<TensorCandidates> padded_candidates(const std::vector<TensorCandidates>& matrices) {
  std::vector<TensorCandidates> result = matrices;
  for (TensorCandidates& tensor : result) {
    for (TensorCandidate& c : tensor.candidates) c.bytes = padded(c.bytes);
  }
  return result;
}

std::vector<size_t> smallest_candidates(const std::vector<TensorCandidates>& matrices) {
  std::vector<size_t> chosen;
  for (const TensorCandidates& tensor : matrices) {
    size_t best = 0;
    for (size_t i = 1; i < tensor.candidates.size(); ++i) {
      if (tensor.candidates[i].bytes < tensor.candidates[best].bytes) best = i;
    }
    chosen.push_back(best);
  }
  return chosen;
}

uint64_t bytes_of(const std::vector<TensorCandidates>& matrices, const std::vector<size_t>& chosen) {
  uint64_t bytes = 0;
  for (size_t i = 0; i < matrices.size(); ++i) bytes += matrices[i].candidates[chosen[i]].bytes;
  return bytes;
}

QuantizeReport write_mix(const std::string& model_path, const std::string& output,
                         const std::vector<TensorCandidates>& matrices, const std::vector<size_t>& chosen) {
  QuantizeOptions quantize;
  quantize.type = "F16";  // every matrix is pinned below; the F16 mix keeps vectors in F32 and applies no rules
  quantize.provenance = false;  // as `lowbit quantize` writes by default, so that its file sizes are budgets that fit
  for (size_t i = 0; i < matrices.size(); ++i) {
    quantize.tensor_types.push_back(exact_tensor_type_option(matrices[i].name, matrices[i].candidates[chosen[i]].type));
  }
  return quantize_model(model_path, output, quantize);
}

SensitivityReport sensitivity_of(const ModelFile& model, const CalibrationKld& kld, const FitOptions& options) {
  const SensitivitySettings settings{options.calibration_path, options.context, options.max_chunks, options.candidate_types};
  if (!options.sensitivity_cache.empty() && std::ifstream(options.sensitivity_cache)) {
    return read_sensitivity(options.sensitivity_cache, model, settings);
  }
  SensitivityOptions sensitivity;
  sensitivity.candidate_types = options.candidate_types;
  sensitivity.progress = options.progress;
  SensitivityReport report = measure_sensitivity(model, kld, sensitivity);
  if (!options.sensitivity_cache.empty()) write_sensitivity(options.sensitivity_cache, report, settings);
  return report;
}

}  // namespace

std::vector<TensorType> default_fit_candidates() {
  return {TensorType::F16,  TensorType::Q8_0, TensorType::Q6_K, TensorType::Q5_K, TensorType::Q5_1, TensorType::Q5_0,
          TensorType::Q4_K, TensorType::Q4_1, TensorType::Q4_0, TensorType::Q3_K, TensorType::Q2_K};
}

std::string exact_tensor_type_option(const std::string& name, TensorType type) {
  std::string pattern = "^";
  for (char c : name) {
    if (c == '.') pattern += '\\';
    pattern += c;
  }
  return pattern + "$=" + type_traits(type).name;
}

FitReport fit_model(const std::string& model_path, const FitOptions& options) {
  FitReport report;
  const std::unique_ptr<ModelFile> model = open_model(model_path);
  if (model->vocab().tokens.empty()) throw_error("{}: no vocabulary to tokenize the calibration text with", model_path);
  const std::vector<int32_t> tokens =
      Tokenizer::create(model->vocab())->encode(read_text_file(options.calibration_path), /*add_special=*/true);
  const CalibrationKld kld(*model, tokens, options.context, options.max_chunks);
  report.sensitivity = sensitivity_of(*model, kld, options);
  const std::vector<TensorCandidates>& matrices = report.sensitivity.matrices;
  const std::vector<TensorCandidates> on_disk = padded_candidates(matrices);

  // Everything in the file but the matrices' data is the same whatever their types: measure it once
  // on the smallest mix, written beside the output and removed.
  const std::vector<size_t> smallest = smallest_candidates(on_disk);
  const std::string probe_path = options.output + ".fit-probe";
  const QuantizeReport probe = write_mix(model_path, probe_path, matrices, smallest);
  std::filesystem::remove(probe_path);
  report.overhead_bytes = probe.file_bytes - bytes_of(on_disk, smallest);
  if (options.budget_bytes <= report.overhead_bytes) {
    throw_error("{}: a budget of {} bytes does not even hold the {} bytes of header, metadata and norms", model_path,
                options.budget_bytes, report.overhead_bytes);
  }
  const uint64_t matrix_budget = options.budget_bytes - report.overhead_bytes;
  report.summed_choice = choose_mix(on_disk, matrix_budget);

  QuantizedVariants variants(*model, matrices);
  const MixMeasure measure = [&](std::span<const size_t> chosen) { return kld.mean_kld(*variants.mix(chosen)); };
  RefineOptions refine;
  refine.max_evaluations = options.max_refine_evaluations;
  refine.progress = options.refine_progress;
  report.refined = refine_mix(on_disk, report.summed_choice, matrix_budget, measure, refine);

  report.written = write_mix(model_path, options.output, matrices, report.refined.choice.chosen);
  if (report.written.file_bytes > options.budget_bytes) {
    std::filesystem::remove(options.output);
    throw_error("{}: {} bytes, over the budget of {} (tensor data aligned to other than {} bytes?)", options.output,
                report.written.file_bytes, options.budget_bytes, kAlignment);
  }
  return report;
}

}  // namespace lowbit
