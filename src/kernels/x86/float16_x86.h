// The F16/BF16 kernels of kernels/float16_kernels.h. AVX-512 (with BW and, for the vdpbf16ps formats,
// BF16): include only from kernels/avx512/float16_avx512.cpp. Everything here has internal linkage, and
// nothing calls an inline function of a shared header (the linker could keep the wide-instruction copy).
//
// A "step" is one 32-bit word per row: one column for the F32 formats, two columns (the lower one in the
// low half) for the BF16-pair format. Steps are padded with zero words to a multiple of kStepGroup, in
// the packed weights and in the activations alike, so that no loop has a tail.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

#include "kernels/float16_kernels.h"
#include "kernels/x86/bf16_x86.h"
#include "kernels/x86/gcc_avx512_warnings.h"


namespace lowbit {
namespace {

constexpr int kPanelVectors = 2;  // kFloat16PanelRows / 16 lanes
// Tokens per micro-tile: 2 x 12 accumulators, 2 weight vectors and a broadcast fit AVX-512's 32 registers.
constexpr int kBlockTokens = 12;
constexpr int64_t kStepGroup = 16;  // one 16 x 16 transposition while packing
// Steps per packed chunk: a panel of 1024 steps x 32 rows x 4 bytes (128 KB) stays in L2 next to the
// chunk's activations (48 KB per token block), for every token block.
constexpr int64_t kChunkSteps = 1024;

int64_t padded_steps(int64_t cols, int columns_per_step) {
  const int64_t steps = (cols + columns_per_step - 1) / columns_per_step;
  return (steps + kStepGroup - 1) / kStepGroup * kStepGroup;
}

// F16 and BF16 weights as F32 words (FMA path): 16 columns from `col`, zero past `cols`.
struct F16AsF32 {
  static constexpr int kColumnsPerStep = 1;
  static __m512i words(const uint16_t* row, int64_t col, int64_t cols) {
    return _mm512_castps_si512(_mm512_cvtph_ps(_mm256_maskz_loadu_epi16(lanes16(cols - col), row + col)));
  }
  static __m512 madd(__m512 acc, __m512i w, __m512i x) {
    return _mm512_fmadd_ps(_mm512_castsi512_ps(w), _mm512_castsi512_ps(x), acc);
  }
};
// BF16 is the top half of an F32: widening each value and shifting it up is exact.
struct BF16AsF32 {
  static constexpr int kColumnsPerStep = 1;
  static __m512i words(const uint16_t* row, int64_t col, int64_t cols) {
    return _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(lanes16(cols - col), row + col)), 16);
  }
  static __m512 madd(__m512 acc, __m512i w, __m512i x) { return F16AsF32::madd(acc, w, x); }
};
// BF16 weights kept as pairs (vdpbf16ps path): 32 columns from `col`, a pair per word.
struct BF16Pairs {
  static constexpr int kColumnsPerStep = 2;
  static __m512i words(const uint16_t* row, int64_t col, int64_t cols) {
    return _mm512_maskz_loadu_epi16(lanes32(cols - col), row + col);
  }
  static __m512 madd(__m512 acc, __m512i w, __m512i x) {
    return _mm512_dpbf16_ps(acc, (__m512bh)w, (__m512bh)x);  // same bits, the intrinsic's vector type
  }
};

// v[i] lane j -> v[j] lane i.
void transpose_16x16(__m512i v[16]) {
  __m512i t[16], u[16];
  // t[2m], t[2m + 1]: rows 2m, 2m + 1 interleaved, columns 4L, 4L + 1 and 4L + 2, 4L + 3 of 128-bit lane L.
  for (int m = 0; m < 8; ++m) {
    t[2 * m] = _mm512_unpacklo_epi32(v[2 * m], v[2 * m + 1]);
    t[2 * m + 1] = _mm512_unpackhi_epi32(v[2 * m], v[2 * m + 1]);
  }
  // u[4n + c] lane L: column 4L + c of rows 4n .. 4n + 3.
  for (int n = 0; n < 4; ++n) {
    u[4 * n] = _mm512_unpacklo_epi64(t[4 * n], t[4 * n + 2]);
    u[4 * n + 1] = _mm512_unpackhi_epi64(t[4 * n], t[4 * n + 2]);
    u[4 * n + 2] = _mm512_unpacklo_epi64(t[4 * n + 1], t[4 * n + 3]);
    u[4 * n + 3] = _mm512_unpackhi_epi64(t[4 * n + 1], t[4 * n + 3]);
  }
  // Column 4L + c gathers lane L of u[c], u[4 + c], u[8 + c], u[12 + c].
  for (int c = 0; c < 4; ++c) {
    const __m512i low01 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0x44);
    const __m512i high01 = _mm512_shuffle_i32x4(u[c], u[4 + c], 0xee);
    const __m512i low23 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0x44);
    const __m512i high23 = _mm512_shuffle_i32x4(u[8 + c], u[12 + c], 0xee);
    v[c] = _mm512_shuffle_i32x4(low01, low23, 0x88);
    v[4 + c] = _mm512_shuffle_i32x4(low01, low23, 0xdd);
    v[8 + c] = _mm512_shuffle_i32x4(high01, high23, 0x88);
    v[12 + c] = _mm512_shuffle_i32x4(high01, high23, 0xdd);
  }
}

