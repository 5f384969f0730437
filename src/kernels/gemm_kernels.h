// Prefill products (many tokens at once) on packed integer weights, one set per CPU level.
//
// Every integer weight type is brought to one form, so that a single register-blocked integer kernel
// serves them all: unsigned 8-bit codes u, a float scale per 4 codes, and a float bias per 16 codes,
//   weight element i = scale(i) * u[i] + (the bias of i's group spread over the group's activations).
// The activations (already quantized per token to the type's partner format, dot_kernels.h) take the
// same form with signed codes: a scale per 4 codes and, per 16 codes, the float group sum the weight
// biases multiply. Then, per row r and token t,
//   y = sum_i (wscale(i) * ascale(i)) * (u[i] * a[i]) + sum_g wbias(g) * asum(g),
// where the first sum is u8 x s8 dot products of 4 codes per 32-bit lane (vpdpbusd or maddubs) and
// the second is 1/16 as long. Offsets (Q4_0 stores q + 8) and minimums (Q4_1, the K types) both become
// weight biases; Q8_1's stored d * sum keeps the product equal to the one-token kernels'.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/cpu_features.h"
#include "core/tensor.h"

namespace lowbit {

// Columns are padded with zero codes to a multiple of this, and tokens to a multiple of
// kGemmTokenBlock with zero tokens, so that no kernel has a tail.
inline constexpr int64_t kGemmColumnStep = 256;
inline constexpr int64_t kGemmTokenBlock = 4;

// A batch of activations in the GEMM form.
struct GemmActivations {
  int64_t tokens = 0;       // padded to a multiple of kGemmTokenBlock
  int64_t padded_cols = 0;  // padded to a multiple of kGemmColumnStep
  std::vector<int8_t> codes;        // [tokens][padded_cols]
  std::vector<float> scales;        // [tokens][padded_cols / 4]: the scale of each 4 codes
  std::vector<float> group_sums;    // [tokens][padded_cols / 16]: what each weight group bias multiplies
};

// quantized: n_tokens rows of `activation_type` (Q8_0, Q8_1 or Q8_K), row_bytes apart, cols each.
void prepare_gemm_activations(TensorType activation_type, const uint8_t* quantized, size_t row_bytes,
                              int64_t n_tokens, int64_t cols, GemmActivations& out);

struct GemmKernel {
  TensorType activation_type;  // as the weight type's DotKernel: Q8_0, Q8_1 or Q8_K
  // y[t * y_stride + r] = row r . token t for r < row_count, t < n_tokens (n_tokens <= a.tokens):
  // row r is at weight_rows + r * row_bytes, cols long. Single-threaded; callers split the rows.
  void (*multiply)(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                   const GemmActivations& a, int64_t n_tokens, float* y, int64_t y_stride);
};

// The kernel for weight type `weight` at `level`; nullptr where there is none (the scalar level has
// none: its reference is the one-token dot product of dot_kernels.h).
const GemmKernel* find_gemm_kernel(TensorType weight, CpuLevel level);

// Per-level tables, each in a file compiled for that instruction set (kernels/<level>/).
const GemmKernel* find_gemm_kernel_avx2(TensorType weight);
const GemmKernel* find_gemm_kernel_avx512(TensorType weight);

}  // namespace lowbit
