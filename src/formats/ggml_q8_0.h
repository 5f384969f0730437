// ggml Q8_0: 32 weights per block, one FP16 scale, int8 quants q standing for d * q.
// 34 bytes per 32 weights = 8.5 bits per weight.
#pragma once

#include <cstdint>

namespace lowbit {

struct BlockQ8_0 {
  uint16_t d;      // FP16 scale
  int8_t qs[32];   // element j in qs[j]
};
static_assert(sizeof(BlockQ8_0) == 34);

// n is a multiple of 32. The quantizer follows ggml's reference rounding bit for bit.
void quantize_row_q8_0_ref(const float* x, void* dst, int64_t n);
// Importance-weighted (TypeTraits::from_float_weighted, formats/weighted_search.h): a scale search
// minimising sum importance * error^2 per block, never worse on it than the reference; importance[0..n).
void quantize_row_q8_0_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q8_0(const void* src, float* y, int64_t n);

}  // namespace lowbit
