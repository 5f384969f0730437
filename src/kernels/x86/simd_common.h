// Small 256-bit building blocks shared by the x86 kernels (x86/dot_x86.h, gemm_x86.h, w8a8_x86.h, gemv_*), compiled
// with each including file's instruction set. Include only from those headers: everything here has
// internal linkage, so the AVX2 and AVX-512 compilations never merge into one copy and no wide-instruction
// copy leaks into baseline code.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/cpu_features.h"
#include "formats/ggml_q3_k.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"

namespace lowbit {
namespace {

// acc + eight int32 lanes, lane i = sum of u[4i + k] * s[4i + k] over k < 4 (u unsigned, s signed
// bytes). maddubs saturates its 16-bit pair sums; every caller keeps u * s pairs within int16 (u <= 128
// with |s| <= 127, or u <= 63).
inline __m256i dot_u8_s8_add(__m256i acc, __m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
  return _mm256_dpbusd_epi32(acc, u, s);
#else
  return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1)));
#endif
}

inline __m256i dot_u8_s8(__m256i u, __m256i s) { return dot_u8_s8_add(_mm256_setzero_si256(), u, s); }

// Per int32 lane i, scale[i] times the sum of u[4i + k] * s[4i + k] over k < 4, for int16 scales held in
// both halves of their lane (scale_pairs): the scale rides in the multiply-add that sums the maddubs pairs,
// in place of a separate 32-bit multiply (two µops with latency 10 on Intel cores). The pairs must stay
// within int16 (u * |s| at most 16383).
inline __m256i scaled_dot_u8_s8(__m256i u, __m256i s, __m256i scale_pairs) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), scale_pairs);
}

// int32 lanes holding values that fit int16, as those values in both 16-bit halves.
inline __m256i int16_pairs(__m256i v) {
  return _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi32(0xffff)), _mm256_slli_epi32(v, 16));
}

inline float horizontal_sum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  sum = _mm_add_ps(sum, _mm_movehl_ps(sum, sum));
  sum = _mm_add_ss(sum, _mm_movehdup_ps(sum));
  return _mm_cvtss_f32(sum);
}

inline float half_to_float(uint16_t bits) { return _cvtsh_ss(bits); }

inline __m256i load_256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline void store_256(void* p, __m256i v) { _mm256_storeu_si256(static_cast<__m256i*>(p), v); }

// v kept in a register. Where one loaded vector feeds two operations (a nibble vector's low and high
// halves), GCC 12 folds the load into both as a memory operand: two loads of the same 64 bytes, and the
// kernel becomes bound by load slots (lb_q4_0x16's one-token kernel, one core, 1024 x 2048 in cache, Zen 4
// VM, median of 7: 34.5 µs with the second load, 26.0-27.4 without).
template <typename Vector>
inline Vector in_register(Vector v) {
  asm("" : "+v"(v));
  return v;
}

// The 32 nibbles of 16 bytes as bytes: low nibbles in bytes 0-15, high nibbles in bytes 16-31.
inline __m256i unpack_nibbles_16(__m128i bytes) {
  const __m256i twice = _mm256_broadcastsi128_si256(bytes);
  return _mm256_and_si256(_mm256_srlv_epi64(twice, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(15));
}
inline __m256i unpack_nibbles_16(const uint8_t* bytes) {
  return unpack_nibbles_16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(bytes)));
}

// Bytes 4k .. 4k + 15 of group l of an interleaved block's codes `qs` (formats/layout_conversion.h), in
// order: four 4-byte loads 64 bytes apart, put together in registers (a vector built from scalars through
// memory would stall on store forwarding).
inline __m128i interleaved_words(const uint8_t* qs, int l, int k) {
  const auto word = [&](int j) { return _mm_loadu_si32(qs + interleaved_byte(l, 4 * (k + j))); };
  return _mm_unpacklo_epi64(_mm_unpacklo_epi32(word(0), word(1)), _mm_unpacklo_epi32(word(2), word(3)));
}

