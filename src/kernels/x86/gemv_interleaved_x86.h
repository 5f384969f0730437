// The AVX-512 decode kernels (kernels/gemv_kernels.h) for the interleaved layouts lb_q4_0x16, lb_q4_kx2
// and lb_q8_0x16 (formats/lowbit_q4_0x16.h, lowbit_q4_kx2.h, lowbit_q8_0x16.h). Per 512-weight block,
// four 64-byte loads of nibbles, each split into its low and high nibbles by one AND apiece (or eight
// loads of bytes, each with its sign bit flipped), and eight u8 x s8 dot products that leave one
// 32-code group's sum (a Q4_0 or Q8_0 block, a Q4_K sub-block) in each int32 lane; then one scaling of
// the 16 lanes. lb_q4_0x16 takes about 23 vector operations per 288 bytes where the Q4_0 kernel
// (x86/gemv_x86.h) takes about 15 per 72: with rows in L2 one core ran 47 GB/s against 19-22, and two
// threads streaming from DRAM read 29-31 GB/s, as fast as a plain read loop, against 25-27 (Intel VM).
// Include only from kernels/avx512/; as in x86/dot_x86.h, everything here has internal linkage.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "formats/ggml_q8_0.h"
#include "formats/ggml_q8_k.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

constexpr int kInterleavedGroups = 16;  // 32-code groups per 512-weight block, one per int32 lane
constexpr int kInterleavedBlock = 512;

// One block's activation codes in the order of the weight codes, element e of group s at
// interleaved_byte(s, e) (formats/layout_conversion.h): vector v lane s holds elements 4v..4v+3 of group
// s. The nibble layouts' vector v (< 4) thus meets their low nibbles (elements 4v..4v+3) and vector
// 4 + v their high ones (16+4v..16+4v+3). group(s) points to group s's 32 codes; they move four at a
// time (decode lays out every product's activations while the other threads wait).
template <typename Group>
void interleave_activation_codes(int8_t* codes, const Group& group) {
  for (int s = 0; s < kInterleavedGroups; ++s) {
    const int8_t* source = group(s);
    for (int k = 0; k < 8; ++k) std::memcpy(codes + interleaved_byte(s, 4 * k), source + 4 * k, 4);
  }
}

// Per lane s, start plus group s's codes (the block's 256 interleaved bytes at qs) dotted with its
// activation codes (laid out by interleave_activation_codes). The high nibbles are multiplied in place
// (16 times their value: an AND instead of a shift and an AND) and their sums shifted back once: they are
// exact multiples of 16.
inline __m512i interleaved_dots(const uint8_t* qs, const int8_t* codes, __m512i start) {
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
  const __m512i high_nibbles = _mm512_set1_epi8(static_cast<char>(0xf0));
  __m512i low = start, high = _mm512_setzero_si512();
  for (int v = 0; v < 4; ++v) {
    const __m512i packed = _mm512_loadu_si512(qs + 64 * v);
    low = _mm512_dpbusd_epi32(low, _mm512_and_si512(packed, low_nibbles), _mm512_load_si512(codes + 64 * v));
    high = _mm512_dpbusd_epi32(high, _mm512_and_si512(packed, high_nibbles), _mm512_load_si512(codes + 256 + 64 * v));
  }
  return _mm512_add_epi32(low, _mm512_srai_epi32(high, 4));
}

// The same for lb_q8_0x16's signed codes (eight 64-byte vectors), made unsigned by adding 128 (a sign-bit
// flip): start must take 128 times each group's sum of activations back out.
inline __m512i interleaved_byte_dots(const int8_t* qs, const int8_t* codes, __m512i start) {
  const __m512i sign_bits = _mm512_set1_epi8(static_cast<char>(0x80));
  __m512i even = start, odd = _mm512_setzero_si512();
  for (int v = 0; v < 8; v += 2) {
    even = _mm512_dpbusd_epi32(even, _mm512_xor_si512(_mm512_loadu_si512(qs + 64 * v), sign_bits),
                               _mm512_load_si512(codes + 64 * v));
    odd = _mm512_dpbusd_epi32(odd, _mm512_xor_si512(_mm512_loadu_si512(qs + 64 * v + 64), sign_bits),
                              _mm512_load_si512(codes + 64 * v + 64));
  }
  return _mm512_add_epi32(even, odd);
}

