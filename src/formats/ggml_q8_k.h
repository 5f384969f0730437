// ggml Q8_K: the activation format of the K-quant dot products. 256 values per block, an FP32
// scale, int8 quants standing for d * q, and the sum of each group of 16 quants.
// 292 bytes per 256 values = 9.125 bits per value.
#pragma once

#include <cstdint>

namespace lowbit {

struct BlockQ8_K {
  float d;             // FP32 scale
  int8_t qs[256];      // element j in qs[j]
  int16_t bsums[16];   // bsums[g] = sum of qs[16g .. 16g + 16)
};
static_assert(sizeof(BlockQ8_K) == 292);

// n is a multiple of 256.
void quantize_row_q8_k(const float* x, void* dst, int64_t n);
void dequantize_row_q8_k(const void* src, float* y, int64_t n);

}  // namespace lowbit
