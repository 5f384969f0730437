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
#include "kernels/dot_kernels.h"

namespace lowbit {
namespace {

// Eight int32 lanes, lane i = sum of u[4i + k] * s[4i + k] over k < 4 (u unsigned, s signed bytes).
// maddubs saturates its 16-bit pair sums; every caller keeps u * s pairs within int16 (u <= 128 with
// |s| <= 127, or u <= 63).
inline __m256i dot_u8_s8(__m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#else
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

// Lanes of a . b for signed bytes a, b with a != -128: |a| times b with a's sign moved onto b.
inline __m256i dot_s8_s8(__m256i a, __m256i b) { return dot_u8_s8(_mm256_abs_epi8(a), _mm256_sign_epi8(b, a)); }

inline float horizontal_sum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

inline float half_to_float(uint16_t bits) { return _cvtsh_ss(bits); }

// The 32 nibbles of 16 bytes as bytes: low nibbles in bytes 0-15, high nibbles in bytes 16-31.
inline __m256i unpack_nibbles_16(const uint8_t* bytes) {
  const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes));
  const __m128i low_mask = _mm_set1_epi8(15);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(packed, 4), low_mask), _mm_and_si128(packed, low_mask));
}

inline __m256i load_256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }

// Every integer kernel is written for T activation rows at once (activations[t] = a + t * stride):
// the weight row is loaded and unpacked once for all of them, and the T accumulators are independent
// chains, which keeps the FMA unit busy. T = 1 is the plain dot product, T = kTokenGroup the prefill one.
template <typename Block>
struct TokenRows {
  const uint8_t* base;
  size_t stride;
  const Block* operator[](int t) const {
    return reinterpret_cast<const Block*>(base + static_cast<size_t>(t) * stride);
  }
};

// 32 bytes, byte i = 16 where bit i of the little-endian 32-bit word at `qh` is set, else 0: the fifth
// bits of a Q5_0/Q5_1 block, ready to be or-ed onto its nibbles.
inline __m256i fifth_bits(const uint8_t* qh) {
  const uint32_t word = qh[0] | (qh[1] << 8) | (qh[2] << 16) | (static_cast<uint32_t>(qh[3]) << 24);
  // Byte i takes byte i / 8 of the word, then keeps only bit i % 8.
  const __m256i byte_of_word = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1,  //
                                                2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
  const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int32_t>(word)), byte_of_word);
  const __m256i bit = _mm256_set1_epi64x(static_cast<int64_t>(0x8040201008040201ULL));
  const __m256i is_set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(is_set, _mm256_set1_epi8(16));
}

// The legacy 32-element formats. codes(block) gives the block's 32 quants as bytes: their signed values
// for the _0 formats (times d), unsigned codes for the _1 formats (times d, plus the block minimum m,
// whose share of the product is m times Q8_1's stored d * sum of quants).
struct Q8_0Codes {
  using Block = BlockQ8_0;
  static constexpr bool kSigned = true;
  static __m256i codes(const Block& b) { return load_256(b.qs); }
};
struct Q4_0Codes {
  using Block = BlockQ4_0;
  static constexpr bool kSigned = true;
  static __m256i codes(const Block& b) { return _mm256_sub_epi8(unpack_nibbles_16(b.qs), _mm256_set1_epi8(8)); }
};
struct Q5_0Codes {
  using Block = BlockQ5_0;
  static constexpr bool kSigned = true;
  static __m256i codes(const Block& b) {
    return _mm256_sub_epi8(_mm256_or_si256(unpack_nibbles_16(b.qs), fifth_bits(b.qh)), _mm256_set1_epi8(16));
  }
};
struct Q4_1Codes {
  using Block = BlockQ4_1;
  static constexpr bool kSigned = false;
  static __m256i codes(const Block& b) { return unpack_nibbles_16(b.qs); }
};
struct Q5_1Codes {
  using Block = BlockQ5_1;
  static constexpr bool kSigned = false;
  static __m256i codes(const Block& b) { return _mm256_or_si256(unpack_nibbles_16(b.qs), fifth_bits(b.qh)); }
};

