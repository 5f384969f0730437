// The stored size of a model's weights at every precision lowbit knows, computed tensor by tensor from
// the shapes (plan/model_tensors.h) so that scales, zero points and per-tensor choices are counted:
//   - generic precisions: FP8 (one FP32 scale per tensor) and INT8/INT4/INT3/INT2 (symmetric codes in
//     groups of 128 with one FP16 scale each);
//   - every type of formats/type_traits.h that lowbit can write (f32, f16, bf16, ggml's and lowbit's
//     own), each matrix in that type; a matrix whose rows the type's blocks do not divide stays F16;
//   - every quantized named mix of quant/named_mix.h, with the per-tensor types quant/mix_policy.h chooses.
// Vectors (norms, biases) stay F32 everywhere, as llama-quantize keeps them.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "quant/mix_policy.h"

namespace lowbit {

struct StorageOption {
  enum class Kind { precision, type, mix };
  Kind kind = Kind::type;
  std::string name;            // "INT4", "q4_K", "Q4_K_M"
  uint64_t bytes = 0;          // all tensors' data, without file metadata
  double bits_per_weight = 0;  // 8 * bytes / parameters
  int64_t kept_f16 = 0;        // type options: matrices whose rows the blocks do not divide
  int64_t fallbacks = 0;       // mix options: tensors that took llama.cpp's row-length fallback
  std::string unavailable;     // non-empty: why the mix cannot be applied (then bytes is 0)

  bool available() const { return unavailable.empty(); }
};

const char* storage_kind_name(StorageOption::Kind kind);  // "precision", "type", "mix"

// All options: generic precisions, then types in the type table's order, then named mixes.
std::vector<StorageOption> storage_options(std::span<const TensorTypeRequest> tensors, const ModelShapeInfo& shape);

// The option spelled exactly `name` ("Q4_0" is the mix, "q4_0" the type), else the first whose name
// matches case-insensitively. Throws lowbit::Error listing the names when none does.
const StorageOption& find_storage_option(std::span<const StorageOption> options, std::string_view name);

// Bytes of one tensor stored in `type` (its rows must be whole blocks).
uint64_t tensor_bytes(const TensorTypeRequest& tensor, TensorType type);

}  // namespace lowbit
