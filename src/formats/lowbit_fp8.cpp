#include "formats/lowbit_fp8.h"

#include <algorithm>
#include <cmath>

#include "core/fp8.h"
#include "formats/lowbit_block_common.h"

namespace lowbit {
namespace {

struct Fp8Codec {
  uint8_t (*encode)(float, bool saturate);
  float (*decode)(uint8_t);
  float max;
};

Fp8Codec codec_of(LowbitFp8Format f) {
  if (f == LowbitFp8Format::E4M3) return {fp32_to_fp8_e4m3, fp8_e4m3_to_fp32, kFp8E4m3Max};
  return {fp32_to_fp8_e5m2, fp8_e5m2_to_fp32, kFp8E5m2Max};
}

}  // namespace

void quantize_row_lowbit_fp8(LowbitFp8Format f, const float* src, void* dst, int64_t n) {
  const Fp8Codec codec = codec_of(f);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t first = 0; first < n; first += kLowbitFp8Block, out += kLowbitFp8BlockBytes) {
    float x[kLowbitFp8Block];  // finite copy of the block
    std::transform(src + first, src + first + kLowbitFp8Block, x, [](float r) { return std::isfinite(r) ? r : 0.0f; });
    float absmax = 0;
    for (float v : x) absmax = std::max(absmax, std::abs(v));
    const float scale = absmax / codec.max;
    const float inverse = scale == 0.0f ? 0.0f : 1.0f / scale;
    store_f32(out, scale);
    for (int64_t i = 0; i < kLowbitFp8Block; ++i) out[4 + i] = codec.encode(x[i] * inverse, /*saturate=*/true);
  }
}

void dequantize_row_lowbit_fp8(LowbitFp8Format f, const void* src, float* dst, int64_t n) {
  const Fp8Codec codec = codec_of(f);
  const auto* in = static_cast<const uint8_t*>(src);
  for (int64_t first = 0; first < n; first += kLowbitFp8Block, in += kLowbitFp8BlockBytes) {
    const float scale = load_f32(in);
    for (int64_t i = 0; i < kLowbitFp8Block; ++i) dst[first + i] = scale * codec.decode(in[4 + i]);
  }
}

}  // namespace lowbit
