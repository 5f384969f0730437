// The AVX-512 decode kernel (kernels/gemv_kernels.h) for lowbit's 4-bit, 32-element group formats
// (lb_i4_sym_g32, lb_i4_asym_g32; layout in formats/lowbit_int.h): four blocks per step, read as Q4_0's
// are on Intel cores (x86/gemv_x86.h's block_loads: an unaligned load per block's codes, the FP16 scales
// by scalar loads). Include only from kernels/avx512/; everything here has internal linkage.
//
// A block's elements are S (u - zu) (u the stored code, zu the zero code), its activation block Q8_1
// (d, s = d Σq, codes q), so the block adds S (d (u . q) - zu s), as the scalar reference does
// (kernels/scalar/dot_scalar.cpp). Byte i of a block's codes holds element 2i in its low nibble and
// 2i + 1 in its high one, so the low nibbles of the four blocks make one code vector (even elements)
// and the high nibbles another (odd elements), the activations laid out to match.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstring>

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
  static_assert(F.bits == 4 && F.group == 32 && !F.per_row);
  struct Block {
    uint8_t bytes[lowbit_int_block_bytes(F)];  // FP16 S first, as block_scale_halves reads it
  };
  static constexpr int kBlocks = 4;
  static constexpr int kBlockLanes = kCodeLanes / kBlocks;
  static constexpr int kGroupBytes = kBlocks * sizeof(Block);

  // Per group: codes (2 x 64 bytes: even elements of blocks 0-3, then odd ones), and per lane the
  // activation block's d (scales) and its s in the block's first lane, 0 in the others (sums, float bits).
  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    const int64_t groups = cols / (32 * kBlocks);
    out.codes.resize(static_cast<size_t>(groups * 2 * 64));
    out.sums.assign(static_cast<size_t>(groups * kCodeLanes), 0);
    out.scales.resize(static_cast<size_t>(groups * kCodeLanes));
    const auto* blocks = reinterpret_cast<const BlockQ8_1*>(quantized);
    for (int64_t g = 0; g < groups; ++g) {
      int8_t* codes = out.codes.data() + g * 128;
      for (int b = 0; b < kBlocks; ++b) {
        const BlockQ8_1& a = blocks[g * kBlocks + b];
        for (int i = 0; i < 16; ++i) {
          codes[16 * b + i] = a.qs[2 * i];
          codes[64 + 16 * b + i] = a.qs[2 * i + 1];
        }
        const float s = half_to_float(a.s);
        std::memcpy(&out.sums[g * kCodeLanes + kBlockLanes * b], &s, sizeof s);
        for (int lane = 0; lane < kBlockLanes; ++lane) out.scales[g * kCodeLanes + kBlockLanes * b + lane] = half_to_float(a.d);
      }
    }
  }

  // The zero codes of the group's blocks as floats, one per lane.
  static __m512 zero_codes(const uint8_t* group) {
    if (F.symmetric) return _mm512_set1_ps(static_cast<float>(1 << (F.bits - 1)));
    uint32_t packed = 0;
    for (int b = 0; b < kBlocks; ++b) packed |= static_cast<uint32_t>(group[b * sizeof(Block) + 2]) << (8 * b);
    // 128-bit lane b (int32 lanes 4b .. 4b + 3) takes byte b of the word into each int32's low byte.
    alignas(64) static constexpr auto kSpread = [] {
      std::array<uint8_t, 64> spread{};
      for (int byte = 0; byte < 64; ++byte) spread[byte] = byte % 4 == 0 ? static_cast<uint8_t>(byte / 16) : 0x80;
      return spread;
    }();
    const __m512i spread = _mm512_load_si512(kSpread.data());
    return _mm512_cvtepi32_ps(_mm512_shuffle_epi8(_mm512_set1_epi32(static_cast<int32_t>(packed)), spread));
  }

  static __m512i load_codes(const uint8_t* group) {
    const auto block_codes = [group](int k) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(group + k * sizeof(Block) + lowbit_int_codes_offset(F)));
    };
    __m512i bytes = _mm512_castsi128_si512(block_codes(0));
    bytes = _mm512_inserti32x4(bytes, block_codes(1), 1);
    bytes = _mm512_inserti32x4(bytes, block_codes(2), 2);
    return _mm512_inserti32x4(bytes, block_codes(3), 3);
  }

  static void multiply(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                       const GemvActivations& a, float* y) {
    const __m256i spread = load_scale_spread<LowbitInt4Gemv>();
    const __m512i low_nibbles = _mm512_set1_epi8(15);
    const int64_t groups = cols / (32 * kBlocks);
    for (int64_t r = 0; r < row_count; ++r) {
      const uint8_t* row = weight_rows + r * row_bytes;
      __m512 acc = _mm512_setzero_ps(), other_acc = _mm512_setzero_ps();
      for (int64_t g = 0; g < groups; ++g) {
        const uint8_t* group = row + g * kGroupBytes;
        prefetch_ahead(group, kGroupBytes);
        const __m512i bytes = load_codes(group);
        const int8_t* activation_codes = a.codes.data() + g * 128;
        __m512i dots = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_and_si512(bytes, low_nibbles),
                                           _mm512_load_si512(activation_codes));
        dots = _mm512_dpbusd_epi32(dots, _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_nibbles),
                                   _mm512_load_si512(activation_codes + 64));
        const __m512 s = _mm512_castsi512_ps(_mm512_load_si512(a.sums.data() + g * kCodeLanes));
        const __m512 block_sums = _mm512_fmsub_ps(_mm512_cvtepi32_ps(dots), _mm512_load_ps(a.scales.data() + g * kCodeLanes),
                                                  _mm512_mul_ps(zero_codes(group), s));
        acc = _mm512_fmadd_ps(block_sums, _mm512_cvtph_ps(block_scale_halves<LowbitInt4Gemv>(group, spread)), acc);
        std::swap(acc, other_acc);
      }
      y[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc, other_acc));
    }
  }

  static constexpr GemvKernel kKernel = {TensorType::Q8_1, 32 * kBlocks, 1, prepare, multiply};
};

// The kernel for lowbit integer type `weight`; nullptr for the formats without one.
const GemvKernel* find_lowbit_int_gemv(TensorType weight) {
  return find_lowbit_int_kernel(weight, []<LowbitIntFormat F>() -> const GemvKernel* {
    if constexpr (F.bits == 4 && F.group == 32 && !F.per_row) {
      return &LowbitInt4Gemv<F>::kKernel;
    } else {
      return nullptr;
    }
  });
}

}  // namespace
}  // namespace lowbit
