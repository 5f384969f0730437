#include "formats/ggml_q6_k.h"

#include "core/half.h"
#include "formats/ggml_k_search.h"
#include "formats/weighted_search.h"

namespace lowbit {
namespace {

// Positions of element e (0..255) of a super-block; see BlockQ6_K.
int low_byte(int e) { return (e / 128) * 64 + e % 32 + 32 * ((e % 128) / 32 % 2); }
int low_shift(int e) { return 4 * ((e % 128) / 64); }
int high_byte(int e) { return (e / 128) * 32 + e % 32; }
int high_shift(int e) { return 2 * ((e % 128) / 32); }

}  // namespace

void quantize_row_q6_k(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr SymmetricGeometry kGeometry{.sub_size = 16, .q_min = -32, .q_max = 31, .code_min = -128, .code_max = 127};
  auto* blocks = static_cast<BlockQ6_K*>(dst);
  for (int64_t b = 0; b < n / kSuperBlockSize; ++b) {
    const int64_t start = b * kSuperBlockSize;
    const SymmetricSuperBlock sb =
        quantize_symmetric_superblock(x + start, importance ? importance + start : nullptr, kGeometry);
    BlockQ6_K& out = blocks[b];
    out = {};
    out.d = sb.d;
    for (int s = 0; s < 16; ++s) out.scales[s] = sb.scale_code[s];
    for (int e = 0; e < kSuperBlockSize; ++e) {
      const int biased = sb.q[e] + 32;  // [0, 63]
      out.ql[low_byte(e)] |= static_cast<uint8_t>((biased & 15) << low_shift(e));
      out.qh[high_byte(e)] |= static_cast<uint8_t>((biased >> 4) << high_shift(e));
    }
  }
}

void quantize_row_q6_k(const float* x, void* dst, int64_t n) { quantize_row_q6_k(x, nullptr, dst, n); }

void quantize_row_q6_k_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  using Plain = void (*)(const float*, void*, int64_t);
  using Weighted = void (*)(const float*, const float*, void*, int64_t);
  constexpr WeightedQuantizer kQuantizer{kSuperBlockSize, sizeof(BlockQ6_K), static_cast<Plain>(quantize_row_q6_k),
                                         dequantize_row_q6_k, static_cast<Weighted>(quantize_row_q6_k)};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q6_k(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ6_K*>(src);
  for (int64_t b = 0; b < n / kSuperBlockSize; ++b, y += kSuperBlockSize) {
    const BlockQ6_K& block = blocks[b];
    const float d = fp16_to_fp32(block.d);
    for (int e = 0; e < kSuperBlockSize; ++e) {
      const int low = (block.ql[low_byte(e)] >> low_shift(e)) & 15;
      const int high = (block.qh[high_byte(e)] >> high_shift(e)) & 3;
      // ggml multiplies d by the scale code first, then by q.
      y[e] = d * static_cast<float>(block.scales[e / 16]) * static_cast<float>((low | (high << 4)) - 32);
    }
  }
}

}  // namespace lowbit
