// The x86 prefill kernels (kernels/gemm_kernels.h), written once and compiled twice: by kernels/avx2/
// (256-bit vectors, u8 x s8 products through maddubs + madd) and by kernels/avx512/ (512-bit vectors,
// vpdpbusd). Include only from those two files; as in x86/dot_x86.h, everything here has internal
// linkage and calls no inline function of a shared header, so no wide-instruction copy leaks into
// baseline code.
//
// A thread's rows are taken kTileRows at a time and kChunkCols columns at a time: that tile of weight
// rows is unpacked once into the GEMM form (interleaved codes, group scales and biases) in a scratch
// that stays in L2, then multiplied with every token, kMicroTokens tokens at a time (their kChunkCols
// columns stay in L1), by a micro-kernel holding kMicroRows x kMicroTokens integer and float
// accumulators in registers: each loaded vector of weight codes feeds kMicroTokens products and each
// vector of activation codes kMicroRows.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

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
#include "formats/lowbit_int.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "kernels/gemm_kernels.h"
#include "kernels/lowbit_int_kernels.h"
#include "kernels/x86/lowbit_int_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

#if defined(__AVX512F__)
using CodeVector = __m512i;  // 64 codes, or 16 int32 lanes of 4 codes' products
using FloatVector = __m512;
constexpr int kLanes = 16;
constexpr int kMicroRows = 3;  // 12 integer and 12 float accumulators of 32 registers
constexpr int kMicroTokens = 4;
inline CodeVector load_codes(const void* p) { return _mm512_loadu_si512(p); }
inline FloatVector load_floats(const float* p) { return _mm512_loadu_ps(p); }
inline FloatVector zero_floats() { return _mm512_setzero_ps(); }
inline CodeVector zero_codes() { return _mm512_setzero_si512(); }
// acc + per lane the sum of 4 products u * s (u unsigned, s signed bytes).
inline CodeVector add_dot_u8_s8(CodeVector acc, CodeVector u, CodeVector s) { return _mm512_dpbusd_epi32(acc, u, s); }
constexpr bool kFullRangeCodes = true;  // weight codes up to 255
// The masked forms with all lanes on: GCC 12's plain _mm512_cvtepi32_ps, _mm512_extractf64x4_pd (and
// so _mm512_castps512_ps256) start from an undefined vector and warn that it is uninitialized.
inline FloatVector to_floats(CodeVector v) { return _mm512_maskz_cvtepi32_ps(0xffff, v); }
inline FloatVector mul(FloatVector a, FloatVector b) { return _mm512_mul_ps(a, b); }
inline FloatVector fmadd(FloatVector a, FloatVector b, FloatVector c) { return _mm512_fmadd_ps(a, b, c); }
inline __m256 half_of(FloatVector v, int half) {
  return _mm256_castpd_ps(half == 0 ? _mm512_maskz_extractf64x4_pd(0xff, _mm512_castps_pd(v), 0)
                                    : _mm512_maskz_extractf64x4_pd(0xff, _mm512_castps_pd(v), 1));
}
inline __m256 add_halves(FloatVector v) { return _mm256_add_ps(half_of(v, 0), half_of(v, 1)); }
#else
using CodeVector = __m256i;
using FloatVector = __m256;
constexpr int kLanes = 8;
constexpr int kMicroRows = 2;  // 4 integer and 4 float accumulators of 16 registers
constexpr int kMicroTokens = 2;
inline CodeVector load_codes(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline FloatVector load_floats(const float* p) { return _mm256_loadu_ps(p); }
inline FloatVector zero_floats() { return _mm256_setzero_ps(); }
inline CodeVector zero_codes() { return _mm256_setzero_si256(); }
// maddubs saturates its 16-bit pair sums: weight codes stay below 64 (Q8_0 and lowbit's 8-bit formats
// have no AVX2 GEMM kernel).
inline CodeVector add_dot_u8_s8(CodeVector acc, CodeVector u, CodeVector s) {
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
}
constexpr bool kFullRangeCodes = false;
inline FloatVector to_floats(CodeVector v) { return _mm256_cvtepi32_ps(v); }
inline FloatVector mul(FloatVector a, FloatVector b) { return _mm256_mul_ps(a, b); }
inline FloatVector fmadd(FloatVector a, FloatVector b, FloatVector c) { return _mm256_fmadd_ps(a, b, c); }
inline __m256 add_halves(FloatVector v) { return v; }
#endif

inline float sum_lanes(FloatVector v) {
  const __m256 v8 = add_halves(v);
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v8), _mm256_extractf128_ps(v8, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

static_assert(kGemmTokenBlock % kMicroTokens == 0);
static_assert(kGemmColumnStep % (32 * kLanes) == 0);
constexpr int64_t kTileRows = 36;
constexpr int64_t kChunkCols = 4096;
static_assert(kTileRows % kMicroRows == 0 && kChunkCols % kGemmColumnStep == 0);

// out[r][t] = weight row r . token t over the tile's k_len columns in groups of kGroup (interleaved
// per span, gemm_kernels.h). Weight row r's codes are at w_codes + r * k_len, its group scales and
// biases at w_scales and w_biases + r * k_len / kGroup; token t's at the a_ pointers plus t times a_cols
// and a_cols / kGroup.
template <int kGroup>
void multiply_micro_tile(const uint8_t* w_codes, const float* w_scales, const float* w_biases, int64_t k_len,
                         const int8_t* a_codes, const float* a_scales, const float* a_sums, int64_t a_cols,
                         float out[kMicroRows][kMicroTokens]) {
  constexpr int64_t kSpan = kGroup * kLanes;
  constexpr int64_t kVectorBytes = 4 * kLanes;
  const int64_t w_groups = k_len / kGroup, a_groups = a_cols / kGroup;
  FloatVector acc[kMicroRows][kMicroTokens];
  for (auto& row : acc) {
    for (FloatVector& v : row) v = zero_floats();
  }
  for (int64_t span = 0; span < k_len; span += kSpan) {
    CodeVector dots[kMicroRows][kMicroTokens];
    for (auto& row : dots) {
      for (CodeVector& v : row) v = zero_codes();
    }
    for (int v = 0; v < kGroup / 4; ++v) {
      const int64_t c = span + v * kVectorBytes;
      CodeVector w[kMicroRows];
      for (int r = 0; r < kMicroRows; ++r) w[r] = load_codes(w_codes + r * k_len + c);
      for (int t = 0; t < kMicroTokens; ++t) {
        const CodeVector a = load_codes(a_codes + t * a_cols + c);
        for (int r = 0; r < kMicroRows; ++r) dots[r][t] = add_dot_u8_s8(dots[r][t], w[r], a);
      }
    }
    const int64_t g = span / kGroup;
    for (int r = 0; r < kMicroRows; ++r) {
      const FloatVector w_scale = load_floats(w_scales + r * w_groups + g);
      const FloatVector w_bias = load_floats(w_biases + r * w_groups + g);
      for (int t = 0; t < kMicroTokens; ++t) {
        const FloatVector scale = mul(w_scale, load_floats(a_scales + t * a_groups + g));
        acc[r][t] = fmadd(to_floats(dots[r][t]), scale, acc[r][t]);
        acc[r][t] = fmadd(w_bias, load_floats(a_sums + t * a_groups + g), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < kMicroRows; ++r) {
    for (int t = 0; t < kMicroTokens; ++t) out[r][t] = sum_lanes(acc[r][t]);
  }
}

// ---- Unpacking one block of each weight format into the GEMM form: its codes in order, and the scale
// and bias of each of its groups of kGroup codes (gemm_kernels.h). 256-bit operations serve both levels.
// A format whose every bias is -kCodeOffset times its group's scale (codes stored with a fixed offset, no
// minimum) says so with kCodeOffset: AMX then multiplies the signed codes u - kCodeOffset and drops the
// bias term. Only with Q8_0 and Q8_K activations, whose group sums are exact: Q8_1's stored FP16 sum is
// rounded, and the one-token kernels multiply it as stored (lowbit's symmetric formats keep their bias).

template <typename Format>
constexpr int fixed_code_offset() {
  if constexpr (requires { Format::kCodeOffset; }) return Format::kCodeOffset;
  return 0;
}

// Bits `shift` and up of each byte, `mask` kept.
inline __m256i bits_of_bytes(__m256i bytes, int shift, uint8_t mask) {
  return _mm256_and_si256(_mm256_srli_epi16(bytes, shift), _mm256_set1_epi8(static_cast<char>(mask)));
}

// The 16 FP16 scales d of an interleaved block without minimums as floats, and the biases d times the
// code offset's negation.
inline void scales_and_offset_biases(const uint16_t d[16], float minus_offset, float* scales, float* biases) {
  for (int half = 0; half < 2; ++half) {
    const __m256 scale = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(d + 8 * half)));
    _mm256_storeu_ps(scales + 8 * half, scale);
    _mm256_storeu_ps(biases + 8 * half, _mm256_mul_ps(_mm256_set1_ps(minus_offset), scale));
  }
}

// lb_q4_0x16 and lb_q4_kx2: 16 sub-blocks of 32 nibble codes, interleaved (formats/layout_conversion.h),
// their scales and biases from Scales::scales_and_biases. dword_vectors (AVX-512) gives the codes as AMX's
// tiles take them (x86/gemm_amx_x86.h): lane l of v[j] holds codes 4j .. 4j + 3 of sub-block l, as unpack
// gives them — the low nibbles of bytes 4j .. 4j + 3 for j < 4, the high nibbles of bytes 4(j - 4) ..
// after.
template <typename Scales>
struct InterleavedNibbles {
  template <typename Block>
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    for (int l = 0; l < 16; ++l) store_256(codes + 32 * l, unpack_interleaved_nibbles(b.qs, l));
    Scales::scales_and_biases(b, scales, biases);
  }
#if defined(__AVX512F__)
  template <typename Block>
  static void dword_vectors(const Block& b, __m512i v[8]) {
    const __m512i low = _mm512_set1_epi8(0x0f);
    for (int j = 0; j < 4; ++j) {
      const __m512i bytes = _mm512_loadu_si512(b.qs + 64 * j);
      v[j] = _mm512_and_si512(bytes, low);
      v[j + 4] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low);
    }
  }
#endif
};

// The legacy formats: one group per block; the codes are stored with the offset (q + 8, q + 16) or
// against the minimum m, both of which become the group's bias.

// What Q4_0 and its interleaved layout share.
struct Q4_0Codes {
  static constexpr int kGroup = 32;
  static constexpr TensorType kActivation = TensorType::Q8_0;
  static constexpr bool kCheapUnpack = true;
  static constexpr int kCodeOffset = 8;
};

struct Q4_0Gemm : Q4_0Codes {
  using Block = BlockQ4_0;
  static constexpr int64_t kBlockSize = 32;
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    const float d = half_to_float(b.d);
    store_256(codes, unpack_nibbles_16(b.qs));
    scales[0] = d;
    biases[0] = -8.0f * d;
  }
};

