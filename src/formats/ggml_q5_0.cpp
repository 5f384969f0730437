#include "formats/ggml_q5_0.h"

#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "formats/ggml_block_common.h"
#include "formats/weighted_search.h"

namespace lowbit {

void quantize_row_q5_0_ref(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ5_0*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    // As Q4_0 with 16 steps per side: the extreme value maps to q = 0.
    const float d = signed_absmax(x, 32) / -16.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    int q[32];
    for (int j = 0; j < 32; ++j) q[j] = truncate_clamped(x[j] * inverse + 16.5f, 31);
    const FiveBitQuants packed = pack_five_bit_quants(q);
    blocks[b].d = fp32_to_fp16(d);
    std::memcpy(blocks[b].qh, packed.qh, sizeof packed.qh);
    std::memcpy(blocks[b].qs, packed.qs, sizeof packed.qs);
  }
}

namespace {

// One block of 32 by the weighted scale search.
void search_block_q5_0(const float* x, const float* w, void* dst, int64_t /*n == 32*/) {
  int q[32];
  const LinearParams params = search_weighted_linear(x, w, 32, {-16, 15, false}, round_to_f16, q);
  for (int& v : q) v += 16;
  const FiveBitQuants packed = pack_five_bit_quants(q);
  auto& block = *static_cast<BlockQ5_0*>(dst);
  block.d = fp32_to_fp16(params.scale);
  std::memcpy(block.qh, packed.qh, sizeof packed.qh);
  std::memcpy(block.qs, packed.qs, sizeof packed.qs);
}

}  // namespace

void quantize_row_q5_0_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr WeightedQuantizer kQuantizer{32, sizeof(BlockQ5_0), quantize_row_q5_0_ref, dequantize_row_q5_0, search_block_q5_0};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q5_0(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ5_0*>(src);
  for (int64_t b = 0; b < n / 32; ++b, y += 32) {
    const float d = fp16_to_fp32(blocks[b].d);
    for (int j = 0; j < 32; ++j) {
      y[j] = static_cast<float>(unpack_five_bit_quant(blocks[b].qh, blocks[b].qs, j) - 16) * d;
    }
  }
}

}  // namespace lowbit
