// Prefill products (many tokens at once) on packed integer weights, one set per CPU level.
//
// Every integer weight type is brought to one form, so that a single register-blocked integer kernel
// serves them all: groups of G unsigned 8-bit codes u (G = 32, or 16 for the formats with 16-element
// sub-blocks), each group with a float scale and a float bias,
//   weight element i = scale(g) * u[i], plus bias(g) times the sum of the group's activations.
// The activations (already quantized per token to the type's partner format, dot_kernels.h) take the
// same form with signed codes: a scale per group and the group's float sum that the weight bias
// multiplies. Then, per row r and token t,
//   y = sum_g wscale(g) * ascale(g) * (u . a)_g + sum_g wbias(g) * asum(g).
// Offsets (Q4_0 stores q + 8) and minimums (Q4_1, the K types) both become weight biases; Q8_1's stored
// d * sum is the group sum as it is, so the product equals the one-token kernels'.
//
// Within each span of L consecutive groups (L = int32 lanes of the level's vectors), codes are stored
// interleaved: vector v of the span holds codes 4v..4v+3 of group l in lane l. A u8 x s8 dot product
// instruction then adds whole groups up in each lane, and one float scaling per span serves L groups.
// Both sides use the same order, so the products are unchanged.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/cpu_features.h"
#include "core/tensor.h"

namespace lowbit {

// Columns are padded with zero codes to a multiple of this (a span at every level), tokens to a
// multiple of kGemmTokenBlock (AMX: 16) with zero tokens, so that no kernel has a tail.
inline constexpr int64_t kGemmColumnStep = 512;
inline constexpr int64_t kGemmTokenBlock = 4;

// Below this many tokens unpacking the weights costs more than the GEMM saves over the one-token kernels'
// token groups (measured at 4096 x 4096: about even at 8 tokens, 1.1-1.5x faster at 16, 2x at 32), for
// the formats whose unpacking takes more than a nibble split or a copy (GemmKernel::min_tokens). Against
// the batched decode kernels of Q4_K, Q5_K and Q6_K the crossing is about the same (TinyLlama -t 2 -p 16:
// Q6_K 106-108 t/s batched against 95-98, Q5_K_M 107 against 114-118).
inline constexpr int64_t kMinGemmTokens = 16;
// Q8_0, Q4_0 and the interleaved layouts unpack so cheaply that the GEMM wins from 8 tokens: TinyLlama
// prefill of 8 tokens, 2 threads, AVX-512 (lowbit bench -p 8): Q8_0 40 -> 68 t/s, Q4_0 (as lb_q4_0x16)
// 48 -> 83, Q4_K_M 63 -> 79; at 4 tokens the K types lost (Q4_K_M 55 -> 50, Q5_K_M 71 -> 47). (Measured
// before the interleaved layouts' batched decode kernels replaced their GEMM kernels at AVX-512.)
inline constexpr int64_t kMinGemmTokensCheapUnpack = 8;

// A batch of activations in a GEMM kernel's form (its level's interleaving and its group size).
struct GemmActivations {
  int64_t tokens = 0;       // padded to a multiple of kGemmTokenBlock (AMX: 16)
  int64_t padded_cols = 0;  // padded to a multiple of kGemmColumnStep
  int64_t group_size = 0;   // G
  std::vector<int8_t> codes;      // [tokens][padded_cols], interleaved per span (AMX: in column order)
  std::vector<float> scales;      // [tokens][padded_cols / G]
  std::vector<float> group_sums;  // [tokens][padded_cols / G]: what each weight group bias multiplies
                                  // (AMX, Q8_K: without the block's d, applied once per super-block)
};

struct GemmKernel {
  TensorType activation_type;  // as the weight type's DotKernel: Q8_0, Q8_1 or Q8_K
  int64_t min_tokens;          // fewer tokens go through the dot products' token groups (kMinGemmTokens;
                               // matmul gives batches below kMinGemmTokens to batched decode products)
  // quantized: n_tokens rows of activation_type, row_bytes apart, cols each -> out.
  void (*prepare)(const uint8_t* quantized, size_t row_bytes, int64_t n_tokens, int64_t cols, GemmActivations& out);
  // y[t * y_stride + r] = row r . token t for r < row_count, t < n_tokens (n_tokens <= a.tokens), with
  // `a` from this kernel's prepare: row r is at weight_rows + r * row_bytes, cols long. Single-threaded;
  // callers split the rows.
  void (*multiply)(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                   const GemmActivations& a, int64_t n_tokens, float* y, int64_t y_stride);
};

// What multiplies the integer codes at the avx512 level: vector instructions (vpdpbusd), or, where the
// CPU has them (CpuFeatures::amx_int8), AMX's tile products, 16 x 16 int32 sums of 16 rows and 16 tokens
// per instruction.
enum class GemmUnits { vectors, amx };

// amx where the CPU has it, else vectors.
GemmUnits preferred_gemm_units();

// The kernel for weight type `weight` at `level` (with `units` at avx512); nullptr where there is none
// (the scalar level has none: its reference is the one-token dot product of dot_kernels.h).
const GemmKernel* find_gemm_kernel(TensorType weight, CpuLevel level, GemmUnits units = preferred_gemm_units());

// Per-level tables, each in a file compiled for that instruction set (kernels/<level>/).
const GemmKernel* find_gemm_kernel_avx2(TensorType weight);
const GemmKernel* find_gemm_kernel_avx512(TensorType weight);
const GemmKernel* find_gemm_kernel_amx(TensorType weight);

}  // namespace lowbit
