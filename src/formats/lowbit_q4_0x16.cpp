#include "formats/lowbit_q4_0x16.h"

#include <array>
#include <cstring>

#include "formats/ggml_q4_0.h"

namespace lowbit {

void q4_0_to_q4_0x16(const void* src, void* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_0*>(src);
  auto* out = static_cast<BlockQ4_0x16*>(dst);
  for (int64_t b = 0; b < n / kQ4_0x16Block; ++b, blocks += 16) {
    for (int l = 0; l < 16; ++l) {
      out[b].d[l] = blocks[l].d;
      for (int byte = 0; byte < 16; ++byte) out[b].qs[q4_0x16_index(l, byte)] = blocks[l].qs[byte];
    }
  }
}

void q4_0x16_to_q4_0(const void* src, void* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_0x16*>(src);
  auto* out = static_cast<BlockQ4_0*>(dst);
  for (int64_t b = 0; b < n / kQ4_0x16Block; ++b, out += 16) {
    for (int l = 0; l < 16; ++l) {
      out[l].d = blocks[b].d[l];
      for (int byte = 0; byte < 16; ++byte) out[l].qs[byte] = blocks[b].qs[q4_0x16_index(l, byte)];
    }
  }
}

namespace {

// f(x, q4_0) for one 512-element block at a time, then interleaved into dst.
template <typename QuantizeQ4_0>
void quantize_by_q4_0(int64_t n, void* dst, const QuantizeQ4_0& quantize_q4_0) {
  std::array<BlockQ4_0, 16> blocks;
  auto* out = static_cast<BlockQ4_0x16*>(dst);
  for (int64_t b = 0; b < n / kQ4_0x16Block; ++b) {
    quantize_q4_0(b * kQ4_0x16Block, blocks.data());
    q4_0_to_q4_0x16(blocks.data(), &out[b], kQ4_0x16Block);
  }
}

}  // namespace

void quantize_row_q4_0x16(const float* x, void* dst, int64_t n) {
  quantize_by_q4_0(n, dst, [x](int64_t first, BlockQ4_0* blocks) {
    quantize_row_q4_0_ref(x + first, blocks, kQ4_0x16Block);
  });
}

void quantize_row_q4_0x16_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  quantize_by_q4_0(n, dst, [x, importance](int64_t first, BlockQ4_0* blocks) {
    quantize_row_q4_0_weighted(x + first, importance + first, blocks, kQ4_0x16Block);
  });
}

void dequantize_row_q4_0x16(const void* src, float* y, int64_t n) {
  std::array<BlockQ4_0, 16> blocks;
  const auto* in = static_cast<const BlockQ4_0x16*>(src);
  for (int64_t b = 0; b < n / kQ4_0x16Block; ++b) {
    q4_0x16_to_q4_0(&in[b], blocks.data(), kQ4_0x16Block);
    dequantize_row_q4_0(blocks.data(), y + b * kQ4_0x16Block, kQ4_0x16Block);
  }
}

}  // namespace lowbit
