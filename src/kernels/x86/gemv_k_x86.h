// The AVX-512 decode kernels (kernels/gemv_kernels.h) for the K formats: one 256-element super-block per
// step, 64 codes per 512-bit vector. Each is a block Format of x86/gemv_batched_x86.h, so batches of
// tokens share each super-block's unpacking.
// Include only from kernels/avx512/; as in x86/dot_x86.h, everything here has internal linkage.
//
// Each int32 lane of a u8 x s8 dot product instruction sums 4 codes of one sub-block, so the lanes are
// multiplied by their sub-blocks' integer scales and summed as integers over the super-block: one
// conversion to float and one multiply-add per super-block, with d times the activation scale. A lane's
// sum of 4 products (at most 4 * 63 * 128 in magnitude) and a scale both fit 16 bits, so the multiply is
// a 16-bit one: vpdpwssd multiplies the low halves and adds their product to the total in one µop (the
// high halves must not both be nonzero: scales are kept non-negative or masked to 16 bits), where vpmulld
// takes two µops with latency 10 on Intel cores.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "formats/ggml_q2_k.h"
#include "formats/ggml_q3_k.h"
#include "formats/ggml_q4_k.h"
#include "formats/ggml_q5_k.h"
#include "formats/ggml_q6_k.h"
#include "formats/ggml_q8_k.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/gemv_batched_x86.h"
#include "kernels/x86/gemv_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

constexpr int kSuperBlock = 256;
constexpr int kSuperBlockLanes = kCodeLanes;

inline __m512i load_512(const void* p) { return _mm512_loadu_si512(p); }
// Weight codes feed several unpacking operations each: loaded once (see in_register).
inline __m512i load_codes_512(const void* p) { return in_register(_mm512_loadu_si512(p)); }
inline __m512i broadcast_256(const void* p) {
  return in_register(_mm512_broadcast_i64x4(_mm256_loadu_si256(static_cast<const __m256i*>(p))));
}
inline __m512i lane_index(const std::array<int32_t, 16>& index) { return _mm512_loadu_si512(index.data()); }