// panel[s][32]: the word of row i (i < row_count, zero beyond) at step first_step + s, for s < steps (a
// multiple of kStepGroup). Row i at rows + i * cols.
template <typename Format>
void pack_panel(const uint16_t* rows, int64_t row_count, int64_t cols, int64_t first_step, int64_t steps,
                uint32_t* panel) {
  for (int64_t s = 0; s < steps; s += kStepGroup) {
    const int64_t col = (first_step + s) * Format::kColumnsPerStep;
    for (int half = 0; half < kPanelVectors; ++half) {
      __m512i v[16];
      for (int i = 0; i < 16; ++i) {
        const int64_t r = 16 * half + i;
        v[i] = r < row_count ? Format::words(rows + r * cols, col, cols) : _mm512_setzero_si512();
      }
      transpose_16x16(v);
      for (int c = 0; c < 16; ++c) _mm512_storeu_si512(panel + (s + c) * kFloat16PanelRows + 16 * half, v[c]);
    }
  }
}

// The tile of `row_count` (<= 32) panel rows times T tokens: y[t * y_stride + r] (+)= panel row r . token t
// over `steps` steps of the token block's words xb[step][kBlockTokens].
template <typename Format, int T>
void multiply_tile(const uint32_t* panel, const uint32_t* xb, int64_t steps, float* y, int64_t y_stride,
                   int64_t row_count, bool accumulate) {
  __m512 acc[kPanelVectors][T];
  for (int t = 0; t < T; ++t) {
    for (int v = 0; v < kPanelVectors; ++v) acc[v][t] = _mm512_setzero_ps();
  }
  for (int64_t s = 0; s < steps; ++s) {
    const __m512i w0 = _mm512_loadu_si512(panel + s * kFloat16PanelRows);
    const __m512i w1 = _mm512_loadu_si512(panel + s * kFloat16PanelRows + 16);
    const uint32_t* x = xb + s * kBlockTokens;
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t) {
      const __m512i b = _mm512_set1_epi32(static_cast<int>(x[t]));
      acc[0][t] = Format::madd(acc[0][t], w0, b);
      acc[1][t] = Format::madd(acc[1][t], w1, b);
    }
  }
  const __mmask16 masks[kPanelVectors] = {lanes16(row_count), lanes16(row_count - 16)};
  for (int t = 0; t < T; ++t) {
    for (int v = 0; v < kPanelVectors; ++v) {
      if (masks[v] == 0) continue;
      float* out = y + t * y_stride + 16 * v;
      __m512 sum = acc[v][t];
      if (accumulate) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(masks[v], out));
      _mm512_mask_storeu_ps(out, masks[v], sum);
    }
  }
}

template <typename Format, int... T>
void multiply_tile_of(int tokens, const uint32_t* panel, const uint32_t* xb, int64_t steps, float* y,
                      int64_t y_stride, int64_t row_count, bool accumulate, std::integer_sequence<int, T...>) {
  // tokens - 1 indexes the instantiation for T = tokens.
  using Tile = void (*)(const uint32_t*, const uint32_t*, int64_t, float*, int64_t, int64_t, bool);
  static constexpr Tile kTiles[] = {multiply_tile<Format, T + 1>...};
  kTiles[tokens - 1](panel, xb, steps, y, y_stride, row_count, accumulate);
}

