// The x86 vector operations (kernels/vector_ops.h), written once on 256-bit vectors and compiled by
// kernels/avx2/ and kernels/avx512/ (there with EVEX encodings and mask registers). Include only from
// those two files: everything here has internal linkage, and nothing calls an inline function of a
// shared header (std::exp included), so no wide-instruction copy can reach baseline code.
//
// Rows of any length: whole vectors, then one masked vector for the last n % 8 lanes.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "kernels/vector_ops.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// Lanes below `count` set (all of them from 8 up).
inline __m256i lanes_below(int64_t count) {
  const int clamped = count < 8 ? static_cast<int>(count) : 8;
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(clamped), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// The first min(count, 8) floats at p, the other lanes 0; the masked forms only at a row's tail.
inline __m256 load_lanes(const float* p, int64_t count) {
  return count >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, lanes_below(count));
}

inline void store_lanes(float* p, __m256 v, int64_t count) {
  if (count >= 8) {
    _mm256_storeu_ps(p, v);
  } else {
    _mm256_maskstore_ps(p, lanes_below(count), v);
  }
}

inline float horizontal_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// 2^k for integer lanes -126 <= k <= 127.
inline __m256 power_of_two(__m256i k) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(k, _mm256_set1_epi32(127)), 23));
}

// e^x within about 2 ulp: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two so that n ln2 is exact),
// e^r by Cephes' expf polynomial, then 2^n applied as two factors 2^(n/2), so that n from -150 (results
// in the denormal range) to 128 (overflow to infinity) stays within a float exponent. x is clamped to
// [-104, 89] first: e^-104 rounds to 0 and e^89 to infinity, and -inf comes out 0.
inline __m256 exp_lanes(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-104.0f)), _mm256_set1_ps(89.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i k = _mm256_cvtps_epi32(n);
  const __m256i half_k = _mm256_srai_epi32(k, 1);
  return _mm256_mul_ps(_mm256_mul_ps(p, power_of_two(half_k)), power_of_two(_mm256_sub_epi32(k, half_k)));
}

// The double lanes keep a long row's sum as exact as the scalar reference's.
double x86_sum_squares(const float* x, int64_t n) {
  __m256d low = _mm256_setzero_pd(), high = _mm256_setzero_pd();
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 v = load_lanes(x + i, n - i);
    const __m256d v_low = _mm256_cvtps_pd(_mm256_castps256_ps128(v));
    const __m256d v_high = _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1));
    low = _mm256_fmadd_pd(v_low, v_low, low);
    high = _mm256_fmadd_pd(v_high, v_high, high);
  }
  const __m256d sum = _mm256_add_pd(low, high);
  const __m128d pair = _mm_add_pd(_mm256_castpd256_pd128(sum), _mm256_extractf128_pd(sum, 1));
  return _mm_cvtsd_f64(_mm_add_sd(pair, _mm_unpackhi_pd(pair, pair)));
}

void x86_scale_mul(const float* x, float s, const float* w, float* out, int64_t n) {
  const __m256 scale = _mm256_set1_ps(s);
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 scaled = _mm256_mul_ps(load_lanes(x + i, n - i), scale);
    store_lanes(out + i, _mm256_mul_ps(scaled, load_lanes(w + i, n - i)), n - i);
  }
}

// Two accumulators: attention's rows (head_dim 64 or 128) are too short to need more.
float x86_dot(const float* a, const float* b, int64_t n) {
  __m256 sum0 = _mm256_setzero_ps(), sum1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    sum0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), sum0);
    sum1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), sum1);
  }
  for (; i < n; i += 8) sum0 = _mm256_fmadd_ps(load_lanes(a + i, n - i), load_lanes(b + i, n - i), sum0);
  return horizontal_sum(_mm256_add_ps(sum0, sum1));
}

void x86_axpy(float a, const float* x, float* y, int64_t n) {
  const __m256 factor = _mm256_set1_ps(a);
  for (int64_t i = 0; i < n; i += 8) {
    store_lanes(y + i, _mm256_fmadd_ps(factor, load_lanes(x + i, n - i), load_lanes(y + i, n - i)), n - i);
  }
}

