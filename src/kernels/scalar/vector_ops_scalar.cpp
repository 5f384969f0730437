// The reference vector operations: plain loops, double sums where a long row would lose digits.
#include <algorithm>
#include <cmath>

#include "kernels/vector_ops.h"

namespace lowbit {
namespace {

double sum_squares(const float* x, int64_t n) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  return sum;
}

void scale_mul(const float* x, float s, const float* w, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = x[i] * s * w[i];
}

float dot(const float* a, const float* b, int64_t n) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy(float a, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

void scale(float* x, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void softmax(float* x, int64_t n) {
  const float max_value = *std::max_element(x, x + n);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max_value);
    sum += x[i];
  }
  scale(x, static_cast<float>(1.0 / sum), n);
}

void attend_heads(const float* queries, int64_t heads, const float* keys, const float* values, int64_t stride,
                  int64_t positions, int64_t n, float scale, float* scores, float* out) {
  for (int64_t h = 0; h < heads; ++h) {
    float* weights = scores + h * positions;
    for (int64_t p = 0; p < positions; ++p) weights[p] = scale * dot(queries + h * n, keys + p * stride, n);
    softmax(weights, positions);
    std::fill(out + h * n, out + h * n + n, 0.0f);
    for (int64_t p = 0; p < positions; ++p) axpy(weights[p], values + p * stride, out + h * n, n);
  }
}

void silu_mul(float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

// Rotates pairs (head[i * stride], head[i * stride + offset]) for i < half.
void rope(float* head, const float* cos, const float* sin, int64_t half, int64_t stride, int64_t offset) {
  for (int64_t i = 0; i < half; ++i) {
    float& a = head[i * stride];
    float& b = head[i * stride + offset];
    const float a0 = a, b0 = b;
    a = a0 * cos[i] - b0 * sin[i];
    b = a0 * sin[i] + b0 * cos[i];
  }
}

void rope_interleaved(float* head, const float* cos, const float* sin, int64_t half) {
  rope(head, cos, sin, half, 2, 1);
}

void rope_rotate_half(float* head, const float* cos, const float* sin, int64_t half) {
  rope(head, cos, sin, half, 1, half);
}

constexpr VectorOps kScalarVectorOps = {sum_squares, scale_mul, dot,      axpy,          scale,           attend_heads,
                                        softmax,     silu_mul,  rope_interleaved, rope_rotate_half};

}  // namespace

const VectorOps& vector_ops_scalar() { return kScalarVectorOps; }

}  // namespace lowbit
