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
// Per-channel variants (per_row; names lb_i<bits>_<sym|asym>_row): ONE scale and zero point per row,
// chosen from the whole row (the n elements a converter is given; the quantize pipeline, GPTQ and AWQ
// pass whole rows), stored in every block of the row in the group-64 layout above. The repetition
// costs what group 64 costs (0.375 bit per weight asymmetric, 0.25 symmetric) but keeps the format an
// ordinary block type every generic path reads without a companion per-row tensor.
//
// Non-finite inputs are stored as 0 (the converters cannot report errors; see lowbit_block_common.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "formats/lowbit_block_common.h"
#include "formats/type_traits.h"
#include "formats/weighted_search.h"

namespace lowbit {

struct LowbitIntFormat {
  int bits;         // 2..8
  bool symmetric;
  int64_t group;    // elements per block; a multiple of 8
  bool per_row = false;  // one scale and zero point for the whole row, repeated in each block
};

inline constexpr int64_t kLowbitIntRowBlock = 64;  // block size of the per_row formats

// Where a block's codes start: after the FP16 scale and, when asymmetric, the zero code.
constexpr size_t lowbit_int_codes_offset(LowbitIntFormat f) { return f.symmetric ? 2 : 3; }

// A block's zero code zu = Z - qmin, so that an element is S * (u - zu) for its stored code u = q - qmin:
// stored after the scale when asymmetric; 2^(bits-1) (Z = 0) when symmetric.
constexpr int lowbit_int_zero_code(LowbitIntFormat f, const uint8_t* block) {
  return f.symmetric ? 1 << (f.bits - 1) : block[2];
}

constexpr size_t lowbit_int_block_bytes(LowbitIntFormat f) {
  return lowbit_int_codes_offset(f) + static_cast<size_t>(f.group * f.bits / 8);
}

// Every lowbit integer type. The type table (type_traits.cpp), the block grids and the kernels take
// their rows from this list, so a new format is one line here. Ids are stored in files: never
// renumber an entry (lowbit_type offsets 0-35: groups, 112-127: per row; type_traits.cpp).
struct LowbitIntType {
  TensorType type;
  const char* name;
  LowbitIntFormat format;
};

inline constexpr bool kSymmetric = true, kAsymmetric = false;

inline constexpr LowbitIntType kLowbitIntTypes[] = {
    {lowbit_type(0), "lb_i2_sym_g32", {2, kSymmetric, 32}},
    {lowbit_type(1), "lb_i2_asym_g32", {2, kAsymmetric, 32}},
    {lowbit_type(2), "lb_i3_sym_g32", {3, kSymmetric, 32}},
    {lowbit_type(3), "lb_i3_asym_g32", {3, kAsymmetric, 32}},
    {lowbit_type(4), "lb_i4_sym_g32", {4, kSymmetric, 32}},
    {lowbit_type(5), "lb_i4_asym_g32", {4, kAsymmetric, 32}},
    {lowbit_type(6), "lb_i5_sym_g32", {5, kSymmetric, 32}},
    {lowbit_type(7), "lb_i5_asym_g32", {5, kAsymmetric, 32}},
    {lowbit_type(8), "lb_i6_sym_g32", {6, kSymmetric, 32}},
    {lowbit_type(9), "lb_i6_asym_g32", {6, kAsymmetric, 32}},
    {lowbit_type(10), "lb_i8_sym_g32", {8, kSymmetric, 32}},
    {lowbit_type(11), "lb_i8_asym_g32", {8, kAsymmetric, 32}},
    {lowbit_type(12), "lb_i2_sym_g64", {2, kSymmetric, 64}},
    {lowbit_type(13), "lb_i2_asym_g64", {2, kAsymmetric, 64}},
    {lowbit_type(14), "lb_i3_sym_g64", {3, kSymmetric, 64}},
    {lowbit_type(15), "lb_i3_asym_g64", {3, kAsymmetric, 64}},
    {lowbit_type(16), "lb_i4_sym_g64", {4, kSymmetric, 64}},
    {lowbit_type(17), "lb_i4_asym_g64", {4, kAsymmetric, 64}},
    {lowbit_type(18), "lb_i5_sym_g64", {5, kSymmetric, 64}},
    {lowbit_type(19), "lb_i5_asym_g64", {5, kAsymmetric, 64}},
    {lowbit_type(20), "lb_i6_sym_g64", {6, kSymmetric, 64}},
    {lowbit_type(21), "lb_i6_asym_g64", {6, kAsymmetric, 64}},
    {lowbit_type(22), "lb_i8_sym_g64", {8, kSymmetric, 64}},
    {lowbit_type(23), "lb_i8_asym_g64", {8, kAsymmetric, 64}},
    {lowbit_type(24), "lb_i2_sym_g128", {2, kSymmetric, 128}},
    {lowbit_type(25), "lb_i2_asym_g128", {2, kAsymmetric, 128}},
    {lowbit_type(26), "lb_i3_sym_g128", {3, kSymmetric, 128}},
    {lowbit_type(27), "lb_i3_asym_g128", {3, kAsymmetric, 128}},
    {lowbit_type(28), "lb_i4_sym_g128", {4, kSymmetric, 128}},
    {lowbit_type(29), "lb_i4_asym_g128", {4, kAsymmetric, 128}},
    {lowbit_type(30), "lb_i5_sym_g128", {5, kSymmetric, 128}},
    {lowbit_type(31), "lb_i5_asym_g128", {5, kAsymmetric, 128}},
    {lowbit_type(32), "lb_i6_sym_g128", {6, kSymmetric, 128}},
    {lowbit_type(33), "lb_i6_asym_g128", {6, kAsymmetric, 128}},
    {lowbit_type(34), "lb_i8_sym_g128", {8, kSymmetric, 128}},
    {lowbit_type(35), "lb_i8_asym_g128", {8, kAsymmetric, 128}},
    {lowbit_type(112), "lb_i2_sym_row", {2, kSymmetric, kLowbitIntRowBlock, true}},
    {lowbit_type(113), "lb_i2_asym_row", {2, kAsymmetric, kLowbitIntRowBlock, true}},
    {lowbit_type(114), "lb_i3_sym_row", {3, kSymmetric, kLowbitIntRowBlock, true}},
    {lowbit_type(115), "lb_i3_asym_row", {3, kAsymmetric, kLowbitIntRowBlock, true}},
    {lowbit_type(116), "lb_i4_sym_row", {4, kSymmetric, kLowbitIntRowBlock, true}},
    {lowbit_type(117), "lb_i4_asym_row", {4, kAsymmetric, kLowbitIntRowBlock, true}},
};

// The format of `type`; nullopt for a type that is not a lowbit integer type.
constexpr std::optional<LowbitIntFormat> lowbit_int_format(TensorType type) {
  for (const LowbitIntType& entry : kLowbitIntTypes) {
    if (entry.type == type) return entry.format;
  }
  return std::nullopt;
}

// n is a multiple of f.group. Per-group parameters, or for f.per_row one set from all n elements.
void quantize_row_lowbit_int(LowbitIntFormat f, const float* src, void* dst, int64_t n);
void dequantize_row_lowbit_int(LowbitIntFormat f, const void* src, float* dst, int64_t n);

// n elements (f.group of them, or a whole row for f.per_row) with ONE set of parameters found by the
// weighted scale search of formats/weighted_search.h, w[0..n); writes n / f.group blocks.
void search_lowbit_int(LowbitIntFormat f, const float* src, const float* w, void* dst, int64_t n);

template <LowbitIntFormat F>
void quantize_row_lowbit_int(const float* src, void* dst, int64_t n) {
  quantize_row_lowbit_int(F, src, dst, n);
}
template <LowbitIntFormat F>
void dequantize_row_lowbit_int(const void* src, float* dst, int64_t n) {
  dequantize_row_lowbit_int(F, src, dst, n);
}

// Importance-weighted (TypeTraits::from_float_weighted): per group (per row for F.per_row) the
// weighted search's parameters or the min-max ones, whichever has the smaller sum importance *
// error^2; importance[0..n).
template <LowbitIntFormat F>
void quantize_row_lowbit_int_weighted(const float* src, const float* importance, void* dst, int64_t n) {
  const int64_t unit = F.per_row && n > 0 ? n : F.group;  // elements sharing one set of parameters
  const WeightedQuantizer quantizer{unit, static_cast<size_t>(unit / F.group) * lowbit_int_block_bytes(F),
                                    quantize_row_lowbit_int<F>, dequantize_row_lowbit_int<F>,
                                    [](const float* x, const float* w, void* blocks, int64_t count) {
                                      search_lowbit_int(F, x, w, blocks, count);
                                    }};
  quantize_row_weighted(quantizer, src, importance, dst, n);
}

// The type table's row for format F under `type`, named `name`.
template <LowbitIntFormat F>
constexpr TypeTraits lowbit_int_traits(TensorType type, const char* name) {
  static_assert(F.bits >= 2 && F.bits <= 8 && F.group > 0 && F.group * F.bits % 8 == 0);
  return TypeTraits{type, name, F.group, lowbit_int_block_bytes(F), true, dequantize_row_lowbit_int<F>,
                    quantize_row_lowbit_int<F>, quantize_row_lowbit_int_weighted<F>};
}

}  // namespace lowbit
