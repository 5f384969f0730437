// A tensor quantized with any scheme: the codes, scales and zero points of one of the quantizers, and
// the operations every caller needs whatever the scheme (dequantize, size, error measurement).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "quant/codebook_quant.h"
#include "quant/fp8_quant.h"
#include "quant/linear.h"
#include "quant/quant_error.h"
#include "quant/scheme.h"

namespace lowbit {

using QuantizedTensor = std::variant<LinearQuantized, CodebookQuantized, Fp8Quantized>;

// Throws lowbit::Error naming the tensor when it cannot be quantized with the scheme.
QuantizedTensor quantize_with_scheme(const QuantScheme& scheme, std::string_view tensor_name, std::span<const float> values,
                                int64_t rows, int64_t cols);

int64_t elements(const QuantizedTensor& q);
void dequantize_tensor(const QuantizedTensor& q, std::span<float> out);  // out.size() == elements(q)
std::vector<float> dequantize_tensor(const QuantizedTensor& q);          // [rows * cols]

double bits_per_weight(const QuantizedTensor& q);

// The error of q as the quantization of original (the values it was made from).
QuantError measure_quant_error(const QuantizedTensor& q, std::span<const float> original);

}  // namespace lowbit
