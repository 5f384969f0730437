#include "plan/sensitivity.h"

#include "core/error.h"
#include "formats/type_traits.h"
#include "plan/quantized_variants.h"
#include "plan/tensor_override_model.h"

namespace lowbit {
namespace {

bool holds(const TensorView& view, TensorType type) {
  const TypeTraits& traits = type_traits(type);
  return traits.from_float != nullptr && view.cols() % traits.block_size == 0;
}

}  // namespace

bool is_choice_matrix(const TensorView& view) { return view.shape.size() >= 2 && !view.name.ends_with("_norm.weight"); }

SensitivityReport measure_sensitivity(const ModelFile& model, const CalibrationKld& kld, const SensitivityOptions& options) {
  SensitivityReport report;
  report.positions = kld.positions();
  std::vector<const TensorView*> matrices;
  for (const TensorView& view : model.tensors()) {
    if (is_choice_matrix(view)) {
      matrices.push_back(&view);
    } else {
      report.fixed_bytes += view.bytes;
    }
  }
  size_t total = 0;
  for (const TensorView* view : matrices) {
    for (TensorType type : options.candidate_types) total += holds(*view, type);
  }
  size_t done = 0;
  for (const TensorView* view : matrices) {
    const std::vector<float> values = tensor_values(*view);
    TensorCandidates tensor{view->name, {}};
    for (TensorType type : options.candidate_types) {
      if (!holds(*view, type)) continue;
      const std::vector<uint8_t> bytes = quantize_values(*view, values, type);
      const TensorOverride override{view->name, type, bytes};
      const TensorOverrideModel variant(model, {&override, 1});
      tensor.candidates.push_back({type, bytes.size(), kld.mean_kld(variant)});
      if (options.progress) options.progress(++done, total);
    }
    if (tensor.candidates.empty()) {
      throw_error("{}: tensor {}: no candidate type holds rows of {} elements", model.path(), view->name, view->cols());
    }
    report.matrices.push_back(std::move(tensor));
  }
  return report;
}

}  // namespace lowbit
