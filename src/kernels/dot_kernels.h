// Row-times-activation dot products computed directly on packed weight rows, one set per CPU level.
// Integer weight types multiply 8-bit activations (quantized on the fly, one block at a time, to the
// type's partner format: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1 and lowbit's integer types, Q8_K
// for the K types), so the inner loop is an integer dot product; float weight types take F32 activations
// as they are. Every lowbit integer type has a kernel at every level.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"
#include "core/tensor.h"

namespace lowbit {

struct DotKernel {
  TensorType activation_type;  // F32, or the 8-bit format activations are quantized to
  // x[n] -> dst in activation_type; nullptr when activation_type is F32 (x is used as is).
  void (*quantize_activation)(const float* x, void* dst, int64_t n);
  // sum over i < n of w[i] * a[i], w one packed weight row, a one row in activation_type.
  float (*dot)(int64_t n, const void* weight_row, const void* activation_row);
  // Optional (nullptr: use dot): out[t] = dot(n, weight_row, activations + t * activation_stride) for
  // t < kTokenGroup, unpacking the weight row once for all the tokens (prefill).
  void (*dot_token_group)(int64_t n, const void* weight_row, const void* activations, size_t activation_stride,
                          float* out);
  // Optional (nullptr: use dot): out[r] = dot(n, weight_rows + r * row_stride, activation_row) for
  // r < kRowGroup (decode): each activation block is loaded once for all the rows.
  void (*dot_row_group)(int64_t n, const void* weight_rows, size_t row_stride, const void* activation_row,
                        float* out) = nullptr;
};

inline constexpr int kTokenGroup = 4;
inline constexpr int kRowGroup = 4;

// The kernel for weight type `weight` at `level` exactly; nullptr where that level has none (the scalar
// level has a reference for every type any SIMD level covers).
const DotKernel* find_dot_kernel(TensorType weight, CpuLevel level);

// Per-level tables, each in a file compiled for that instruction set (kernels/<level>/).
const DotKernel* find_dot_kernel_scalar(TensorType weight);
const DotKernel* find_dot_kernel_avx2(TensorType weight);
const DotKernel* find_dot_kernel_avx512(TensorType weight);

}  // namespace lowbit
