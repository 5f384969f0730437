#include "formats/ggml_q3_k.h"

#include "core/half.h"
#include "formats/ggml_k_layout.h"
#include "formats/ggml_k_search.h"
#include "formats/weighted_search.h"

namespace lowbit {
namespace {

// The stored 6-bit code (scale code + 32) of sub-block s.
int scale_code_6bit(const uint8_t* scales, int s) {
  const int low = s < 8 ? (scales[s] & 15) : (scales[s - 8] >> 4);
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return low | (high << 4);
}

}  // namespace

void quantize_row_q3_k(const float* x, const float* importance, void* dst, int64_t n) {
  constexpr SymmetricGeometry kGeometry{.sub_size = 16, .q_min = -4, .q_max = 3, .code_min = -32, .code_max = 31};
  auto* blocks = static_cast<BlockQ3_K*>(dst);
  for (int64_t b = 0; b < n / kSuperBlockSize; ++b) {
    const int64_t start = b * kSuperBlockSize;
    const SymmetricSuperBlock sb =
        quantize_symmetric_superblock(x + start, importance ? importance + start : nullptr, kGeometry);
    BlockQ3_K& out = blocks[b];
    out = {};
    out.d = sb.d;
    for (int s = 0; s < 16; ++s) {
      const int code = sb.scale_code[s] + 32;
      out.scales[s % 8] |= static_cast<uint8_t>((code & 15) << (s < 8 ? 0 : 4));
      out.scales[8 + s % 4] |= static_cast<uint8_t>((code >> 4) << (2 * (s / 4)));
    }
    for (int e = 0; e < kSuperBlockSize; ++e) {
      const int biased = sb.q[e] + 4;  // [0, 7]
      out.qs[crumb_byte(e)] |= static_cast<uint8_t>((biased & 3) << crumb_shift(e));
      out.hmask[high_bit_byte(e)] |= static_cast<uint8_t>((biased >> 2) << high_bit_shift(e));
    }
  }
}

void quantize_row_q3_k(const float* x, void* dst, int64_t n) { quantize_row_q3_k(x, nullptr, dst, n); }

void quantize_row_q3_k_weighted(const float* x, const float* importance, void* dst, int64_t n) {
  using Plain = void (*)(const float*, void*, int64_t);
  using Weighted = void (*)(const float*, const float*, void*, int64_t);
  constexpr WeightedQuantizer kQuantizer{kSuperBlockSize, sizeof(BlockQ3_K), static_cast<Plain>(quantize_row_q3_k),
                                         dequantize_row_q3_k, static_cast<Weighted>(quantize_row_q3_k)};
  quantize_row_weighted(kQuantizer, x, importance, dst, n);
}

void dequantize_row_q3_k(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ3_K*>(src);
  for (int64_t b = 0; b < n / kSuperBlockSize; ++b, y += kSuperBlockSize) {
    const BlockQ3_K& block = blocks[b];
    const float d = fp16_to_fp32(block.d);
    for (int s = 0; s < 16; ++s) {
      const float scale = d * static_cast<float>(scale_code_6bit(block.scales, s) - 32);
      for (int e = 16 * s; e < 16 * s + 16; ++e) {
        const int low = (block.qs[crumb_byte(e)] >> crumb_shift(e)) & 3;
        const int high = (block.hmask[high_bit_byte(e)] >> high_bit_shift(e)) & 1;
        y[e] = scale * static_cast<float>(low - (high ? 0 : 4));
      }
    }
  }
}

}  // namespace lowbit