// lb_q4_0x16: Q4_0's 16 blocks, each unpacked as Q4_0Gemm does. The interleaved layouts (kInterleaved)
// have no vector GEMM kernel at AVX-512, where the batched products of their decode kernels
// (x86/gemv_interleaved_x86.h) ran faster; AVX2 has one, and AMX one for batches of kMinAmxTokensInterleaved
// tokens or more (x86/gemm_amx_x86.h).
struct Q4_0x16Gemm : Q4_0Codes, InterleavedNibbles<Q4_0x16Gemm> {
  using Block = BlockQ4_0x16;
  static constexpr int64_t kBlockSize = kQ4_0x16Block;
  static constexpr bool kInterleaved = true;
  static void scales_and_biases(const Block& b, float* scales, float* biases) {
    scales_and_offset_biases(b.d, -8.0f, scales, biases);
  }
};

struct Q5_0Gemm {
  using Block = BlockQ5_0;
  static constexpr int64_t kBlockSize = 32;
  static constexpr int kGroup = 32;
  static constexpr TensorType kActivation = TensorType::Q8_0;
  static constexpr int kCodeOffset = 16;
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    const float d = half_to_float(b.d);
    store_256(codes, _mm256_or_si256(unpack_nibbles_16(b.qs), fifth_bits(b.qh)));
    scales[0] = d;
    biases[0] = -16.0f * d;
  }
};

