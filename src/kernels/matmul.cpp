#include "kernels/matmul.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/thread_pool.h"
#include "formats/lowbit_q4_0x16.h"
#include "formats/lowbit_q4_kx2.h"
#include "formats/lowbit_q8_0x16.h"
#include "kernels/dot_kernels.h"
#include "kernels/float16_kernels.h"
#include "kernels/gemm_kernels.h"
#include "kernels/gemv_kernels.h"
#include "kernels/rows.h"
#include "kernels/single_threaded_blas.h"
#include "kernels/token_tiles.h"
#include "kernels/vector_ops.h"

namespace lowbit {
namespace {

// run_piece(p) for p in [0, pieces) on `threads` threads. Each thread owns a contiguous share and takes
// its pieces front to back, so its reads are one sequential stream (two threads alternating pieces
// measured at half the bandwidth); one done with its share takes pieces from the back of another's, so
// a product is not held up by a slower core (shared cores often run unevenly).
template <typename RunPiece>
void split_pieces(int64_t pieces, int threads, const RunPiece& run_piece) {
  // Share t's remaining pieces [front, back) in one word: the owner advances front, others lower back.
  // One cache line each: with the words side by side, every take moved the line between the cores
  // (TinyLlama Q4_0 decode on 2 threads, Intel VM: 41 t/s, 44 t/s apart).
  struct alignas(64) Share {
    std::atomic<uint64_t> word;
  };
  std::vector<Share> shares(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    const auto [front, back] = share_of(pieces, t, threads);
    shares[t].word.store(static_cast<uint64_t>(front) << 32 | static_cast<uint64_t>(back));
  }
  const auto take = [&](int share, bool from_front) -> int64_t {
    uint64_t word = shares[share].word.load();
    for (;;) {
      const auto front = static_cast<int64_t>(word >> 32), back = static_cast<int64_t>(word & 0xffffffffu);
      if (front >= back) return -1;
      const uint64_t taken = from_front ? word + (uint64_t{1} << 32) : word - 1;
      if (shares[share].word.compare_exchange_weak(word, taken)) return from_front ? front : back - 1;
    }
  };
  run_on_threads(threads, [&](int thread, int count) {
    for (int64_t piece; (piece = take(thread, true)) >= 0;) run_piece(piece);
    for (int other = 1; other < count; ++other) {
      for (int64_t piece; (piece = take((thread + other) % count, false)) >= 0;) run_piece(piece);
    }
  });
}

// Decode pieces: about kDecodePieceBytes of weights in whole groups of kDecodePieceRowStep rows. Each
// piece is one kernel call and one atomic take; smaller pieces leave less idle time at the end of a
// product (one thread finishing its last piece while the other waits). TinyLlama Q4_0's products alone,
// 2 threads on an Intel VM: 64 to 512 KiB pieces within noise of each other (27-28 GB/s).
constexpr int64_t kDecodePieceBytes = int64_t{64} << 10;
constexpr int64_t kDecodePieceRowStep = 4 * kRowGroup;

int64_t decode_piece_rows(size_t row_bytes) {
  const int64_t rows = kDecodePieceBytes / static_cast<int64_t>(row_bytes) / kDecodePieceRowStep * kDecodePieceRowStep;
  return std::max(rows, kDecodePieceRowStep);
}

// compute_rows(begin, end) over [0, rows) in pieces split over the threads.
template <typename ComputeRows>
void split_decode_rows(int64_t rows, int64_t cols, size_t row_bytes, const ComputeRows& compute_rows) {
  const int64_t piece_rows = decode_piece_rows(row_bytes);
  split_pieces((rows + piece_rows - 1) / piece_rows, threads_for_decode_work(rows * cols), [&](int64_t piece) {
    compute_rows(piece * piece_rows, std::min(rows, (piece + 1) * piece_rows));
  });
}

void matmul_f32_single(const float* weight, int64_t rows, int64_t cols, const float* x, float* y) {
  split_decode_rows(rows, cols, cols * sizeof(float), [&](int64_t begin, int64_t end) {
    const auto dot = vector_ops().dot;
    for (int64_t r = begin; r < end; ++r) y[r] = dot(weight + r * cols, x, cols);
  });
}

// One token times packed weights, kRowGroup rows per kernel call where the kernel has a row group.
void matvec_packed(const uint8_t* weights, size_t row_bytes, int64_t rows, int64_t cols, const DotKernel& kernel,
                   const uint8_t* activation, float* y) {
  split_decode_rows(rows, cols, row_bytes, [&](int64_t begin, int64_t end) {
    int64_t r = begin;
    if (kernel.dot_row_group != nullptr) {
      for (; r + kRowGroup <= end; r += kRowGroup) {
        kernel.dot_row_group(cols, weights + static_cast<size_t>(r) * row_bytes, row_bytes, activation, y + r);
      }
    }
    for (; r < end; ++r) y[r] = kernel.dot(cols, weights + static_cast<size_t>(r) * row_bytes, activation);
  });
}

// The pool splits the rows of W and each thread multiplies its slice with a single-threaded sgemm:
// OpenBLAS's own thread pool would otherwise compete with ours for the same cores. Weights of
// another float type are converted to F32 one tile of rows at a time first: each row is converted once
// for all the tokens, and the tile is large enough that sgemm's packing of x is a small share of its work.
void matmul_sgemm_batch(const TensorView& weight, const TypeTraits& traits, const float* x, int64_t n_tokens,
                        float* y) {
  constexpr int64_t kMaxBlasInt = std::numeric_limits<blasint>::max();
  constexpr int64_t kConvertedTileBytes = int64_t{8} << 20;
  const int64_t rows = weight.rows();
  const int64_t cols = weight.cols();
  if (rows > kMaxBlasInt || cols > kMaxBlasInt || n_tokens > kMaxBlasInt) {
    throw_error("tensor {}: {}x{} times {} tokens exceeds the BLAS index range", weight.name, rows, cols, n_tokens);
  }
  use_single_threaded_blas();
  const bool is_f32 = weight.type == TensorType::F32;
  const size_t row_bytes = traits.row_bytes(cols);
  const auto* base = static_cast<const uint8_t*>(weight.data);
  parallel_ranges(rows, threads_for_work(rows * cols * n_tokens), [&](int64_t begin, int64_t end) {
    const int64_t tile_rows =
        is_f32 ? std::max<int64_t>(end - begin, 1)
               : std::clamp<int64_t>(kConvertedTileBytes / (cols * static_cast<int64_t>(sizeof(float))), 16, 512);
    std::vector<float> converted(is_f32 ? 0 : static_cast<size_t>(tile_rows * cols));  // [tile_rows][cols]
    for (int64_t tile = begin; tile < end; tile += tile_rows) {
      const int64_t count = std::min(tile_rows, end - tile);
      const float* w = reinterpret_cast<const float*>(base + static_cast<size_t>(tile) * row_bytes);
      if (!is_f32) {
        traits.to_float(base + static_cast<size_t>(tile) * row_bytes, converted.data(), count * cols);
        w = converted.data();
      }
      // y[:, tile:tile+count] = x . W[tile:tile+count, :]^T; y keeps its row stride `rows`.
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(n_tokens),
                  static_cast<blasint>(count), static_cast<blasint>(cols), 1.0f, x, static_cast<blasint>(cols), w,
                  static_cast<blasint>(cols), 0.0f, y + tile, static_cast<blasint>(rows));
    }
  });
}

// F16/BF16 weights on kernels/float16_kernels.h: the activations laid out once, then the rows split over
// the threads in whole panels of the kernel (one token: in decode's pieces).
void matmul_float16(const TensorView& weight, const Float16Kernel& kernel, const float* x, int64_t n_tokens,
                    float* y) {
  const int64_t rows = weight.rows();
  const int64_t cols = weight.cols();
  const auto* base = static_cast<const uint16_t*>(weight.data);
  Float16Activations prepared;
  kernel.prepare(x, n_tokens, cols, prepared);
  const auto multiply_rows = [&](int64_t begin, int64_t end) {
    kernel.multiply(base + begin * cols, end - begin, cols, prepared, y + begin, rows);
  };
  if (n_tokens == 1) {
    split_decode_rows(rows, cols, cols * sizeof(uint16_t), multiply_rows);
    return;
  }
  const int64_t panels = (rows + kernel.row_step - 1) / kernel.row_step;
  split_pieces(panels, threads_for_work(rows * cols * n_tokens), [&](int64_t panel) {
    multiply_rows(panel * kernel.row_step, std::min(rows, (panel + 1) * kernel.row_step));
  });
}

// Each row is converted once and dotted with every token while it is hot in cache.
void matmul_dequantized(const TensorView& weight, const TypeTraits& traits, const float* x, int64_t n_tokens,
                        float* y) {
  const int64_t rows = weight.rows();
  const int64_t cols = weight.cols();
  const size_t row_bytes = traits.row_bytes(cols);
  const auto* base = static_cast<const uint8_t*>(weight.data);
  parallel_ranges(rows, threads_for_work(rows * cols * n_tokens), [&](int64_t begin, int64_t end) {
    std::vector<float> row(static_cast<size_t>(cols));  // [cols], one per thread
    for (int64_t r = begin; r < end; ++r) {
      traits.to_float(base + static_cast<size_t>(r) * row_bytes, row.data(), cols);
      for (int64_t t = 0; t < n_tokens; ++t) y[t * rows + r] = vector_ops().dot(row.data(), x + t * cols, cols);
    }
  });
}

// The decode kernel (kernels/gemv_kernels.h) for `weight` where its shape and placement suit it.
const GemvKernel* usable_gemv_kernel(const TensorView& weight) {
  const GemvKernel* gemv = find_gemv_kernel(weight.type, active_cpu_level());
  if (gemv == nullptr || weight.cols() % gemv->column_step != 0) return nullptr;
  const uint64_t row_bytes = type_traits(weight.type).row_bytes(weight.cols());
  const bool aligned = reinterpret_cast<uintptr_t>(weight.data) % gemv->alignment == 0 && row_bytes % gemv->alignment == 0;
  return aligned ? gemv : nullptr;
}

// The packed weights times activations quantized (when the kernel wants them so) once per token.
void matmul_packed(const TensorView& weight, const TypeTraits& traits, const DotKernel& kernel, const float* x,
                   int64_t n_tokens, float* y) {
  const int64_t rows = weight.rows();
  const int64_t cols = weight.cols();
  const size_t row_bytes = traits.row_bytes(cols);
  const auto* base = static_cast<const uint8_t*>(weight.data);

  // Every weight type's activation blocks divide its own (the lowbit integer types' 32 to 128 elements
  // are 32-element Q8_1 blocks), so cols fits them too.
  const auto* activations = reinterpret_cast<const uint8_t*>(x);
  size_t activation_row_bytes = static_cast<size_t>(cols) * sizeof(float);
  std::vector<uint8_t> quantized;  // [n_tokens][activation_row_bytes]
  if (kernel.quantize_activation != nullptr) {
    activation_row_bytes = type_traits(kernel.activation_type).row_bytes(cols);
    quantized.resize(static_cast<size_t>(n_tokens) * activation_row_bytes);
    // Quantizing a value (scalar rounding) costs about as much as 64 multiply-adds of the SIMD product.
    parallel_ranges(n_tokens, threads_for_work(n_tokens * cols * 64), [&](int64_t begin, int64_t end) {
      for (int64_t t = begin; t < end; ++t) {
        kernel.quantize_activation(x + t * cols, quantized.data() + static_cast<size_t>(t) * activation_row_bytes, cols);
      }
    });
    activations = quantized.data();
  }

  if (n_tokens == 1) {
    if (const GemvKernel* gemv = usable_gemv_kernel(weight)) {
      GemvActivations prepared;
      gemv->prepare(activations, cols, prepared);
      split_decode_rows(rows, cols, row_bytes, [&](int64_t begin, int64_t end) {
        gemv->multiply(base + static_cast<size_t>(begin) * row_bytes, row_bytes, end - begin, cols, prepared, y + begin);
      });
    } else {
      matvec_packed(base, row_bytes, rows, cols, kernel, activations, y);
    }
    return;
  }

  const auto activation = [&](int64_t t) { return activations + static_cast<size_t>(t) * activation_row_bytes; };
  const GemmKernel* gemm = find_gemm_kernel(weight.type, active_cpu_level());
  const GemvKernel* decode = usable_gemv_kernel(weight);
  // GemmKernel::min_tokens is measured against the dot kernels' token groups; where the decode kernel has
  // batched products they take batches below kMinGemmTokens as well (Q4_0 and Q8_0 in the file's layout,
  // --mmap on an Intel core, -p 8: GEMM 68 / 56 t/s, batched products 107 / 66).
  const int64_t min_gemm_tokens =
      gemm == nullptr ? 0
      : decode != nullptr && decode->multiply_tokens != nullptr ? std::max(gemm->min_tokens, kMinGemmTokens)
                                                                 : gemm->min_tokens;
  const bool gemm_pays = gemm != nullptr && n_tokens >= min_gemm_tokens;
  // Below the GEMM's batch size, and for the types without one (the interleaved layouts at AVX-512 without
  // AMX, whose decode kernels' batches beat the vector GEMM at every batch size: TinyLlama -t 2 -p 128, Q4_0 186-192 ->
  // 206-215 t/s, Q8_0 157-158 -> 198-200, Q4_K_M 172-173 -> 181-183), the decode kernel's batched products
  // where it has them (-p 4: Q4_K_M 55 -> 119-121, Q6_K 71 -> 87; at -p 32, where the GEMM serves the K
  // formats, the batched products ran Q6_K 112 against 123-127, Q5_K_M 108-111 against 152-154).
  const GemvKernel* gemv = gemm_pays ? nullptr : decode;
  if (gemv != nullptr && gemv->multiply_tokens != nullptr) {
    std::vector<GemvActivations> prepared(static_cast<size_t>(n_tokens));
    for (int64_t t = 0; t < n_tokens; ++t) gemv->prepare(activation(t), cols, prepared[t]);
    split_decode_rows(rows, cols, row_bytes, [&](int64_t begin, int64_t end) {
      gemv->multiply_tokens(base + static_cast<size_t>(begin) * row_bytes, row_bytes, end - begin, cols,
                            prepared.data(), n_tokens, y + begin, rows);
    });
    return;
  }

  if (gemm_pays) {
    GemmActivations prepared;
    gemm->prepare(activations, activation_row_bytes, n_tokens, cols, prepared);
    // Each thread multiplies an equal share of the rows, its tiles' scratch allocated once, on decode's
    // pool: one set of worker threads for the whole forward pass.
    run_on_threads(threads_for_work(rows * cols * n_tokens), [&](int thread, int count) {
      const auto [begin, end] = share_of(rows, thread, count);
      if (begin < end) {
        gemm->multiply(base + static_cast<size_t>(begin) * row_bytes, row_bytes, end - begin, cols, prepared, n_tokens,
                       y + begin, rows);
      }
    });
    return;
  }

  const auto weight_row = [&](int64_t r) { return base + static_cast<size_t>(r) * row_bytes; };
  multiply_token_tiles(
      rows, cols, n_tokens, kernel.dot_token_group != nullptr,
      [&](int64_t r, int64_t t, float* out) {
        kernel.dot_token_group(cols, weight_row(r), activation(t), activation_row_bytes, out);
      },
      [&](int64_t r, int64_t t) { return kernel.dot(cols, weight_row(r), activation(t)); }, y);
}

}  // namespace

