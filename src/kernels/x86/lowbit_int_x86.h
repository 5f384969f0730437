// lowbit's integer formats (formats/lowbit_int.h) as the x86 kernels read them: a block's scale, and its
// codes 32 at a time as bytes (the zero code is formats/lowbit_int.h's lowbit_int_zero_code), for x86/dot_x86.h and x86/gemm_x86.h. Include only from
// those; as in simd_common.h, everything here has internal linkage.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "formats/lowbit_int.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// How unpack_codes_32 spreads 32 codes of kBits bits (LSB-first, formats/bitpack.h) to bytes when
// kBits divides no byte evenly: a code straddles at most two bytes, so one vpshufb copies both into
// the code's 16-bit lane, a multiplication by 2^(8 - the code's first bit in its first byte) moves the
// code to the lane's high byte, and a shift and a pack leave it in a byte. vpshufb reads within each
// 128-bit half: the low half gets the bytes of codes 0-15, the high half those of codes 16-31.
template <int kBits>
struct CodeSpread {
  int32_t load_mask[8];      // the 4 * kBits bytes of the codes and nothing past them (rows end at buffer ends)
  int32_t half_dwords[8];    // dwords of those bytes per half: 0-3, and from code 16's first byte on
  int8_t pair_index[2][32];  // lanes of codes 0-7 | 16-23, and of codes 8-15 | 24-31
  int16_t multiplier[16];
};

template <int kBits>
constexpr CodeSpread<kBits> make_code_spread() {
  CodeSpread<kBits> spread{};
  // Code 16 starts at byte 2 * kBits; the high half starts at the dword holding it.
  constexpr int kHighFirstDword = 2 * kBits / 4;
  for (int i = 0; i < 8; ++i) {
    spread.load_mask[i] = i < kBits ? -1 : 0;
    spread.half_dwords[i] = i < 4 ? i : kHighFirstDword + i - 4;
  }
  for (int set = 0; set < 2; ++set) {
    for (int half = 0; half < 2; ++half) {
      for (int j = 0; j < 8; ++j) {
        const int code = 16 * half + 8 * set + j;
        const int byte = code * kBits / 8 - (half == 0 ? 0 : 4 * kHighFirstDword);
        spread.pair_index[set][16 * half + 2 * j] = static_cast<int8_t>(byte);
        spread.pair_index[set][16 * half + 2 * j + 1] = static_cast<int8_t>(byte + 1);
      }
    }
  }
  for (int lane = 0; lane < 16; ++lane) {
    const int first_bit = (lane % 8 * kBits) % 8;
    spread.multiplier[lane] = static_cast<int16_t>(1 << (8 - first_bit));
  }
  return spread;
}

// The 32 codes of kBits bits at `packed` (4 * kBits bytes of the stream, starting at a code that is a
// multiple of 32) as bytes, code i in byte i.
template <int kBits>
__m256i unpack_codes_32(const uint8_t* packed) {
  if constexpr (kBits == 8) {
    return load_256(packed);
  } else if constexpr (kBits == 4) {
    // Byte j holds codes 2j (low nibble) and 2j + 1: widened to 16 bits, its high nibble moves up a byte.
    const __m256i bytes = _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(packed)));
    return _mm256_and_si256(_mm256_or_si256(bytes, _mm256_slli_epi16(bytes, 4)), _mm256_set1_epi16(0x0f0f));
  } else {
    static_assert(kBits >= 2 && kBits < 8);
    static constexpr CodeSpread<kBits> kSpread = make_code_spread<kBits>();
    const __m256i bytes = _mm256_maskload_epi32(reinterpret_cast<const int*>(packed), load_256(kSpread.load_mask));
    const __m256i halves = _mm256_permutevar8x32_epi32(bytes, load_256(kSpread.half_dwords));
    __m256i codes[2];
    for (int set = 0; set < 2; ++set) {
      const __m256i pairs = _mm256_shuffle_epi8(halves, load_256(kSpread.pair_index[set]));
      codes[set] = _mm256_srli_epi16(_mm256_mullo_epi16(pairs, load_256(kSpread.multiplier)), 8);
    }
    // The pack interleaves per half: codes 0-7, 8-15 | 16-23, 24-31, which is their order.
    return _mm256_and_si256(_mm256_packus_epi16(codes[0], codes[1]), _mm256_set1_epi8((1 << kBits) - 1));
  }
}

// The fields of a block of format F, read from its bytes: each element is S * (u - zu), u its unsigned code.
template <LowbitIntFormat F>
struct LowbitIntLayout {
  static constexpr size_t kBytes = lowbit_int_block_bytes(F);
  static constexpr int kGroups = static_cast<int>(F.group / 32);  // of 32 codes, one Q8_1 block each

  static uint16_t scale(const uint8_t* block) {
    uint16_t bits;
    std::memcpy(&bits, block, sizeof bits);
    return bits;
  }
  static __m256i codes(const uint8_t* block, int group) {
    return unpack_codes_32<F.bits>(block + lowbit_int_codes_offset(F) + 4 * F.bits * group);
  }
};

}  // namespace
}  // namespace lowbit
