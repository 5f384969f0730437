#include "plan/quantized_variants.h"

#include "core/error.h"
#include "formats/type_traits.h"

namespace lowbit {

std::vector<float> tensor_values(const TensorView& view) {
  const TypeTraits& traits = type_traits(view.type);
  if (traits.to_float == nullptr) throw_error("tensor {}: cannot read {} values", view.name, traits.name);
  std::vector<float> values(static_cast<size_t>(view.elements()));  // [rows][cols]
  traits.to_float(view.data, values.data(), view.elements());
  return values;
}

std::vector<uint8_t> quantize_values(const TensorView& view, std::span<const float> values, TensorType type) {
  const TypeTraits& traits = type_traits(type);
  std::vector<uint8_t> bytes(static_cast<size_t>(view.rows()) * traits.row_bytes(view.cols()));
  // Row by row, as the quantize pipeline converts: a per-row type's parameters belong to one row.
  const int64_t cols = view.cols();
  for (int64_t r = 0; r < view.rows(); ++r) {
    traits.from_float(values.data() + r * cols, bytes.data() + static_cast<size_t>(r) * traits.row_bytes(cols), cols);
  }
  return bytes;
}

QuantizedVariants::QuantizedVariants(const ModelFile& base, std::span<const TensorCandidates> tensors)
    : base_(base), tensors_(tensors) {}

std::span<const uint8_t> QuantizedVariants::bytes(size_t tensor, size_t candidate) {
  const auto key = std::make_pair(tensor, candidate);
  auto found = quantized_.find(key);
  if (found == quantized_.end()) {
    const TensorView& view = base_.tensor(tensors_[tensor].name);
    const std::vector<float> values = tensor_values(view);
    found = quantized_.emplace(key, quantize_values(view, values, tensors_[tensor].candidates[candidate].type)).first;
  }
  return found->second;
}

std::unique_ptr<TensorOverrideModel> QuantizedVariants::mix(std::span<const size_t> chosen) {
  std::vector<TensorOverride> overrides;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    overrides.push_back({tensors_[i].name, tensors_[i].candidates[chosen[i]].type, bytes(i, chosen[i])});
  }
  return std::make_unique<TensorOverrideModel>(base_, overrides);
}

}  // namespace lowbit
