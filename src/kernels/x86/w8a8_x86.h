// The lb_w8_row dot products on 256-bit vectors, compiled twice like kernels/x86/dot_x86.h: by
// kernels/avx2/ (each u8 x s8 product-sum through maddubs + madd) and by kernels/avx512/ (one
// vpdpbusd). Include only from those two files; everything here has internal linkage so the two
// compilations never merge into one copy.
//
// Signed x signed bytes go through the unsigned x signed instructions with the weight's sign moved onto
// the activation: w * a = |w| * sign(w) a. The weight row is loaded once for every token of a group, so
// |w| is computed once per token group. maddubs's 16-bit pair sums stay below 2 * 128 * 127 < 32767.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "formats/lowbit_w8_row.h"
#include "kernels/w8a8_kernels.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// out[t] = sum over blocks of d * (int32 block sum of w * a_t), a_t = a + t * stride, for t < T.
template <int T>
void dot_w8a8_tokens(int64_t n, const void* weight_row, const int8_t* a, size_t stride, float* out) {
  const auto* w = static_cast<const BlockW8Row*>(weight_row);
  __m256 sums[T];
  for (int t = 0; t < T; ++t) sums[t] = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kW8RowBlock; ++b) {
    const __m256i w0 = load_256(w[b].qs), w1 = load_256(w[b].qs + 32);
    const __m256i abs0 = _mm256_abs_epi8(w0), abs1 = _mm256_abs_epi8(w1);
    const __m256 d = _mm256_set1_ps(w[b].d);
    for (int t = 0; t < T; ++t) {
      const int8_t* at = a + t * stride + b * kW8RowBlock;
      __m256i block = dot_u8_s8_add(_mm256_setzero_si256(), abs0, _mm256_sign_epi8(load_256(at), w0));
      block = dot_u8_s8_add(block, abs1, _mm256_sign_epi8(load_256(at + 32), w1));
      sums[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(block), sums[t]);
    }
  }
  for (int t = 0; t < T; ++t) out[t] = horizontal_sum(sums[t]);
}

float dot_w8a8(int64_t n, const void* weight_row, const int8_t* a) {
  float out;
  dot_w8a8_tokens<1>(n, weight_row, a, 0, &out);
  return out;
}

// int8 weights times F32 activations: codes widened to float, eight at a time.
float dot_w8_f32(int64_t n, const void* weight_row, const void* activation_row) {
  const auto* w = static_cast<const BlockW8Row*>(weight_row);
  const auto* x = static_cast<const float*>(activation_row);
  __m256 sum = _mm256_setzero_ps();
  for (int64_t b = 0; b < n / kW8RowBlock; ++b) {
    const float* xb = x + b * kW8RowBlock;
    __m256 block0 = _mm256_setzero_ps(), block1 = _mm256_setzero_ps();
    for (int j = 0; j < kW8RowBlock; j += 16) {
      const __m128i codes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[b].qs + j));
      const __m256 low = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(codes));
      const __m256 high = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(codes, 8)));
      block0 = _mm256_fmadd_ps(low, _mm256_loadu_ps(xb + j), block0);
      block1 = _mm256_fmadd_ps(high, _mm256_loadu_ps(xb + j + 8), block1);
    }
    sum = _mm256_fmadd_ps(_mm256_set1_ps(w[b].d), _mm256_add_ps(block0, block1), sum);
  }
  return horizontal_sum(sum);
}

constexpr W8A8Kernel kX86W8A8{dot_w8a8, dot_w8a8_tokens<kTokenGroup>};
constexpr DotKernel kX86W8F32{TensorType::F32, nullptr, dot_w8_f32, nullptr};

}  // namespace
}  // namespace lowbit
