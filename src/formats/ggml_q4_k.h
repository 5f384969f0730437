// ggml Q4_K: super-blocks of 256 weights in 8 sub-blocks of 32. Element value:
//   (d * scale_code) * q - (dmin * min_code),  q in [0, 15], codes in [0, 63].
// 144 bytes per 256 weights = 4.5 bits per weight.
#pragma once

#include <cstdint>

namespace lowbit {

struct BlockQ4_K {
  uint16_t d;          // FP16 scale of the scale codes
  uint16_t dmin;       // FP16 scale of the min codes
  uint8_t scales[12];  // 8 scale + 8 min codes of 6 bits, see pack_scale_min_6bit in ggml_k_layout.h
  uint8_t qs[128];     // 4-bit quants, see nibble_byte/nibble_shift
};
static_assert(sizeof(BlockQ4_K) == 144);

// n is a multiple of 256; importance[0..n) weights each element's squared error (nullptr: all 1).
void quantize_row_q4_k(const float* x, const float* importance, void* dst, int64_t n);
void quantize_row_q4_k(const float* x, void* dst, int64_t n);
// Importance-weighted (TypeTraits::from_float_weighted, formats/weighted_search.h): per super-block
// the search above with the importance as weights or without, whichever has the smaller weighted error.
void quantize_row_q4_k_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q4_k(const void* src, float* y, int64_t n);

}  // namespace lowbit
