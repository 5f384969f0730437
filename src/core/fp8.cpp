// FP8 E4M3 / E5M2 <-> FP32. Both formats share one encoder and one decoder parametrized by the bit
// layout; they differ only in which magnitude codes are reserved for Inf and NaN.
#include "core/fp8.h"

#include <algorithm>
#include <bit>

namespace lowbit {
namespace {

// A sign bit plus 7 magnitude bits: (7 - mantissa_bits) exponent bits, then mantissa_bits.
struct Fp8Format {
  int mantissa_bits;
  int bias;
  uint32_t max_finite;  // magnitude code of the largest finite value
  uint32_t infinity;    // magnitude code of Inf, 0 if the format has none
  uint32_t nan;         // magnitude code written for NaN
};

constexpr Fp8Format kE4m3{3, 7, 0x7e, 0, 0x7f};
constexpr Fp8Format kE5m2{2, 15, 0x7b, 0x7c, 0x7e};

constexpr uint32_t kFp32Infinity = 0x7f800000u;
constexpr uint32_t kFp32QuietNan = 0x7fc00000u;

uint8_t encode(float value, bool saturate, const Fp8Format& format) {
  const uint32_t bits = std::bit_cast<uint32_t>(value);
  const uint32_t sign = (bits >> 24) & 0x80u;
  const uint32_t abs = bits & 0x7fffffffu;
  const uint32_t overflow = saturate ? format.max_finite : (format.infinity ? format.infinity : format.nan);
  if (abs > kFp32Infinity) return static_cast<uint8_t>(sign | format.nan);
  if (abs == kFp32Infinity) return static_cast<uint8_t>(sign | overflow);

  // |value| = significand * 2^(exponent - 23); FP32 subnormals have no implicit bit.
  const int exponent_field = static_cast<int>(abs >> 23);
  const uint32_t significand = (abs & 0x7fffffu) | (exponent_field != 0 ? 0x800000u : 0u);
  const int exponent = std::max(exponent_field, 1) - 127;

  // Count |value| in steps of the FP8 spacing at its binade (below the smallest normal binade, the
  // subnormal spacing), rounding half to even.
  const int min_exponent = 1 - format.bias;
  const int binade = std::max(exponent, min_exponent);
  const int shift = 23 - format.mantissa_bits + (binade - exponent);
  if (shift > 24) return static_cast<uint8_t>(sign);  // significand < 2^24: below half a step
  uint32_t steps = significand >> shift;
  const uint32_t remainder = significand & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (remainder > halfway || (remainder == halfway && (steps & 1u))) ++steps;

  // steps < 2^M is a subnormal (exponent field 0); 2^M <= steps <= 2^(M+1) is a normal whose implicit
  // bit lands in the exponent field, so this sum is the code, a rounding carry included.
  const uint32_t magnitude = (static_cast<uint32_t>(binade - min_exponent) << format.mantissa_bits) + steps;
  if (magnitude > format.max_finite) return static_cast<uint8_t>(sign | overflow);
  return static_cast<uint8_t>(sign | magnitude);
}

float decode(uint8_t code, const Fp8Format& format) {
  const uint32_t sign = static_cast<uint32_t>(code & 0x80u) << 24;
  const uint32_t magnitude = code & 0x7fu;
  if (magnitude > format.max_finite) {
    return std::bit_cast<float>(sign | (magnitude == format.infinity ? kFp32Infinity : kFp32QuietNan));
  }
  const int m = format.mantissa_bits;
  const uint32_t exponent_field = magnitude >> m;
  const uint32_t mantissa = magnitude & ((1u << m) - 1);
  if (exponent_field == 0) {  // subnormal: mantissa * 2^(1 - bias - m), exact in FP32
    const float step = std::bit_cast<float>(static_cast<uint32_t>(127 + 1 - format.bias - m) << 23);
    return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(static_cast<float>(mantissa) * step));
  }
  const uint32_t fp32_exponent = exponent_field + static_cast<uint32_t>(127 - format.bias);
  return std::bit_cast<float>(sign | (fp32_exponent << 23) | (mantissa << (23 - m)));
}

}  // namespace

uint8_t fp32_to_fp8_e4m3(float value, bool saturate) { return encode(value, saturate, kE4m3); }
float fp8_e4m3_to_fp32(uint8_t code) { return decode(code, kE4m3); }

uint8_t fp32_to_fp8_e5m2(float value, bool saturate) { return encode(value, saturate, kE5m2); }
float fp8_e5m2_to_fp32(uint8_t code) { return decode(code, kE5m2); }

}  // namespace lowbit
