// The x86 SIMD dot products, written once on 256-bit vectors and compiled twice: by kernels/avx2/
// (AVX2 + FMA + F16C: the u8 x s8 products go through maddubs + madd) and by kernels/avx512/ (AVX-512
// VL + VNNI: the same code, each u8 x s8 product-sum one vpdpbusd). Include only from those two files;
// everything here has internal linkage so that the two compilations never merge into one copy.
//
// Nothing here calls an inline function of a shared header: the linker keeps one copy of such a
// function, and the copy compiled with wide instructions could end up in baseline code.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "formats/ggml_q2_k.h"
#include "formats/ggml_q3_k.h"
#include "formats/ggml_q4_0.h"
#include "formats/ggml_q4_1.h"
#include "formats/ggml_q4_k.h"
#include "formats/ggml_q5_0.h"
#include "formats/ggml_q5_1.h"
#include "formats/ggml_q5_k.h"
#include "formats/ggml_q6_k.h"
#include "formats/ggml_q8_0.h"
#include "formats/ggml_q8_1.h"
#include "formats/ggml_q8_k.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "kernels/dot_kernels.h"
#include "kernels/lowbit_int_kernels.h"
#include "kernels/x86/lowbit_int_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// Eight lanes of the FP16 value `bits` (a broadcast and one conversion, no trip through a scalar float).
inline __m256 broadcast_half(uint16_t bits) { return _mm256_cvtph_ps(_mm_set1_epi16(static_cast<int16_t>(bits))); }

// Every integer kernel is written for R weight rows times T activation rows at once (row i of either at
// base + i * stride): each weight block is unpacked once for the T tokens and each activation block
// loaded once for the R rows, and the R * T accumulators are independent chains, which keeps the FMA
// unit busy. R = T = 1 is the plain dot product, T = kTokenGroup the prefill one, R = kRowGroup decode.
template <typename Block>
struct StridedRows {
  const uint8_t* base;
  size_t stride;
  const Block* operator[](int i) const {
    return reinterpret_cast<const Block*>(base + static_cast<size_t>(i) * stride);
  }
};

// The formats whose rows are runs of 32-element groups, each meeting one Q8_0 or Q8_1 block of the
// activations: ggml's legacy formats (a block per group) and lowbit's integer formats (a block of 32, 64
// or 128 elements is 1, 2 or 4 groups sharing its scale and zero code). For group j of a weight row,
// codes(row, j) gives its 32 codes as bytes and scale(row, j) its FP16 scale, each element being
// scale * (code - kOffset), plus for the formats with kHasMin a share min(row, j) of Q8_1's stored
// d * sum of quants; block_start(row, j) is where the group's block starts. Signed codes are multiplied
// as |code| . (a with code's sign), unsigned ones as they are; the offset is taken out once per
// activation block as kOffset * (sum of a), shared by all rows.
template <typename Block>
struct OneBlockPerGroup {
  static const Block& block_at(const uint8_t* row, int64_t j) { return reinterpret_cast<const Block*>(row)[j]; }
  static const void* block_start(const uint8_t* row, int64_t j) { return &block_at(row, j); }
  static uint16_t scale(const uint8_t* row, int64_t j) { return block_at(row, j).d; }
};
struct Q8_0Codes : OneBlockPerGroup<BlockQ8_0> {
  static constexpr bool kSignedCodes = true, kHasMin = false;
  static constexpr int kOffset = 0;
  static __m256i codes(const uint8_t* row, int64_t j) { return load_256(block_at(row, j).qs); }
};
struct Q4_0Codes : OneBlockPerGroup<BlockQ4_0> {
  static constexpr bool kSignedCodes = false, kHasMin = false;
  static constexpr int kOffset = 8;
  static __m256i codes(const uint8_t* row, int64_t j) { return unpack_nibbles_16(block_at(row, j).qs); }
};
// lb_q8_0x16: group j is block j / 16's Q8_0 block j % 16.
struct Q8_0x16Codes {
  static const BlockQ8_0x16& block_at(const uint8_t* row, int64_t j) {
    return reinterpret_cast<const BlockQ8_0x16*>(row)[j / 16];
  }
  static const void* block_start(const uint8_t* row, int64_t j) { return &block_at(row, j); }
  static uint16_t scale(const uint8_t* row, int64_t j) { return block_at(row, j).d[j % 16]; }
  static constexpr bool kSignedCodes = true, kHasMin = false;
  static constexpr int kOffset = 0;
  static __m256i codes(const uint8_t* row, int64_t j) {
    return interleaved_bytes_32(block_at(row, j).qs, static_cast<int>(j % 16));
  }
};
// lb_q4_0x16: group j is block j / 16's Q4_0 block j % 16.
struct Q4_0x16Codes {
  static const BlockQ4_0x16& block_at(const uint8_t* row, int64_t j) {
    return reinterpret_cast<const BlockQ4_0x16*>(row)[j / 16];
  }
  static const void* block_start(const uint8_t* row, int64_t j) { return &block_at(row, j); }
  static uint16_t scale(const uint8_t* row, int64_t j) { return block_at(row, j).d[j % 16]; }
  static constexpr bool kSignedCodes = false, kHasMin = false;
  static constexpr int kOffset = 8;
  static __m256i codes(const uint8_t* row, int64_t j) {
    return unpack_interleaved_nibbles(block_at(row, j).qs, static_cast<int>(j % 16));
  }
};
struct Q5_0Codes : OneBlockPerGroup<BlockQ5_0> {
  static constexpr bool kSignedCodes = false, kHasMin = false;
  static constexpr int kOffset = 16;
  static __m256i codes(const uint8_t* row, int64_t j) {
    const BlockQ5_0& b = block_at(row, j);
    return _mm256_or_si256(unpack_nibbles_16(b.qs), fifth_bits(b.qh));
  }
};
struct Q4_1Codes : OneBlockPerGroup<BlockQ4_1> {
  static constexpr bool kSignedCodes = false, kHasMin = true;
  static constexpr int kOffset = 0;
  static __m256i codes(const uint8_t* row, int64_t j) { return unpack_nibbles_16(block_at(row, j).qs); }
  static float min(const uint8_t* row, int64_t j) { return half_to_float(block_at(row, j).m); }
};
struct Q5_1Codes : OneBlockPerGroup<BlockQ5_1> {
  static constexpr bool kSignedCodes = false, kHasMin = true;
  static constexpr int kOffset = 0;
  static __m256i codes(const uint8_t* row, int64_t j) {
    const BlockQ5_1& b = block_at(row, j);
    return _mm256_or_si256(unpack_nibbles_16(b.qs), fifth_bits(b.qh));
  }
  static float min(const uint8_t* row, int64_t j) { return half_to_float(block_at(row, j).m); }
};

