// ggml Q2_K: super-blocks of 256 weights in 16 sub-blocks of 16. Element value:
//   (d * scale_code) * q - (dmin * min_code),  q in [0, 3], codes in [0, 15].
// 84 bytes per 256 weights = 2.625 bits per weight.
#pragma once

#include <cstdint>

namespace lowbit {

struct BlockQ2_K {
  uint8_t scales[16];  // sub-block s: scale code in the low nibble, min code in the high nibble
  uint8_t qs[64];      // 2-bit quants, see crumb_byte/crumb_shift in ggml_k_layout.h
  uint16_t d;          // FP16 scale of the scale codes
  uint16_t dmin;       // FP16 scale of the min codes
};
static_assert(sizeof(BlockQ2_K) == 84);

// n is a multiple of 256; importance[0..n) weights each element's squared error (nullptr: all 1).
void quantize_row_q2_k(const float* x, const float* importance, void* dst, int64_t n);
void quantize_row_q2_k(const float* x, void* dst, int64_t n);
// Importance-weighted (TypeTraits::from_float_weighted, formats/weighted_search.h): per super-block
// the search above with the importance as weights or without, whichever has the smaller weighted error.
void quantize_row_q2_k_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q2_k(const void* src, float* y, int64_t n);

}  // namespace lowbit
