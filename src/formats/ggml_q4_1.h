// ggml Q4_1: 32 weights per block, FP16 scale d and minimum m, 4-bit quants q in [0, 15] standing
// for d * q + m. 20 bytes per 32 weights = 5 bits per weight.
#pragma once

#include <cstdint>

namespace lowbit {

struct BlockQ4_1 {
  uint16_t d;       // FP16 scale
  uint16_t m;       // FP16 block minimum
  uint8_t qs[16];   // element j in the low nibble of qs[j], element j + 16 in the high nibble
};
static_assert(sizeof(BlockQ4_1) == 20);

// n is a multiple of 32. The quantizer follows ggml's reference rounding bit for bit.
void quantize_row_q4_1_ref(const float* x, void* dst, int64_t n);
// Importance-weighted (TypeTraits::from_float_weighted, formats/weighted_search.h): a scale search
// minimising sum importance * error^2 per block, never worse on it than the reference; importance[0..n).
void quantize_row_q4_1_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q4_1(const void* src, float* y, int64_t n);

}  // namespace lowbit