// lowbit's integer formats: element S * (u - zu), so scale S and min -S * zu. Codes u below 8 bits go
// unsigned; 8-bit ones reach 255, where maddubs would saturate (255 * 127 twice exceeds int16), so
// without VNNI they go signed, as u - 128 with offset -128.
template <LowbitIntFormat F>
struct LowbitIntCodes {
  using Layout = LowbitIntLayout<F>;
#if defined(__AVX512VNNI__)
  static constexpr bool kSignedCodes = false;
#else
  static constexpr bool kSignedCodes = F.bits == 8;
#endif
  static constexpr bool kHasMin = true;
  static constexpr int kOffset = kSignedCodes ? -128 : 0;
  static const uint8_t* block_at(const uint8_t* row, int64_t j) { return row + j / Layout::kGroups * Layout::kBytes; }
  static const void* block_start(const uint8_t* row, int64_t j) { return block_at(row, j); }
  static __m256i codes(const uint8_t* row, int64_t j) {
    const __m256i u = Layout::codes(block_at(row, j), static_cast<int>(j % Layout::kGroups));
    return kSignedCodes ? _mm256_xor_si256(u, _mm256_set1_epi8(-128)) : u;
  }
  static uint16_t scale(const uint8_t* row, int64_t j) { return Layout::scale(block_at(row, j)); }
  static float min(const uint8_t* row, int64_t j) {
    const uint8_t* block = block_at(row, j);
    return -half_to_float(Layout::scale(block)) * static_cast<float>(lowbit_int_zero_code(F, block));
  }
};

