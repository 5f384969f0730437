// Where the K-quant formats keep each element's bits. Elements are numbered 0..255 within a
// super-block; sub-block s covers elements [s * sub_size, (s + 1) * sub_size) in every format.
#pragma once

#include <cstdint>

namespace lowbit {

// 2-bit fields (Q2_K quants, Q3_K low bits): 64 bytes; each 128-element half uses 32 bytes, and
// element e of a half sits in byte e % 32 at bit 2 * (e / 32).
inline int crumb_byte(int e) { return (e / 128) * 32 + e % 32; }
inline int crumb_shift(int e) { return 2 * ((e % 128) / 32); }

// 4-bit fields (Q4_K quants, Q5_K low bits): 128 bytes; each 64-element quarter uses 32 bytes,
// its first 32 elements in the low nibbles and the next 32 in the high nibbles.
inline int nibble_byte(int e) { return (e / 64) * 32 + e % 32; }
inline int nibble_shift(int e) { return 4 * ((e / 32) % 2); }

// One extra bit per element (Q3_K hmask, Q5_K qh): 32 bytes; element e in byte e % 32, bit e / 32.
inline int high_bit_byte(int e) { return e % 32; }
inline int high_bit_shift(int e) { return e / 32; }

// Q4_K/Q5_K: eight 6-bit scale codes and eight 6-bit min codes in 12 bytes. Bytes 0-3 hold scales
// 0-3, bytes 4-7 mins 0-3 (low 6 bits); the low 4 bits of scale/min 4-7 fill bytes 8-11 (scale in
// the low nibble), and their top 2 bits the top 2 bits of bytes 0-3 (scales) and 4-7 (mins).
inline void pack_scale_min_6bit(const uint8_t* scale_code, const uint8_t* min_code, uint8_t* packed) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = static_cast<uint8_t>(scale_code[j] | ((scale_code[j + 4] >> 4) << 6));
    packed[j + 4] = static_cast<uint8_t>(min_code[j] | ((min_code[j + 4] >> 4) << 6));
    packed[j + 8] = static_cast<uint8_t>((scale_code[j + 4] & 15) | ((min_code[j + 4] & 15) << 4));
  }
}
struct ScaleMinCodes {
  int scale, min;
};
inline ScaleMinCodes unpack_scale_min_6bit(const uint8_t* packed, int j) {
  if (j < 4) return {packed[j] & 63, packed[j + 4] & 63};
  return {(packed[j + 4] & 15) | ((packed[j - 4] >> 6) << 4), (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4)};
}

}  // namespace lowbit
