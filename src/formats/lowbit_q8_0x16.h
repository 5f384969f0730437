// lb_q8_0x16: ggml Q8_0's values with 16 consecutive blocks (512 weights) interleaved into one block, as
// lb_q4_0x16 does for Q4_0 (formats/lowbit_q4_0x16.h): the 16 blocks' code bytes first, four bytes of each
// block per 32-bit lane of each 64-byte vector (formats/layout_conversion.h: interleaved_byte), so a u8 x
// s8 dot product instruction sums one block per lane; then their 16 FP16 scales. Same 8.5 bits per
// weight; the conversion from Q8_0 is exact (kernels/matmul.h: kernel_layout converts Q8_0 matrices at
// load).
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "formats/layout_conversion.h"

namespace lowbit {

inline constexpr int64_t kQ8_0x16Block = 512;

struct BlockQ8_0x16 {
  int8_t qs[512];  // block l's code j at qs[interleaved_byte(l, j)]
  uint16_t d[16];  // their FP16 scales
};
static_assert(sizeof(BlockQ8_0x16) == 544);

// Offset 99 of lowbit's ids (formats/lowbit_block_common.h).
inline constexpr TensorType kQ8_0x16Type = static_cast<TensorType>(kLowbitTypeBase + 99);

// n elements (a multiple of 512) between the two layouts.
void q8_0_to_q8_0x16(const void* src, void* dst, int64_t n);
void q8_0x16_to_q8_0(const void* src, void* dst, int64_t n);

// Q8_0's quantizers, then the interleaving.
void quantize_row_q8_0x16(const float* x, void* dst, int64_t n);
void quantize_row_q8_0x16_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q8_0x16(const void* src, float* y, int64_t n);

inline constexpr LayoutConversion kQ8_0ToQ8_0x16{TensorType::Q8_0, kQ8_0x16Type, q8_0_to_q8_0x16};

}  // namespace lowbit
