// Code-book quantization (NF4, FP4 E2M1, power-of-two): each block of consecutive row elements stores
// its absmax as the scale and one code per element, the nearest code-book value to element / absmax;
// an element is reconstructed as scale * value(code). The scale is rounded to its stored precision (or
// double-quantized) before codes are chosen, so reconstruction matches what is stored.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "core/codebooks.h"
#include "quant/double_quant.h"
#include "quant/quant_error.h"
#include "quant/quant_input.h"

namespace lowbit {

struct CodebookSpec {
  enum class Kind { NF4, FP4, Log2 };
  Kind kind = Kind::NF4;
  int bits = 4;  // Log2: 2..8; NF4 and FP4 are 4-bit
  Grouping grouping;
  ScalePrecision scale_precision = ScalePrecision::F32;  // QLoRA keeps FP32 absmax
  bool double_quant = false;                             // FP32 absmax, then double_quant.h
  bool operator==(const CodebookSpec&) const = default;
};

Codebook codebook_for(const CodebookSpec& spec);  // throws lowbit::Error for Log2 bits outside 2..8

struct CodebookQuantized {
  Codebook codebook;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t block_size = 0;  // consecutive row-major elements sharing a scale
  ScalePrecision scale_precision = ScalePrecision::F32;
  std::vector<uint8_t> codes{};  // bitpack.h stream of codebook.bits()-bit codes, one per element
  std::vector<float> absmax{};   // [blocks] exactly representable in scale_precision; empty if double-quantized
  std::optional<DoubleQuantizedScales> double_quantized{};

  int64_t elements() const { return rows * cols; }
  int64_t blocks() const { return elements() / block_size; }
  std::vector<float> block_scales() const;  // [blocks] the scales reconstruction multiplies by
  double bits_per_weight() const;
};

// Throws lowbit::Error naming the tensor for bad input (see check_quant_input), a block size that does
// not divide the rows, double quantization asked with FP16 scales, or a scale too large for FP16.
CodebookQuantized quantize_codebook(std::string_view tensor_name, std::span<const float> values, int64_t rows,
                                    int64_t cols, const CodebookSpec& spec);

// out.size() == q.elements().
void dequantize_codebook(const CodebookQuantized& q, std::span<float> out);

// [blocks] scale * [smallest value, largest value], each end widened by half the gap to its neighbour.
std::vector<GroupRange> representable_ranges(const CodebookQuantized& q);

}  // namespace lowbit
