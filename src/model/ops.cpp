#include "model/ops.h"

#include <cmath>

#include "kernels/vector_ops.h"

namespace lowbit {

void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out) {
  const VectorOps& ops = vector_ops();
  const double mean_square = ops.sum_squares(x, n) / static_cast<double>(n);
  ops.scale_mul(x, static_cast<float>(1.0 / std::sqrt(mean_square + eps)), weight, out, n);
}

void softmax(float* x, int64_t n) { vector_ops().softmax(x, n); }

void silu_mul(float* gate, const float* up, int64_t n) { vector_ops().silu_mul(gate, up, n); }

void add_in_place(float* x, const float* bias, int64_t n) { vector_ops().axpy(1.0f, bias, x, n); }

}  // namespace lowbit