int threads_for_work(int64_t multiply_adds) { return multiply_adds >= kMinParallelWork ? omp_get_max_threads() : 1; }

int threads_for_decode_work(int64_t multiply_adds) {
  return multiply_adds >= kMinParallelDecodeWork ? omp_get_max_threads() : 1;
}

void matmul_same_input(std::span<const MatmulOutput> outputs, const float* x, int64_t n_tokens) {
  const TensorView& first = *outputs.front().weight;
  const GemvKernel* gemv = n_tokens == 1 ? usable_gemv_kernel(first) : nullptr;
  for (const MatmulOutput& output : outputs) {
    if (gemv == nullptr || output.weight->type != first.type || output.weight->cols() != first.cols() ||
        usable_gemv_kernel(*output.weight) != gemv) {
      for (const MatmulOutput& each : outputs) matmul(*each.weight, x, n_tokens, each.y);
      return;
    }
  }
  // One token through one decode kernel: the activations are quantized and laid out once, and every
  // weight's rows go out as pieces of one job.
  const int64_t cols = first.cols();
  const DotKernel& kernel = *find_dot_kernel(first.type, active_cpu_level());
  std::vector<uint8_t> quantized(type_traits(kernel.activation_type).row_bytes(cols));
  kernel.quantize_activation(x, quantized.data(), cols);
  GemvActivations prepared;
  gemv->prepare(quantized.data(), cols, prepared);
  struct Piece {
    const MatmulOutput* output;
    int64_t begin, end;
  };
  std::vector<Piece> pieces;
  int64_t multiply_adds = 0;
  const size_t row_bytes = type_traits(first.type).row_bytes(cols);
  const int64_t piece_rows = decode_piece_rows(row_bytes);
  for (const MatmulOutput& output : outputs) {
    const int64_t rows = output.weight->rows();
    for (int64_t begin = 0; begin < rows; begin += piece_rows) {
      pieces.push_back({&output, begin, std::min(rows, begin + piece_rows)});
    }
    multiply_adds += rows * cols;
  }
  split_pieces(static_cast<int64_t>(pieces.size()), threads_for_decode_work(multiply_adds), [&](int64_t p) {
    const Piece& piece = pieces[p];
    const auto* base = static_cast<const uint8_t*>(piece.output->weight->data);
    gemv->multiply(base + static_cast<size_t>(piece.begin) * row_bytes, row_bytes, piece.end - piece.begin, cols,
                   prepared, piece.output->y + piece.begin);
  });
}

