// ggml Q8_1: Q8_0 plus the block's sum. 32 weights per block, FP16 scale d, int8 quants standing
// for d * q, and s = d * sum(q) (FP16) so dot products with Q4_1/Q5_1 can add the minimum's share
// without a second pass. 36 bytes per 32 weights = 9 bits per weight. ggml uses it for activations.
#pragma once

#include <cstdint>

namespace lowbit {

struct BlockQ8_1 {
  uint16_t d;      // FP16 scale
  uint16_t s;      // FP16 of d * (sum of qs), computed in FP32 before rounding
  int8_t qs[32];   // element j in qs[j]
};
static_assert(sizeof(BlockQ8_1) == 36);

// n is a multiple of 32. The quantizer follows ggml's reference rounding.
void quantize_row_q8_1_ref(const float* x, void* dst, int64_t n);
void dequantize_row_q8_1(const void* src, float* y, int64_t n);

}  // namespace lowbit