void x86_scale(float* x, float s, int64_t n) {
  const __m256 factor = _mm256_set1_ps(s);
  for (int64_t i = 0; i < n; i += 8) store_lanes(x + i, _mm256_mul_ps(load_lanes(x + i, n - i), factor), n - i);
}

// Lane k: the sum of v[k]'s lanes.
inline __m256 sum_each(const __m256 v[8]) {
  // hadd(a, b) = a01 a23 b01 b23 | a45 a67 b45 b67, so two rounds leave v[0..3]'s sums of lanes 0-3 in
  // the low half and of lanes 4-7 in the high half (and v[4..7]'s in the other vector).
  const __m256 first = _mm256_hadd_ps(_mm256_hadd_ps(v[0], v[1]), _mm256_hadd_ps(v[2], v[3]));
  const __m256 second = _mm256_hadd_ps(_mm256_hadd_ps(v[4], v[5]), _mm256_hadd_ps(v[6], v[7]));
  return _mm256_add_ps(_mm256_permute2f128_ps(first, second, 0x20), _mm256_permute2f128_ps(first, second, 0x31));
}

// scores[p] = scale * (query . row p). Eight positions at a time where rows are whole vectors (head
// sizes 64, 128): each row keeps its own accumulator and the eight are summed across lanes together, one
// reduction per eight scores.
void attention_scores(const float* query, const float* rows, int64_t stride, int64_t positions, int64_t n,
                      float scale, float* scores) {
  int64_t p = 0;
  if (n % 8 == 0) {
    for (; p + 8 <= positions; p += 8) {
      __m256 sums[8];
      for (__m256& sum : sums) sum = _mm256_setzero_ps();
      for (int64_t i = 0; i < n; i += 8) {
        const __m256 q = _mm256_loadu_ps(query + i);
        for (int k = 0; k < 8; ++k) sums[k] = _mm256_fmadd_ps(q, _mm256_loadu_ps(rows + (p + k) * stride + i), sums[k]);
      }
      _mm256_storeu_ps(scores + p, _mm256_mul_ps(sum_each(sums), _mm256_set1_ps(scale)));
    }
  }
  for (; p < positions; ++p) scores[p] = scale * x86_dot(query, rows + p * stride, n);
}

// out[i] += sum over p of weights[p] * row p [i]. Thirty-two values of out stay in registers while every
// row passes once per such chunk.
void add_weighted_rows(const float* weights, const float* rows, int64_t stride, int64_t positions, int64_t n,
                       float* out) {
  constexpr int kVectors = 4;
  for (int64_t chunk = 0; chunk < n; chunk += 8 * kVectors) {
    const int64_t left = (n - chunk + 7) / 8;  // vectors up to the end of the row
    const int vectors = left < kVectors ? static_cast<int>(left) : kVectors;
    __m256 sums[kVectors];
    for (int k = 0; k < vectors; ++k) sums[k] = load_lanes(out + chunk + 8 * k, n - chunk - 8 * k);
    for (int64_t p = 0; p < positions; ++p) {
      const __m256 weight = _mm256_set1_ps(weights[p]);
      const float* row = rows + p * stride + chunk;
      for (int k = 0; k < vectors; ++k) {
        sums[k] = _mm256_fmadd_ps(weight, load_lanes(row + 8 * k, n - chunk - 8 * k), sums[k]);
      }
    }
    for (int k = 0; k < vectors; ++k) store_lanes(out + chunk + 8 * k, sums[k], n - chunk - 8 * k);
  }
}

void x86_softmax(float* x, int64_t n) {
  const __m256 minus_infinity = _mm256_set1_ps(-__builtin_inff());
  __m256 max8 = minus_infinity;
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 in_row = _mm256_castsi256_ps(lanes_below(n - i));
    max8 = _mm256_max_ps(max8, _mm256_blendv_ps(minus_infinity, load_lanes(x + i, n - i), in_row));
  }
  const __m256 max_value = _mm256_set1_ps(horizontal_max(max8));
  __m256 sum = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 e = exp_lanes(_mm256_sub_ps(load_lanes(x + i, n - i), max_value));
    store_lanes(x + i, e, n - i);
    sum = _mm256_add_ps(sum, _mm256_and_ps(e, _mm256_castsi256_ps(lanes_below(n - i))));  // lanes past n: 0
  }
  x86_scale(x, 1.0f / horizontal_sum(sum), n);
}

