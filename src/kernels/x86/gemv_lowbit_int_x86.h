// The AVX-512 decode kernel (kernels/gemv_kernels.h) for lowbit's 4-bit formats (lb_i4_<sym|asym>_<g32|
// g64|g128|row>; layout in formats/lowbit_int.h): 128 elements per step (4, 2 or 1 blocks), read as
// Q4_0's are on Intel cores (x86/gemv_x86.h's block_loads: an unaligned load per block's codes, the FP16
// scales by scalar loads). Include only from kernels/avx512/; everything here has internal linkage.
//
// A block's elements are S (u - zu) (u the stored code, zu the zero code), each 32 of them meeting one
// Q8_1 activation block (d, s = d Σq, codes q), so a block adds S Σ (d (u . q) - zu s) over its
// activation blocks, as the scalar reference does (kernels/scalar/dot_scalar.cpp). Byte i of a block's
// codes holds element 2i in its low nibble and 2i + 1 in its high one, so across the step the low
// nibbles make one code vector (even elements) and the high nibbles another (odd elements), the
// activations laid out to match; lane j covers elements 8j .. 8j + 7, activation block j / 4.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstdint>

#include "formats/ggml_q8_1.h"
#include "formats/lowbit_int.h"
#include "kernels/gemv_kernels.h"
#include "kernels/lowbit_int_kernels.h"
#include "kernels/x86/gemv_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

template <LowbitIntFormat F>
struct LowbitInt4Gemv {
  static_assert(F.bits == 4 && 128 % F.group == 0);
  struct Block {
    uint8_t bytes[lowbit_int_block_bytes(F)];  // FP16 S first, as block_scale_halves reads it
  };
  static constexpr int kBlocks = 128 / F.group;
  static constexpr int kBlockLanes = kCodeLanes / kBlocks;
  static constexpr int kGroupBytes = kBlocks * sizeof(Block);

  // Per step of 128 elements: prepare_q8_1_steps with the codes as 2 x 64 bytes, the even elements, then
  // the odd ones.
  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    prepare_q8_1_steps(quantized, cols, out, [](const BlockQ8_1& block, int k, int8_t* codes) {
      for (int i = 0; i < 16; ++i) {
        codes[16 * k + i] = block.qs[2 * i];
        codes[64 + 16 * k + i] = block.qs[2 * i + 1];
      }
    });
  }

  // The zero codes of the group's blocks as floats, one per lane.
  static __m512 zero_codes(const uint8_t* group) {
    if constexpr (F.symmetric) return _mm512_set1_ps(static_cast<float>(lowbit_int_zero_code(F, group)));
    uint32_t packed = 0;
    for (int b = 0; b < kBlocks; ++b) {
      packed |= static_cast<uint32_t>(lowbit_int_zero_code(F, group + b * sizeof(Block))) << (8 * b);
    }
    // 128-bit lane k (int32 lanes 4k .. 4k + 3, all of one block) takes its block's byte of the word into
    // each int32's low byte.
    alignas(64) static constexpr auto kSpread = [] {
      std::array<uint8_t, 64> spread{};
      for (int byte = 0; byte < 64; ++byte) {
        spread[byte] = byte % 4 == 0 ? static_cast<uint8_t>(4 * (byte / 16) / kBlockLanes) : 0x80;
      }
      return spread;
    }();
    const __m512i spread = _mm512_load_si512(kSpread.data());
    return _mm512_cvtepi32_ps(_mm512_shuffle_epi8(_mm512_set1_epi32(static_cast<int32_t>(packed)), spread));
  }

  static __m512i load_codes(const uint8_t* group) {
    const auto codes = [group](int k) { return group + k * sizeof(Block) + lowbit_int_codes_offset(F); };
    if constexpr (kBlocks == 1) {
      return _mm512_loadu_si512(codes(0));
    } else if constexpr (kBlocks == 2) {
      const auto half = [&](int k) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes(k))); };
      return _mm512_inserti64x4(_mm512_castsi256_si512(half(0)), half(1), 1);
    } else {
      const auto quarter = [&](int k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(codes(k))); };
      __m512i bytes = _mm512_castsi128_si512(quarter(0));
      bytes = _mm512_inserti32x4(bytes, quarter(1), 1);
      bytes = _mm512_inserti32x4(bytes, quarter(2), 2);
      return _mm512_inserti32x4(bytes, quarter(3), 3);
    }
  }

  static void multiply(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                       const GemvActivations& a, float* y) {
    const __m256i spread = load_scale_spread<LowbitInt4Gemv>();
    const __m512i low_nibbles = _mm512_set1_epi8(15);
    const auto add_group = [&](const uint8_t* group, int64_t g, __m512 acc) {
      const __m512i bytes = load_codes(group);
      const int8_t* activation_codes = a.codes.data() + g * 128;
      __m512i dots = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(bytes, low_nibbles),
                                         _mm512_load_si512(activation_codes));
      dots = _mm512_dpbusd_epi32(dots, _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_nibbles),
                                 _mm512_load_si512(activation_codes + 64));
      // Per lane d (u . q) - zu s, s only in each activation block's first lane.
      const __m512 s = _mm512_castsi512_ps(_mm512_load_si512(a.sums.data() + g * kCodeLanes));
      const __m512 sums = _mm512_fmsub_ps(_mm512_cvtepi32_ps(dots), _mm512_load_ps(a.scales.data() + g * kCodeLanes),
                                          _mm512_mul_ps(zero_codes(group), s));
      return _mm512_fmadd_ps(sums, _mm512_cvtph_ps(block_scale_halves<LowbitInt4Gemv>(group, spread)), acc);
    };
    multiply_rows_by_groups<kGroupBytes>(weight_rows, row_bytes, row_count, cols / 128, y, add_group);
  }

  static constexpr GemvKernel kKernel = {TensorType::Q8_1, 128, 1, prepare, multiply};
};

// The kernel for lowbit integer type `weight`; nullptr for the formats without one.
const GemvKernel* find_lowbit_int_gemv(TensorType weight) {
  return find_lowbit_int_kernel(weight, []<LowbitIntFormat F>() -> const GemvKernel* {
    if constexpr (F.bits == 4 && 128 % F.group == 0) {
      return &LowbitInt4Gemv<F>::kKernel;
    } else {
      return nullptr;
    }
  });
}

}  // namespace
}  // namespace lowbit
