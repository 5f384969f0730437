// lb_q4_0x16: ggml Q4_0's values with 16 consecutive blocks (512 weights) interleaved into one block, the
// layout the AVX-512 decode kernel reads with the fewest instructions per byte.
//
// A Q4_0 block keeps its FP16 scale beside its 16 bytes of nibbles, so a 512-bit vector of codes spans
// four blocks at an 18-byte stride and must be gathered and its scales picked out (kernels/x86/gemv_x86.h).
// Here the 16 blocks' nibble bytes come first, four bytes of each block per 32-bit lane
// (formats/layout_conversion.h: interleaved_byte):
//   qs[64k + 4l + i] = block l's qs[4k + i]   (k < 4, l < 16, i < 4),
// so vector k holds elements 4k..4k+3 of every block in its low nibbles and 16+4k..16+4k+3 in its high
// nibbles, one block per lane, and a u8 x s8 dot product instruction sums whole blocks lane by lane; the
// 16 scales follow as one 32-byte run. Same 4.5 bits per weight, and the conversion from Q4_0 is exact:
// the engine converts Q4_0 matrices whose rows are whole blocks when it loads a model onto a CPU with the
// kernel (kernels/matmul.h: kernel_layout); files may also hold the type (llama.cpp cannot read it).
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "formats/layout_conversion.h"

namespace lowbit {

inline constexpr int64_t kQ4_0x16Block = 512;

struct BlockQ4_0x16 {
  uint8_t qs[256];  // the 16 Q4_0 blocks' nibble bytes, interleaved as above
  uint16_t d[16];   // their FP16 scales
};
static_assert(sizeof(BlockQ4_0x16) == 288);

// Offset 97 of lowbit's ids (formats/lowbit_block_common.h).
inline constexpr TensorType kQ4_0x16Type = static_cast<TensorType>(kLowbitTypeBase + 97);

// n elements (a multiple of 512) between the two layouts.
void q4_0_to_q4_0x16(const void* src, void* dst, int64_t n);
void q4_0x16_to_q4_0(const void* src, void* dst, int64_t n);

// Q4_0's quantizers (reference rounding, importance-weighted search), then the interleaving.
void quantize_row_q4_0x16(const float* x, void* dst, int64_t n);
void quantize_row_q4_0x16_weighted(const float* x, const float* importance, void* dst, int64_t n);
void dequantize_row_q4_0x16(const void* src, float* y, int64_t n);

inline constexpr LayoutConversion kQ4_0ToQ4_0x16{TensorType::Q4_0, kQ4_0x16Type, q4_0_to_q4_0x16};

}  // namespace lowbit
