#include "formats/ggml_q4_1.h"

#include <algorithm>

#include "core/half.h"
#include "formats/ggml_block_common.h"

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
