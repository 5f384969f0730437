// ggml Q6_K: super-blocks of 256 weights in 16 sub-blocks of 16. Element value:
//   (d * scale_code) * q,  q in [-32, 31], scale codes int8.
// 210 bytes per 256 weights = 6.5625 bits per weight.
#pragma once

#include <cstdint>

namespace lowbit {

// q + 32 is stored in 6 bits. Each 128-element half uses 64 bytes of ql and 32 of qh; within a half,
// element l + 32k (l < 32, k < 4) has its low 4 bits in ql[l + 32 * (k % 2)] (low nibble for k < 2,
// high nibble for k >= 2) and its top 2 bits in qh[l] at bits 2k.
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];  // scale code of each sub-block
  uint16_t d;         // FP16 scale of the scale codes
};
static_assert(sizeof(BlockQ6_K) == 210);

// n is a multiple of 256; importance[0..n) weights each element's squared error (nullptr: all 1).
void quantize_row_q6_k(const float* x, const float* importance, void* dst, int64_t n);
void quantize_row_q6_k(const float* x, void* dst, int64_t n);
// Importance-weighted (TypeTraits::from_float_weighted, formats/weighted_search.h): per super-block
// the search above with the importance as weights or without, whichever has the smaller weighted error.
void quantize_row_q6_k_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q6_k(const void* src, float* y, int64_t n);

}  // namespace lowbit
