// The plain floating-point tensor types: F32, F16, BF16.
#include "formats/float_types.h"

#include <cstring>

#include "core/half.h"

namespace lowbit {

void f32_to_float(const void* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); }
void f32_from_float(const float* src, void* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float)); }

void f16_to_float(const void* src, float* dst, int64_t n) {
  const auto* in = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = fp16_to_fp32(in[i]);
}
void f16_from_float(const float* src, void* dst, int64_t n) {
  auto* out = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_fp16(src[i]);
}

void bf16_to_float(const void* src, float* dst, int64_t n) {
  const auto* in = static_cast<const uint16_t*>(src);
  for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_fp32(in[i]);
}
void bf16_from_float(const float* src, void* dst, int64_t n) {
  auto* out = static_cast<uint16_t*>(dst);
  for (int64_t i = 0; i < n; ++i) out[i] = fp32_to_bf16(src[i]);
}

}  // namespace lowbit
