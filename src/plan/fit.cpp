#include "plan/fit.h"

#include <fstream>
#include <memory>
#include <sstream>

#include "core/error.h"
#include "formats/type_traits.h"
#include "io/model_file.h"
#include "tokenizer/tokenizer.h"

namespace lowbit {
namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_error("{}: cannot open", path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::vector<TensorType> default_fit_candidates() {
  return {TensorType::F16,  TensorType::Q8_0, TensorType::Q6_K, TensorType::Q5_K, TensorType::Q5_0,
          TensorType::Q4_K, TensorType::Q4_0, TensorType::Q3_K, TensorType::Q2_K};
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
  {
    const std::unique_ptr<ModelFile> model = open_model(model_path);
    if (model->vocab().tokens.empty()) throw_error("{}: no vocabulary to tokenize the calibration text with", model_path);
    const std::vector<int32_t> tokens =
        Tokenizer::create(model->vocab())->encode(read_text(options.calibration_path), /*add_special=*/true);
    SensitivityOptions sensitivity;
    sensitivity.candidate_types = options.candidate_types;
    sensitivity.context = options.context;
    sensitivity.max_chunks = options.max_chunks;
    sensitivity.progress = options.progress;
    report.sensitivity = measure_sensitivity(*model, tokens, sensitivity);
  }
  const uint64_t fixed = report.sensitivity.fixed_bytes;
  if (options.budget_bytes <= fixed) {
    throw_error("{}: a budget of {} bytes does not even hold the {} bytes of norms and biases", model_path,
                options.budget_bytes, fixed);
  }
  report.choice = choose_mix(report.sensitivity.matrices, options.budget_bytes - fixed);

  QuantizeOptions quantize;
  quantize.type = "F16";  // every matrix is pinned below; the F16 mix keeps vectors in F32 and applies no rules
  for (size_t i = 0; i < report.sensitivity.matrices.size(); ++i) {
    const TensorCandidates& tensor = report.sensitivity.matrices[i];
    quantize.tensor_types.push_back(exact_tensor_type_option(tensor.name, tensor.candidates[report.choice.chosen[i]].type));
  }
  report.written = quantize_model(model_path, options.output, quantize);
  return report;
}

}  // namespace lowbit
