// What the BF16 kernels share (x86/float16_x86.h, x86/float16_amx_x86.h): lane masks and the rounding of
// the activations to BF16. AVX-512 BW; everything here has internal linkage.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/x86/gcc_avx512_warnings.h"

namespace lowbit {
namespace {

// The low n (clamped to [0, 16] or [0, 32]) lanes.
__mmask16 lanes16(int64_t n) { return n >= 16 ? __mmask16(0xffff) : n <= 0 ? __mmask16(0) : __mmask16((1u << n) - 1); }
__mmask32 lanes32(int64_t n) { return n >= 32 ? ~__mmask32(0) : n <= 0 ? __mmask32(0) : __mmask32((1u << n) - 1); }

// x[n] rounded to BF16 (to nearest even; NaN stays a quiet NaN) bit for bit as core/half.h's fp32_to_bf16,
// into out[0, n), and zeros into out[n, out_size) (out_size a multiple of 16). Integer arithmetic, not
// vcvtneps2bf16: that instruction flushes subnormal inputs to zero.
void round_to_bf16(const float* x, int64_t n, uint16_t* out, int64_t out_size) {
  for (int64_t i = 0; i < out_size; i += 16) {
    const __m512i f = _mm512_castps_si512(_mm512_maskz_loadu_ps(lanes16(n - i), x + i));
    const __m512i odd = _mm512_and_si512(_mm512_srli_epi32(f, 16), _mm512_set1_epi32(1));
    const __m512i bias = _mm512_add_epi32(odd, _mm512_set1_epi32(0x7fff));
    const __m512i rounded = _mm512_srli_epi32(_mm512_add_epi32(f, bias), 16);
    const __mmask16 nan =
        _mm512_cmpgt_epu32_mask(_mm512_and_si512(f, _mm512_set1_epi32(0x7fffffff)), _mm512_set1_epi32(0x7f800000));
    const __m512i quiet = _mm512_or_si512(_mm512_srli_epi32(f, 16), _mm512_set1_epi32(0x40));
    const __m256i halves = _mm512_cvtepi32_epi16(_mm512_mask_mov_epi32(rounded, nan, quiet));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), halves);
  }
}

}  // namespace
}  // namespace lowbit