template <typename Codes>
struct Group32Dot {
  template <int R, int T>
  static void run(int64_t n, const void* weight_rows, size_t weight_stride, const void* activations,
                  size_t activation_stride, float* out) {
    using ActivationBlock = std::conditional_t<Codes::kHasMin, BlockQ8_1, BlockQ8_0>;
    const StridedRows<uint8_t> w{static_cast<const uint8_t*>(weight_rows), weight_stride};
    const StridedRows<ActivationBlock> a{static_cast<const uint8_t*>(activations), activation_stride};
    // One product alone would wait for its FMA's latency at every group: it keeps two groups in flight.
    constexpr int kChains = R * T == 1 ? 2 : 1;
    float min_sum[R][T] = {};
    __m256 acc[kChains][R][T];
    for (auto& chain : acc) {
      for (auto& row : chain) {
        for (__m256& v : row) v = _mm256_setzero_ps();
      }
    }
    const auto add_group = [&](int64_t j, int chain) {
      __m256i act[T], start[T];
      __m256 act_scale[T];
      for (int t = 0; t < T; ++t) {
        act[t] = load_256(a[t][j].qs);
        act_scale[t] = broadcast_half(a[t][j].d);
        // -kOffset * (sum of a), lane by lane
        if constexpr (Codes::kOffset > 0) {
          start[t] = _mm256_sub_epi32(_mm256_setzero_si256(), dot_u8_s8(_mm256_set1_epi8(Codes::kOffset), act[t]));
        } else if constexpr (Codes::kOffset < 0) {
          start[t] = dot_u8_s8(_mm256_set1_epi8(static_cast<char>(-Codes::kOffset)), act[t]);
        } else {
          start[t] = _mm256_setzero_si256();
        }
      }
      for (int r = 0; r < R; ++r) {
        if constexpr (R > 1) {
          // R rows read together are R short streams, which the hardware prefetcher follows badly (4x
          // slower than one row at a time from DRAM, measured): fetch the next row group's same block.
          _mm_prefetch(static_cast<const char*>(Codes::block_start(w[r], j)) + R * weight_stride, _MM_HINT_T0);
        }
        const __m256i q = Codes::codes(w[r], j);
        const __m256 weight_scale = broadcast_half(Codes::scale(w[r], j));
        [[maybe_unused]] float weight_min;
        if constexpr (Codes::kHasMin) weight_min = Codes::min(w[r], j);
        for (int t = 0; t < T; ++t) {
          __m256i products;
          if constexpr (Codes::kSignedCodes) {
            // |q| . (a with q's sign): vpdpbusd wants one unsigned operand.
            products = dot_u8_s8_add(start[t], _mm256_abs_epi8(q), _mm256_sign_epi8(act[t], q));
          } else {
            products = dot_u8_s8_add(start[t], q, act[t]);
          }
          acc[chain][r][t] =
              _mm256_fmadd_ps(_mm256_mul_ps(weight_scale, act_scale[t]), _mm256_cvtepi32_ps(products), acc[chain][r][t]);
          if constexpr (Codes::kHasMin) min_sum[r][t] += weight_min * half_to_float(a[t][j].s);
        }
      }
    };
    const int64_t groups = n / 32;
    int64_t j = 0;
    for (; j + kChains <= groups; j += kChains) {
      for (int c = 0; c < kChains; ++c) add_group(j + c, c);
    }
    for (; j < groups; ++j) add_group(j, 0);
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) {
        __m256 total = acc[0][r][t];
        for (int c = 1; c < kChains; ++c) total = _mm256_add_ps(total, acc[c][r][t]);
        out[r * T + t] = min_sum[r][t] + horizontal_sum(total);
      }
    }
  }
};

// Where Q4_5_KDot finds super-block b of a row: its scale and min codes (scale_min_codes: bytes 0-7 the
// sub-blocks' scale codes, 8-15 their min codes), the FP16 d and dmin, and the codes of sub-blocks 2k
// (low) and 2k + 1 (high), in element order.
template <typename Block>
struct ScaleMinKSuperBlocks {
  static constexpr bool kFifthBit = std::is_same_v<Block, BlockQ5_K>;
  static const Block& block(const uint8_t* row, int64_t b) { return reinterpret_cast<const Block*>(row)[b]; }
  static __m128i scale_min_codes(const uint8_t* row, int64_t b) {
    return unpack_scale_min_codes(_mm_loadu_si128(reinterpret_cast<const __m128i*>(&block(row, b))));
  }
  static uint16_t d(const uint8_t* row, int64_t b) { return block(row, b).d; }
  static uint16_t dmin(const uint8_t* row, int64_t b) { return block(row, b).dmin; }
  static void prefetch(const LinePrefetcher& prefetch, const uint8_t* row, int64_t b) {
    prefetch.ahead(reinterpret_cast<const uint8_t*>(&block(row, b)), sizeof(Block));
  }
  // Each 32 bytes of qs hold sub-block 2k in the low nibbles and 2k + 1 in the high ones; Q5_K's fifth
  // bits of element l of sub-block s sit in qh[l] at bit s.
  static void codes(const uint8_t* row, int64_t b, int k, __m256i& low, __m256i& high) {
    const Block& w = block(row, b);
    const __m256i low_mask = _mm256_set1_epi8(15);
    const __m256i packed = load_256(w.qs + 32 * k);
    low = _mm256_and_si256(packed, low_mask);
    high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
    if constexpr (kFifthBit) {
      const __m256i one = _mm256_set1_epi8(1);
      const __m256i qh = load_256(w.qh);
      low = _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), one), 4));
      high = _mm256_or_si256(high, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k + 1), one), 4));
    }
  }
};