// The 32 codes of block l of lb_q4_0x16's (or sub-block l of lb_q4_kx2's) interleaved nibbles `qs`, as
// unpack_nibbles_16 gives a Q4_0 block's.
inline __m256i unpack_interleaved_nibbles(const uint8_t* qs, int l) { return unpack_nibbles_16(interleaved_words(qs, l, 0)); }

// The 32 codes of block l of lb_q8_0x16's interleaved codes `qs`, in order.
inline __m256i interleaved_bytes_32(const int8_t* qs, int l) {
  const auto* bytes = reinterpret_cast<const uint8_t*>(qs);
  return _mm256_inserti128_si256(_mm256_castsi128_si256(interleaved_words(bytes, l, 0)), interleaved_words(bytes, l, 4), 1);
}

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

// Q4_K/Q5_K's 6-bit scale and min codes (layout in formats/ggml_k_layout.h) as 16 bytes: the scales of
// sub-blocks 0-7, then their mins. Codes 0-3 sit in the low 6 bits of bytes 0-3 (scales) and 4-7
// (mins); codes 4-7 take their low 4 bits from the nibbles of bytes 8-11 and their top 2 bits from the
// top bits of bytes 0-3 (scales) and 4-7 (mins). Four codes at a time in 32-bit lanes; `header` is the
// block's first 16 bytes (d, dmin, then the 12 bytes of codes as dwords 1-3).
inline __m128i unpack_scale_min_codes(__m128i header) {
  // Lanes: dword 1 & 3f.., dword 3 & 0f.., dword 2 & 3f.., (dword 3 >> 4) & 0f..
  const __m128i low = _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(header, _MM_SHUFFLE(3, 2, 3, 1)),
                                                   _mm_setr_epi32(0, 0, 0, 4)),
                                    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  // Lanes 1 and 3: the top 2 bits of dwords 1 and 2, moved to bits 4-5.
  const __m128i top = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(header, _MM_SHUFFLE(2, 0, 1, 0)), 2),
                                    _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm_or_si128(low, top);
}

// Q3_K's 16 scale codes as signed bytes (the stored 6-bit codes minus 32; layout in formats/ggml_q3_k.h).
inline __m128i q3_k_scale_codes(const BlockQ3_K& block) {
  // The block's last 16 bytes (qs[62..63], the 12 scale bytes, d): a load that stays inside the block.
  const __m128i tail =
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint8_t*>(&block) + sizeof(BlockQ3_K) - 16));
  const __m128i packed = _mm_srli_si128(tail, 2);  // scale bytes 0-11 first
  const __m128i nibbles = _mm_set1_epi8(15);
  // Low 4 bits: sub-block s < 8 the low nibble of byte s, s >= 8 the high nibble of byte s - 8.
  const __m128i low = _mm_unpacklo_epi64(_mm_and_si128(packed, nibbles), _mm_and_si128(_mm_srli_epi16(packed, 4), nibbles));
  // Top 2 bits: byte 8 + s % 4, bits 2 (s / 4).
  const __m128i tops = _mm_shuffle_epi8(packed, _mm_setr_epi8(8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11, 8, 9, 10, 11));
  const __m128i high = _mm_and_si128(_mm_srlv_epi32(tops, _mm_setr_epi32(0, 2, 4, 6)), _mm_set1_epi8(3));
  return _mm_sub_epi8(_mm_or_si128(low, _mm_slli_epi16(high, 4)), _mm_set1_epi8(32));
}

