// ggml Q5_1: 32 weights per block, FP16 scale d and minimum m, 5-bit quants q in [0, 31] standing
// for d * q + m. 24 bytes per 32 weights = 6 bits per weight.
#pragma once

#include <cstdint>

namespace lowbit {

struct BlockQ5_1 {
  uint16_t d;       // FP16 scale
  uint16_t m;       // FP16 block minimum
  uint8_t qh[4];    // bit j of this little-endian 32-bit word: the fifth bit of element j
  uint8_t qs[16];   // low 4 bits: element j in the low nibble of qs[j], element j + 16 in the high nibble
};
static_assert(sizeof(BlockQ5_1) == 24);

// n is a multiple of 32. The quantizer follows ggml's reference rounding bit for bit.
void quantize_row_q5_1_ref(const float* x, void* dst, int64_t n);
// Importance-weighted (TypeTraits::from_float_weighted, formats/weighted_search.h): a scale search
// minimising sum importance * error^2 per block, never worse on it than the reference; importance[0..n).
void quantize_row_q5_1_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q5_1(const void* src, float* y, int64_t n);

}  // namespace lowbit
