// Dot products of lb_w8_row weight rows (formats/lowbit_w8_row.h), one set per CPU level:
//   int8 x int8: activations quantized to int8 codes with one scale per token (W8A8); each 64-element
//                block is an int32 sum of code products, scaled by the block's weight scale in float.
//                The token's scale multiplies the result outside the kernel.
//   int8 x F32:  activations as they are (--act-quant none), a DotKernel that matmul() dispatches to.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"
#include "kernels/dot_kernels.h"

namespace lowbit {

struct W8A8Kernel {
  // sum over blocks b of d_b * sum_{j<64} w_b[j] * a[64 b + j], weight_row n/64 blocks, a [n] codes.
  float (*dot)(int64_t n, const void* weight_row, const int8_t* a);
  // out[t] = dot(n, weight_row, a + t * stride) for t < kTokenGroup, the weight row loaded once.
  void (*dot_token_group)(int64_t n, const void* weight_row, const int8_t* a, size_t stride, float* out);
};

// The kernels at `level`; every level has them (scalar is the reference).
const W8A8Kernel& find_w8a8_kernel(CpuLevel level);
const W8A8Kernel& w8a8_kernel_scalar();
const W8A8Kernel& w8a8_kernel_avx2();
const W8A8Kernel& w8a8_kernel_avx512();

// The DotKernel for lb_w8_row weights times F32 activations at `level` (find_dot_kernel returns it).
const DotKernel& w8_row_f32_kernel(CpuLevel level);
const DotKernel& w8_row_f32_kernel_scalar();
const DotKernel& w8_row_f32_kernel_avx2();
const DotKernel& w8_row_f32_kernel_avx512();

}  // namespace lowbit