// lb_q4_kx2: super-block b is half b % 2 of block b / 2, its sub-blocks stored as lb_q4_0x16's blocks.
struct Q4_Kx2SuperBlocks {
  static const BlockQ4_Kx2& block(const uint8_t* row, int64_t b) {
    return reinterpret_cast<const BlockQ4_Kx2*>(row)[b / 2];
  }
  static __m128i scale_min_codes(const uint8_t* row, int64_t b) {
    __m128i scale_codes, min_codes;
    unpack_q4_kx2_codes(block(row, b).scales, scale_codes, min_codes);
    return b % 2 == 0 ? _mm_unpacklo_epi64(scale_codes, min_codes) : _mm_unpackhi_epi64(scale_codes, min_codes);
  }
  static uint16_t d(const uint8_t* row, int64_t b) { return block(row, b).scales.d[b % 2]; }
  static uint16_t dmin(const uint8_t* row, int64_t b) { return block(row, b).scales.dmin[b % 2]; }
  static void prefetch(const LinePrefetcher& prefetch, const uint8_t* row, int64_t b) {
    if (b % 2 == 0) prefetch.ahead(reinterpret_cast<const uint8_t*>(&block(row, b)), sizeof(BlockQ4_Kx2));
  }
  // Sub-blocks 2k and 2k + 1 sit side by side in every 64-byte vector: one 8-byte load per vector gathers
  // both, one permute separates them.
  static void codes(const uint8_t* row, int64_t b, int k, __m256i& low, __m256i& high) {
    const uint8_t* first = block(row, b).qs + interleaved_byte(static_cast<int>(8 * (b % 2) + 2 * k), 0);
    const auto pair = [first](int v) { return _mm_loadl_epi64(reinterpret_cast<const __m128i*>(first + 64 * v)); };
    const __m256i pairs = _mm256_inserti128_si256(_mm256_castsi128_si256(_mm_unpacklo_epi64(pair(0), pair(1))),
                                                  _mm_unpacklo_epi64(pair(2), pair(3)), 1);
    const __m256i both = _mm256_permutevar8x32_epi32(pairs, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
    low = unpack_nibbles_16(_mm256_castsi256_si128(both));
    high = unpack_nibbles_16(_mm256_extracti128_si256(both, 1));
  }
};

// Q4_K and Q5_K (which adds a fifth bit per quant), and lb_q4_kx2: per super-block,
//   d * sum_s scale_s * (q . a)_s - dmin * sum_s min_s * (sum of a over s), Q8_K keeping the sums of a.
template <typename SuperBlocks>
struct Q4_5_KDot {
  template <int R, int T>
  static void run(int64_t n, const void* weight_rows, size_t weight_stride, const void* activations,
                  size_t activation_stride, float* out) {
    const StridedRows<BlockQ8_K> a{static_cast<const uint8_t*>(activations), activation_stride};
    __m256 acc[R][T];
    for (auto& row : acc) {
      for (__m256& v : row) v = _mm256_setzero_ps();
    }
    const LinePrefetcher prefetch;
    for (int64_t b = 0; b < n / 256; ++b) {
      // Lane s: the sum of a over sub-block s (two of Q8_K's 16-value sums).
      __m256i sub_sums[T];
      for (int t = 0; t < T; ++t) sub_sums[t] = _mm256_madd_epi16(load_256(a[t][b].bsums), _mm256_set1_epi16(1));
      for (int r = 0; r < R; ++r) {
        const uint8_t* row = static_cast<const uint8_t*>(weight_rows) + static_cast<size_t>(r) * weight_stride;
        SuperBlocks::prefetch(prefetch, row, b);
        const __m128i packed_codes = SuperBlocks::scale_min_codes(row, b);
        const __m256i scales = int16_pairs(_mm256_cvtepu8_epi32(packed_codes));
        const __m256i mins = _mm256_cvtepu8_epi32(_mm_srli_si128(packed_codes, 8));
        __m256i scaled[T];
        for (int t = 0; t < T; ++t) scaled[t] = _mm256_setzero_si256();
        for (int k = 0; k < 4; ++k) {
          __m256i low, high;
          SuperBlocks::codes(row, b, k, low, high);
          const __m256i scale_low = _mm256_permutevar8x32_epi32(scales, _mm256_set1_epi32(2 * k));
          const __m256i scale_high = _mm256_permutevar8x32_epi32(scales, _mm256_set1_epi32(2 * k + 1));
          for (int t = 0; t < T; ++t) {
            scaled[t] = _mm256_add_epi32(scaled[t], scaled_dot_u8_s8(low, load_256(a[t][b].qs + 64 * k), scale_low));
            scaled[t] = _mm256_add_epi32(scaled[t], scaled_dot_u8_s8(high, load_256(a[t][b].qs + 64 * k + 32), scale_high));
          }
        }
        const __m256 d = broadcast_half(SuperBlocks::d(row, b)), dmin = broadcast_half(SuperBlocks::dmin(row, b));
        for (int t = 0; t < T; ++t) {
          const __m256 act_scale = _mm256_set1_ps(a[t][b].d);
          acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(act_scale, d), _mm256_cvtepi32_ps(scaled[t]), acc[r][t]);
          const __m256i min_products = _mm256_mullo_epi32(mins, sub_sums[t]);
          acc[r][t] = _mm256_fnmadd_ps(_mm256_mul_ps(act_scale, dmin), _mm256_cvtepi32_ps(min_products), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) out[r * T + t] = horizontal_sum(acc[r][t]);
    }
  }
};

// The formats with 16 sub-blocks of 16 elements. Each is written as
//   d * sum_s scale_s * (c . a)_s - bias_d * sum_s bias_s * (sum of a over s)
// with unsigned codes c: Q6_K stores q + 32 (bias 32 scale_s), Q3_K q + 4 (bias 4 scale_s), and Q2_K
// its minimum (bias min_s, times dmin). Q8_K keeps the sums of a per 16 values.
// codes(block, half, k) gives the codes of elements 128 half + 32 k + [0, 32); scales() the int32
// scales of sub-blocks 0-7 and 8-15 and the 16 biases as int16.
struct SubBlockScales {
  __m256i scale[2];
  __m256i bias;
};

struct Q6_KFormat {
  using Block = BlockQ6_K;
  // Low 4 bits of element l + 32k of a half in ql (nibble k / 2 of byte l + 32 (k % 2)), top 2 in qh[l] at 2k.
  static __m256i codes(const Block& b, int half, int k) {
    const __m256i low_bytes = load_256(b.ql + 64 * half + 32 * (k % 2));
    const __m256i low = _mm256_and_si256(_mm256_srli_epi16(low_bytes, 4 * (k / 2)), _mm256_set1_epi8(15));
    const __m256i top = _mm256_and_si256(_mm256_srli_epi16(load_256(b.qh + 32 * half), 2 * k), _mm256_set1_epi8(3));
    return _mm256_or_si256(low, _mm256_slli_epi16(top, 4));
  }
  static SubBlockScales scales(const Block& b) {
    const __m128i codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    return {{_mm256_cvtepi8_epi32(codes), _mm256_cvtepi8_epi32(_mm_srli_si128(codes, 8))},
            _mm256_slli_epi16(_mm256_cvtepi8_epi16(codes), 5)};
  }
  static uint16_t d(const Block& b) { return b.d; }
  static uint16_t bias_d(const Block& b) { return b.d; }
};

struct Q3_KFormat {
  using Block = BlockQ3_K;
  // Low 2 bits of element 32k + l of a half in qs[32 half + l] at bit 2k; bit 2 in hmask[l] at bit 4 half + k.
  static __m256i codes(const Block& b, int half, int k) {
    const __m256i low = _mm256_and_si256(_mm256_srli_epi16(load_256(b.qs + 32 * half), 2 * k), _mm256_set1_epi8(3));
    const __m256i top = _mm256_and_si256(_mm256_srli_epi16(load_256(b.hmask), 4 * half + k), _mm256_set1_epi8(1));
    return _mm256_or_si256(low, _mm256_slli_epi16(top, 2));
  }
  // 6-bit codes (value + 32): low nibbles in bytes 0-7, top 2 bits in bytes 8-11 (ggml_q3_k.h).
  static SubBlockScales scales(const Block& b) {
    const __m128i codes = q3_k_scale_codes(b);
    return {{_mm256_cvtepi8_epi32(codes), _mm256_cvtepi8_epi32(_mm_srli_si128(codes, 8))},
            _mm256_slli_epi16(_mm256_cvtepi8_epi16(codes), 2)};
  }
  static uint16_t d(const Block& b) { return b.d; }
  static uint16_t bias_d(const Block& b) { return b.d; }
};

struct Q2_KFormat {
  using Block = BlockQ2_K;
  // Element 32k + l of a half in qs[32 half + l] at bit 2k.
  static __m256i codes(const Block& b, int half, int k) {
    return _mm256_and_si256(_mm256_srli_epi16(load_256(b.qs + 32 * half), 2 * k), _mm256_set1_epi8(3));
  }
  // Scale codes in the low nibbles, minimum codes in the high ones.
  static SubBlockScales scales(const Block& b) {
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b.scales));
    const __m128i scale = _mm_and_si128(packed, _mm_set1_epi8(15));
    const __m128i min = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(15));
    return {{_mm256_cvtepu8_epi32(scale), _mm256_cvtepu8_epi32(_mm_srli_si128(scale, 8))}, _mm256_cvtepu8_epi16(min)};
  }
  static uint16_t d(const Block& b) { return b.d; }
  static uint16_t bias_d(const Block& b) { return b.dmin; }
};

