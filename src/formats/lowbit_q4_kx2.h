// lb_q4_kx2: ggml Q4_K's values with two super-blocks (512 weights, 16 sub-blocks of 32) in one block,
// laid out as the AVX-512 decode kernel reads them with the fewest instructions per byte.
//
// Q4_K pairs sub-blocks 2j and 2j + 1 in the nibbles of the same bytes, so a 512-bit vector of codes
// holds four sub-blocks, and each u8 x s8 dot product's lanes must be multiplied by their own
// sub-block's scale before they are summed (kernels/x86/gemv_k_x86.h). Here each sub-block's 32 codes are
// stored as a Q4_0 block's are (byte j: element j in the low nibble, element j + 16 in the high one),
// and the 16 sub-blocks interleaved exactly as lb_q4_0x16 interleaves its blocks (formats/
// lowbit_q4_0x16.h: four bytes of each per 32-bit lane), so each dot product lane sums one whole
// sub-block and one scaling per 16 lanes serves the block. The two super-blocks' scales and 6-bit
// scale and min codes follow in 32 bytes, as Q4_K's two headers take, but packed so that all 32 codes
// come apart in a few vector operations (Q4_K packs them for a scalar unpacking of eight). Same 4.5
// bits per weight; the conversion from Q4_K is exact (kernels/matmul.h: kernel_layout converts Q4_K
// matrices at load).
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "formats/layout_conversion.h"

namespace lowbit {

inline constexpr int64_t kQ4_Kx2Block = 512;

// Sub-block s (< 16) belongs to super-block s / 8. Code c is scale code c (c < 16) or min code c - 16.
struct Q4_Kx2Scales {
  uint16_t d[2], dmin[2];  // FP16 scales of each super-block's scale and min codes
  uint8_t low[16];         // byte s: scale code s's low 4 bits, min code s's in the high nibble
  uint8_t high[8];         // code c's top 2 bits at bit 2 (c / 8) of byte c % 8
};

struct BlockQ4_Kx2 {
  uint8_t qs[256];  // sub-block s's Q4_0-style byte j at qs[interleaved_byte(s, j)]
  Q4_Kx2Scales scales;
};

static_assert(sizeof(Q4_Kx2Scales) == 32 && sizeof(BlockQ4_Kx2) == 288);

// Code c of a block's scales (see Q4_Kx2Scales).
inline int q4_kx2_code(const Q4_Kx2Scales& scales, int c) {
  const int low = c < 16 ? scales.low[c] & 15 : scales.low[c - 16] >> 4;
  return low | ((scales.high[c % 8] >> (2 * (c / 8))) & 3) << 4;
}

// Offset 98 of lowbit's ids (formats/lowbit_block_common.h).
inline constexpr TensorType kQ4_Kx2Type = static_cast<TensorType>(kLowbitTypeBase + 98);

// n elements (a multiple of 512) between the two layouts.
void q4_k_to_q4_kx2(const void* src, void* dst, int64_t n);
void q4_kx2_to_q4_k(const void* src, void* dst, int64_t n);

// Q4_K's quantizers, then the interleaving.
void quantize_row_q4_kx2(const float* x, void* dst, int64_t n);
void quantize_row_q4_kx2_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q4_kx2(const void* src, float* y, int64_t n);

inline constexpr LayoutConversion kQ4_KToQ4_Kx2{TensorType::Q4_K, kQ4_Kx2Type, q4_k_to_q4_kx2};

}  // namespace lowbit
