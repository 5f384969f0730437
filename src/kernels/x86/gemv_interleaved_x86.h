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
#include <type_traits>

#include "formats/ggml_q8_k.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/gemv_batched_x86.h"
#include "kernels/x86/interleaved_activations_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// A block's codes as the eight u8 vectors that meet activation vectors 0-7 of interleave_activation_codes'
// layout. The nibble layouts' vector v (< 4) holds the low nibbles of their v-th 64 bytes and vector 4 + v
// the high ones in place (16 times their value: an AND instead of a shift and an AND; their sums are
// exact multiples of 16 and shifted back once); lb_q8_0x16's signed bytes get their sign bit flipped
// (made unsigned by adding 128). Unpacked once per block for every token of a batch.
struct BlockCodes {
  __m512i v[8];
};

inline BlockCodes unpack_nibble_codes(const uint8_t* qs) {
  const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
  const __m512i high_nibbles = _mm512_set1_epi8(static_cast<char>(0xf0));
  BlockCodes codes;
  for (int v = 0; v < 4; ++v) {
    const __m512i packed = in_register(_mm512_loadu_si512(qs + 64 * v));
    codes.v[v] = _mm512_and_si512(packed, low_nibbles);
    codes.v[4 + v] = _mm512_and_si512(packed, high_nibbles);
  }
  return codes;
}

inline BlockCodes unpack_byte_codes(const int8_t* qs) {
  const __m512i sign_bits = _mm512_set1_epi8(static_cast<char>(0x80));
  BlockCodes codes;
  for (int v = 0; v < 8; ++v) codes.v[v] = _mm512_xor_si512(_mm512_loadu_si512(qs + 64 * v), sign_bits);
  return codes;
}

// Per lane s, start plus group s's weight codes dotted with its activation codes (two chains of four
// dot products; kHighNibbles: the second chain's sums are 16 times too large).
template <bool kHighNibbles>
__m512i block_dots(const BlockCodes& weights, const int8_t* codes, __m512i start) {
  __m512i first = start, second = _mm512_setzero_si512();
  for (int v = 0; v < 4; ++v) {
    first = _mm512_dpbusd_epi32(first, weights.v[v], _mm512_load_si512(codes + 64 * v));
    second = _mm512_dpbusd_epi32(second, weights.v[4 + v], _mm512_load_si512(codes + 256 + 64 * v));
  }
  return _mm512_add_epi32(first, kHighNibbles ? _mm512_srai_epi32(second, 4) : second);
}

// lb_q4_0x16 (offset 8, the stored q + 8) and lb_q8_0x16 (offset 128, the sign-bit flip) times Q8_0
// activations, laid out by prepare_legacy_interleaved: per lane,
//   acc += weight scale * activation scale * (codes . a + offset term).
template <typename LegacyBlock, int kOffset>
struct LegacyInterleaved {
  using Block = LegacyBlock;
  static constexpr TensorType kActivationType = TensorType::Q8_0;
  static constexpr int64_t kBlockSize = kInterleavedBlock;
  static constexpr bool kNibbles = !std::is_same_v<Block, BlockQ8_0x16>;
  static constexpr PrefetchReach kPrefetchReach = PrefetchReach::kNear;
  struct Unpacked {
    BlockCodes codes;
    __m512 weight_scales;
  };

  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    prepare_legacy_interleaved(quantized, cols, -kOffset, out);
  }

  static Unpacked unpack(const Block& block) {
    const __m512 weight_scales = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(block.d)));
    if constexpr (kNibbles) {
      return {unpack_nibble_codes(block.qs), weight_scales};
    } else {
      return {unpack_byte_codes(block.qs), weight_scales};
    }
  }

  static __m512 add_block(const Unpacked& w, int64_t b, const GemvActivations& a, __m512 acc) {
    const __m512i offsets = _mm512_load_si512(a.sums.data() + b * kInterleavedGroups);
    const __m512i dots = block_dots<kNibbles>(w.codes, a.codes.data() + b * kInterleavedBlock, offsets);
    const __m512 scales = _mm512_mul_ps(w.weight_scales, _mm512_load_ps(a.scales.data() + b * kInterleavedGroups));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), scales, acc);
  }
};