// y[r] = sum over the row's blocks of add_block(block, b, acc) (acc: 16 float lanes, summed at the end).
template <typename Block, typename AddBlock>
void multiply_interleaved_rows(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                               float* y, const AddBlock& add_block) {
  const int64_t blocks = cols / kInterleavedBlock;
  for (int64_t r = 0; r < row_count; ++r) {
    const auto* w = reinterpret_cast<const Block*>(weight_rows + static_cast<size_t>(r) * row_bytes);
    __m512 acc = _mm512_setzero_ps();
    for (int64_t b = 0; b < blocks; ++b) {
      prefetch_ahead(reinterpret_cast<const uint8_t*>(&w[b]), sizeof(Block));
      acc = add_block(w[b], b, acc);
    }
    y[r] = _mm512_reduce_add_ps(acc);
  }
}

// Q8_0 activations for the legacy layouts (lb_q4_0x16, lb_q8_0x16): per block the interleaved codes, and
// per lane (Q8_0 block) in sums the weight format's offset times the block's sum of codes (offset: -8
// for Q4_0's q + 8, -128 for the sign-bit flip of Q8_0's codes), in scales the block's scale.
inline void prepare_legacy_interleaved(const uint8_t* quantized, int64_t cols, int32_t offset, GemvActivations& out) {
  const int64_t blocks = cols / kInterleavedBlock;
  out.codes.resize(static_cast<size_t>(blocks * kInterleavedBlock));
  out.sums.resize(static_cast<size_t>(blocks * kInterleavedGroups));
  out.scales.resize(static_cast<size_t>(blocks * kInterleavedGroups));
  const auto* a = reinterpret_cast<const BlockQ8_0*>(quantized);
  for (int64_t b = 0; b < blocks; ++b) {
    const BlockQ8_0* group = a + b * kInterleavedGroups;
    interleave_activation_codes(out.codes.data() + b * kInterleavedBlock,
                                [group](int s) { return group[s].qs; });
    for (int s = 0; s < kInterleavedGroups; ++s) {
      int32_t sum = 0;
      for (int8_t code : group[s].qs) sum += code;
      out.sums[b * kInterleavedGroups + s] = offset * sum;
      out.scales[b * kInterleavedGroups + s] = half_to_float(group[s].d);
    }
  }
}

// acc plus the 16 lanes' dots times their weight blocks' FP16 scales and their activation scales.
inline __m512 add_scaled_dots(__m512i dots, const uint16_t* weight_scales, const float* activation_scales, __m512 acc) {
  const __m512 weight = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(weight_scales)));
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), _mm512_mul_ps(weight, _mm512_load_ps(activation_scales)), acc);
}

// lb_q4_0x16 (offset 8, the stored q + 8) and lb_q8_0x16 (offset 128, the sign-bit flip) times Q8_0
// activations, laid out by prepare_legacy_interleaved.
template <typename Block, int kOffset>
struct LegacyInterleavedGemv {
  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    prepare_legacy_interleaved(quantized, cols, -kOffset, out);
  }

  static void multiply(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                       const GemvActivations& a, float* y) {
    const auto add_block = [&](const Block& block, int64_t b, __m512 acc) {
      const int8_t* codes = a.codes.data() + b * kInterleavedBlock;
      const __m512i offsets = _mm512_load_si512(a.sums.data() + b * kInterleavedGroups);
      __m512i dots;
      if constexpr (std::is_same_v<Block, BlockQ8_0x16>) {
        dots = interleaved_byte_dots(block.qs, codes, offsets);
      } else {
        dots = interleaved_dots(block.qs, codes, offsets);
      }
      return add_scaled_dots(dots, block.d, a.scales.data() + b * kInterleavedGroups, acc);
    };
    multiply_interleaved_rows<Block>(weight_rows, row_bytes, row_count, cols, y, add_block);
  }

  static constexpr GemvKernel kKernel{TensorType::Q8_0, kInterleavedBlock, alignof(Block), prepare, multiply};
};

