#include "formats/ggml_q5_1.h"

#include <algorithm>
#include <cstring>

#include "core/half.h"
#include "formats/ggml_block_common.h"
#include "formats/weighted_search.h"

namespace lowbit {

void quantize_row_q5_1_ref(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ5_1*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    const auto [min_it, max_it] = std::minmax_element(x, x + 32);
    const float min = *min_it;
    const float d = (*max_it - min) / 31.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    int q[32];
    // Rounded against the unrounded FP32 min and scale, as ggml does.
    for (int j = 0; j < 32; ++j) q[j] = truncate_clamped((x[j] - min) * inverse + 0.5f, 31);
    const FiveBitQuants packed = pack_five_bit_quants(q);
    blocks[b].d = fp32_to_fp16(d);
    blocks[b].m = fp32_to_fp16(min);
    std::memcpy(blocks[b].qh, packed.qh, sizeof packed.qh);
    std::memcpy(blocks[b].qs, packed.qs, sizeof packed.qs);
  }
}

namespace {

// One block of 32 by the weighted scale search.
void search_block_q5_1(const float* x, const float* w, void* dst, int64_t /*n == 32*/) {
  int q[32];
  const LinearParams params = search_weighted_linear(x, w, 32, {0, 31, true}, round_to_f16, q);
  const FiveBitQuants packed = pack_five_bit_quants(q);
  auto& block = *static_cast<BlockQ5_1*>(dst);
  block.d = fp32_to_fp16(params.scale);
  block.m = fp32_to_fp16(params.offset);
  std::memcpy(block.qh, packed.qh, sizeof packed.qh);
  std::memcpy(block.qs, packed.qs, sizeof packed.qs);
}

}  // namespace

void quantize_row_q5_1_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr WeightedQuantizer kQuantizer{32, sizeof(BlockQ5_1), quantize_row_q5_1_ref, dequantize_row_q5_1, search_block_q5_1};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q5_1(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ5_1*>(src);
  for (int64_t b = 0; b < n / 32; ++b, y += 32) {
    const float d = fp16_to_fp32(blocks[b].d);
    const float m = fp16_to_fp32(blocks[b].m);
    for (int j = 0; j < 32; ++j) {
      y[j] = static_cast<float>(unpack_five_bit_quant(blocks[b].qh, blocks[b].qs, j)) * d + m;
    }
  }
}

}  // namespace lowbit
