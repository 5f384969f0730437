// The element-wise and row operations of a Llama block outside the weight products (RMSNorm, RoPE,
// softmax, SwiGLU, attention's dot products and weighted sums), one table per CPU level, so that decode
// time goes to the weight products rather than to these.
#pragma once

#include <cstdint>

#include "core/cpu_features.h"

namespace lowbit {

struct VectorOps {
  // sum of x[i]^2 over i < n, accumulated in double: a long row of float squares loses digits otherwise.
  double (*sum_squares)(const float* x, int64_t n);
  // out[i] = x[i] * s * w[i] (out may alias x).
  void (*scale_mul)(const float* x, float s, const float* w, float* out, int64_t n);
  // sum over i < n of a[i] * b[i].
  float (*dot)(const float* a, const float* b, int64_t n);
  // y[i] += a * x[i].
  void (*axpy)(float a, const float* x, float* y, int64_t n);
  // x[i] *= s.
  void (*scale)(float* x, float s, int64_t n);
  // Attention of one token for `heads` query heads sharing one key/value head (grouped-query attention):
  // head h's query is queries[h n .. h n + n), key and value row p (of `positions`) are at keys and values
  // + p * stride. Per head, scores[h positions + p] = scale * (query . key row p), softmax over p, and
  // out[h n + i] = sum over p of score p * value row p [i]. `scores` is scratch of heads * positions.
  // One call per key/value head and token, so each cached row is read from near caches for all the heads
  // that share it.
  void (*attend_heads)(const float* queries, int64_t heads, const float* keys, const float* values, int64_t stride,
                       int64_t positions, int64_t n, float scale, float* scores, float* out);
  // In place: x[i] = exp(x[i] - max) / sum. Inputs of -inf (masked positions) come out 0.
  void (*softmax)(float* x, int64_t n);
  // In place: gate[i] = gate[i] / (1 + exp(-gate[i])) * up[i].
  void (*silu_mul)(float* gate, const float* up, int64_t n);
  // RoPE on one head of 2 * half values, pair i rotated by (cos[i], sin[i]): a' = a cos - b sin,
  // b' = a sin + b cos, where pair i is (head[2i], head[2i+1]) for rope_interleaved and
  // (head[i], head[i + half]) for rope_rotate_half.
  void (*rope_interleaved)(float* head, const float* cos, const float* sin, int64_t half);
  void (*rope_rotate_half)(float* head, const float* cos, const float* sin, int64_t half);
};

// The table for active_cpu_level(), chosen on the first call.
const VectorOps& vector_ops();

// The table at `level` exactly (scalar is the reference), each in a file compiled for that level.
const VectorOps& vector_ops(CpuLevel level);
const VectorOps& vector_ops_scalar();
const VectorOps& vector_ops_avx2();
const VectorOps& vector_ops_avx512();

}  // namespace lowbit