template <typename Codes, int T>
void dot_legacy(int64_t n, const void* weight_row, const void* activations, size_t stride, float* out) {
  using ActivationBlock = std::conditional_t<Codes::kSigned, BlockQ8_0, BlockQ8_1>;
  const auto* w = static_cast<const typename Codes::Block*>(weight_row);
  const TokenRows<ActivationBlock> a{static_cast<const uint8_t*>(activations), stride};
  // One token alone would wait for its FMA's latency at every block: it keeps two blocks in flight.
  constexpr int kChains = T == 1 ? 2 : 1;
  float sum[T] = {};
  __m256 acc[T][kChains];
  for (int t = 0; t < T; ++t) {
    for (int c = 0; c < kChains; ++c) acc[t][c] = _mm256_setzero_ps();
  }
  const auto add_block = [&](int64_t b, int chain) {
    const __m256i q = Codes::codes(w[b]);
    const float d = half_to_float(w[b].d);
    if constexpr (Codes::kSigned) {
      const __m256i magnitude = _mm256_abs_epi8(q);
      for (int t = 0; t < T; ++t) {
        const __m256i products = dot_u8_s8(magnitude, _mm256_sign_epi8(load_256(a[t][b].qs), q));
        const __m256 scale = _mm256_set1_ps(d * half_to_float(a[t][b].d));
        acc[t][chain] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(products), acc[t][chain]);
      }
    } else {
      const float m = half_to_float(w[b].m);
      for (int t = 0; t < T; ++t) {
        const __m256i products = dot_u8_s8(q, load_256(a[t][b].qs));
        const __m256 scale = _mm256_set1_ps(d * half_to_float(a[t][b].d));
        acc[t][chain] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(products), acc[t][chain]);
        sum[t] += m * half_to_float(a[t][b].s);
      }
    }
  };
  const int64_t blocks = n / 32;
  int64_t b = 0;
  for (; b + kChains <= blocks; b += kChains) {
    for (int c = 0; c < kChains; ++c) add_block(b + c, c);
  }
  for (; b < blocks; ++b) add_block(b, 0);
  for (int t = 0; t < T; ++t) {
    __m256 total = acc[t][0];
    for (int c = 1; c < kChains; ++c) total = _mm256_add_ps(total, acc[t][c]);
    out[t] = sum[t] + horizontal_sum(total);
  }
}

// Q4_K/Q5_K's 6-bit scale and min codes of sub-block j (layout in formats/ggml_k_layout.h).
inline void unpack_scale_min_codes(const uint8_t* packed, int32_t* scale, int32_t* min) {
  for (int j = 0; j < 4; ++j) {
    scale[j] = packed[j] & 63;
    min[j] = packed[j + 4] & 63;
    scale[j + 4] = (packed[j + 8] & 15) | ((packed[j] >> 6) << 4);
    min[j + 4] = (packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4);
  }
}

// Q4_K and Q5_K (which adds a fifth bit per quant): per super-block,
//   d * sum_s scale_s * (q . a)_s - dmin * sum_s min_s * (sum of a over s), Q8_K keeping the sums of a.
template <typename Block, int T>
void dot_q4_5_k_q8_k(int64_t n, const void* weight_row, const void* activations, size_t stride, float* out) {
  constexpr bool kFifthBit = std::is_same_v<Block, BlockQ5_K>;
  const auto* w = static_cast<const Block*>(weight_row);
  const TokenRows<BlockQ8_K> a{static_cast<const uint8_t*>(activations), stride};
  const __m256i low_mask = _mm256_set1_epi8(15);
  const __m256i one = _mm256_set1_epi8(1);
  float sum[T] = {};
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 256; ++b) {
    int32_t scale[8], min[8];
    unpack_scale_min_codes(w[b].scales, scale, min);
    __m256i scaled[T];
    for (int t = 0; t < T; ++t) scaled[t] = _mm256_setzero_si256();
    // Each 32 bytes of qs hold sub-block 2k in the low nibbles and 2k + 1 in the high ones; Q5_K's
    // fifth bits of element l of sub-block s sit in qh[l] at bit s.
    for (int k = 0; k < 4; ++k) {
      const __m256i packed = load_256(w[b].qs + 32 * k);
      __m256i low = _mm256_and_si256(packed, low_mask);
      __m256i high = _mm256_and_si256(_mm256_srli_epi16(packed, 4), low_mask);
      if constexpr (kFifthBit) {
        const __m256i qh = load_256(w[b].qh);
        low = _mm256_or_si256(low, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), one), 4));
        high = _mm256_or_si256(high, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k + 1), one), 4));
      }
      const __m256i scale_low = _mm256_set1_epi32(scale[2 * k]), scale_high = _mm256_set1_epi32(scale[2 * k + 1]);
      for (int t = 0; t < T; ++t) {
        const __m256i p_low = dot_u8_s8(low, load_256(a[t][b].qs + 64 * k));
        const __m256i p_high = dot_u8_s8(high, load_256(a[t][b].qs + 64 * k + 32));
        scaled[t] = _mm256_add_epi32(scaled[t], _mm256_mullo_epi32(p_low, scale_low));
        scaled[t] = _mm256_add_epi32(scaled[t], _mm256_mullo_epi32(p_high, scale_high));
      }
    }
    const float d = half_to_float(w[b].d), dmin = half_to_float(w[b].dmin);
    for (int t = 0; t < T; ++t) {
      int32_t mins = 0;
      for (int s = 0; s < 8; ++s) mins += min[s] * (a[t][b].bsums[2 * s] + a[t][b].bsums[2 * s + 1]);
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(a[t][b].d * d), _mm256_cvtepi32_ps(scaled[t]), acc[t]);
      sum[t] -= a[t][b].d * dmin * static_cast<float>(mins);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = sum[t] + horizontal_sum(acc[t]);
}

