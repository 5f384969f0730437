#include "formats/lowbit_q8_0x16.h"

#include "formats/ggml_q8_0.h"

namespace lowbit {

void q8_0_to_q8_0x16(const void* src, void* dst, int64_t n) { interleave_blocks<BlockQ8_0, BlockQ8_0x16>(src, dst, n); }

void q8_0x16_to_q8_0(const void* src, void* dst, int64_t n) { deinterleave_blocks<BlockQ8_0, BlockQ8_0x16>(src, dst, n); }

namespace {
using ThroughQ8_0 = ThroughSourceFormat<kQ8_0x16Block, 16 * sizeof(BlockQ8_0), sizeof(BlockQ8_0x16)>;
}  // namespace

void quantize_row_q8_0x16(const float* x, void* dst, int64_t n) {
  ThroughQ8_0::quantize(q8_0_to_q8_0x16, n, dst, [x](int64_t first, void* blocks) {
    quantize_row_q8_0_ref(x + first, blocks, kQ8_0x16Block);
  });
}

void quantize_row_q8_0x16_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  ThroughQ8_0::quantize(q8_0_to_q8_0x16, n, dst, [x, importance](int64_t first, void* blocks) {
    quantize_row_q8_0_weighted(x + first, importance + first, blocks, kQ8_0x16Block);
  });
}

void dequantize_row_q8_0x16(const void* src, float* y, int64_t n) {
  ThroughQ8_0::dequantize(q8_0x16_to_q8_0, dequantize_row_q8_0, src, y, n);
}

}  // namespace lowbit
