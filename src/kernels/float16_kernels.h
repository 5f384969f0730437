// Products with F16 or BF16 weights at AVX-512: the prefill GEMM (two or more tokens) and the decode
// product (F16 widened to F32 for FMA, BF16 with vdpbf16ps), which reads eight rows side by side.
//
// GEMM: each thread packs a panel of kFloat16PanelRows weight rows, one chunk of columns at a time,
// into column-major order (one 32-bit word per row and step: an F32 value, or a pair of BF16 values),
// once for all the tokens; a register-blocked micro-kernel then multiplies the panel with a block of
// tokens whose activations were laid out beforehand step-major, so that each step loads two vectors of
// rows and broadcasts one activation word per token. F16 weights become F32 while packed (FP32 FMA keeps
// F16's accuracy). On a CPU with AVX512-BF16 the activations of BF16 products are rounded to BF16 (to
// nearest even, as llama.cpp does) and the weights either stay BF16 (one vdpbf16ps multiplies two
// columns at once) or become F32 for the FMA path (Bf16Gemm below); without it they become F32 and take
// the FMA path with the activations as they are.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cpu_features.h"
#include "core/tensor.h"

namespace lowbit {

// Activations in a kernel's layout (each kernel documents its own) as 32-bit words.
struct Float16Activations {
  int64_t tokens = 0;
  std::vector<uint32_t> words;
};

struct Float16Kernel {
  int64_t row_step;  // callers split the rows in multiples of this (a packed panel), the last share excepted
  // x [n_tokens][cols] -> out.
  void (*prepare)(const float* x, int64_t n_tokens, int64_t cols, Float16Activations& out);
  // y[t * y_stride + r] = row r . token t for r < row_count, t < a.tokens; row r of 16-bit values at
  // weight_rows + r * cols. Single-threaded; callers split the rows.
  void (*multiply)(const uint16_t* weight_rows, int64_t row_count, int64_t cols, const Float16Activations& a,
                   float* y, int64_t y_stride);
};

// The GEMM's packed panel height (two 16-lane vectors).
inline constexpr int64_t kFloat16PanelRows = 32;

// The GEMM (n_tokens >= 2) for F16 or BF16 weights at `level`; nullptr where there is none (then the
// rows are converted to F32 for sgemm). BF16 uses vdpbf16ps where cpu_features().avx512_bf16.
const Float16Kernel* find_float16_gemm(TensorType weight, CpuLevel level);
// The one-token product: F16 at avx512, BF16 at avx512 with AVX512-BF16; nullptr otherwise (dot_kernels.h
// serves).
const Float16Kernel* find_float16_gemv(TensorType weight, CpuLevel level);

// Whether matmul() (kernels/matmul.h) rounds the activations to BF16 for `weight` at `level`: BF16 weights
// where the CPU has AVX512-BF16 (the vdpbf16ps decode and both GEMMs chosen there, bf16_pairs and
// rounded_widened, round). References that mean to match it closely round the same way.
bool matmul_rounds_activations_to_bf16(TensorType weight, CpuLevel level);

// How the GEMM multiplies BF16 weights (F16 has one way):
//   widened:         the weights become F32 while packed, FMA, the activations as they are (CPUs
//                    without AVX512-BF16);
//   rounded_widened: the same with the activations rounded to BF16 first, as bf16_pairs rounds them, so
//                    that prefill and decode see the same activations (Intel cores with AVX512-BF16:
//                    vdpbf16ps ran slower there, TinyLlama BF16 pp128 94 against 128 t/s on 2 threads);
//   bf16_pairs:      vdpbf16ps on pairs of BF16 columns (the other CPUs with AVX512-BF16: on AMD Zen 5
//                    about twice the FMA path's rate);
//   amx_tiles:       AMX tile products of BF16 pairs, 16 tokens x 16 rows x 32 columns per instruction,
//                    the activations rounded as bf16_pairs rounds them (CPUs with AMX-BF16; the tiles
//                    treat subnormal BF16 values as zero).
enum class Bf16Gemm { widened, rounded_widened, bf16_pairs, amx_tiles };

// The GEMM for BF16 weights on this CPU.
Bf16Gemm preferred_bf16_gemm();

// The AVX-512 tables (kernels/avx512/); bf16_pairs and the BF16 gemv need AVX512-BF16.
const Float16Kernel* find_float16_gemm_avx512(TensorType weight, Bf16Gemm bf16);
const Float16Kernel* find_float16_gemv_avx512(TensorType weight);
// The AMX one (kernels/amx/): BF16 weights where cpu_features().amx_bf16.
const Float16Kernel* find_float16_gemm_amx(TensorType weight);

}  // namespace lowbit
