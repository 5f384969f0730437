// Decode products (one token) on packed weights, read in the file's own layout with full-width loads.
//
// A one-token product reads every weight byte once, so its speed is the memory bandwidth only if the
// core spends very few instructions per weight byte. The per-block dot products of dot_kernels.h take
// about a dozen vector operations per 32-weight block (unpack, dot, two scale conversions, convert,
// multiply-add); these kernels handle several blocks per 512-bit vector instead: one permutation
// gathers the codes of consecutive blocks into one vector and another their scales, and the
// activations, quantized once per token, are laid out beforehand so that each int32 lane of a u8 x s8
// dot product instruction sums codes of a single block (or sub-block). For the legacy formats, per lane
//   y += wscale(block) * ascale(block) * (offset(lane) + u . a),
// where offset carries the format's code offset (Q4_0 stores q + 8) times the lane's activation sum;
// the K formats multiply each lane by its sub-block's integer scale first, and subtract their minimums
// (or code offsets) times the sub-block sums of the activations.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/aligned_vector.h"
#include "core/cpu_features.h"
#include "core/tensor.h"

namespace lowbit {

// One token's activations in a decode kernel's layout (each kernel documents its own).
struct GemvActivations {
  // Each kernel documents its layout (x86/gemv_x86.h, x86/gemv_k_x86.h); in outline:
  CacheLineVector<int8_t> codes;  // per group of blocks, in the order the kernel's weight codes come out
  CacheLineVector<int32_t> sums;  // per int32 lane: legacy formats, the code offset times the lane's sum
                                  // of activations; K formats, per block the sub-block sums of activations
  CacheLineVector<float> scales;  // the activation scales: per lane (legacy) or per block (Q6_K)
};

struct GemvKernel {
  TensorType activation_type;  // the weight type's DotKernel partner format, as prepare takes it
  int64_t column_step;         // cols must be a multiple of this (a group of blocks); else use dot_kernels.h
  int64_t alignment;           // so must the address of the rows and row_bytes
  // quantized: one row of activation_type, cols long -> out.
  void (*prepare)(const uint8_t* quantized, int64_t cols, GemvActivations& out);
  // y[r] = row r . activations for r < row_count, row r at weight_rows + r * row_bytes. Single-threaded.
  void (*multiply)(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                   const GemvActivations& a, float* y);
  // Where not null, the same for n_tokens tokens at once, each row read once for all of them:
  // y[t * y_stride + r] = row r . tokens[t]. matmul uses it for batches below the GEMM kernel's size
  // (kernels/gemm_kernels.h), and for every batch where the type has no GEMM kernel.
  void (*multiply_tokens)(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                          const GemvActivations* tokens, int64_t n_tokens, float* y, int64_t y_stride) = nullptr;
};

// How the Q4_0 and Q8_0 kernels read a group of blocks (the other formats have one way: block_loads for
// Q5_0, Q4_1, Q5_1 and lowbit's, whole super-blocks for the K formats). Both compute the same sums; which
// streams faster depends on the core:
//   aligned_lines: the two aligned cache lines holding the group, picked apart by two-source 16-bit
//     permutes. On AMD Zen 5, loads straddling two lines streamed from memory at about 60% of the rate of
//     aligned ones.
//   block_loads: each block's codes by an unaligned load and its scale by a scalar load. On Intel cores
//     the two-source permutes take three micro-ops, two on the one shuffle port; with rows in L2 one core
//     ran Q8_0 at 24.8 GB/s with aligned_lines and 41.7 with block_loads, Q4_0 at 22.3 and 26.4.
enum class GemvLoads { aligned_lines, block_loads };

// The loads for this CPU: block_loads on Intel, aligned_lines elsewhere.
GemvLoads preferred_gemv_loads();

// The kernel for weight type `weight` at `level` (reading groups as `loads` says); nullptr where there is
// none (then the dot products of dot_kernels.h serve, and their scalar level is the reference).
const GemvKernel* find_gemv_kernel(TensorType weight, CpuLevel level, GemvLoads loads = preferred_gemv_loads());

const GemvKernel* find_gemv_kernel_avx512(TensorType weight, GemvLoads loads);
// At AVX2 only lb_q4_0x16 and lb_q8_0x16 have one (kernels/avx2/gemv_avx2.cpp), so that Q4_0 and Q8_0 are
// converted to them there too.
const GemvKernel* find_gemv_kernel_avx2(TensorType weight);
// The kernels that need AVX-512 VBMI as well (kernels/avx512vbmi/); nullptr for the other types.
const GemvKernel* find_gemv_kernel_avx512_vbmi(TensorType weight);

}  // namespace lowbit