// Q4_K and Q5_K (layouts in formats/ggml_q4_k.h, ggml_q5_k.h): the same header (d, dmin, 6-bit scale and
// min codes) and the same low 4 bits of the codes. qs bytes 64v .. 64v+63 hold sub-blocks 4v and 4v+2 in
// their low nibbles (bytes 0-31 and 32-63) and 4v+1 and 4v+3 in their high nibbles. Code vector 2v + h
// (h = 0 low, 1 high) therefore covers sub-blocks 4v + h (lanes 0-7) and 4v + h + 2 (lanes 8-15); the
// activations are stored in that order, 4 x 64 bytes per super-block. Per super-block, sums holds in
// lanes 8-15 the sub-block sums of the activations, matching the min codes' lanes in the unpacked scale
// vector, and in lane 0 the activation scale's float bits (one load for both). Format::codes gives the
// two code vectors (low and high nibbles, plus Q5_K's fifth bits) of qs bytes 64v .. 64v+63.
template <typename Format>
struct ScaleMinKGemv {
  using Block = typename Format::Block;
  static constexpr TensorType kActivationType = TensorType::Q8_K;
  static constexpr int64_t kBlockSize = kSuperBlock;
  static constexpr int kActivationCodes = 4 * 64;
  // Activation element of byte j of code vector c.
  static int element_of(int c, int j) { return 128 * (c / 2) + 32 * (c % 2) + (j < 32 ? j : j + 32); }

  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    const int64_t blocks = cols / kSuperBlock;
    out.codes.resize(static_cast<size_t>(blocks * kActivationCodes));
    out.sums.assign(static_cast<size_t>(blocks * kSuperBlockLanes), 0);
    const auto* a = reinterpret_cast<const BlockQ8_K*>(quantized);
    for (int64_t b = 0; b < blocks; ++b) {
      int8_t* codes = out.codes.data() + b * kActivationCodes;
      for (int c = 0; c < 4; ++c) {
        for (int j = 0; j < 64; ++j) codes[64 * c + j] = a[b].qs[element_of(c, j)];
      }
      int32_t* sums = out.sums.data() + b * kSuperBlockLanes;
      std::memcpy(&sums[0], &a[b].d, sizeof(float));
      for (int s = 0; s < 8; ++s) sums[8 + s] = a[b].bsums[2 * s] + a[b].bsums[2 * s + 1];
    }
  }

  struct Unpacked {
    __m512i codes[4];
    __m512i lane_scales[4];  // code vector c's sub-blocks' scale codes, per lane
    __m512i scale_min;       // lanes 0-7 the scale codes, 8-15 the min codes
    float d, dmin;
  };

  static Unpacked unpack(const Block& block) {
    // Scale lanes of code vector c: sub-blocks 4 (c / 2) + c % 2 and that + 2, 8 lanes each.
    static constexpr std::array<std::array<int32_t, 16>, 4> kScaleLanes = [] {
      std::array<std::array<int32_t, 16>, 4> index{};
      for (int c = 0; c < 4; ++c) {
        for (int lane = 0; lane < 16; ++lane) index[c][lane] = 4 * (c / 2) + c % 2 + (lane < 8 ? 0 : 2);
      }
      return index;
    }();
    Unpacked w;
    // d, dmin and the 12 bytes of scale and min codes in one load.
    const __m128i header = _mm_loadu_si128(reinterpret_cast<const __m128i*>(&block));
    w.scale_min = _mm512_cvtepu8_epi32(unpack_scale_min_codes(header));
    for (int v = 0; v < 2; ++v) Format::codes(block, v, w.codes + 2 * v);
    for (int c = 0; c < 4; ++c) w.lane_scales[c] = _mm512_permutexvar_epi32(lane_index(kScaleLanes[c]), w.scale_min);
    const __m128 d_dmin = _mm_cvtph_ps(header);  // lanes 0 and 1
    w.d = _mm_cvtss_f32(d_dmin);
    w.dmin = _mm_cvtss_f32(_mm_movehdup_ps(d_dmin));
    return w;
  }

  static __m512 add_block(const Unpacked& w, int64_t b, const GemvActivations& a, __m512 acc) {
    const int8_t* activation_codes = a.codes.data() + b * kActivationCodes;
    __m512i total = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      const __m512i dots =
          _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.codes[c], _mm512_load_si512(activation_codes + 64 * c));
      total = _mm512_dpwssd_epi32(total, dots, w.lane_scales[c]);
    }
    // sums: lane 0 the activation scale (float bits), 8-15 the sub-block sums the min codes multiply.
    const __m512i sums = _mm512_load_si512(a.sums.data() + b * kSuperBlockLanes);
    const __m512i min_products = _mm512_maskz_madd_epi16(0xff00, w.scale_min, sums);
    const float activation_scale = _mm_cvtss_f32(_mm512_castps512_ps128(_mm512_castsi512_ps(sums)));
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_set1_ps(w.d * activation_scale), acc);
    return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(min_products), _mm512_set1_ps(w.dmin * activation_scale), acc);
  }
};

struct Q4_KCodes {
  using Block = BlockQ4_K;
  static void codes(const BlockQ4_K& block, int v, __m512i out[2]) {
    split_nibbles(load_codes_512(block.qs + 64 * v), out);
  }
};

// Q5_K's fifth bits: element l (< 32) of the 32-byte run 2v + k (k = 0, 1; bytes 32k .. 32k+31 of the
// vector) has the fifth bit of its low nibble at bit 2 (2v + k) of qh[l] and that of its high nibble one
// bit above. Each byte's bit is tested in place with qh broadcast to both halves of the vector.
struct Q5_KCodes {
  using Block = BlockQ5_K;
  static void codes(const BlockQ5_K& block, int v, __m512i out[2]) {
    split_nibbles(load_codes_512(block.qs + 64 * v), out);
    const __m512i fifth_bits = broadcast_256(block.qh);
    const __m512i sixteen = _mm512_set1_epi8(16);
    for (int h = 0; h < 2; ++h) {
      const int bit = 4 * v + h;  // in bytes 0-31; bytes 32-63 two bits above
      const __m512i selector = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << bit)),
                                                  _mm256_set1_epi8(static_cast<char>(1 << (bit + 2))), 1);
      out[h] = _mm512_mask_add_epi8(out[h], _mm512_test_epi8_mask(fifth_bits, selector), out[h], sixteen);
    }
  }
};

