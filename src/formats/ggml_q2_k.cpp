#include "formats/ggml_q2_k.h"

#include "core/half.h"
#include "formats/ggml_k_layout.h"
#include "formats/ggml_k_search.h"
#include "formats/weighted_search.h"

namespace lowbit {

void quantize_row_q2_k(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr AffineGeometry kGeometry{.sub_size = 16, .q_max = 3, .code_max = 15};
  auto* blocks = static_cast<BlockQ2_K*>(dst);
  for (int64_t b = 0; b < n / kSuperBlockSize; ++b) {
    const int64_t start = b * kSuperBlockSize;
    const AffineSuperBlock sb = quantize_affine_superblock(x + start, importance ? importance + start : nullptr, kGeometry);
    BlockQ2_K& out = blocks[b];
    out = {};
    out.d = sb.d;
    out.dmin = sb.dmin;
    for (int s = 0; s < 16; ++s) out.scales[s] = static_cast<uint8_t>(sb.scale_code[s] | (sb.min_code[s] << 4));
    for (int e = 0; e < kSuperBlockSize; ++e) out.qs[crumb_byte(e)] |= static_cast<uint8_t>(sb.q[e] << crumb_shift(e));
  }
}

void quantize_row_q2_k(const float* x, void* dst, int64_t n) { quantize_row_q2_k(x, nullptr, dst, n); }

void quantize_row_q2_k_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  using Plain = void (*)(const float*, void*, int64_t);
  using Weighted = void (*)(const float*, const float*, void*, int64_t);
  constexpr WeightedQuantizer kQuantizer{kSuperBlockSize, sizeof(BlockQ2_K), static_cast<Plain>(quantize_row_q2_k),
                                         dequantize_row_q2_k, static_cast<Weighted>(quantize_row_q2_k)};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q2_k(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ2_K*>(src);
  for (int64_t b = 0; b < n / kSuperBlockSize; ++b, y += kSuperBlockSize) {
    const BlockQ2_K& block = blocks[b];
    const float d = fp16_to_fp32(block.d);
    const float dmin = fp16_to_fp32(block.dmin);
    for (int s = 0; s < 16; ++s) {
      const float scale = d * static_cast<float>(block.scales[s] & 15);
      const float min = dmin * static_cast<float>(block.scales[s] >> 4);
      for (int e = 16 * s; e < 16 * s + 16; ++e) {
        const int q = (block.qs[crumb_byte(e)] >> crumb_shift(e)) & 3;
        y[e] = scale * static_cast<float>(q) - min;
      }
    }
  }
}

}  // namespace lowbit