template <typename Format>
struct SubBlock16Dot {
  template <int R, int T>
  static void run(int64_t n, const void* weight_rows, size_t weight_stride, const void* activations,
                  size_t activation_stride, float* out) {
    const StridedRows<typename Format::Block> w{static_cast<const uint8_t*>(weight_rows), weight_stride};
    const StridedRows<BlockQ8_K> a{static_cast<const uint8_t*>(activations), activation_stride};
    __m256 acc[R][T];
    for (auto& row : acc) {
      for (__m256& v : row) v = _mm256_setzero_ps();
    }
    const LinePrefetcher prefetch;
    for (int64_t b = 0; b < n / 256; ++b) {
      for (int r = 0; r < R; ++r) {
        const typename Format::Block& block = w[r][b];
        prefetch.ahead(reinterpret_cast<const uint8_t*>(&block), sizeof(block));
        const SubBlockScales scales = Format::scales(block);
        const __m256i scale_pairs[2] = {int16_pairs(scales.scale[0]), int16_pairs(scales.scale[1])};
        __m256i scaled[T];
        for (int t = 0; t < T; ++t) scaled[t] = _mm256_setzero_si256();
        for (int half = 0; half < 2; ++half) {
          for (int k = 0; k < 4; ++k) {
            const __m256i code = Format::codes(block, half, k);
            // Lanes 0-3 of a product hold sub-block 8 half + 2k, lanes 4-7 the next one.
            const __m256i sub_scale = _mm256_permutevar8x32_epi32(
                scale_pairs[half], _mm256_setr_epi32(2 * k, 2 * k, 2 * k, 2 * k, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1));
            for (int t = 0; t < T; ++t) {
              scaled[t] = _mm256_add_epi32(scaled[t], scaled_dot_u8_s8(code, load_256(a[t][b].qs + 128 * half + 32 * k), sub_scale));
            }
          }
        }
        const __m256 d = broadcast_half(Format::d(block)), bias_d = broadcast_half(Format::bias_d(block));
        for (int t = 0; t < T; ++t) {
          const __m256 act_scale = _mm256_set1_ps(a[t][b].d);
          acc[r][t] = _mm256_fmadd_ps(_mm256_mul_ps(act_scale, d), _mm256_cvtepi32_ps(scaled[t]), acc[r][t]);
          const __m256i biases = _mm256_madd_epi16(scales.bias, load_256(a[t][b].bsums));
          acc[r][t] = _mm256_fnmadd_ps(_mm256_mul_ps(act_scale, bias_d), _mm256_cvtepi32_ps(biases), acc[r][t]);
        }
      }
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < T; ++t) out[r * T + t] = horizontal_sum(acc[r][t]);
    }
  }
};