// Q8_K activations for the kernels with 16-element sub-blocks (Q3_K, Q6_K), per super-block: the codes,
// byte i of them being element element_of(i); the 16 sub-block sums of the activations; the scale.
template <int (*element_of)(int)>
void prepare_sixteen_element_sub_blocks(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
  const int64_t blocks = cols / kSuperBlock;
  out.codes.resize(static_cast<size_t>(blocks * kSuperBlock));
  out.sums.resize(static_cast<size_t>(blocks * kSuperBlockLanes));
  out.scales.resize(static_cast<size_t>(blocks));
  const auto* a = reinterpret_cast<const BlockQ8_K*>(quantized);
  for (int64_t b = 0; b < blocks; ++b) {
    for (int i = 0; i < kSuperBlock; ++i) out.codes[b * kSuperBlock + i] = a[b].qs[element_of(i)];
    for (int s = 0; s < 16; ++s) out.sums[b * kSuperBlockLanes + s] = a[b].bsums[s];
    out.scales[b] = a[b].d;
  }
}

// Q2_K and Q3_K keep the low 2 bits of their codes in the same 64 bytes (crumb_byte in
// formats/ggml_k_layout.h): shifting them right by 2j gives in bytes 0-31 those of elements 32j .. 32j+31
// and in bytes 32-63 those of 128 + 32j .. 128 + 32j + 31 (code vector j; the activations are stored in
// that order). Sub-blocks are 16 elements, 4 lanes: code vector j's lanes hold sub-blocks 2j, 2j + 1,
// 8 + 2j and 9 + 2j.
constexpr int crumb_element_of(int byte) { return 32 * (byte / 64) + byte % 64 + (byte % 64 < 32 ? 0 : 96); }

// Code vector j's lanes hold sub-blocks 2j, 2j + 1, 8 + 2j and 9 + 2j: each lane's scale, from the 16
// scale codes in `scales` (the low 16 bits of each lane).
inline void crumb_lane_scales(__m512i scales, __m512i lane_scales[4]) {
  static constexpr std::array<std::array<int32_t, 16>, 4> kScaleLanes = [] {
    std::array<std::array<int32_t, 16>, 4> index{};
    for (int j = 0; j < 4; ++j) {
      for (int lane = 0; lane < 16; ++lane) index[j][lane] = (lane < 8 ? 0 : 8) + 2 * j + (lane / 4) % 2;
    }
    return index;
  }();
  for (int j = 0; j < 4; ++j) lane_scales[j] = _mm512_permutexvar_epi32(lane_index(kScaleLanes[j]), scales);
}

// total plus, over the four code vectors, their lane dot products times their lanes' scales.
inline __m512i add_crumb_vector_dots(const __m512i codes[4], const __m512i lane_scales[4],
                                     const int8_t* activation_codes, __m512i total) {
  for (int j = 0; j < 4; ++j) {
    const __m512i dots = _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes[j], load_512(activation_codes + 64 * j));
    total = _mm512_dpwssd_epi32(total, dots, lane_scales[j]);
  }
  return total;
}

// What Q2_K and Q3_K share as block Formats: the super-block and its activations in crumb order.
template <typename BlockType>
struct CrumbSuperBlocks {
  using Block = BlockType;
  static constexpr TensorType kActivationType = TensorType::Q8_K;
  static constexpr int64_t kBlockSize = kSuperBlock;
  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    prepare_sixteen_element_sub_blocks<crumb_element_of>(quantized, cols, out);
  }
};

// Q2_K (layout in formats/ggml_q2_k.h): codes 0-3, a 4-bit scale code and a 4-bit min code per sub-block.
struct Q2_KGemv : CrumbSuperBlocks<BlockQ2_K> {
  struct Unpacked {
    __m512i codes[4];
    __m512i lane_scales[4];
    __m512i min_codes;
    float d, dmin;
  };

