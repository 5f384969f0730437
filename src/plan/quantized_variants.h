// The candidate types of a model's matrices, quantized on demand and kept: one tensor in one type for
// the sensitivity measurement, or a whole mix (one candidate per matrix) as a model to evaluate. Each
// (matrix, candidate) is quantized at most once, with the type's from_float as `lowbit quantize` does.
// Memory: every variant asked for stays until this is destroyed (meant for models small enough to
// evaluate a mix many times).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "io/model_file.h"
#include "plan/mix_choice.h"
#include "plan/tensor_override_model.h"

namespace lowbit {

// The tensor's values as F32, [rows][cols]. Throws lowbit::Error naming the tensor for a type lowbit
// cannot read.
std::vector<float> tensor_values(const TensorView& view);

// `values` ([rows][cols] of `view`) in `type`. The type's blocks must divide the rows.
std::vector<uint8_t> quantize_values(const TensorView& view, std::span<const float> values, TensorType type);

class QuantizedVariants {
 public:
  // `base` and `tensors` (names of base's matrices with their candidates) must outlive this.
  QuantizedVariants(const ModelFile& base, std::span<const TensorCandidates> tensors);

  // The base model with matrix i in tensors[i].candidates[chosen[i]].type, for every i.
  std::unique_ptr<TensorOverrideModel> mix(std::span<const size_t> chosen);

 private:
  std::span<const uint8_t> bytes(size_t tensor, size_t candidate);

  const ModelFile& base_;
  std::span<const TensorCandidates> tensors_;
  std::map<std::pair<size_t, size_t>, std::vector<uint8_t>> quantized_;  // (tensor, candidate) -> bytes
};

}  // namespace lowbit