// The formats with 16 sub-blocks of 16 elements. Each is written as
//   d * sum_s scale_s * (c . a)_s - bias_d * sum_s bias_s * (sum of a over s)
// with unsigned codes c: Q6_K stores q + 32 (bias 32 scale_s), Q3_K q + 4 (bias 4 scale_s), and Q2_K
// its minimum (bias min_s, times dmin). Q8_K keeps the sums of a per 16 values.
// codes(block, half, k) gives the codes of elements 128 half + 32 k + [0, 32).
struct Q6_KFormat {
  using Block = BlockQ6_K;
  // Low 4 bits of element l + 32k of a half in ql (nibble k / 2 of byte l + 32 (k % 2)), top 2 in qh[l] at 2k.
  static __m256i codes(const Block& b, int half, int k) {
    const __m256i low_bytes = load_256(b.ql + 64 * half + 32 * (k % 2));
    const __m256i low = _mm256_and_si256(_mm256_srli_epi16(low_bytes, 4 * (k / 2)), _mm256_set1_epi8(15));
    const __m256i top = _mm256_and_si256(_mm256_srli_epi16(load_256(b.qh + 32 * half), 2 * k), _mm256_set1_epi8(3));
    return _mm256_or_si256(low, _mm256_slli_epi16(top, 4));
  }
  static void scales(const Block& b, int32_t* scale, int32_t* bias) {
    for (int s = 0; s < 16; ++s) scale[s] = b.scales[s], bias[s] = 32 * b.scales[s];
  }
  static float d(const Block& b) { return half_to_float(b.d); }
  static float bias_d(const Block& b) { return half_to_float(b.d); }
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
  static void scales(const Block& b, int32_t* scale, int32_t* bias) {
    for (int s = 0; s < 16; ++s) {
      const int low = s < 8 ? (b.scales[s] & 15) : (b.scales[s - 8] >> 4);
      const int high = (b.scales[8 + s % 4] >> (2 * (s / 4))) & 3;
      scale[s] = (low | (high << 4)) - 32;
      bias[s] = 4 * scale[s];
    }
  }
  static float d(const Block& b) { return half_to_float(b.d); }
  static float bias_d(const Block& b) { return half_to_float(b.d); }
};

struct Q2_KFormat {
  using Block = BlockQ2_K;
  // Element 32k + l of a half in qs[32 half + l] at bit 2k.
  static __m256i codes(const Block& b, int half, int k) {
    return _mm256_and_si256(_mm256_srli_epi16(load_256(b.qs + 32 * half), 2 * k), _mm256_set1_epi8(3));
  }
  static void scales(const Block& b, int32_t* scale, int32_t* bias) {
    for (int s = 0; s < 16; ++s) scale[s] = b.scales[s] & 15, bias[s] = b.scales[s] >> 4;
  }
  static float d(const Block& b) { return half_to_float(b.d); }
  static float bias_d(const Block& b) { return half_to_float(b.dmin); }
};