  static Unpacked unpack(const BlockQ2_K& block) {
    Unpacked w;
    const __m512i packed = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block.scales)));
    crumb_lane_scales(_mm512_and_si512(packed, _mm512_set1_epi32(15)), w.lane_scales);
    w.min_codes = _mm512_srli_epi32(packed, 4);
    const __m512i low_bits = load_codes_512(block.qs);
    for (int j = 0; j < 4; ++j) w.codes[j] = _mm512_and_si512(_mm512_srli_epi16(low_bits, 2 * j), _mm512_set1_epi8(3));
    w.d = half_to_float(block.d);
    w.dmin = half_to_float(block.dmin);
    return w;
  }

  static __m512 add_block(const Unpacked& w, int64_t b, const GemvActivations& a, __m512 acc) {
    const __m512i total = add_crumb_vector_dots(w.codes, w.lane_scales, a.codes.data() + b * kSuperBlock,
                                                _mm512_setzero_si512());
    const __m512i min_products = _mm512_madd_epi16(w.min_codes, load_512(a.sums.data() + b * 16));
    const float activation_scale = a.scales[b];
    acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_set1_ps(w.d * activation_scale), acc);
    return _mm512_fnmadd_ps(_mm512_cvtepi32_ps(min_products), _mm512_set1_ps(w.dmin * activation_scale), acc);
  }
};

// Q3_K (layout in formats/ggml_q3_k.h): the third bit of code vector j's bytes is bit j (bytes 0-31) and
// 4 + j (32-63) of hmask[byte % 32]. Codes are q + 4 (0 to 7), so 4 times each sub-block's activation sum
// comes off.
struct Q3_KGemv : CrumbSuperBlocks<BlockQ3_K> {
  struct Unpacked {
    __m512i codes[4];
    __m512i lane_scales[4];
    __m512i scales;  // the 16 signed scale codes in the low 16 bits of their lanes (see the file comment)
    float d;
  };

  static Unpacked unpack(const BlockQ3_K& block) {
    Unpacked w;
    w.scales = _mm512_and_si512(_mm512_cvtepi8_epi32(q3_k_scale_codes(block)), _mm512_set1_epi32(0xffff));
    crumb_lane_scales(w.scales, w.lane_scales);
    const __m512i high_bits = broadcast_256(block.hmask);
    const __m512i low_bits = load_codes_512(block.qs);
    for (int j = 0; j < 4; ++j) {
      const __m512i crumbs = _mm512_and_si512(_mm512_srli_epi16(low_bits, 2 * j), _mm512_set1_epi8(3));
      const __m512i third_bit = _mm512_inserti64x4(_mm512_set1_epi8(static_cast<char>(1 << j)),
                                                   _mm256_set1_epi8(static_cast<char>(1 << (4 + j))), 1);
      w.codes[j] = _mm512_mask_add_epi8(crumbs, _mm512_test_epi8_mask(high_bits, third_bit), crumbs,
                                        _mm512_set1_epi8(4));
    }
    w.d = half_to_float(block.d);
    return w;
  }

  static __m512 add_block(const Unpacked& w, int64_t b, const GemvActivations& a, __m512 acc) {
    // sum_s scale_s * (c . a)_s - 4 * sum_s scale_s * (sum of a over s)
    const __m512i offsets = _mm512_slli_epi32(
        _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_madd_epi16(w.scales, load_512(a.sums.data() + b * 16))), 2);
    const __m512i total = add_crumb_vector_dots(w.codes, w.lane_scales, a.codes.data() + b * kSuperBlock, offsets);
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_set1_ps(w.d * a.scales[b]), acc);
  }
};