const LayoutConversion* kernel_layout(const TensorView& weight) {
  for (const LayoutConversion* conversion : {&kQ4_0ToQ4_0x16, &kQ4_KToQ4_Kx2, &kQ8_0ToQ8_0x16}) {
    if (weight.type != conversion->from || weight.shape.size() != 2) continue;
    const bool whole_blocks = weight.cols() % type_traits(conversion->to).block_size == 0;
    return whole_blocks && find_gemv_kernel(conversion->to, active_cpu_level()) != nullptr ? conversion : nullptr;
  }
  return nullptr;
}

void matmul(const TensorView& weight, const float* x, int64_t n_tokens, float* y) {
  const TypeTraits& traits = readable_row_traits(weight);
  if (n_tokens <= 0) return;
  if (weight.type == TensorType::F32) {
    if (n_tokens == 1) {
      matmul_f32_single(static_cast<const float*>(weight.data), weight.rows(), weight.cols(), x, y);
    } else {
      matmul_sgemm_batch(weight, traits, x, n_tokens, y);
    }
    return;
  }
  const Float16Kernel* float16 = n_tokens == 1 ? find_float16_gemv(weight.type, active_cpu_level())
                                               : find_float16_gemm(weight.type, active_cpu_level());
  if (float16 != nullptr) {
    matmul_float16(weight, *float16, x, n_tokens, y);
    return;
  }
  if (const DotKernel* kernel = find_dot_kernel(weight.type, active_cpu_level())) {
    // Float weights take F32 activations: a batch of tokens is then a plain sgemm on converted rows.
    if (kernel->activation_type == TensorType::F32 && n_tokens > 1) {
      matmul_sgemm_batch(weight, traits, x, n_tokens, y);
    } else {
      matmul_packed(weight, traits, *kernel, x, n_tokens, y);
    }
    return;
  }
  matmul_dequantized(weight, traits, x, n_tokens, y);
}

}  // namespace lowbit
