#include "formats/ggml_q4_0.h"

#include <algorithm>

#include "core/half.h"
#include "formats/ggml_block_common.h"
#include "formats/weighted_search.h"

namespace lowbit {

void quantize_row_q4_0_ref(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ4_0*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    // The extreme value maps to q = 0 exactly (d * -8); the other side has only 7 steps.
    const float d = signed_absmax(x, 32) / -8.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = fp32_to_fp16(d);
    for (int j = 0; j < 16; ++j) {
      // +8.5 then truncation: round half up after the shift to [0, 16.5]; q = 16 is clamped to 15.
      const int low = truncate_clamped(x[j] * inverse + 8.5f, 15);
      const int high = truncate_clamped(x[j + 16] * inverse + 8.5f, 15);
      blocks[b].qs[j] = static_cast<uint8_t>(low | (high << 4));
    }
  }
}

namespace {

// One block of 32 by the weighted scale search.
void search_block_q4_0(const float* x, const float* w, void* dst, int64_t /*n == 32*/) {
  int q[32];
  const LinearParams params = search_weighted_linear(x, w, 32, {-8, 7, false}, round_to_f16, q);
  auto& block = *static_cast<BlockQ4_0*>(dst);
  block.d = fp32_to_fp16(params.scale);
  for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>((q[j] + 8) | ((q[j + 16] + 8) << 4));
}

}  // namespace

void quantize_row_q4_0_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr WeightedQuantizer kQuantizer{32, sizeof(BlockQ4_0), quantize_row_q4_0_ref, dequantize_row_q4_0, search_block_q4_0};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q4_0(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_0*>(src);
  for (int64_t b = 0; b < n / 32; ++b, y += 32) {
    const float d = fp16_to_fp32(blocks[b].d);
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>((blocks[b].qs[j] & 15) - 8) * d;
      y[j + 16] = static_cast<float>((blocks[b].qs[j] >> 4) - 8) * d;
    }
  }
}

}  // namespace lowbit