// lb_q4_kx2's 16 scale codes (byte s: sub-block s's) and 16 min codes, from formats/lowbit_q4_kx2.h's
// packing: the low 4 bits of both in one byte, the top 2 bits of code c at bit 2 (c / 8) of byte c % 8.
inline void unpack_q4_kx2_codes(const Q4_Kx2Scales& scales, __m128i& scale_codes, __m128i& min_codes) {
  const __m128i nibbles = _mm_set1_epi8(15), crumbs = _mm_set1_epi8(3);
  const __m128i low = _mm_loadu_si128(reinterpret_cast<const __m128i*>(scales.low));
  int64_t high_bits;
  std::memcpy(&high_bits, scales.high, sizeof high_bits);
  const __m128i high = _mm_set1_epi64x(high_bits);
  const auto top = [&](int first_shift) {
    return _mm_slli_epi16(_mm_and_si128(_mm_srlv_epi64(high, _mm_set_epi64x(first_shift + 2, first_shift)), crumbs), 4);
  };
  scale_codes = _mm_or_si128(_mm_and_si128(low, nibbles), top(0));
  min_codes = _mm_or_si128(_mm_and_si128(_mm_srli_epi16(low, 4), nibbles), top(4));
}

// How far ahead of the byte being multiplied the decode kernels ask for lines into L2, per vendor, and on
// AMD per kernel: kNear for the kernels that take in their bytes fastest.
// Intel (Sapphire Rapids-class VM): a kernel doing arithmetic between its loads leaves the core's hardware
// prefetchers behind: one core streamed Q4_0 rows from DRAM at 7.3 GB/s without and 10.1 GB/s with these
// hints 3 KB ahead (plain read: 12.3 GB/s; 2-4 KB about equal, 512 B and 8 KB less); with both cores
// streaming (TinyLlama decode), 3 KB beat 4 KB by 1-6% for Q4_0 (as lb_q4_0x16), Q8_0 and Q4_K_M.
// AMD Zen 4 (EPYC VM): 3 KB ahead held one core below the hardware prefetchers alone (TinyLlama decode,
// 1 thread: F16 7.6 t/s with, 9.5 without; Q4_0 29 / 38), 8 KB ahead was best or level for F16, Q4_0 and
// Q4_K_M (F16 10.7, Q4_0 37-38, Q4_K_M 37-40 against 23-25 at 3 KB) and 2 threads gained 2-12%; only
// lb_q8_0x16 on one core preferred 3 KB (21-23 t/s against 18-19), on two it was level. Since the
// kernels load each code vector once (in_register), lb_q4_0x16 and lb_q8_0x16 at AVX-512 and
// lb_q8_0x16 at AVX2 stream faster 1 KB ahead (kNear; one core, GB/s of weights over three rounds:
// lb_q8_0x16 26-27 against 22-23, lb_q4_0x16 26-28 against 23-24, at AVX2 lb_q8_0x16 29-32 against
// 25-27; two threads, TinyLlama Q8_0 decode 30-43 t/s against 29-39, ahead in three rounds of four,
// Q4_0 level), while the K formats in the file's layout and lb_q4_0x16 at AVX2 stayed faster at 8 KB
// (one core Q6_K 28-29 against 24-25 GB/s, AVX2 Q4_0 45-49 against 41-45 t/s). On Zen 5 the hints made
// no difference. (Decided on first use, not at static initialization: cpu_features() may throw on a bad
// LOWBIT_AMX, and that error must reach main.)
enum class PrefetchReach { kFar, kNear };

inline int prefetch_distance(PrefetchReach reach) {
  static const bool intel = cpu_features().intel;
  if (intel) return 3072;
  return reach == PrefetchReach::kNear ? 1024 : 8192;
}