// What Q8_0 and its interleaved layout share: codes q + 128, which reach 255 (kEightBitCodes): only
// vpdpbusd and AMX multiply them without saturating.
struct Q8_0Codes {
  static constexpr int kGroup = 32;
  static constexpr TensorType kActivation = TensorType::Q8_0;
  static constexpr bool kCheapUnpack = true;
  static constexpr bool kEightBitCodes = true;
  static constexpr int kCodeOffset = 128;
  // One block's 32 codes q (signed) with its FP16 scale d.
  static void unpack_block(__m256i q, uint16_t d, uint8_t* codes, float* scale, float* bias) {
    store_256(codes, _mm256_xor_si256(q, _mm256_set1_epi8(static_cast<char>(0x80))));
    *scale = half_to_float(d);
    *bias = -128.0f * *scale;
  }
};

struct Q8_0Gemm : Q8_0Codes {
  using Block = BlockQ8_0;
  static constexpr int64_t kBlockSize = 32;
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    unpack_block(load_256(b.qs), b.d, codes, scales, biases);
  }
};

// lb_q8_0x16: Q8_0's 16 blocks, each unpacked as Q8_0Gemm does.
struct Q8_0x16Gemm : Q8_0Codes {
  using Block = BlockQ8_0x16;
  static constexpr int64_t kBlockSize = kQ8_0x16Block;
  static constexpr bool kInterleaved = true;
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    for (int l = 0; l < 16; ++l) {
      unpack_block(interleaved_bytes_32(b.qs, l), b.d[l], codes + 32 * l, scales + l, biases + l);
    }
  }
  static void scales_and_biases(const Block& b, float* scales, float* biases) {
    scales_and_offset_biases(b.d, -128.0f, scales, biases);
  }
#if defined(__AVX512F__)
  static void dword_vectors(const Block& b, __m512i v[8]) {
    for (int j = 0; j < 8; ++j) {
      v[j] = _mm512_xor_si512(_mm512_loadu_si512(b.qs + 64 * j), _mm512_set1_epi8(static_cast<char>(0x80)));
    }
  }
#endif
};

struct Q4_1Gemm {
  using Block = BlockQ4_1;
  static constexpr int64_t kBlockSize = 32;
  static constexpr int kGroup = 32;
  static constexpr TensorType kActivation = TensorType::Q8_1;
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    store_256(codes, unpack_nibbles_16(b.qs));
    scales[0] = half_to_float(b.d);
    biases[0] = half_to_float(b.m);
  }
};

struct Q5_1Gemm {
  using Block = BlockQ5_1;
  static constexpr int64_t kBlockSize = 32;
  static constexpr int kGroup = 32;
  static constexpr TensorType kActivation = TensorType::Q8_1;
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    store_256(codes, _mm256_or_si256(unpack_nibbles_16(b.qs), fifth_bits(b.qh)));
    scales[0] = half_to_float(b.d);
    biases[0] = half_to_float(b.m);
  }
};