// Positions in chunks whose key (then value) rows stay in L1 while every head of the group reads them;
// per head the sums run over the positions in order, as one pass would.
void x86_attend_heads(const float* queries, int64_t heads, const float* keys, const float* values, int64_t stride,
                      int64_t positions, int64_t n, float scale, float* scores, float* out) {
  constexpr int64_t kChunk = 64;  // a multiple of attention_scores' 8 positions per step
  for (int64_t p0 = 0; p0 < positions; p0 += kChunk) {
    const int64_t count = positions - p0 < kChunk ? positions - p0 : kChunk;
    for (int64_t h = 0; h < heads; ++h) {
      attention_scores(queries + h * n, keys + p0 * stride, stride, count, n, scale, scores + h * positions + p0);
    }
  }
  for (int64_t h = 0; h < heads; ++h) x86_softmax(scores + h * positions, positions);
  for (int64_t i = 0; i < heads * n; ++i) out[i] = 0.0f;
  for (int64_t p0 = 0; p0 < positions; p0 += kChunk) {
    const int64_t count = positions - p0 < kChunk ? positions - p0 : kChunk;
    for (int64_t h = 0; h < heads; ++h) {
      add_weighted_rows(scores + h * positions + p0, values + p0 * stride, stride, count, n, out + h * n);
    }
  }
}

void x86_silu_mul(float* gate, const float* up, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 8) {
    const __m256 g = load_lanes(gate + i, n - i);
    const __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp_lanes(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    store_lanes(gate + i, _mm256_mul_ps(silu, load_lanes(up + i, n - i)), n - i);
  }
}

inline void rotate_pair(float& a, float& b, float cos, float sin) {
  const float a0 = a, b0 = b;
  a = a0 * cos - b0 * sin;
  b = a0 * sin + b0 * cos;
}

// Four pairs (a, b) per vector, cos and sin each repeated for both lanes of a pair: even lanes
// a cos - b sin, odd lanes b cos + a sin (fmaddsub), with b and a swapped in by a permute.
void x86_rope_interleaved(float* head, const float* cos, const float* sin, int64_t half) {
  const __m256i repeat_pairs = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3);
  int64_t i = 0;
  for (; i + 4 <= half; i += 4) {
    const __m256 c = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(cos + i)), repeat_pairs);
    const __m256 s = _mm256_permutevar8x32_ps(_mm256_castps128_ps256(_mm_loadu_ps(sin + i)), repeat_pairs);
    const __m256 v = _mm256_loadu_ps(head + 2 * i);
    const __m256 swapped = _mm256_permute_ps(v, 0xB1);
    _mm256_storeu_ps(head + 2 * i, _mm256_fmaddsub_ps(v, c, _mm256_mul_ps(swapped, s)));
  }
  for (; i < half; ++i) rotate_pair(head[2 * i], head[2 * i + 1], cos[i], sin[i]);
}

void x86_rope_rotate_half(float* head, const float* cos, const float* sin, int64_t half) {
  int64_t i = 0;
  for (; i + 8 <= half; i += 8) {
    const __m256 a = _mm256_loadu_ps(head + i), b = _mm256_loadu_ps(head + half + i);
    const __m256 c = _mm256_loadu_ps(cos + i), s = _mm256_loadu_ps(sin + i);
    _mm256_storeu_ps(head + i, _mm256_fmsub_ps(a, c, _mm256_mul_ps(b, s)));
    _mm256_storeu_ps(head + half + i, _mm256_fmadd_ps(a, s, _mm256_mul_ps(b, c)));
  }
  for (; i < half; ++i) rotate_pair(head[i], head[half + i], cos[i], sin[i]);
}

constexpr VectorOps kX86VectorOps = {x86_sum_squares, x86_scale_mul,        x86_dot,
                                     x86_axpy,        x86_scale,            x86_attend_heads,
                                     x86_softmax,     x86_silu_mul,         x86_rope_interleaved,
                                     x86_rope_rotate_half};

}  // namespace
}  // namespace lowbit
