#include "formats/lowbit_q4_0x16.h"

#include "formats/ggml_q4_0.h"

namespace lowbit {

void q4_0_to_q4_0x16(const void* src, void* dst, int64_t n) { interleave_blocks<BlockQ4_0, BlockQ4_0x16>(src, dst, n); }

void q4_0x16_to_q4_0(const void* src, void* dst, int64_t n) { deinterleave_blocks<BlockQ4_0, BlockQ4_0x16>(src, dst, n); }

namespace {
using ThroughQ4_0 = ThroughSourceFormat<kQ4_0x16Block, 16 * sizeof(BlockQ4_0), sizeof(BlockQ4_0x16)>;
}  // namespace

void quantize_row_q4_0x16(const float* x, void* dst, int64_t n) {
  ThroughQ4_0::quantize(q4_0_to_q4_0x16, n, dst, [x](int64_t first, void* blocks) {
    quantize_row_q4_0_ref(x + first, blocks, kQ4_0x16Block);
  });
}

void quantize_row_q4_0x16_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  ThroughQ4_0::quantize(q4_0_to_q4_0x16, n, dst, [x, importance](int64_t first, void* blocks) {
    quantize_row_q4_0_weighted(x + first, importance + first, blocks, kQ4_0x16Block);
  });
}

void dequantize_row_q4_0x16(const void* src, float* y, int64_t n) {
  ThroughQ4_0::dequantize(q4_0x16_to_q4_0, dequantize_row_q4_0, src, y, n);
}

}  // namespace lowbit
