// FP8 quantization with one FP32 scale per tensor: scale = absmax / (largest finite FP8 value), so the
// tensor's absmax maps to the format's maximum; each element is stored as the FP8 code of
// element / scale (round to nearest even, saturating; core/fp8.h) and reconstructed as scale * code.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "quant/quant_error.h"

namespace lowbit {

struct Fp8Spec {
  enum class Format { E4M3, E5M2 };
  Format format = Format::E4M3;
  bool operator==(const Fp8Spec&) const = default;
};

struct Fp8Quantized {
  Fp8Spec::Format format = Fp8Spec::Format::E4M3;
  int64_t rows = 0;
  int64_t cols = 0;
  float scale = 0;             // FP32
  std::vector<uint8_t> codes;  // [rows * cols] FP8 bit patterns

  int64_t elements() const { return rows * cols; }
  double bits_per_weight() const { return (8.0 * static_cast<double>(codes.size()) + 32.0) / static_cast<double>(elements()); }
};

// Throws lowbit::Error naming the tensor for bad input (see check_quant_input).
Fp8Quantized quantize_fp8(std::string_view tensor_name, std::span<const float> values, int64_t rows, int64_t cols,
                          const Fp8Spec& spec);

// out.size() == q.elements().
void dequantize_fp8(const Fp8Quantized& q, std::span<float> out);

// [1] scale * (max + half the step below max): beyond it, saturation changed the code.
std::vector<GroupRange> representable_ranges(const Fp8Quantized& q);

}  // namespace lowbit