// Q6_K (layout in formats/ggml_q6_k.h): element 32k + l of half h has its low 4 bits in nibble k / 2 of
// ql[64h + 32 (k % 2) + l] and its top 2 bits in qh[32h + l] at bit 2k, and is stored as q + 32. ql bytes
// 64h .. 64h+63 thus give elements 0-63 of the half in their low nibbles and 64-127 in their high ones:
// the activations stay in their own order. Sub-blocks are 16 elements, 4 lanes. Per super-block, sums
// holds the 16 sub-block sums of the activations and scales the activation scale.
struct Q6_KGemv {
  using Block = BlockQ6_K;
  static constexpr TensorType kActivationType = TensorType::Q8_K;
  static constexpr int64_t kBlockSize = kSuperBlock;
  static constexpr int element_of(int byte) { return byte; }
  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    prepare_sixteen_element_sub_blocks<element_of>(quantized, cols, out);
  }

  struct Unpacked {
    __m512i codes[4];
    __m512i lane_scales[4];  // code vector c's sub-blocks' scales, per lane
    __m512i scales;          // the 16 scales
    float d;
  };

  static Unpacked unpack(const BlockQ6_K& block) {
    // Scale lanes of code vector 2h + n (elements 64n .. 64n+63 of half h): sub-blocks 8h + 4n + lane / 4.
    static constexpr std::array<std::array<int32_t, 16>, 4> kScaleLanes = [] {
      std::array<std::array<int32_t, 16>, 4> index{};
      for (int c = 0; c < 4; ++c) {
        for (int lane = 0; lane < 16; ++lane) index[c][lane] = 4 * c + lane / 4;
      }
      return index;
    }();
    const __m512i low_nibbles = _mm512_set1_epi8(15), top_bits = _mm512_set1_epi8(0x30);
    // Top bits of elements 32k + l sit at bit 2k of qh: k = 0, 1 for the low nibbles (shifted up to bits
    // 4-5 by 4 and 2), k = 2, 3 for the high ones (down by 0 and 2); per 256-bit half of the vector.
    const __m512i low_shift = _mm512_inserti64x4(_mm512_set1_epi16(4), _mm256_set1_epi16(2), 1);
    const __m512i high_shift = _mm512_inserti64x4(_mm512_set1_epi16(0), _mm256_set1_epi16(2), 1);
    Unpacked w;
    // Signed 8-bit scales in the low 16 bits of each lane, zeros above: see the file comment.
    w.scales = _mm512_and_si512(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block.scales))),
                                _mm512_set1_epi32(0xffff));
    for (int h = 0; h < 2; ++h) {
      const __m512i low = load_codes_512(block.ql + 64 * h);
      const __m512i top = broadcast_256(block.qh + 32 * h);
      w.codes[2 * h] = _mm512_or_si512(_mm512_and_si512(low, low_nibbles),
                                       _mm512_and_si512(_mm512_sllv_epi16(top, low_shift), top_bits));
      w.codes[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(low, 4), low_nibbles),
                                           _mm512_and_si512(_mm512_srlv_epi16(top, high_shift), top_bits));
    }
    for (int c = 0; c < 4; ++c) w.lane_scales[c] = _mm512_permutexvar_epi32(lane_index(kScaleLanes[c]), w.scales);
    w.d = half_to_float(block.d);
    return w;
  }

  static __m512 add_block(const Unpacked& w, int64_t b, const GemvActivations& a, __m512 acc) {
    const int8_t* activation_codes = a.codes.data() + b * kSuperBlock;
    // sum_s scale_s * (c . a)_s - 32 * sum_s scale_s * (sum of a over s)
    __m512i total = _mm512_slli_epi32(
        _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_madd_epi16(w.scales, load_512(a.sums.data() + b * 16))), 5);
    for (int c = 0; c < 4; ++c) {
      const __m512i dots =
          _mm512_dpbusd_epi32(_mm512_setzero_si512(), w.codes[c], load_512(activation_codes + 64 * c));
      total = _mm512_dpwssd_epi32(total, dots, w.lane_scales[c]);
    }
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(total), _mm512_set1_ps(w.d * a.scales[b]), acc);
  }
};

constexpr GemvKernel kQ4_KGemv = BatchedGemv<ScaleMinKGemv<Q4_KCodes>>::kKernel;
constexpr GemvKernel kQ5_KGemv = BatchedGemv<ScaleMinKGemv<Q5_KCodes>>::kKernel;
constexpr GemvKernel kQ6_KGemv = BatchedGemv<Q6_KGemv>::kKernel;
constexpr GemvKernel kQ2_KGemv = BatchedGemv<Q2_KGemv>::kKernel;
constexpr GemvKernel kQ3_KGemv = BatchedGemv<Q3_KGemv>::kKernel;

}  // namespace
}  // namespace lowbit
