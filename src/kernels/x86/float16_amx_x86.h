// The AMX BF16 prefill kernel (kernels/float16_kernels.h, Bf16Gemm::amx_tiles). Include only from
// kernels/amx/float16_amx.cpp; everything here has internal linkage, and runs only where cpu_features()
// reports amx_bf16.
//
// One tile product _tile_dpbf16ps(C, A, B) adds to C[t][r] (16 x 16 floats) the products of A's row t
// (token t's 32 BF16 activations of a step of columns) with column r of B (weight row r's 32 BF16 values
// of that step; B's row j holds columns 2j and 2j + 1 of each of the 16 rows). Unlike the integer kernels
// there is no scaling per group: the sums stay in the tiles over all the columns. A panel of 32 rows is
// packed once into B tiles (a 16 x 16 transposition of BF16 pairs per 16 rows and step), then multiplied
// with 32 tokens at a time: four sum tiles (2 token blocks x 2 row blocks) fed by two token and two weight
// tiles per step.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "kernels/float16_kernels.h"
#include "kernels/x86/bf16_x86.h"
#include "kernels/x86/gcc_avx512_warnings.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

constexpr int kBf16TileRows = 16;  // weight rows per tile: C's columns
constexpr int kBf16TileTokens = 16;  // tokens per tile: C's rows
constexpr int64_t kBf16StepColumns = 32;  // one tile product's columns
constexpr int64_t kBf16BlockTokens = 2 * kBf16TileTokens;

// Tiles 0-3: sums; 4 and 5: token blocks; 6 and 7: weight rows. Every tile 16 rows of 64 bytes.
AmxTileConfig bf16_tile_config() {
  AmxTileConfig config;
  for (int tile = 0; tile < 8; ++tile) config.rows[tile] = 16, config.bytes_per_row[tile] = 64;
  return config;
}

int64_t bf16_padded_columns(int64_t cols) {
  return (cols + kBf16StepColumns - 1) / kBf16StepColumns * kBf16StepColumns;
}

// The activations rounded to BF16 (as Bf16Gemm::bf16_pairs rounds them), row-major: token t's padded
// columns as BF16 pairs at words[t * padded / 2], tokens padded with zeros to a multiple of 32.
void prepare_amx_bf16(const float* x, int64_t n_tokens, int64_t cols, Float16Activations& out) {
  const int64_t padded = bf16_padded_columns(cols);
  const int64_t tokens = (n_tokens + kBf16BlockTokens - 1) / kBf16BlockTokens * kBf16BlockTokens;
  out.tokens = n_tokens;
  out.words.assign(static_cast<size_t>(tokens * padded / 2), 0);
  for (int64_t t = 0; t < n_tokens; ++t) {
    round_to_bf16(x + t * cols, cols, reinterpret_cast<uint16_t*>(out.words.data() + t * padded / 2), padded);
  }
}

// Rows [first, first + 16) of a panel (zeros past row_count) into B tiles, one per step of 32 columns,
// 1 KB apart from `tiles`.
void pack_bf16_tiles(const uint16_t* weight_rows, int64_t first, int64_t row_count, int64_t cols, uint8_t* tiles) {
  __m512i in[kBf16TileRows], out[kBf16TileRows];
  for (int64_t c = 0; c < cols; c += kBf16StepColumns) {
    for (int r = 0; r < kBf16TileRows; ++r) {
      in[r] = first + r < row_count ? _mm512_maskz_loadu_epi16(lanes32(cols - c), weight_rows + (first + r) * cols + c)
                                    : _mm512_setzero_si512();
    }
    transpose_16x16(in, out);
    uint8_t* tile = tiles + c / kBf16StepColumns * 1024;
    for (int j = 0; j < kBf16TileRows; ++j) _mm512_storeu_si512(tile + 64 * j, out[j]);
  }
}

// y[t * y_stride + r] for the valid part of a 16 x 16 block of sums.
void store_sums(const float sums[kBf16TileTokens][kBf16TileRows], int64_t tokens, int64_t rows, float* y,
                int64_t y_stride) {
  for (int64_t t = 0; t < tokens; ++t) _mm512_mask_storeu_ps(y + t * y_stride, lanes16(rows), _mm512_loadu_ps(sums[t]));
}

void multiply_amx_bf16(const uint16_t* weight_rows, int64_t row_count, int64_t cols, const Float16Activations& a,
                       float* y, int64_t y_stride) {
  static const AmxTileConfig kConfig = bf16_tile_config();
  const int64_t padded = bf16_padded_columns(cols), steps = padded / kBf16StepColumns;
  const int64_t token_bytes = padded * 2;  // an activation row
  // Two B-tile sets (rows 0-15 and 16-31 of a panel), kept per thread: a fresh allocation per call would
  // page-fault.
  thread_local std::vector<uint8_t> packed;
  packed.resize(static_cast<size_t>(2 * steps * 1024));
  _tile_loadconfig(&kConfig);
  for (int64_t r0 = 0; r0 < row_count; r0 += 2 * kBf16TileRows) {
    uint8_t* low = packed.data();
    uint8_t* high = packed.data() + steps * 1024;
    pack_bf16_tiles(weight_rows, r0, row_count, cols, low);
    pack_bf16_tiles(weight_rows, r0 + kBf16TileRows, row_count, cols, high);
    for (int64_t t0 = 0; t0 < a.tokens; t0 += kBf16BlockTokens) {
      const auto* tokens = reinterpret_cast<const uint8_t*>(a.words.data()) + t0 * token_bytes;
      _tile_zero(0);
      _tile_zero(1);
      _tile_zero(2);
      _tile_zero(3);
      for (int64_t s = 0; s < steps; ++s) {
        _tile_loadd(4, tokens + s * 64, token_bytes);
        _tile_loadd(5, tokens + kBf16TileTokens * token_bytes + s * 64, token_bytes);
        _tile_loadd(6, low + s * 1024, 64);
        _tile_loadd(7, high + s * 1024, 64);
        _tile_dpbf16ps(0, 4, 6);
        _tile_dpbf16ps(1, 4, 7);
        _tile_dpbf16ps(2, 5, 6);
        _tile_dpbf16ps(3, 5, 7);
      }
      alignas(64) float sums[4][kBf16TileTokens][kBf16TileRows];
      _tile_stored(0, sums[0], 64);
      _tile_stored(1, sums[1], 64);
      _tile_stored(2, sums[2], 64);
      _tile_stored(3, sums[3], 64);
      for (int k = 0; k < 4; ++k) {
        const int64_t t = t0 + kBf16TileTokens * (k / 2), r = r0 + kBf16TileRows * (k % 2);
        store_sums(sums[k], std::clamp<int64_t>(a.tokens - t, 0, kBf16TileTokens),
                   std::min<int64_t>(row_count - r, kBf16TileRows), y + t * y_stride + r, y_stride);
      }
    }
  }
  _tile_release();
}

constexpr Float16Kernel kBF16AmxGemm{kFloat16PanelRows, prepare_amx_bf16, multiply_amx_bf16};

}  // namespace
}  // namespace lowbit