// lowbit's integer formats: S * (u - zu) for all of a block's 1, 2 or 4 groups, so each group has scale
// S and bias -S * zu.
template <LowbitIntFormat F>
struct LowbitIntGemm {
  using Layout = LowbitIntLayout<F>;
  struct Block {
    uint8_t bytes[Layout::kBytes];
  };
  static constexpr int64_t kBlockSize = F.group;
  static constexpr int kGroup = 32;
  static constexpr TensorType kActivation = TensorType::Q8_1;
  static constexpr bool kEightBitCodes = F.bits == 8;
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    const float scale = half_to_float(Layout::scale(b.bytes));
    const float bias = -scale * static_cast<float>(lowbit_int_zero_code(F, b.bytes));
    for (int g = 0; g < Layout::kGroups; ++g) {
      store_256(codes + 32 * g, Layout::codes(b.bytes, g));
      scales[g] = scale;
      biases[g] = bias;
    }
  }
};

// Q4_K/Q5_K's 6-bit scale and min codes of the 8 sub-blocks (layout in formats/ggml_k_layout.h).
inline void unpack_scale_min_codes(const uint8_t* packed, int32_t* scale, int32_t* min) {
  for (int j = 0; j < 4; ++j) {
    scale[j] = packed[j] & 63;
    min[j] = packed[j + 4] & 63;
    scale[j + 4] = (packed[j + 8] & 15) | ((packed[j] >> 6) << 4);
    min[j + 4] = (packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4);
  }
}

// Q4_K and Q5_K: 8 sub-blocks of 32, element = d * scale_s * code - dmin * min_s. Each 32 bytes of qs
// hold sub-block 2k in the low nibbles and 2k + 1 in the high ones; Q5_K's fifth bit of element l of
// sub-block s is bit s of qh[l].
template <typename BlockType>
struct Q4_5_KGemm {
  using Block = BlockType;
  static constexpr int64_t kBlockSize = 256;
  static constexpr int kGroup = 32;
  static constexpr TensorType kActivation = TensorType::Q8_K;
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    for (int k = 0; k < 4; ++k) {
      const __m256i packed = load_256(b.qs + 32 * k);
      __m256i low = bits_of_bytes(packed, 0, 15), high = bits_of_bytes(packed, 4, 15);
      if constexpr (std::is_same_v<Block, BlockQ5_K>) {
        const __m256i qh = load_256(b.qh);
        low = _mm256_or_si256(low, _mm256_slli_epi16(bits_of_bytes(qh, 2 * k, 1), 4));
        high = _mm256_or_si256(high, _mm256_slli_epi16(bits_of_bytes(qh, 2 * k + 1, 1), 4));
      }
      store_256(codes + 64 * k, low);
      store_256(codes + 64 * k + 32, high);
    }
    int32_t scale[8], min[8];
    unpack_scale_min_codes(b.scales, scale, min);
    const float d = half_to_float(b.d), dmin = half_to_float(b.dmin);
    for (int s = 0; s < 8; ++s) {
      scales[s] = d * static_cast<float>(scale[s]);
      biases[s] = -dmin * static_cast<float>(min[s]);
    }
  }
};

// lb_q4_kx2: its 16 sub-blocks' codes as lb_q4_0x16's blocks', each with its super-block's d and dmin.
struct Q4_Kx2Gemm : InterleavedNibbles<Q4_Kx2Gemm> {
  using Block = BlockQ4_Kx2;
  static constexpr int64_t kBlockSize = kQ4_Kx2Block;
  static constexpr int kGroup = 32;
  static constexpr TensorType kActivation = TensorType::Q8_K;
  static constexpr bool kCheapUnpack = true;
  static constexpr bool kInterleaved = true;
  // Sub-blocks 0-7 take super-block 0's d and dmin, 8-15 super-block 1's.
  static void scales_and_biases(const Block& b, float* scales, float* biases) {
    __m128i scale_codes, min_codes;
    unpack_q4_kx2_codes(b.scales, scale_codes, min_codes);
    for (int half = 0; half < 2; ++half) {
      const auto eight_codes = [half](__m128i codes) {
        return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(half == 0 ? codes : _mm_srli_si128(codes, 8)));
      };
      _mm256_storeu_ps(scales + 8 * half,
                       _mm256_mul_ps(_mm256_set1_ps(half_to_float(b.scales.d[half])), eight_codes(scale_codes)));
      _mm256_storeu_ps(biases + 8 * half,
                       _mm256_mul_ps(_mm256_set1_ps(-half_to_float(b.scales.dmin[half])), eight_codes(min_codes)));
    }
  }
};

