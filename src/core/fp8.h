// OCP 8-bit floating point (OCP "OFP8" spec v1.0) <-> FP32, bit-exact round-to-nearest-even.
//
//   E4M3 ("E4M3FN"): 1 sign, 4 exponent (bias 7), 3 mantissa bits. No infinities; the only NaNs are
//                    S.1111.111. Largest finite value 448, smallest subnormal 2^-9.
//   E5M2:            1 sign, 5 exponent (bias 15), 2 mantissa bits, IEEE-like: S.11111.00 is Inf,
//                    S.11111.{01,10,11} are NaN. Largest finite value 57344, smallest subnormal 2^-16.
//
// Overflow (a value that rounds above the largest finite value, or an infinity):
//   saturate = true:  clamps to +/-max finite (the OCP "saturating" conversion);
//   saturate = false: NaN for E4M3 (it has no infinity), +/-Inf for E5M2.
// NaN inputs give NaN in both modes (sign kept; E4M3 S.1111.111, E5M2 S.11111.10).
#pragma once

#include <cstdint>

namespace lowbit {

uint8_t fp32_to_fp8_e4m3(float value, bool saturate);
float fp8_e4m3_to_fp32(uint8_t code);

uint8_t fp32_to_fp8_e5m2(float value, bool saturate);
float fp8_e5m2_to_fp32(uint8_t code);

inline constexpr float kFp8E4m3Max = 448.0f;
inline constexpr float kFp8E5m2Max = 57344.0f;

}  // namespace lowbit
