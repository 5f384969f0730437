// The element-wise pieces of a Llama block, on plain float arrays.
#pragma once

#include <cstdint>

namespace lowbit {

// out[n] = x / sqrt(mean(x^2) + eps) * weight (out may alias x).
void rms_norm(const float* x, const float* weight, int64_t n, float eps, float* out);

// In place: x[n] = exp(x - max) / sum.
void softmax(float* x, int64_t n);

// SwiGLU's gating, in place: gate[n] = silu(gate) * up, silu(g) = g / (1 + exp(-g)).
void silu_mul(float* gate, const float* up, int64_t n);

// x[n] += bias[n]
void add_in_place(float* x, const float* bias, int64_t n);

}  // namespace lowbit
