#include "formats/lowbit_q4_0x16.h"

#include "formats/ggml_q4_0.h"

namespace lowbit {

void q4_0_to_q4_0x16(const void* src, void* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_0*>(src);
  auto* out = static_cast<BlockQ4_0x16*>(dst);
  for (int64_t b = 0; b < n / kQ4_0x16Block; ++b, blocks += 16) {
    for (int l = 0; l < 16; ++l) {
      out[b].d[l] = blocks[l].d;
      for (int byte = 0; byte < 16; ++byte) out[b].qs[interleaved_byte(l, byte)] = blocks[l].qs[byte];
    }
  }
}

void q4_0x16_to_q4_0(const void* src, void* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_0x16*>(src);
  auto* out = static_cast<BlockQ4_0*>(dst);
  for (int64_t b = 0; b < n / kQ4_0x16Block; ++b, out += 16) {
    for (int l = 0; l < 16; ++l) {
      out[l].d = blocks[b].d[l];
      for (int byte = 0; byte < 16; ++byte) out[l].qs[byte] = blocks[b].qs[interleaved_byte(l, byte)];
    }
  }
}

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
