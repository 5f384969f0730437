#include "formats/ggml_q4_1.h"

#include <algorithm>

#include "core/half.h"
#include "formats/ggml_block_common.h"
#include "formats/weighted_search.h"

namespace lowbit {

void quantize_row_q4_1_ref(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ4_1*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    const auto [min_it, max_it] = std::minmax_element(x, x + 32);
    const float min = *min_it;
    const float d = (*max_it - min) / 15.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = fp32_to_fp16(d);
    blocks[b].m = fp32_to_fp16(min);
    for (int j = 0; j < 16; ++j) {
      // Rounded against the unrounded FP32 min and scale, as ggml does.
      const int low = truncate_clamped((x[j] - min) * inverse + 0.5f, 15);
      const int high = truncate_clamped((x[j + 16] - min) * inverse + 0.5f, 15);
      blocks[b].qs[j] = static_cast<uint8_t>(low | (high << 4));
    }
  }
}

namespace {

// One block of 32 by the weighted scale search.
void search_block_q4_1(const float* x, const float* w, void* dst, int64_t /*n == 32*/) {
  int q[32];
  const LinearParams params = search_weighted_linear(x, w, 32, {0, 15, true}, round_to_f16, q);
  auto& block = *static_cast<BlockQ4_1*>(dst);
  block.d = fp32_to_fp16(params.scale);
  block.m = fp32_to_fp16(params.offset);
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(q[j] | (q[j + 16] << 4));
}

}  // namespace

void quantize_row_q4_1_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr WeightedQuantizer kQuantizer{32, sizeof(BlockQ4_1), quantize_row_q4_1_ref, dequantize_row_q4_1, search_block_q4_1};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q4_1(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_1*>(src);
  for (int64_t b = 0; b < n / 32; ++b, y += 32) {
    const float d = fp16_to_fp32(blocks[b].d);
    const float m = fp16_to_fp32(blocks[b].m);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(blocks[b].qs[j] & 15) * d + m;
      y[j + 16] = static_cast<float>(blocks[b].qs[j] >> 4) * d + m;
    }
  }
}

}  // namespace lowbit
