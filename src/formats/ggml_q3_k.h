// ggml Q3_K: super-blocks of 256 weights in 16 sub-blocks of 16. Element value:
//   (d * scale_code) * q,  q in [-4, 3], scale codes in [-32, 31].
// 110 bytes per 256 weights = 3.4375 bits per weight.
#pragma once

#include <cstdint>

namespace lowbit {

struct BlockQ3_K {
  uint8_t hmask[32];   // bit set when q >= 0 (q + 4 has its bit 2 set); see high_bit_byte/_shift
  uint8_t qs[64];      // low 2 bits of q + 4, see crumb_byte/crumb_shift in ggml_k_layout.h
  uint8_t scales[12];  // 16 codes + 32 in 6 bits: low nibbles in bytes 0-7 (sub-block s < 8 low
                       // nibble of byte s, s >= 8 high nibble of byte s - 8), top 2 bits in bytes
                       // 8-11 (sub-block s: byte 8 + s % 4, bits 2 * (s / 4))
  uint16_t d;          // FP16 scale of the scale codes
};
static_assert(sizeof(BlockQ3_K) == 110);

// n is a multiple of 256; importance[0..n) weights each element's squared error (nullptr: all 1).
void quantize_row_q3_k(const float* x, const float* importance, void* dst, int64_t n);
void quantize_row_q3_k(const float* x, void* dst, int64_t n);
// Importance-weighted (TypeTraits::from_float_weighted, formats/weighted_search.h): per super-block
// the search above with the importance as weights or without, whichever has the smaller weighted error.
void quantize_row_q3_k_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q3_k(const void* src, float* y, int64_t n);

}  // namespace lowbit
