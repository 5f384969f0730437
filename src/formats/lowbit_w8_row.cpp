#include "formats/lowbit_w8_row.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace lowbit {

void quantize_row_w8_row(const float* src, void* dst, int64_t n) {
  float absmax = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(src[i])) absmax = std::max(absmax, std::abs(src[i]));
  }
  const float d = absmax / 127.0f;
  const float inverse = d > 0.0f ? 1.0f / d : 0.0f;
  // Blocks are copied in and out byte-wise: a converter may be handed any address (a block is 68 bytes).
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t b = 0; b < n / kW8RowBlock; ++b) {
    BlockW8Row block;
    block.d = d;
    for (int64_t j = 0; j < kW8RowBlock; ++j) {
      const float x = src[b * kW8RowBlock + j];
      const float code = std::isfinite(x) ? std::nearbyint(x * inverse) : 0.0f;
      block.qs[j] = static_cast<int8_t>(std::clamp(code, -127.0f, 127.0f));
    }
    std::memcpy(out + b * sizeof(BlockW8Row), &block, sizeof(BlockW8Row));
  }
}

void dequantize_row_w8_row(const void* src, float* dst, int64_t n) {
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t b = 0; b < n / kW8RowBlock; ++b) {
    BlockW8Row block;
    std::memcpy(&block, in + b * sizeof(BlockW8Row), sizeof(BlockW8Row));
    for (int64_t j = 0; j < kW8RowBlock; ++j) dst[b * kW8RowBlock + j] = block.d * static_cast<float>(block.qs[j]);
  }
}

}  // namespace lowbit
