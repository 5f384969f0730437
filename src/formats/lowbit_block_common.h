// What lowbit's own block formats (lowbit_int.h, lowbit_codebook.h, lowbit_fp8.h) share: type ids,
// unaligned little-endian scale fields, and the FP16 storage rule for scales.
//
// Blocks of these formats are packed byte strings without padding, so a block may start at any byte
// offset: scale fields are read and written with memcpy, never through a typed pointer.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/half.h"
#include "core/tensor.h"

namespace lowbit {

// A lowbit format's id: kLowbitTypeBase + offset. Ids are stored in files, so a row's offset never
// changes once released; new formats take new offsets.
constexpr TensorType lowbit_type(uint32_t offset) { return static_cast<TensorType>(kLowbitTypeBase + offset); }

inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store_f32(uint8_t* p, float v) { std::memcpy(p, &v, sizeof v); }
inline float load_f16(const uint8_t* p) {
  uint16_t bits;
  std::memcpy(&bits, p, sizeof bits);
  return fp16_to_fp32(bits);
}
inline void store_f16(uint8_t* p, float v) {
  const uint16_t bits = fp32_to_fp16(v);
  std::memcpy(p, &bits, sizeof bits);
}

// A scale as an FP16 field stores it, by quant/quant_input.h's round_scale_to_storage rule: a positive
// scale too small for FP16 becomes the smallest subnormal (never 0, which would zero the block). Unlike
// the numeric core, which reports a scale above the FP16 maximum, a block converter cannot fail (it
// runs inside the quantizer's parallel loop), so such a scale saturates at 65504 and the block's
// largest values are clipped.
inline float round_scale_to_f16(float scale) {
  constexpr float kF16Max = 65504.0f;
  if (!(scale <= kF16Max)) return kF16Max;  // also catches +inf
  const float stored = fp16_to_fp32(fp32_to_fp16(scale));
  constexpr uint16_t kSmallestSubnormal = 0x0001;
  if (stored == 0.0f && scale > 0.0f) return fp16_to_fp32(kSmallestSubnormal);
  return stored;
}

}  // namespace lowbit
