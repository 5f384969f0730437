// The matrix product every linear layer of the model goes through. It dispatches on the weight's type,
// so faster kernels for a type slot in here without touching model code.
#pragma once

#include <cstdint>
#include <span>

#include "core/tensor.h"
#include "formats/layout_conversion.h"

namespace lowbit {

// y = x . W^T with W = weight [rows][cols] of any type lowbit can dequantize.
//   x: [n_tokens][cols], y: [n_tokens][rows] (row-major, not aliasing).
// F32 uses OpenBLAS sgemm for n_tokens > 1 and a dot product per row for one token. One token
// (decode) splits the rows over the persistent thread pool (core/thread_pool.h). Types with
// a packed-weight kernel at the active CPU level (kernels/dot_kernels.h: Q8_0, Q4_0, Q5_0, Q4_1, Q5_1,
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, F16, BF16, lb_w8_row and every lowbit integer type) are multiplied in
// place, integer types with activations quantized to 8 bits per block. F16 and BF16 batches at AVX-512 run kernels/float16_kernels.h's GEMM (BF16
// with activations rounded to BF16 where the CPU has AVX512-BF16, which also serves BF16 decode); below
// AVX-512 they convert tiles of rows to F32 for sgemm, as do lb_w8_row batches (its int8 codes times F32
// activations; kernels/w8a8_matmul.h has the W8A8 product with int8 activations). Any other readable
// type is dequantized one row at a time and dotted with every token. Throws lowbit::Error naming the
// tensor and its type when the type cannot be dequantized or the tensor's bytes do not fit its shape.
void matmul(const TensorView& weight, const float* x, int64_t n_tokens, float* y);

// The conversion (formats/layout_conversion.h) to apply to `weight` when a model is loaded into memory
// (ModelFile::relayout_loaded_weights) so that this CPU's kernels read it faster: Q4_0, Q4_K and Q8_0
// matrices whose rows are whole blocks of 512 become lb_q4_0x16, lb_q4_kx2 and lb_q8_0x16 where their
// AVX-512 decode kernels run (formats/lowbit_q4_0x16.h, lowbit_q4_kx2.h, lowbit_q8_0x16.h); nullptr
// for everything else.
const LayoutConversion* kernel_layout(const TensorView& weight);

// Several products of the same input x: y_i = x . W_i^T (a layer's q, k and v, or gate and up). For one
// token on weights of one type with a decode kernel (kernels/gemv_kernels.h) the activations are
// quantized once and all the rows go out as one job on the thread pool; otherwise one matmul each.
struct MatmulOutput {
  const TensorView* weight;
  float* y;
};
void matmul_same_input(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens);

// Below this many multiply-adds (about a millisecond on one core) a kernel runs on one thread: waking the
// OpenMP team costs more than it saves, and far more when the cores are busy with other work (a barrier
// then waits for a descheduled thread). Small models run single-threaded; large ones split every product.
inline constexpr int64_t kMinParallelWork = int64_t{1} << 22;

// Threads of the pool (core/thread_pool.h) for a product of `multiply_adds`: all of them
// (omp_get_max_threads(), which `-t` sets) from kMinParallelWork, else one. The forward pass runs every
// parallel loop on that one pool: an OpenMP team spinning after its region would take the cores the
// pool's workers need.
int threads_for_work(int64_t multiply_adds);

// One token (decode) is many short steps: a product per row, attention per head. The persistent pool
// (core/thread_pool.h) starts a job without a system call while its workers spin, so far smaller steps
// than kMinParallelWork are split; and a step left to one thread for longer than the workers spin (30 µs)
// costs a wake-up on the next job as well.
inline constexpr int64_t kMinParallelDecodeWork = int64_t{1} << 18;

// Threads for a decode step of `multiply_adds`: all of them from kMinParallelDecodeWork, else one.
int threads_for_decode_work(int64_t multiply_adds);

}  // namespace lowbit