// The formats with 16 sub-blocks of 16 (one scale, one bias each). codes(block, half, k) gives the
// codes of elements 128 half + 32 k + [0, 32).
template <typename Format>
struct SixteenSubBlockGemm {
  using Block = typename Format::Block;
  static constexpr int64_t kBlockSize = 256;
  static constexpr int kGroup = 16;
  static constexpr TensorType kActivation = TensorType::Q8_K;
  static constexpr int kCodeOffset = fixed_code_offset<Format>();
  static void unpack(const Block& b, uint8_t* codes, float* scales, float* biases) {
    for (int half = 0; half < 2; ++half) {
      for (int k = 0; k < 4; ++k) store_256(codes + 128 * half + 32 * k, Format::codes(b, half, k));
    }
    Format::scales_and_biases(b, scales, biases);
  }
};

// Q6_K stores q + 32: low 4 bits of element l + 32k of a half in ql (nibble k / 2 of byte
// l + 32 (k % 2)), top 2 bits in qh[l] at bit 2k.
struct Q6_KLayout {
  using Block = BlockQ6_K;
  static constexpr int kCodeOffset = 32;
  static __m256i codes(const Block& b, int half, int k) {
    const __m256i low = bits_of_bytes(load_256(b.ql + 64 * half + 32 * (k % 2)), 4 * (k / 2), 15);
    const __m256i top = bits_of_bytes(load_256(b.qh + 32 * half), 2 * k, 3);
    return _mm256_or_si256(low, _mm256_slli_epi16(top, 4));
  }
  static void scales_and_biases(const Block& b, float* scale, float* bias) {
    const float d = half_to_float(b.d);
    for (int s = 0; s < 16; ++s) scale[s] = d * static_cast<float>(b.scales[s]), bias[s] = -32.0f * scale[s];
  }
};

// Q3_K stores q + 4: low 2 bits of element 32k + l of a half in qs[32 half + l] at bit 2k, bit 2 in
// hmask[l] at bit 4 half + k. Scale codes (value + 32, 6 bits): low nibbles in bytes 0-7, top 2 bits in
// bytes 8-11 (ggml_q3_k.h).
struct Q3_KLayout {
  using Block = BlockQ3_K;
  static constexpr int kCodeOffset = 4;
  static __m256i codes(const Block& b, int half, int k) {
    const __m256i low = bits_of_bytes(load_256(b.qs + 32 * half), 2 * k, 3);
    const __m256i top = bits_of_bytes(load_256(b.hmask), 4 * half + k, 1);
    return _mm256_or_si256(low, _mm256_slli_epi16(top, 2));
  }
  static void scales_and_biases(const Block& b, float* scale, float* bias) {
    const float d = half_to_float(b.d);
    alignas(16) int8_t codes[16];
    _mm_store_si128(reinterpret_cast<__m128i*>(codes), q3_k_scale_codes(b));
    for (int s = 0; s < 16; ++s) {
      scale[s] = d * static_cast<float>(codes[s]);
      bias[s] = -4.0f * scale[s];
    }
  }
};

// Q2_K: element 32k + l of a half in qs[32 half + l] at bit 2k; scale code in the low nibble of
// scales[s], min code in the high one.
struct Q2_KLayout {
  using Block = BlockQ2_K;
  static __m256i codes(const Block& b, int half, int k) { return bits_of_bytes(load_256(b.qs + 32 * half), 2 * k, 3); }
  static void scales_and_biases(const Block& b, float* scale, float* bias) {
    const float d = half_to_float(b.d), dmin = half_to_float(b.dmin);
    for (int s = 0; s < 16; ++s) {
      scale[s] = d * static_cast<float>(b.scales[s] & 15);
      bias[s] = -dmin * static_cast<float>(b.scales[s] >> 4);
    }
  }
};

// ---- The interleaved layout, the activations' form and the driver: tiles of rows, chunks of columns,
// micro-tiles of rows x tokens.

// Stores group gi (counted from a span boundary) of kGroup codes in the interleaved layout: its code e
// goes to span gi / kLanes, vector e / 4, lane gi % kLanes, byte e % 4 (gemm_kernels.h).
template <int kGroup, typename Code>
void interleave_group(const Code* group_codes, int64_t gi, Code* spans) {
  Code* lane = spans + gi / kLanes * (kGroup * kLanes) + 4 * (gi % kLanes);
  for (int v = 0; v < kGroup / 4; ++v) std::memcpy(lane + 4 * kLanes * v, group_codes + 4 * v, 4);
}

// The codes of one span, kLanes groups one after another, into the interleaved layout.
template <int kGroup>
void interleave_span(const uint8_t* groups, uint8_t* span) {
  for (int g = 0; g < kLanes; ++g) interleave_group<kGroup>(groups + kGroup * g, g, span);
}

#if defined(__AVX512F__)
// Sixteen groups of 32 codes are a 16 x 8 matrix of dwords to transpose: three rounds of two-source
// permutes. Round 1 pairs the groups {2k, 2k + 1} with {2k + 8, 2k + 9} keeping 4 of the 8 dwords
// (half h), round 2 joins those with the groups 4 further keeping 2 dwords (g), round 3 the two halves of
// the groups keeping one dword (e): dword v = 4h + 2g + e of every group, in group order.
struct SpanTranspose {
  int32_t round1[2][16], round2[2][16], round3[2][16];
};

