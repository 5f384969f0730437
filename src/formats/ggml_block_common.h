// Small helpers shared by ggml's block quantizers (one file per format: ggml_q4_0.h, ggml_q4_k.h, ...).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace lowbit {

// The element of x[0..n) with the largest magnitude, sign kept; the first one wins a tie, as in
// ggml's reference quantizers (which matters for byte-identical output).
inline float signed_absmax(const float* x, int n) {
  float amax = 0.0f, max = 0.0f;
  for (int i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > amax) {
      amax = std::fabs(x[i]);
      max = x[i];
    }
  }
  return max;
}

// Spacing of a scale search's grid (ggml_k_search.cpp, weighted_search.cpp): 2 * half_width + 1
// targets for the extreme value, evenly spaced in [end - width, end + width] around the end `end` of the
// quant range. The width grows with the range: with 32 levels a side, the best scale often clips the
// extreme value by more than one step.
inline float scale_grid_step(int end, int half_width) {
  const float width = std::max(1.0f, std::fabs(static_cast<float>(end)) / 8.0f);
  return width / static_cast<float>(half_width);
}

// v rounded to the nearest integer (halves up) and clamped to [lo, hi]; NaN gives lo. Clamping
// first keeps huge values defined; shifting to v - lo >= 0 lets a truncating conversion round.
// The two selects compile to maxss/minss: this sits in the K quantizers' innermost loops.
inline int round_clamped(float v, int lo, int hi) {
  const float above_lo = v > static_cast<float>(lo) ? v : static_cast<float>(lo);  // NaN -> lo
  const float clamped = above_lo < static_cast<float>(hi) ? above_lo : static_cast<float>(hi);
  return lo + static_cast<int>(clamped - static_cast<float>(lo) + 0.5f);
}

// ggml's reference quantizers turn v = x * inverse_scale + bias into a quant by truncation and
// clamp it to q_max. Clamping v to [0, q_max] first changes nothing for a finite scale, where v lies
// in [0, q_max + 1), and keeps the conversion defined when a subnormal scale made the inverse
// infinite (or NaN data made v NaN, which gives 0).
inline int truncate_clamped(float v, int q_max) {
  const float above_zero = v > 0.0f ? v : 0.0f;
  const float clamped = above_zero < static_cast<float>(q_max) ? above_zero : static_cast<float>(q_max);
  return static_cast<int>(clamped);
}

// ggml's Q8 reference rounding: roundf (halves away from zero). |v| <= 127 for a finite scale; the
// clamp keeps an infinite inverse scale defined, and NaN gives 0.
inline int8_t round_to_int8(float v) {
  if (std::isnan(v)) return 0;
  const float above = v > -127.0f ? v : -127.0f;
  const float clamped = above < 127.0f ? above : 127.0f;
  return static_cast<int8_t>(std::round(clamped));
}

// The 5-bit formats keep each element's fifth bit in a 32-bit little-endian word (one bit per
// element) and its low 4 bits in nibbles like the 4-bit formats.
struct FiveBitQuants {
  uint8_t qh[4];
  uint8_t qs[16];
};

// q[0..32) each in [0, 31].
inline FiveBitQuants pack_five_bit_quants(const int* q) {
  FiveBitQuants packed{};
  for (int j = 0; j < 16; ++j) {
    packed.qs[j] = static_cast<uint8_t>((q[j] & 15) | ((q[j + 16] & 15) << 4));
    packed.qh[j / 8] |= static_cast<uint8_t>((q[j] >> 4) << (j % 8));
    packed.qh[2 + j / 8] |= static_cast<uint8_t>((q[j + 16] >> 4) << (j % 8));
  }
  return packed;
}

// Element i (0..31) of a block packed as above.
inline int unpack_five_bit_quant(const uint8_t* qh, const uint8_t* qs, int i) {
  const int low = i < 16 ? (qs[i] & 15) : (qs[i - 16] >> 4);
  const int high = (qh[i / 8] >> (i % 8)) & 1;
  return low | (high << 4);
}

}  // namespace lowbit