// Activation quantizers with the reference quantizers' exact arithmetic (formats/ggml_q8_0.cpp,
// ggml_q8_k.cpp), so every level sees the same bytes: decode quantizes one token per product, on one
// thread, and the scalar rounding cost about as much as a small product.

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

inline float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// The largest |x[i]| of `count` vectors; NaN lanes are skipped (maxps returns its second operand
// when the first is NaN), as the reference's strict comparison skips them.
inline float max_magnitude(const __m256* v, int count) {
  __m256 m = _mm256_setzero_ps();
  for (int i = 0; i < count; ++i) m = _mm256_max_ps(abs_ps(v[i]), m);
  return horizontal_max(m);
}

// 32 int32 lanes (four vectors, elements in order) as 32 signed bytes in order.
inline __m256i pack_32_int8(const __m256i* q) {
  const __m256i packed = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
  // The packs interleave 128-bit lanes: 4-byte groups come out as 0 2 4 6 1 3 5 7.
  return _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// roundf(clamp(v, -127, 127)) with NaN giving 0 (ggml_block_common.h's round_to_int8): halves away from
// zero, decided on the exact fraction v - trunc(v).
inline __m256i round_to_int8_lanes(__m256 v) {
  const __m256 clamped = _mm256_min_ps(_mm256_max_ps(v, _mm256_set1_ps(-127.0f)), _mm256_set1_ps(127.0f));
  const __m256 truncated = _mm256_round_ps(clamped, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 is_half_or_more =
      _mm256_cmp_ps(abs_ps(_mm256_sub_ps(clamped, truncated)), _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  const __m256 signed_one = _mm256_or_ps(_mm256_and_ps(clamped, _mm256_set1_ps(-0.0f)), _mm256_set1_ps(1.0f));
  const __m256 rounded = _mm256_add_ps(truncated, _mm256_and_ps(is_half_or_more, signed_one));
  const __m256 is_number = _mm256_cmp_ps(v, v, _CMP_ORD_Q);
  return _mm256_cvtps_epi32(_mm256_and_ps(rounded, is_number));
}

void quantize_row_q8_0_simd(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ8_0*>(dst);
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    __m256 v[4];
    for (int i = 0; i < 4; ++i) v[i] = _mm256_loadu_ps(x + 8 * i);
    const float d = max_magnitude(v, 4) / 127.0f;
    const float inverse = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);
    __m256i q[4];
    for (int i = 0; i < 4; ++i) q[i] = round_to_int8_lanes(_mm256_mul_ps(v[i], _mm256_set1_ps(inverse)));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(blocks[b].qs), pack_32_int8(q));
  }
}