constexpr SpanTranspose make_span_transpose() {
  SpanTranspose t{};
  // Round 1, half h: position 4 vv + jj holds dword 4 h + vv of the pair's group jj (a: jj < 2, b: jj >= 2).
  for (int h = 0; h < 2; ++h) {
    for (int vv = 0; vv < 4; ++vv) {
      for (int jj = 0; jj < 4; ++jj) t.round1[h][4 * vv + jj] = (jj < 2 ? 0 : 16) + 8 * (jj % 2) + 4 * h + vv;
    }
  }
  // Round 2, g: position 8 e + jj holds dword 2 g + e (of the half) of group jj (a: jj < 4, b: jj >= 4).
  for (int g = 0; g < 2; ++g) {
    for (int e = 0; e < 2; ++e) {
      for (int jj = 0; jj < 8; ++jj) t.round2[g][8 * e + jj] = (jj < 4 ? 0 : 16) + 4 * (2 * g + e) + jj % 4;
    }
  }
  // Round 3, e: position j holds group j. Round 2's output k (a: k = 0, b: k = 1) holds the groups
  // 2k + {0, 1, 8, 9, 4, 5, 12, 13} in that order.
  constexpr int kPositionOfOffset[16] = {0, 1, 0, 0, 4, 5, 0, 0, 2, 3, 0, 0, 6, 7, 0, 0};
  for (int e = 0; e < 2; ++e) {
    for (int j = 0; j < 16; ++j) {
      const int k = (j / 2) % 2;
      t.round3[e][j] = 16 * k + 8 * e + kPositionOfOffset[j - 2 * k];
    }
  }
  return t;
}

// x[k] holds groups 2k and 2k + 1.
inline void transpose_span(const __m512i x[8], uint8_t* span) {
  static constexpr SpanTranspose kIndex = make_span_transpose();
  const auto index = [](const int32_t* p) { return _mm512_loadu_si512(p); };
  __m512i r1[4][2];
  for (int k = 0; k < 4; ++k) {
    for (int h = 0; h < 2; ++h) r1[k][h] = _mm512_permutex2var_epi32(x[k], index(kIndex.round1[h]), x[k + 4]);
  }
  __m512i r2[2][2][2];
  for (int k = 0; k < 2; ++k) {
    for (int h = 0; h < 2; ++h) {
      for (int g = 0; g < 2; ++g) {
        r2[k][h][g] = _mm512_permutex2var_epi32(r1[k][h], index(kIndex.round2[g]), r1[k + 2][h]);
      }
    }
  }
  for (int h = 0; h < 2; ++h) {
    for (int g = 0; g < 2; ++g) {
      for (int e = 0; e < 2; ++e) {
        _mm512_storeu_si512(span + 64 * (4 * h + 2 * g + e),
                            _mm512_permutex2var_epi32(r2[0][h][g], index(kIndex.round3[e]), r2[1][h][g]));
      }
    }
  }
}

template <>
void interleave_span<32>(const uint8_t* groups, uint8_t* span) {
  __m512i x[8];
  for (int k = 0; k < 8; ++k) x[k] = _mm512_loadu_si512(groups + 64 * k);
  transpose_span(x, span);
}
#endif

// Unpacks `blocks` blocks of one weight row into the tile's row (codes interleaved per span, group
// scales and biases); the rest of its k_len columns (the padding, and whole rows past the matrix's last)
// are zeros.
template <typename Format>
void unpack_tile_row(const typename Format::Block* row, int64_t blocks, int64_t k_len, uint8_t* codes, float* scales,
                     float* biases) {
  constexpr int kGroup = Format::kGroup;
  constexpr int64_t kGroupsPerBlock = Format::kBlockSize / kGroup;
  alignas(64) uint8_t in_order[kChunkCols];  // the row's codes in column order
  for (int64_t b = 0; b < blocks; ++b) {
    Format::unpack(row[b], in_order + Format::kBlockSize * b, scales + kGroupsPerBlock * b,
                   biases + kGroupsPerBlock * b);
  }
  std::fill(in_order + blocks * Format::kBlockSize, in_order + k_len, uint8_t{0});
  for (int64_t s = 0; s < k_len; s += kGroup * kLanes) interleave_span<kGroup>(in_order + s, codes + s);
  std::fill(scales + blocks * kGroupsPerBlock, scales + k_len / kGroup, 0.0f);
  std::fill(biases + blocks * kGroupsPerBlock, biases + k_len / kGroup, 0.0f);
}

// Stores group g of kGroup activation codes as the vector kernels read them (interleaved per span).
template <int kGroup>
struct InterleaveGroup {
  void operator()(const int8_t* group_codes, int64_t g, int8_t* codes) const {
    interleave_group<kGroup>(group_codes, g, codes);
  }
};