// GEMM activations: per block of kBlockTokens tokens, [padded steps][kBlockTokens] words, tokens past
// n_tokens and steps past the columns zero. word(t, s) gives token t's word at step s (s < the steps
// that hold columns).
template <typename Word>
void lay_out_token_blocks(int64_t n_tokens, int64_t steps, int64_t padded, const Word& word,
                          Float16Activations& out) {
  const int64_t blocks = (n_tokens + kBlockTokens - 1) / kBlockTokens;
  out.tokens = n_tokens;
  out.words.assign(static_cast<size_t>(blocks * padded * kBlockTokens), 0);
  for (int64_t t = 0; t < n_tokens; ++t) {
    uint32_t* block = out.words.data() + (t / kBlockTokens) * padded * kBlockTokens + t % kBlockTokens;
    for (int64_t s = 0; s < steps; ++s) block[s * kBlockTokens] = word(t, s);
  }
}

void prepare_f32(const float* x, int64_t n_tokens, int64_t cols, Float16Activations& out) {
  lay_out_token_blocks(n_tokens, cols, padded_steps(cols, 1), [&](int64_t t, int64_t s) {
    uint32_t bits;
    std::memcpy(&bits, x + t * cols + s, sizeof bits);
    return bits;
  }, out);
}

void prepare_bf16_pairs(const float* x, int64_t n_tokens, int64_t cols, Float16Activations& out) {
  const int64_t steps = (cols + 1) / 2;
  const int64_t padded = padded_steps(cols, 2);
  std::vector<uint32_t> rounded(static_cast<size_t>(n_tokens * padded));  // [n_tokens][padded] pairs
  for (int64_t t = 0; t < n_tokens; ++t) {
    round_to_bf16(x + t * cols, cols, reinterpret_cast<uint16_t*>(rounded.data() + t * padded), 2 * padded);
  }
  lay_out_token_blocks(n_tokens, steps, padded, [&](int64_t t, int64_t s) { return rounded[t * padded + s]; }, out);
}

// prepare_f32 of the activations rounded to BF16 (as prepare_bf16_pairs rounds them): F32 words that
// hold BF16 values.
void prepare_f32_rounded_to_bf16(const float* x, int64_t n_tokens, int64_t cols, Float16Activations& out) {
  const int64_t row = (cols + 15) / 16 * 16;  // round_to_bf16 writes whole vectors
  std::vector<uint16_t> rounded(static_cast<size_t>(n_tokens * row));  // [n_tokens][row]
  for (int64_t t = 0; t < n_tokens; ++t) round_to_bf16(x + t * cols, cols, rounded.data() + t * row, row);
  lay_out_token_blocks(n_tokens, cols, padded_steps(cols, 1), [&](int64_t t, int64_t s) {
    return static_cast<uint32_t>(rounded[t * row + s]) << 16;
  }, out);
}

template <typename Format>
void multiply_gemm(const uint16_t* weight_rows, int64_t row_count, int64_t cols, const Float16Activations& a,
                   float* y, int64_t y_stride) {
  const int64_t steps = padded_steps(cols, Format::kColumnsPerStep);
  // One panel buffer per thread, kept: a fresh 128 KB allocation is an mmap and page faults per call.
  thread_local std::vector<uint32_t> panel;
  panel.resize(static_cast<size_t>(kChunkSteps * kFloat16PanelRows));
  for (int64_t first = 0; first < steps; first += kChunkSteps) {
    const int64_t chunk = std::min(kChunkSteps, steps - first);
    for (int64_t r = 0; r < row_count; r += kFloat16PanelRows) {
      const int64_t panel_rows = std::min(kFloat16PanelRows, row_count - r);
      pack_panel<Format>(weight_rows + r * cols, panel_rows, cols, first, chunk, panel.data());
      for (int64_t t = 0; t < a.tokens; t += kBlockTokens) {
        const uint32_t* xb = a.words.data() + (t * steps + first * kBlockTokens);
        multiply_tile_of<Format>(static_cast<int>(std::min<int64_t>(kBlockTokens, a.tokens - t)), panel.data(), xb,
                                 chunk, y + t * y_stride + r, y_stride, panel_rows, first > 0,
                                 std::make_integer_sequence<int, kBlockTokens>());
      }
    }
  }
}

// Decode: the token's F32 values, padded with zeros to a multiple of 32 (one F16Vector step).
void prepare_f32_row(const float* x, int64_t n_tokens, int64_t cols, Float16Activations& out) {
  const int64_t padded = (cols + 31) / 32 * 32;
  out.tokens = n_tokens;
  out.words.assign(static_cast<size_t>(n_tokens * padded), 0);
  for (int64_t t = 0; t < n_tokens; ++t) std::memcpy(out.words.data() + t * padded, x + t * cols, cols * sizeof(float));
}