using Q4_0x16Gemv = BatchedGemv<LegacyInterleaved<BlockQ4_0x16, 8>>;
using Q8_0x16Gemv = BatchedGemv<LegacyInterleaved<BlockQ8_0x16, 128>>;

// lb_q4_kx2 times Q8_K activations (two super-blocks per block). Per block, scales holds 32 floats: per lane
// (Q4_K sub-block) its super-block's activation scale, then that scale times the sub-block's sum of
// activation codes (what its min code multiplies). Per block, with d, dmin, scale and min codes per lane,
//   acc += d * scale * a_scale * (codes . a) - dmin * min * (a_scale * sum of a).
// What depends on the weights alone is unpacked once for a batch's tokens; per token, a block costs its
// eight dot products and four float operations.
struct Q4_Kx2Interleaved {
  using Block = BlockQ4_Kx2;
  static constexpr TensorType kActivationType = TensorType::Q8_K;
  static constexpr int64_t kBlockSize = kInterleavedBlock;
  struct Unpacked {
    BlockCodes codes;
    __m512 scales;  // d * scale code
    __m512 mins;    // dmin * min code
  };

  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    const int64_t blocks = cols / kInterleavedBlock;
    out.codes.resize(static_cast<size_t>(blocks * kInterleavedBlock));
    out.scales.resize(static_cast<size_t>(blocks * 2 * kInterleavedGroups));
    const auto* a = reinterpret_cast<const BlockQ8_K*>(quantized);
    for (int64_t b = 0; b < blocks; ++b) {
      const BlockQ8_K* pair = a + 2 * b;
      interleave_activation_codes(out.codes.data() + b * kInterleavedBlock,
                                  [pair](int s) { return pair[s / 8].qs + 32 * (s % 8); });
      float* scales = out.scales.data() + b * 2 * kInterleavedGroups;
      for (int s = 0; s < kInterleavedGroups; ++s) {
        const BlockQ8_K& half = pair[s / 8];
        scales[s] = half.d;
        scales[kInterleavedGroups + s] = half.d * static_cast<float>(half.bsums[2 * (s % 8)] + half.bsums[2 * (s % 8) + 1]);
      }
    }
  }

  static Unpacked unpack(const Block& block) {
    // Lanes 0-7 take super-block 0's d (or dmin), lanes 8-15 super-block 1's, from [d0, d1, dmin0, dmin1].
    const __m512i d_lanes = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i dmin_lanes = _mm512_add_epi32(d_lanes, _mm512_set1_epi32(2));
    __m128i scale_codes, min_codes;
    unpack_q4_kx2_codes(block.scales, scale_codes, min_codes);
    const __m512 d_dmin =
        _mm512_castps128_ps512(_mm_cvtph_ps(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(block.scales.d))));
    const auto times_codes = [](__m512 factor, __m128i codes) {
      return _mm512_mul_ps(factor, _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(codes)));
    };
    return {unpack_nibble_codes(block.qs), times_codes(_mm512_permutexvar_ps(d_lanes, d_dmin), scale_codes),
            times_codes(_mm512_permutexvar_ps(dmin_lanes, d_dmin), min_codes)};
  }

  static __m512 add_block(const Unpacked& w, int64_t b, const GemvActivations& a, __m512 acc) {
    const __m512i dots = block_dots<true>(w.codes, a.codes.data() + b * kInterleavedBlock, _mm512_setzero_si512());
    const float* scales = a.scales.data() + b * 2 * kInterleavedGroups;
    acc = _mm512_fnmadd_ps(w.mins, _mm512_load_ps(scales + kInterleavedGroups), acc);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), _mm512_mul_ps(w.scales, _mm512_load_ps(scales)), acc);
  }
};

using Q4_Kx2Gemv = BatchedGemv<Q4_Kx2Interleaved>;

}  // namespace
}  // namespace lowbit