// One token's quantized row (cols of Format's activation type) into the GEMM form, each group's codes
// stored by place(group_codes, g, codes). Q8_K's group sums are d times the code sums, or the code sums
// alone where !scale_k_sums (AMX applies d once per super-block).
template <typename Format, typename Place>
void prepare_token(const uint8_t* quantized, int64_t cols, int8_t* codes, float* scales, float* sums,
                   const Place& place, bool scale_k_sums) {
  constexpr int kGroup = Format::kGroup;
  if constexpr (Format::kActivation == TensorType::Q8_K) {
    const auto* blocks = reinterpret_cast<const BlockQ8_K*>(quantized);
    constexpr int kGroupsPerBlock = 256 / kGroup;
    for (int64_t b = 0; b < cols / 256; ++b) {
      for (int j = 0; j < kGroupsPerBlock; ++j) {
        const int64_t g = kGroupsPerBlock * b + j;
        place(blocks[b].qs + kGroup * j, g, codes);
        int32_t sum = 0;
        for (int k = 0; k < kGroup / 16; ++k) sum += blocks[b].bsums[kGroup / 16 * j + k];
        scales[g] = blocks[b].d;
        sums[g] = (scale_k_sums ? blocks[b].d : 1.0f) * static_cast<float>(sum);
      }
    }
  } else {
    // Q8_0, or Q8_1, whose stored d * sum is the sum the weights' minimums multiply in the one-token kernels.
    using Block = std::conditional_t<Format::kActivation == TensorType::Q8_0, BlockQ8_0, BlockQ8_1>;
    static_assert(kGroup == 32);
    const auto* blocks = reinterpret_cast<const Block*>(quantized);
    for (int64_t b = 0; b < cols / 32; ++b) {
      place(blocks[b].qs, b, codes);
      scales[b] = half_to_float(blocks[b].d);
      if constexpr (std::is_same_v<Block, BlockQ8_1>) {
        sums[b] = half_to_float(blocks[b].s);
      } else {
        int32_t sum = 0;
        for (int k = 0; k < 32; ++k) sum += blocks[b].qs[k];
        sums[b] = scales[b] * static_cast<float>(sum);
      }
    }
  }
}

// The batch into the GEMM form, tokens padded with zeros to a multiple of token_block.
template <typename Format, typename Place>
void prepare_tokens(const uint8_t* quantized, size_t row_bytes, int64_t n_tokens, int64_t cols, int64_t token_block,
                    const Place& place, bool scale_k_sums, GemmActivations& out) {
  out.tokens = (n_tokens + token_block - 1) / token_block * token_block;
  out.padded_cols = (cols + kGemmColumnStep - 1) / kGemmColumnStep * kGemmColumnStep;
  out.group_size = Format::kGroup;
  const int64_t k = out.padded_cols, groups = k / Format::kGroup;
  out.codes.assign(static_cast<size_t>(out.tokens * k), 0);
  out.scales.assign(static_cast<size_t>(out.tokens * groups), 0.0f);
  out.group_sums.assign(static_cast<size_t>(out.tokens * groups), 0.0f);
  for (int64_t t = 0; t < n_tokens; ++t) {
    prepare_token<Format>(quantized + static_cast<size_t>(t) * row_bytes, cols, out.codes.data() + t * k,
                          out.scales.data() + t * groups, out.group_sums.data() + t * groups, place,
                          scale_k_sums);
  }
}

template <typename Format>
void prepare_gemm(const uint8_t* quantized, size_t row_bytes, int64_t n_tokens, int64_t cols, GemmActivations& out) {
  prepare_tokens<Format>(quantized, row_bytes, n_tokens, cols, kGemmTokenBlock, InterleaveGroup<Format::kGroup>{}, true,
                         out);
}

template <typename Format>
void multiply_gemm(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                   const GemmActivations& a, int64_t n_tokens, float* y, int64_t y_stride) {
  using Block = typename Format::Block;
  constexpr int kGroup = Format::kGroup;
  const int64_t a_cols = a.padded_cols, a_groups = a_cols / kGroup;
  const int64_t chunk = std::min(kChunkCols, a_cols);
  std::vector<uint8_t> codes(static_cast<size_t>(kTileRows * chunk));           // [kTileRows][k_len]
  std::vector<float> scales(static_cast<size_t>(kTileRows * chunk / kGroup));   // [kTileRows][k_len / kGroup]
  std::vector<float> biases(static_cast<size_t>(kTileRows * chunk / kGroup));   // [kTileRows][k_len / kGroup]
  for (int64_t row0 = 0; row0 < row_count; row0 += kTileRows) {
    const int64_t tile_rows = std::min(kTileRows, row_count - row0);
    const int64_t micro_rows = (tile_rows + kMicroRows - 1) / kMicroRows * kMicroRows;
    for (int64_t k0 = 0; k0 < a_cols; k0 += chunk) {
      const int64_t k_len = std::min(chunk, a_cols - k0), k_groups = k_len / kGroup;
      const int64_t blocks = std::clamp<int64_t>(cols - k0, 0, k_len) / Format::kBlockSize;
      for (int64_t i = 0; i < micro_rows; ++i) {
        const Block* row = nullptr;  // rows past the matrix's last are zeros
        if (i < tile_rows) {
          const uint8_t* row_start = weight_rows + static_cast<size_t>(row0 + i) * row_bytes;
          row = reinterpret_cast<const Block*>(row_start) + k0 / Format::kBlockSize;
        }
        unpack_tile_row<Format>(row, i < tile_rows ? blocks : 0, k_len, codes.data() + i * k_len,
                                scales.data() + i * k_groups, biases.data() + i * k_groups);
      }
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kMicroTokens) {
        const int64_t tokens = std::min<int64_t>(kMicroTokens, n_tokens - t0);
        for (int64_t i = 0; i < micro_rows; i += kMicroRows) {
          float out[kMicroRows][kMicroTokens];
          multiply_micro_tile<kGroup>(codes.data() + i * k_len, scales.data() + i * k_groups,
                                      biases.data() + i * k_groups, k_len, a.codes.data() + t0 * a_cols + k0,
                                      a.scales.data() + t0 * a_groups + k0 / kGroup,
                                      a.group_sums.data() + t0 * a_groups + k0 / kGroup, a_cols, out);
          const int64_t rows = std::min<int64_t>(kMicroRows, tile_rows - i);
          for (int64_t t = 0; t < tokens; ++t) {
            float* y_row = y + (t0 + t) * y_stride + row0 + i;
            for (int64_t r = 0; r < rows; ++r) y_row[r] = k0 == 0 ? out[r][t] : y_row[r] + out[r][t];
          }
        }
      }
    }
  }
}