// The reference's round_clamped(v, -127, 127): -127 + trunc((clamp(v) + 127) + 0.5), NaN giving -127.
inline __m256i round_clamped_127_lanes(__m256 v) {
  const __m256 lo = _mm256_set1_ps(-127.0f);
  const __m256 clamped = _mm256_min_ps(_mm256_max_ps(v, lo), _mm256_set1_ps(127.0f));
  const __m256 shifted = _mm256_add_ps(_mm256_sub_ps(clamped, lo), _mm256_set1_ps(0.5f));
  return _mm256_sub_epi32(_mm256_cvttps_epi32(shifted), _mm256_set1_epi32(127));
}

void quantize_row_q8_k_simd(const float* x, void* dst, int64_t n) {
  auto* blocks = static_cast<BlockQ8_K*>(dst);
  for (int64_t b = 0; b < n / 256; ++b, x += 256) {
    BlockQ8_K& out = blocks[b];
    __m256 v[32];
    for (int i = 0; i < 32; ++i) v[i] = _mm256_loadu_ps(x + 8 * i);
    const float magnitude = max_magnitude(v, 32);
    if (magnitude == 0.0f) {
      out = {};
      continue;
    }
    // The reference scales by the first element of the largest magnitude, sign included.
    float extreme = 0.0f;
    for (int i = 0; i < 32; ++i) {
      const int hits = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(v[i]), _mm256_set1_ps(magnitude), _CMP_EQ_OQ));
      if (hits != 0) {
        extreme = x[8 * i + __builtin_ctz(static_cast<unsigned>(hits))];
        break;
      }
    }
    const float inverse = 127.0f / extreme;
    for (int group = 0; group < 8; ++group) {  // 32 values, two of Q8_K's 16-value sums
      __m256i q[4];
      for (int i = 0; i < 4; ++i) q[i] = round_clamped_127_lanes(_mm256_mul_ps(v[4 * group + i], _mm256_set1_ps(inverse)));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out.qs + 32 * group), pack_32_int8(q));
      for (int half = 0; half < 2; ++half) {
        const __m256i sum = _mm256_add_epi32(q[2 * half], q[2 * half + 1]);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(sum), _mm256_extracti128_si256(sum, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
        out.bsums[2 * group + half] = static_cast<int16_t>(_mm_cvtsi128_si32(s));
      }
    }
    out.d = 1.0f / inverse;
  }
}

// The DotKernel entries of an integer kernel K (K::run<R, T>): one product, a token group and, with
// kRowGroups, a row group. The K types go without: their unpacking (scales, codes) is per row, so rows
// share only activation loads, and four row streams measured slower than one.
template <typename K, bool kRowGroups>
constexpr DotKernel integer_kernel(TensorType activation_type, void (*quantize)(const float*, void*, int64_t)) {
  DotKernel kernel{activation_type, quantize,
                   [](int64_t n, const void* weight_row, const void* activation_row) {
                     float out;
                     K::template run<1, 1>(n, weight_row, 0, activation_row, 0, &out);
                     return out;
                   },
                   [](int64_t n, const void* weight_row, const void* activations, size_t stride, float* out) {
                     K::template run<1, kTokenGroup>(n, weight_row, 0, activations, stride, out);
                   }};
  if (kRowGroups) {
    kernel.dot_row_group = [](int64_t n, const void* weight_rows, size_t row_stride, const void* activation_row,
                              float* out) {
      K::template run<kRowGroup, 1>(n, weight_rows, row_stride, activation_row, 0, out);
    };
  }
  return kernel;
}

// 16-bit float rows (F16 or BF16) times F32, 32 values per step in four independent accumulators.
template <__m256 (*load_8)(const uint16_t*), float (*to_float)(uint16_t)>
float dot_16bit_f32(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const uint16_t*>(weight_row);
  const auto* a = static_cast<const float*>(activation_row);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    for (int k = 0; k < 4; ++k) {
      acc[k] = _mm256_fmadd_ps(load_8(w + i + 8 * k), _mm256_loadu_ps(a + i + 8 * k), acc[k]);
    }
  }
  for (; i + 8 <= n; i += 8) acc[0] = _mm256_fmadd_ps(load_8(w + i), _mm256_loadu_ps(a + i), acc[0]);
  float sum = horizontal_sum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[1]), _mm256_add_ps(acc[2], acc[3])));
  for (; i < n; ++i) sum += to_float(w[i]) * a[i];
  return sum;
}

