// One tensor held whole in F32 to its target type's bytes: the path of the quantization methods
// (quant/quant_method.h), where a row's numbers may depend on calibration statistics, on the whole
// matrix (GPTQ), or on a rewrite that changed the source values. Plain round-to-nearest without
// statistics streams instead (quant/quantize_tensor.h).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "quant/quant_method.h"
#include "quant/quantize_tensor.h"

namespace lowbit {

struct QuantizedBytes {
  std::vector<uint8_t> bytes;  // rows * target.row_bytes(cols)
  ErrorSums error;             // against the F32 values quantized; empty when the target has no dequantizer
};

// The job's source tensor as F32 [rows][cols], rows in output order (job.row_order applied). Throws
// lowbit::Error naming the tensor when lowbit cannot read its type.
std::vector<float> tensor_to_float(const TensorJob& job);

// values [rows][cols] -> target bytes. A quantized target goes through `quantizer` when it is not
// nullptr; otherwise each row goes through target.from_float_weighted, with the site's per-column
// mean squares as importance, when `site` is given and the type has one, else target.from_float.
// Throws lowbit::Error naming the tensor when the site's channels are not the row length.
QuantizedBytes quantize_float_tensor(const std::string& name, std::span<const float> values, int64_t rows, int64_t cols,
                                     const TypeTraits& target, const SiteStats* site, TensorQuantizer quantizer,
                                     const MethodOptions& options);

}  // namespace lowbit
