// lowbit's integer group formats: `bits`-bit linear codes (2..8) for `group` consecutive row elements
// sharing one FP16 scale S and, when asymmetric, one zero point Z. The math is quant/linear.h's with
// the min-max range and signed codes in [qmin, qmax] = [-2^(bits-1), 2^(bits-1) - 1]:
//
//   symmetric:  S = fp16(max|r| / qmax), Z = 0
//   asymmetric: [lo, hi] widened to include 0, S = fp16((hi - lo) / (qmax - qmin)),
//               Z = clamp(round(qmin - lo / S), qmin, qmax)
//   q = clamp(round(r / S + Z), qmin, qmax), r' = S * (q - Z)
//
// so a block dequantizes to exactly what quantize_linear / evaluate_scheme give for the scheme
// "int<bits>-<sym|asym>-g<group>" (tests/formats/test_lowbit_int.cpp checks it).
//
// Block layout (little-endian, no padding), group * bits a multiple of 8:
//   offset 0: uint16 S as FP16
//   offset 2: uint8  Z - qmin                      (asymmetric only)
//   then:     group * bits / 8 bytes of codes q - qmin, formats/bitpack.h's LSB-first bit stream
// Bytes per block: 2 + (asymmetric ? 1 : 0) + group * bits / 8; e.g. lb_i4_asym_g32 = 19 bytes,
// 4.75 bits per weight; lb_i4_sym_g32 = 18 bytes, 4.5 bits per weight.
//
// Non-finite inputs are stored as 0 (the converters cannot report errors; see lowbit_block_common.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/type_traits.h"
#include "formats/weighted_search.h"

namespace lowbit {

struct LowbitIntFormat {
  int bits;         // 2..8
  bool symmetric;
  int64_t group;    // elements per block; a multiple of 8
};

constexpr size_t lowbit_int_block_bytes(LowbitIntFormat f) {
  return 2 + (f.symmetric ? 0 : 1) + static_cast<size_t>(f.group * f.bits / 8);
}

// n is a multiple of f.group.
void quantize_row_lowbit_int(LowbitIntFormat f, const float* src, void* dst, int64_t n);
void dequantize_row_lowbit_int(LowbitIntFormat f, const void* src, float* dst, int64_t n);

// One block of f.group elements by the weighted scale search of formats/weighted_search.h, w[0..group).
void search_block_lowbit_int(LowbitIntFormat f, const float* src, const float* w, void* dst);

template <LowbitIntFormat F>
void quantize_row_lowbit_int(const float* src, void* dst, int64_t n) {
  quantize_row_lowbit_int(F, src, dst, n);
}
template <LowbitIntFormat F>
void dequantize_row_lowbit_int(const void* src, float* dst, int64_t n) {
  dequantize_row_lowbit_int(F, src, dst, n);
}

// Importance-weighted (TypeTraits::from_float_weighted): per block the weighted search's block or the
// min-max one, whichever has the smaller sum importance * error^2; importance[0..n).
template <LowbitIntFormat F>
void quantize_row_lowbit_int_weighted(const float* src, const float* importance, void* dst, int64_t n) {
  constexpr WeightedQuantizer kQuantizer{F.group, lowbit_int_block_bytes(F), quantize_row_lowbit_int<F>,
                                         dequantize_row_lowbit_int<F>,
                                         [](const float* x, const float* w, void* block, int64_t) {
                                           search_block_lowbit_int(F, x, w, block);
                                         }};
  quantize_row_weighted(kQuantizer, src, importance, dst, n);
}

// The type table's row for format F under `type`, named `name`.
template <LowbitIntFormat F>
constexpr TypeTraits lowbit_int_traits(TensorType type, const char* name) {
  static_assert(F.bits >= 2 && F.bits <= 8 && F.group > 0 && F.group * F.bits % 8 == 0);
  return TypeTraits{type, name, F.group, lowbit_int_block_bytes(F), true, dequantize_row_lowbit_int<F>,
                    quantize_row_lowbit_int<F>, quantize_row_lowbit_int_weighted<F>};
}

}  // namespace lowbit