// Formats whose unpacking is a nibble split or a copy say so with kCheapUnpack.
template <typename Format>
constexpr int64_t min_gemm_tokens() {
  if constexpr (requires { Format::kCheapUnpack; }) return kMinGemmTokensCheapUnpack;
  return kMinGemmTokens;
}

template <typename Format>
constexpr GemmKernel kGemm{Format::kActivation, min_gemm_tokens<Format>(), prepare_gemm<Format>, multiply_gemm<Format>};

// Make{}.template operator()<Format>() for the GEMM Format (the unpacking above) of `weight`; nullptr
// where it has none. Make is a captureless template lambda returning a kernel pointer.
template <typename Make>
const GemmKernel* find_gemm_format(TensorType weight, Make) {
  if (weight == kQ4_0x16Type) return Make{}.template operator()<Q4_0x16Gemm>();
  if (weight == kQ4_Kx2Type) return Make{}.template operator()<Q4_Kx2Gemm>();
  if (weight == kQ8_0x16Type) return Make{}.template operator()<Q8_0x16Gemm>();
  switch (weight) {
    case TensorType::Q8_0: return Make{}.template operator()<Q8_0Gemm>();
    case TensorType::Q4_0: return Make{}.template operator()<Q4_0Gemm>();
    case TensorType::Q5_0: return Make{}.template operator()<Q5_0Gemm>();
    case TensorType::Q4_1: return Make{}.template operator()<Q4_1Gemm>();
    case TensorType::Q5_1: return Make{}.template operator()<Q5_1Gemm>();
    case TensorType::Q2_K: return Make{}.template operator()<SixteenSubBlockGemm<Q2_KLayout>>();
    case TensorType::Q3_K: return Make{}.template operator()<SixteenSubBlockGemm<Q3_KLayout>>();
    case TensorType::Q4_K: return Make{}.template operator()<Q4_5_KGemm<BlockQ4_K>>();
    case TensorType::Q5_K: return Make{}.template operator()<Q4_5_KGemm<BlockQ5_K>>();
    case TensorType::Q6_K: return Make{}.template operator()<SixteenSubBlockGemm<Q6_KLayout>>();
    default:
      return find_lowbit_int_kernel(weight, []<LowbitIntFormat F>() -> const GemmKernel* {
        return Make{}.template operator()<LowbitIntGemm<F>>();
      });
  }
}

template <typename Format>
constexpr bool has_eight_bit_codes() {
  if constexpr (requires { Format::kEightBitCodes; }) return Format::kEightBitCodes;
  return false;
}

template <typename Format>
constexpr bool is_interleaved() {
  if constexpr (requires { Format::kInterleaved; }) return Format::kInterleaved;
  return false;
}

// Whether an interleaved layout's decode kernel has batched products at this level that beat this GEMM
// (at the batch sizes measured), so that it goes without one: all three at AVX-512, lb_q4_0x16 at AVX2
// (kernels/avx2/gemv_avx2.cpp; TinyLlama Q4_0 at LOWBIT_CPU=avx2, 2 threads, three rounds: -p 128 80-99
// t/s with this GEMM, 110-133 without; -p 32 64-78 against 109-127).
template <typename Format>
constexpr bool batched_decode_serves() {
  return is_interleaved<Format>() && (kLanes == 16 || std::is_same_v<Format, Q4_0x16Gemm>);
}

// The vector kernels: none for 8-bit codes at AVX2 (maddubs would saturate) nor where batched decode
// serves. (Unused where kernels/amx/ includes this header for the formats' unpacking.)
[[maybe_unused]] const GemmKernel* find_x86_gemm_kernel(TensorType weight) {
  return find_gemm_format(weight, []<typename Format>() -> const GemmKernel* {
    if constexpr ((has_eight_bit_codes<Format>() && !kFullRangeCodes) || batched_decode_serves<Format>()) {
      return nullptr;
    } else {
      return &kGemm<Format>;
    }
  });
}

}  // namespace
}  // namespace lowbit
