// IEEE 754 binary16 (FP16) and bfloat16 (BF16) <-> FP32, bit-exact: round-to-nearest-even,
// subnormals, signed zeros, infinities, NaN (quiet, sign and top payload bits kept).
#pragma once

#include <bit>
#include <cstdint>

namespace lowbit {

uint16_t fp32_to_fp16(float value);
float fp16_to_fp32(uint16_t bits);

inline float bf16_to_fp32(uint16_t bits) { return std::bit_cast<float>(static_cast<uint32_t>(bits) << 16); }
uint16_t fp32_to_bf16(float value);

}  // namespace lowbit
