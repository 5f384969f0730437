#include "plan/sensitivity.h"

#include "core/error.h"
#include "eval/kld.h"
#include "eval/perplexity.h"
#include "formats/type_traits.h"
#include "model/transformer.h"
#include "plan/tensor_override_model.h"

namespace lowbit {
namespace {

bool is_choice_matrix(const TensorView& view) { return view.shape.size() >= 2 && !view.name.ends_with("_norm.weight"); }

std::vector<float> values_of(const TensorView& view) {
  const TypeTraits& traits = type_traits(view.type);
  if (traits.to_float == nullptr) throw_error("tensor {}: cannot read {} values", view.name, traits.name);
  std::vector<float> values(static_cast<size_t>(view.elements()));  // [rows][cols]
  traits.to_float(view.data, values.data(), view.elements());
  return values;
}

std::vector<uint8_t> quantized(const std::vector<float>& values, const TensorView& view, const TypeTraits& traits) {
  std::vector<uint8_t> bytes(static_cast<size_t>(view.rows()) * traits.row_bytes(view.cols()));
  traits.from_float(values.data(), bytes.data(), view.elements());
  return bytes;
}

// The original model's log-probabilities over the scored positions of every chunk, [positions][vocab].
std::vector<float> base_log_probs(const ModelFile& model, std::span<const int32_t> chunks, int64_t context) {
  Transformer transformer(model, context);
  std::vector<float> log_probs;
  evaluate_perplexity(transformer, chunks, context, [&](const ScoredChunk& chunk) {
    log_probs.insert(log_probs.end(), chunk.log_probs.begin(), chunk.log_probs.end());
  });
  return log_probs;
}

double mean_kld(const ModelFile& model, std::span<const int32_t> chunks, int64_t context, std::span<const float> base) {
  Transformer transformer(model, context);
  KldAccumulator kld(model.config().vocab_size);
  size_t offset = 0;
  evaluate_perplexity(transformer, chunks, context, [&](const ScoredChunk& chunk) {
    kld.add(base.subspan(offset, chunk.log_probs.size()), chunk.log_probs, chunk.targets);
    offset += chunk.log_probs.size();
  });
  return kld.result().mean;
}

}  // namespace

SensitivityReport measure_sensitivity(const ModelFile& model, std::span<const int32_t> tokens,
                                      const SensitivityOptions& options) {
  const std::vector<int32_t> chunks = make_chunks(tokens, model.vocab().bos_id, options.context, options.max_chunks);
  const std::vector<float> base = base_log_probs(model, chunks, options.context);

  SensitivityReport report;
  report.positions = static_cast<int64_t>(base.size()) / model.config().vocab_size;
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
    for (TensorType type : options.candidate_types) total += view->cols() % type_traits(type).block_size == 0;
  }
  size_t done = 0;
  for (const TensorView* view : matrices) {
    const std::vector<float> values = values_of(*view);
    TensorCandidates tensor{view->name, {}};
    for (TensorType type : options.candidate_types) {
      const TypeTraits& traits = type_traits(type);
      if (view->cols() % traits.block_size != 0 || traits.from_float == nullptr) continue;
      std::vector<uint8_t> bytes = quantized(values, *view, traits);
      const uint64_t size = bytes.size();
      const TensorOverrideModel variant(model, view->name, type, std::move(bytes));
      tensor.candidates.push_back({type, size, mean_kld(variant, chunks, options.context, base)});
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