using Q4_0x16Gemv = LegacyInterleavedGemv<BlockQ4_0x16, 8>;
using Q8_0x16Gemv = LegacyInterleavedGemv<BlockQ8_0x16, 128>;

// lb_q4_kx2 times Q8_K activations (two super-blocks per block). Per lane (Q4_K sub-block): sums holds the
// sub-block's sum of activation codes (what its min code multiplies), scales its super-block's
// activation scale. Per block, with d, dmin, scale and min codes per lane,
//   acc += d * scale * a_scale * (codes . a) - dmin * min * a_scale * (sum of a).
struct Q4_Kx2Gemv {
  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    const int64_t blocks = cols / kInterleavedBlock;
    out.codes.resize(static_cast<size_t>(blocks * kInterleavedBlock));
    out.sums.resize(static_cast<size_t>(blocks * kInterleavedGroups));
    out.scales.resize(static_cast<size_t>(blocks * kInterleavedGroups));
    const auto* a = reinterpret_cast<const BlockQ8_K*>(quantized);
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockQ8_K* pair = a + 2 * b;
      interleave_activation_codes(out.codes.data() + b * kInterleavedBlock,
                                  [pair](int s) { return pair[s / 8].qs + 32 * (s % 8); });
      for (int s = 0; s < kInterleavedGroups; ++s) {
        const BlockQ8_K& half = pair[s / 8];
        out.sums[b * kInterleavedGroups + s] = half.bsums[2 * (s % 8)] + half.bsums[2 * (s % 8) + 1];
        out.scales[b * kInterleavedGroups + s] = half.d;
      }
    }
  }

  static void multiply(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                       const GemvActivations& a, float* y) {
    // Lanes 0-7 take super-block 0's d (or dmin), lanes 8-15 super-block 1's, from [d0, d1, dmin0, dmin1].
    const __m512i d_lanes = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i dmin_lanes = _mm512_add_epi32(d_lanes, _mm512_set1_epi32(2));
    multiply_interleaved_rows<BlockQ4_Kx2>(weight_rows, row_bytes, row_count, cols, y,
                                          [&](const BlockQ4_Kx2& block, int64_t b, __m512 acc) {
      const __m512i dots =
          interleaved_dots(block.qs, a.codes.data() + b * kInterleavedBlock, _mm512_setzero_si512());
      __m128i scale_codes, min_codes;
      unpack_q4_kx2_codes(block.scales, scale_codes, min_codes);
      const __m512 d_dmin = _mm512_castps128_ps512(
          _mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(block.scales.d))));
      const __m512 activation_scales = _mm512_load_ps(a.scales.data() + b * kInterleavedGroups);
      const __m512 d = _mm512_mul_ps(_mm512_permutexvar_ps(d_lanes, d_dmin), activation_scales);
      const __m512 dmin = _mm512_mul_ps(_mm512_permutexvar_ps(dmin_lanes, d_dmin), activation_scales);
      // A min code (< 64) times a sub-block's sum (|sum| < 2^15) in one 16-bit multiply-add.
      const __m512i min_products =
          _mm512_madd_epi16(_mm512_cvtepu8_epi32(min_codes), _mm512_load_si512(a.sums.data() + b * kInterleavedGroups));
      acc = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(min_products), dmin, acc);
      const __m512 scales = _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(scale_codes)));
      return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), scales, acc);
    });
  }

  static constexpr GemvKernel kKernel{TensorType::Q8_K, kQ4_Kx2Block, alignof(BlockQ4_Kx2), prepare, multiply};
};

}  // namespace
}  // namespace lowbit