inline __m256 load_8_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// BF16 is the top half of an F32: widening each value and shifting it up is exact.
inline __m256 load_8_bf16(const uint16_t* p) {
  const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}
inline float bf16_bits_to_float(uint16_t bits) {
  return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(bits) << 16)));
}

constexpr DotKernel kQ8_0 = integer_kernel<Group32Dot<Q8_0Codes>, true>(TensorType::Q8_0, quantize_row_q8_0_simd);
constexpr DotKernel kQ4_0 = integer_kernel<Group32Dot<Q4_0Codes>, true>(TensorType::Q8_0, quantize_row_q8_0_simd);
constexpr DotKernel kQ4_0x16 =
    integer_kernel<Group32Dot<Q4_0x16Codes>, true>(TensorType::Q8_0, quantize_row_q8_0_simd);
constexpr DotKernel kQ5_0 = integer_kernel<Group32Dot<Q5_0Codes>, true>(TensorType::Q8_0, quantize_row_q8_0_simd);
constexpr DotKernel kQ4_1 = integer_kernel<Group32Dot<Q4_1Codes>, true>(TensorType::Q8_1, quantize_row_q8_1_ref);
constexpr DotKernel kQ5_1 = integer_kernel<Group32Dot<Q5_1Codes>, true>(TensorType::Q8_1, quantize_row_q8_1_ref);
template <LowbitIntFormat F>
constexpr DotKernel kLowbitInt =
    integer_kernel<Group32Dot<LowbitIntCodes<F>>, true>(TensorType::Q8_1, quantize_row_q8_1_ref);
constexpr DotKernel kQ4_K =
    integer_kernel<Q4_5_KDot<ScaleMinKSuperBlocks<BlockQ4_K>>, false>(TensorType::Q8_K, quantize_row_q8_k_simd);
constexpr DotKernel kQ5_K =
    integer_kernel<Q4_5_KDot<ScaleMinKSuperBlocks<BlockQ5_K>>, false>(TensorType::Q8_K, quantize_row_q8_k_simd);
constexpr DotKernel kQ8_0x16 =
    integer_kernel<Group32Dot<Q8_0x16Codes>, true>(TensorType::Q8_0, quantize_row_q8_0_simd);
constexpr DotKernel kQ4_Kx2 = integer_kernel<Q4_5_KDot<Q4_Kx2SuperBlocks>, false>(TensorType::Q8_K, quantize_row_q8_k_simd);
constexpr DotKernel kQ2_K = integer_kernel<SubBlock16Dot<Q2_KFormat>, false>(TensorType::Q8_K, quantize_row_q8_k_simd);
constexpr DotKernel kQ3_K = integer_kernel<SubBlock16Dot<Q3_KFormat>, false>(TensorType::Q8_K, quantize_row_q8_k_simd);
constexpr DotKernel kQ6_K = integer_kernel<SubBlock16Dot<Q6_KFormat>, false>(TensorType::Q8_K, quantize_row_q8_k_simd);
// F16 at AVX-512 takes kernels/float16_kernels.h's decode product instead (eight rows side by side).
constexpr DotKernel kF16{TensorType::F32, nullptr, dot_16bit_f32<load_8_f16, half_to_float>, nullptr};
constexpr DotKernel kBF16{TensorType::F32, nullptr, dot_16bit_f32<load_8_bf16, bf16_bits_to_float>, nullptr};

const DotKernel* find_x86_dot_kernel(TensorType weight) {
  if (weight == kQ4_0x16Type) return &kQ4_0x16;
  if (weight == kQ4_Kx2Type) return &kQ4_Kx2;
  if (weight == kQ8_0x16Type) return &kQ8_0x16;
  switch (weight) {
    case TensorType::Q8_0: return &kQ8_0;
    case TensorType::Q4_0: return &kQ4_0;
    case TensorType::Q5_0: return &kQ5_0;
    case TensorType::Q4_1: return &kQ4_1;
    case TensorType::Q5_1: return &kQ5_1;
    case TensorType::Q2_K: return &kQ2_K;
    case TensorType::Q3_K: return &kQ3_K;
    case TensorType::Q4_K: return &kQ4_K;
    case TensorType::Q5_K: return &kQ5_K;
    case TensorType::Q6_K: return &kQ6_K;
    case TensorType::F16: return &kF16;
    case TensorType::BF16: return &kBF16;
    default: return find_lowbit_int_kernel(weight, []<LowbitIntFormat F>() { return &kLowbitInt<F>; });
  }
}

}  // namespace
}  // namespace lowbit