// Asks for the lines at p, p + 64, ... below p + bytes, prefetch_distance(reach) ahead: called for consecutive
// pieces of a stream no more than 64 bytes apart, it covers every line. A hint never faults, so it may run
// past the end of the rows. Made once per kernel call, before its loops: the first prefetch_distance()
// initializes a function-local static, and with that possible call inside a loop GCC 12 kept the loop's
// vector accumulators in memory (a call clobbers every vector register), which put a store and a reload
// on each block's accumulation chain. Hoisted (Zen 4 VM): one core's Q2_K product 4096 x 4096 took 387
// µs against 562; TinyLlama decode on two threads, Q2_K 56 and 44 t/s against 44 and 40, Q3_K_M 48-50
// against 38-41, Q5_K_M 57 against 39.
class LinePrefetcher {
 public:
  explicit LinePrefetcher(PrefetchReach reach = PrefetchReach::kFar) : distance_(prefetch_distance(reach)) {}
  void ahead(const uint8_t* p, int bytes) const {
    for (int offset = 0; offset < bytes; offset += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(p + distance_ + offset), _MM_HINT_T1);
    }
  }

 private:
  int distance_;
};

#if defined(__AVX512F__)
// The layout ldtilecfg reads (palette 1) for the AMX kernels: per tile register its rows and bytes per row.
struct alignas(64) AmxTileConfig {
  uint8_t palette = 1;
  uint8_t start_row = 0;
  uint8_t reserved[14] = {};
  uint16_t bytes_per_row[16] = {};
  uint8_t rows[16] = {};
};

// out[c] lane r = in[r] lane c: a 16 x 16 transposition of dwords (pairs, then quads within 128-bit
// lanes, then the 4 x 4 transposition of the lanes), which turns 16 weight rows into the AMX kernels'
// tiles (x86/gemm_amx_x86.h, x86/float16_amx_x86.h). The masked forms with every lane on: GCC 12's plain
// unpacks and shuffles start from an undefined vector and warn (x86/gemm_x86.h).
inline void transpose_16x16(const __m512i in[16], __m512i out[16]) {
  __m512i pairs[16], quads[16];
  for (int i = 0; i < 8; ++i) {
    pairs[2 * i] = _mm512_maskz_unpacklo_epi32(0xffff, in[2 * i], in[2 * i + 1]);
    pairs[2 * i + 1] = _mm512_maskz_unpackhi_epi32(0xffff, in[2 * i], in[2 * i + 1]);
  }
  // quads[4q + m] lane k: column 4k + m of rows 4q .. 4q + 3.
  for (int q = 0; q < 4; ++q) {
    quads[4 * q] = _mm512_maskz_unpacklo_epi64(0xff, pairs[4 * q], pairs[4 * q + 2]);
    quads[4 * q + 1] = _mm512_maskz_unpackhi_epi64(0xff, pairs[4 * q], pairs[4 * q + 2]);
    quads[4 * q + 2] = _mm512_maskz_unpacklo_epi64(0xff, pairs[4 * q + 1], pairs[4 * q + 3]);
    quads[4 * q + 3] = _mm512_maskz_unpackhi_epi64(0xff, pairs[4 * q + 1], pairs[4 * q + 3]);
  }
  for (int m = 0; m < 4; ++m) {
    const __m512i low01 = _mm512_maskz_shuffle_i32x4(0xffff, quads[m], quads[4 + m], 0x44);
    const __m512i high01 = _mm512_maskz_shuffle_i32x4(0xffff, quads[m], quads[4 + m], 0xee);
    const __m512i low23 = _mm512_maskz_shuffle_i32x4(0xffff, quads[8 + m], quads[12 + m], 0x44);
    const __m512i high23 = _mm512_maskz_shuffle_i32x4(0xffff, quads[8 + m], quads[12 + m], 0xee);
    out[m] = _mm512_maskz_shuffle_i32x4(0xffff, low01, low23, 0x88);
    out[4 + m] = _mm512_maskz_shuffle_i32x4(0xffff, low01, low23, 0xdd);
    out[8 + m] = _mm512_maskz_shuffle_i32x4(0xffff, high01, high23, 0x88);
    out[12 + m] = _mm512_maskz_shuffle_i32x4(0xffff, high01, high23, 0xdd);
  }
}
#endif

}  // namespace
}  // namespace lowbit
