#include "core/half.h"


namespace lowbit {

uint16_t fp32_to_fp16(float value) {
  const uint32_t f = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((f >> 16) & 0x8000u);
  const uint32_t abs = f & 0x7fffffffu;
  if (abs >= 0x7f800000u) {  // Inf or NaN
    if (abs == 0x7f800000u) return sign | 0x7c00u;
    return static_cast<uint16_t>(sign | 0x7e00u | ((abs >> 13) & 0x3ffu));
  }
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: overflow to Inf
  if (abs < 0x38800000u) {                         // below FP16's smallest normal 2^-14: subnormal
    // Shift the 24-bit significand (implicit bit included) into the subnormal position, round half to even.
    const int exponent = static_cast<int>(abs >> 23);
    if (exponent < 102) return sign;  // < 2^-25: rounds to zero (2^-25 exactly is a tie to even 0)
    const uint32_t mantissa = (abs & 0x7fffffu) | 0x800000u;
    const int shift = 126 - exponent;  // 14..24
    const uint32_t half_bits = mantissa >> shift;
    const uint32_t remainder = mantissa & ((1u << shift) - 1);
    const uint32_t halfway = 1u << (shift - 1);
    const bool round_up = remainder > halfway || (remainder == halfway && (half_bits & 1u));
    return static_cast<uint16_t>(sign | (half_bits + (round_up ? 1 : 0)));
  }
  // Normal: re-bias the exponent (127 -> 15) and round the mantissa from 23 to 10 bits; a carry out of the
  // mantissa correctly bumps the exponent (and reaches Inf only above the overflow threshold handled above).
  const uint32_t rebased = abs - (112u << 23);
  const uint32_t remainder = rebased & 0x1fffu;
  uint32_t half_bits = rebased >> 13;
  if (remainder > 0x1000u || (remainder == 0x1000u && (half_bits & 1u))) ++half_bits;
  return static_cast<uint16_t>(sign | half_bits);
}

float fp16_to_fp32(uint16_t bits) {
  const uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  const uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t f;
  if (exponent == 0x1fu) {
    f = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    f = sign | ((exponent + 112u) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    f = sign;
  } else {  // subnormal: normalize
    int e = -1;
    do {
      ++e;
      mantissa <<= 1;
    } while ((mantissa & 0x400u) == 0);
    f = sign | ((112u - static_cast<uint32_t>(e)) << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(f);
}

uint16_t fp32_to_bf16(float value) {
  const uint32_t f = std::bit_cast<uint32_t>(value);
  if ((f & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((f >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounding = 0x7fffu + ((f >> 16) & 1u);
  return static_cast<uint16_t>((f + rounding) >> 16);
}

}  // namespace lowbit
