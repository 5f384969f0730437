#include "formats/ggml_q4_k.h"

#include "core/half.h"
#include "formats/ggml_k_layout.h"
#include "formats/ggml_k_search.h"
#include "formats/weighted_search.h"

namespace lowbit {

void quantize_row_q4_k(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr AffineGeometry kGeometry{.sub_size = 32, .q_max = 15, .code_max = 63};
  auto* blocks = static_cast<BlockQ4_K*>(dst);
  for (int64_t b = 0; b < n / kSuperBlockSize; ++b) {
    const int64_t start = b * kSuperBlockSize;
    const AffineSuperBlock sb = quantize_affine_superblock(x + start, importance ? importance + start : nullptr, kGeometry);
    BlockQ4_K& out = blocks[b];
    out = {};
    out.d = sb.d;
    out.dmin = sb.dmin;
    pack_scale_min_6bit(sb.scale_code, sb.min_code, out.scales);
    for (int e = 0; e < kSuperBlockSize; ++e) out.qs[nibble_byte(e)] |= static_cast<uint8_t>(sb.q[e] << nibble_shift(e));
  }
}

void quantize_row_q4_k(const float* x, void* dst, int64_t n) { quantize_row_q4_k(x, nullptr, dst, n); }

void quantize_row_q4_k_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  using Plain = void (*)(const float*, void*, int64_t);
  using Weighted = void (*)(const float*, const float*, void*, int64_t);
  constexpr WeightedQuantizer kQuantizer{kSuperBlockSize, sizeof(BlockQ4_K), static_cast<Plain>(quantize_row_q4_k),
                                         dequantize_row_q4_k, static_cast<Weighted>(quantize_row_q4_k)};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q4_k(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ4_K*>(src);
  for (int64_t b = 0; b < n / kSuperBlockSize; ++b, y += kSuperBlockSize) {
    const BlockQ4_K& block = blocks[b];
    const float d = fp16_to_fp32(block.d);
    const float dmin = fp16_to_fp32(block.dmin);
    for (int s = 0; s < 8; ++s) {
      const ScaleMinCodes codes = unpack_scale_min_6bit(block.scales, s);
      const float scale = d * static_cast<float>(codes.scale);
      const float min = dmin * static_cast<float>(codes.min);
      for (int e = 32 * s; e < 32 * s + 32; ++e) {
        const int q = (block.qs[nibble_byte(e)] >> nibble_shift(e)) & 15;
        y[e] = scale * static_cast<float>(q) - min;
      }
    }
  }
}

}  // namespace lowbit
