#include "formats/lowbit_w8_row.h"

#include <algorithm>
#include <cmath>

namespace lowbit {

void quantize_row_w8_row(const float* src, void* dst, int64_t n) {
  float absmax = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    if (std::isfinite(src[i])) absmax = std::max(absmax, std::abs(src[i]));
  }
  const float d = absmax / 127.0f;
  const float inverse = d > 0.0f ? 1.0f / d : 0.0f;
  auto* blocks = static_cast<BlockW8Row*>(dst);
  for (int64_t b = 0; b < n / kW8RowBlock; ++b) {
    blocks[b].d = d;
    for (int64_t j = 0; j < kW8RowBlock; ++j) {
      const float x = src[b * kW8RowBlock + j];
      const float code = std::isfinite(x) ? std::nearbyint(x * inverse) : 0.0f;
      blocks[b].qs[j] = static_cast<int8_t>(std::clamp(code, -127.0f, 127.0f));
    }
  }
}

void dequantize_row_w8_row(const void* src, float* dst, int64_t n) {
  const auto* blocks = static_cast<const BlockW8Row*>(src);
  for (int64_t b = 0; b < n / kW8RowBlock; ++b) {
    for (int64_t j = 0; j < kW8RowBlock; ++j) dst[b * kW8RowBlock + j] = blocks[b].d * static_cast<float>(blocks[b].qs[j]);
  }
}

}  // namespace lowbit
