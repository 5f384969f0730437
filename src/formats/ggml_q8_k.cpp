#include "formats/ggml_q8_k.h"

#include <algorithm>

#include "formats/ggml_block_common.h"

namespace lowbit {

void quantize_row_q8_k(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / 256; ++b, x += 256) {
    BlockQ8_K& out = blocks[b];
    out = {};
    // Quants stay in [-127, 127] so that dot-product kernels may negate them without overflow.
    const float extreme = signed_absmax(x, 256);
    if (extreme == 0.0f) continue;
    const float inverse = 127.0f / extreme;
    for (int j = 0; j < 256; ++j) {
      out.qs[j] = static_cast<int8_t>(round_clamped(x[j] * inverse, -127, 127));
      out.bsums[j / 16] = static_cast<int16_t>(out.bsums[j / 16] + out.qs[j]);
    }
    out.d = 1.0f / inverse;
  }
}

void dequantize_row_q8_k(const void* src, float* y, int64_t n) {
  const auto* blocks = static_cast<const BlockQ8_K*>(src);
  for (int64_t b = 0; b < n / 256; ++b, y += 256) {
    for (int j = 0; j < 256; ++j) y[j] = blocks[b].d * static_cast<float>(blocks[b].qs[j]);
  }
}

}  // namespace lowbit