template <typename Format, int T>
void dot_16x16_k_q8_k(int64_t n, const void* weight_row, const void* activations, size_t stride, float* out) {
  const auto* w = static_cast<const typename Format::Block*>(weight_row);
  const TokenRows<BlockQ8_K> a{static_cast<const uint8_t*>(activations), stride};
  float sum[T] = {};
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / 256; ++b) {
    int32_t scale[16], bias[16];
    Format::scales(w[b], scale, bias);
    __m256i scaled[T];
    for (int t = 0; t < T; ++t) scaled[t] = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      for (int k = 0; k < 4; ++k) {
        const __m256i code = Format::codes(w[b], half, k);
        // Lanes 0-3 of a product hold sub-block 8 half + 2k, lanes 4-7 the next one.
        const int sub = 8 * half + 2 * k;
        const __m256i sub_scale = _mm256_set_m128i(_mm_set1_epi32(scale[sub + 1]), _mm_set1_epi32(scale[sub]));
        for (int t = 0; t < T; ++t) {
          const __m256i products = dot_u8_s8(code, load_256(a[t][b].qs + 128 * half + 32 * k));
          scaled[t] = _mm256_add_epi32(scaled[t], _mm256_mullo_epi32(products, sub_scale));
        }
      }
    }
    const float d = Format::d(w[b]), bias_d = Format::bias_d(w[b]);
    for (int t = 0; t < T; ++t) {
      int32_t biases = 0;
      for (int s = 0; s < 16; ++s) biases += bias[s] * a[t][b].bsums[s];
      acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(a[t][b].d * d), _mm256_cvtepi32_ps(scaled[t]), acc[t]);
      sum[t] -= a[t][b].d * bias_d * static_cast<float>(biases);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = sum[t] + horizontal_sum(acc[t]);
}

// The one-token form the DotKernel table holds.
template <void (*kernel)(int64_t, const void*, const void*, size_t, float*)>
float dot_one(int64_t n, const void* weight_row, const void* activation_row) {
  float out;
  kernel(n, weight_row, activation_row, 0, &out);
  return out;
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

constexpr DotKernel kQ8_0{TensorType::Q8_0, quantize_row_q8_0_ref, dot_one<dot_legacy<Q8_0Codes, 1>>,
                         dot_legacy<Q8_0Codes, kTokenGroup>};
constexpr DotKernel kQ4_0{TensorType::Q8_0, quantize_row_q8_0_ref, dot_one<dot_legacy<Q4_0Codes, 1>>,
                         dot_legacy<Q4_0Codes, kTokenGroup>};
constexpr DotKernel kQ5_0{TensorType::Q8_0, quantize_row_q8_0_ref, dot_one<dot_legacy<Q5_0Codes, 1>>,
                         dot_legacy<Q5_0Codes, kTokenGroup>};
constexpr DotKernel kQ4_1{TensorType::Q8_1, quantize_row_q8_1_ref, dot_one<dot_legacy<Q4_1Codes, 1>>,
                         dot_legacy<Q4_1Codes, kTokenGroup>};
constexpr DotKernel kQ5_1{TensorType::Q8_1, quantize_row_q8_1_ref, dot_one<dot_legacy<Q5_1Codes, 1>>,
                         dot_legacy<Q5_1Codes, kTokenGroup>};
constexpr DotKernel kQ4_K{TensorType::Q8_K, quantize_row_q8_k, dot_one<dot_q4_5_k_q8_k<BlockQ4_K, 1>>,
                         dot_q4_5_k_q8_k<BlockQ4_K, kTokenGroup>};
constexpr DotKernel kQ5_K{TensorType::Q8_K, quantize_row_q8_k, dot_one<dot_q4_5_k_q8_k<BlockQ5_K, 1>>,
                         dot_q4_5_k_q8_k<BlockQ5_K, kTokenGroup>};
constexpr DotKernel kQ2_K{TensorType::Q8_K, quantize_row_q8_k, dot_one<dot_16x16_k_q8_k<Q2_KFormat, 1>>,
                         dot_16x16_k_q8_k<Q2_KFormat, kTokenGroup>};
constexpr DotKernel kQ3_K{TensorType::Q8_K, quantize_row_q8_k, dot_one<dot_16x16_k_q8_k<Q3_KFormat, 1>>,
                         dot_16x16_k_q8_k<Q3_KFormat, kTokenGroup>};
constexpr DotKernel kQ6_K{TensorType::Q8_K, quantize_row_q8_k, dot_one<dot_16x16_k_q8_k<Q6_KFormat, 1>>,
                         dot_16x16_k_q8_k<Q6_KFormat, kTokenGroup>};
constexpr DotKernel kF16{TensorType::F32, nullptr, dot_16bit_f32<load_8_f16, half_to_float>, nullptr};
constexpr DotKernel kBF16{TensorType::F32, nullptr, dot_16bit_f32<load_8_bf16, bf16_bits_to_float>, nullptr};

const DotKernel* find_x86_dot_kernel(TensorType weight) {
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
    default: return nullptr;
  }
}

}  // namespace
}  // namespace lowbit
