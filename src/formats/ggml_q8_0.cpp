#include "formats/ggml_q8_0.h"

#include <cmath>

#include "core/half.h"
#include "formats/ggml_block_common.h"
#include "formats/weighted_search.h"

namespace lowbit {

void quantize_row_q8_0_ref(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    const float d = std::fabs(signed_absmax(x, 32)) / 127.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = fp32_to_fp16(d);
    for (int j = 0; j < 32; ++j) blocks[b].qs[j] = round_to_int8(x[j] * inverse);
  }
}

namespace {

// One block of 32 by the weighted scale search.
void search_block_q8_0(const float* x, const float* w, void* dst, int64_t /*n == 32*/) {
  int q[32];
  const LinearParams params = search_weighted_linear(x, w, 32, {-127, 127, false}, round_to_f16, q);
  auto& block = *static_cast<BlockQ8_0*>(dst);
  block.d = fp32_to_fp16(params.scale);
  for (int j = 0; j < 32; ++j) block.qs[j] = static_cast<int8_t>(q[j]);
}

}  // namespace

void quantize_row_q8_0_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr WeightedQuantizer kQuantizer{32, sizeof(BlockQ8_0), quantize_row_q8_0_ref, dequantize_row_q8_0, search_block_q8_0};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q8_0(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ8_0*>(src);
  for (int64_t b = 0; b < n / 32; ++b, y += 32) {
    const float d = fp16_to_fp32(blocks[b].d);
    for (int j = 0; j < 32; ++j) y[j] = static_cast<float>(blocks[b].qs[j]) * d;
  }
}

}  // namespace lowbit