// Decode: the token's BF16 pairs, padded with zeros to a multiple of kStepGroup pairs.
void prepare_bf16_row(const float* x, int64_t n_tokens, int64_t cols, Float16Activations& out) {
  const int64_t padded = padded_steps(cols, 2);
  out.tokens = n_tokens;
  out.words.resize(static_cast<size_t>(n_tokens * padded));
  for (int64_t t = 0; t < n_tokens; ++t) {
    round_to_bf16(x + t * cols, cols, reinterpret_cast<uint16_t*>(out.words.data() + t * padded), 2 * padded);
  }
}

// What the decode product does with 64 bytes of a row (32 columns) and the activation words x that meet
// them (prepare_f32_row's, prepare_bf16_row's): acc plus their products.
struct F16Vector {
  static constexpr int kColumnsPerWord = 1;
  static __m512 madd(__m512 acc, __m512i w, const uint32_t* x) {
    acc = F16AsF32::madd(acc, _mm512_castps_si512(_mm512_cvtph_ps(_mm512_castsi512_si256(w))), _mm512_loadu_si512(x));
    return F16AsF32::madd(acc, _mm512_castps_si512(_mm512_cvtph_ps(_mm512_extracti64x4_epi64(w, 1))),
                          _mm512_loadu_si512(x + 16));
  }
};
struct BF16PairsVector {
  static constexpr int kColumnsPerWord = 2;
  static __m512 madd(__m512 acc, __m512i w, const uint32_t* x) { return BF16Pairs::madd(acc, w, _mm512_loadu_si512(x)); }
};

// y[i] = row i . x for R rows read in place, 32 columns per row and step. Rows side by side keep one core's
// stream fuller than one row at a time (4096 x 14336, one thread, Zen 4 VM): F16 8 rows 24-27 GB/s, 4 rows
// 21-24, the dot product kernel's one row 16-20; BF16 8 rows 27-29, 4 rows 24-25; 16 rows 15 and 20.
template <typename Vector, int R>
void gemv_rows(const uint16_t* rows, int64_t cols, const uint32_t* x, float* y) {
  __m512 acc[R];
  for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 32 <= cols; c += 32) {
    for (int i = 0; i < R; ++i) {
      // R rows read in step are R short streams: ask for the next R rows' line into L2 now (the hints'
      // reasons are at prefetch_distance() in x86/simd_common.h; a hint never faults past the last row).
      _mm_prefetch(reinterpret_cast<const char*>(rows + (R + i) * cols + c), _MM_HINT_T1);
      acc[i] = Vector::madd(acc[i], _mm512_loadu_si512(rows + i * cols + c), x + c / Vector::kColumnsPerWord);
    }
  }
  if (c < cols) {  // the activations' zero padding meets the masked-off columns
    for (int i = 0; i < R; ++i) {
      acc[i] = Vector::madd(acc[i], _mm512_maskz_loadu_epi16(lanes32(cols - c), rows + i * cols + c),
                            x + c / Vector::kColumnsPerWord);
    }
  }
  for (int i = 0; i < R; ++i) y[i] = _mm512_reduce_add_ps(acc[i]);
}

template <typename Vector>
void multiply_gemv(const uint16_t* weight_rows, int64_t row_count, int64_t cols, const Float16Activations& a,
                   float* y, int64_t /*y_stride: one token*/) {
  const uint32_t* x = a.words.data();
  int64_t r = 0;
  for (; r + 8 <= row_count; r += 8) gemv_rows<Vector, 8>(weight_rows + r * cols, cols, x, y + r);
  for (; r < row_count; ++r) gemv_rows<Vector, 1>(weight_rows + r * cols, cols, x, y + r);
}

constexpr Float16Kernel kF16Gemm{kFloat16PanelRows, prepare_f32, multiply_gemm<F16AsF32>};
constexpr Float16Kernel kBF16FmaGemm{kFloat16PanelRows, prepare_f32, multiply_gemm<BF16AsF32>};
constexpr Float16Kernel kBF16RoundedFmaGemm{kFloat16PanelRows, prepare_f32_rounded_to_bf16, multiply_gemm<BF16AsF32>};
constexpr Float16Kernel kBF16DotGemm{kFloat16PanelRows, prepare_bf16_pairs, multiply_gemm<BF16Pairs>};
constexpr Float16Kernel kF16Gemv{1, prepare_f32_row, multiply_gemv<F16Vector>};
constexpr Float16Kernel kBF16DotGemv{1, prepare_bf16_row, multiply_gemv<BF16PairsVector>};

}  // namespace
}  // namespace lowbit
