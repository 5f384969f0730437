// The AMX prefill kernels (kernels/gemm_kernels.h, GemmUnits::amx): the formats' unpacking of
// x86/gemm_x86.h, with AMX tile products in place of the vector micro-kernel. Include only from
// kernels/amx/gemm_amx.cpp; everything here has internal linkage, and runs only where cpu_features()
// reports amx_int8.
//
// One tile product _tile_dpbsud(C, A, B) adds to C[t][r] (16 x 16 int32) the dot product of A's row t
// (token t's codes of one group, signed) with column r of B (weight row r's codes of that group,
// unsigned; B's row j holds codes 4j .. 4j + 3 of each of the 16 weight rows, as x86/gemm_x86.h's
// transpose_span lays out 16 groups). One group's sums are then scaled in float per token:
//   acc[t] (16 weight rows) += C[t] * wscale(g) * ascale(t, g) + wbias(g) * asum(t, g).
// The tile products and that float work do not overlap (a /tmp harness: 16 tokens x 16 rows x 2048
// columns, 26 ns per two groups for the tile products alone, 33 for the scaling alone, 64 for both; a perf
// annotation of TinyLlama's prefill puts about 55% of this kernel's samples on the tile loads, products
// and stores), so either costs in full. The float work is cut where the format allows: formats with a
// fixed code offset (kCodeOffset) multiply signed codes with _tile_dpbssd and have no bias term, and
// Q8_K's activation scale is applied once per super-block. A thread's rows are taken 16 at a time and
// kChunkCols columns at a time: those rows are unpacked once into the tile layout (in L2), then multiplied
// with every 16 tokens.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "kernels/gemm_kernels.h"
#include "kernels/x86/gemm_x86.h"

namespace lowbit {
namespace {

constexpr int kAmxRows = 16;    // weight rows per tile product: C's columns
constexpr int kAmxTokens = 16;  // tokens per tile product: C's rows

// Tiles 0 and 1: sums (16 tokens x 16 int32); 2 and 3: token codes (16 tokens x G bytes); 4 and 5: weight
// codes (G / 4 rows of 16 weight rows x 4 bytes). Consecutive groups alternate between the two of each.
template <int kGroup>
AmxTileConfig amx_tile_config() {
  AmxTileConfig config;
  for (int tile : {0, 1}) config.rows[tile] = kAmxTokens, config.bytes_per_row[tile] = 4 * kAmxRows;
  for (int tile : {2, 3}) config.rows[tile] = kAmxTokens, config.bytes_per_row[tile] = kGroup;
  for (int tile : {4, 5}) config.rows[tile] = kGroup / 4, config.bytes_per_row[tile] = 4 * kAmxRows;
  return config;
}

// 16 weight rows of one chunk of columns in the tile layout: per group, its B tile (16 G bytes), the 16
// rows' scales and their biases.
struct AmxWeightTile {
  std::vector<uint8_t> codes;        // [groups][G / 4][16 rows][4]
  std::vector<float> scales, biases;  // [groups][16 rows]
};

// tile[16 g + r] = per_row[r * row_stride + g] for the 16 rows and `groups` groups (a multiple of 16):
// the rows' group scales (or biases) into the tiles' order, 16 x 16 at a time.
inline void transpose_group_floats(const float* per_row, int64_t row_stride, int64_t groups, float* tile) {
  __m512i in[kAmxRows], out[kAmxRows];
  for (int64_t g = 0; g < groups; g += 16) {
    for (int r = 0; r < kAmxRows; ++r) in[r] = _mm512_castps_si512(_mm512_loadu_ps(per_row + r * row_stride + g));
    transpose_16x16(in, out);
    for (int l = 0; l < 16; ++l) _mm512_storeu_si512(tile + (g + l) * kAmxRows, out[l]);
  }
}

// Unpacks `rows` rows (the rest of the 16 are zeros) of `blocks` blocks each, starting at `first`, into
// `tile` for k_len columns (past the blocks: zeros). The codes go in spans of 32 columns: the 16 rows'
// 8 dwords of a span transposed (x86/gemm_x86.h's transpose_span) are the B tile of a group of 32, or
// those of two consecutive groups of 16.
template <typename Format>
void unpack_amx_tile(const uint8_t* first, size_t row_bytes, int64_t rows, int64_t blocks, int64_t k_len,
                     AmxWeightTile& tile) {
  constexpr int kGroup = Format::kGroup;
  constexpr int64_t kGroupsPerBlock = Format::kBlockSize / kGroup;
  const int64_t groups = k_len / kGroup;
  constexpr int64_t kMaxGroups = kChunkCols / kGroup;
  alignas(64) uint8_t in_order[kAmxRows][kChunkCols];  // each row's codes in column order
  alignas(64) float scales[kAmxRows][kMaxGroups], biases[kAmxRows][kMaxGroups];
  tile.codes.resize(static_cast<size_t>(k_len * kAmxRows));
  tile.scales.resize(static_cast<size_t>(groups * kAmxRows));
  tile.biases.resize(static_cast<size_t>(groups * kAmxRows));
  for (int64_t r = 0; r < kAmxRows; ++r) {
    const int64_t row_blocks = r < rows ? blocks : 0;
    const auto* row = reinterpret_cast<const typename Format::Block*>(first + static_cast<size_t>(r) * row_bytes);
    for (int64_t b = 0; b < row_blocks; ++b) {
      Format::unpack(row[b], in_order[r] + Format::kBlockSize * b, scales[r] + kGroupsPerBlock * b,
                     biases[r] + kGroupsPerBlock * b);
    }
    std::fill(in_order[r] + row_blocks * Format::kBlockSize, in_order[r] + k_len, uint8_t{0});
    std::fill(scales[r] + row_blocks * kGroupsPerBlock, scales[r] + groups, 0.0f);
    std::fill(biases[r] + row_blocks * kGroupsPerBlock, biases[r] + groups, 0.0f);
  }
  transpose_group_floats(&scales[0][0], kMaxGroups, groups, tile.scales.data());
  if constexpr (fixed_code_offset<Format>() == 0) {  // signed codes have no bias term
    transpose_group_floats(&biases[0][0], kMaxGroups, groups, tile.biases.data());
  }
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(fixed_code_offset<Format>()));
  for (int64_t c = 0; c < k_len; c += 32) {
    __m512i x[8];
    for (int k = 0; k < 8; ++k) {
      // Masked forms: GCC 12's plain insert starts from an undefined vector and warns (x86/gemm_x86.h).
      x[k] = _mm512_maskz_inserti64x4(0xff, _mm512_maskz_loadu_epi64(0x0f, in_order[2 * k] + c),
                                      load_256(in_order[2 * k + 1] + c), 1);
      // Signed codes where the offset is fixed (wrapping 128 + q back to q); the padding's codes meet zero
      // activations.
      if constexpr (fixed_code_offset<Format>() != 0) x[k] = _mm512_sub_epi8(x[k], offset);
    }
    transpose_span(x, tile.codes.data() + c * kAmxRows);
  }
}

// unpack_amx_tile for the interleaved layouts: their 16 sub-blocks' codes come as dword vectors
// (Format::dword_vectors, lane l = sub-block l), so that dword j of every sub-block of the 16 rows is one
// 16 x 16 transposition away from row j of the sub-blocks' B tiles (gathering each sub-block's words, as
// unpack does, cost a quarter of the products' time on TinyLlama's Q4_K_M); the scales likewise.
template <typename Format>
void unpack_interleaved_amx_tile(const uint8_t* first, size_t row_bytes, int64_t rows, int64_t blocks,
                                 int64_t k_len, AmxWeightTile& tile) {
  static_assert(Format::kBlockSize == 16 * 32 && Format::kGroup == 32);
  const int64_t groups = k_len / 32;
  tile.codes.resize(static_cast<size_t>(k_len * kAmxRows));
  tile.scales.resize(static_cast<size_t>(groups * kAmxRows));
  tile.biases.resize(static_cast<size_t>(groups * kAmxRows));
  const __m512i offset = _mm512_set1_epi8(static_cast<char>(fixed_code_offset<Format>()));
  for (int64_t b = 0; b < k_len / Format::kBlockSize; ++b) {
    __m512i codes[kAmxRows][8];
    alignas(64) float scales[kAmxRows][16], biases[kAmxRows][16];
    for (int64_t r = 0; r < kAmxRows; ++r) {
      if (r < rows && b < blocks) {
        const auto* row = reinterpret_cast<const typename Format::Block*>(first + static_cast<size_t>(r) * row_bytes);
        const auto& block = row[b];
        Format::dword_vectors(block, codes[r]);
        Format::scales_and_biases(block, scales[r], biases[r]);
      } else {  // zero codes past the rows and the blocks, as unpack_amx_tile
        for (__m512i& v : codes[r]) v = _mm512_setzero_si512();
        std::fill(scales[r], scales[r] + 16, 0.0f);
        std::fill(biases[r], biases[r] + 16, 0.0f);
      }
    }
    uint8_t* b_tiles = tile.codes.data() + b * Format::kBlockSize * kAmxRows;  // sub-block l's at 512 l
    __m512i in[kAmxRows], out[kAmxRows];
    for (int j = 0; j < 8; ++j) {
      for (int r = 0; r < kAmxRows; ++r) in[r] = codes[r][j];
      transpose_16x16(in, out);
      for (int l = 0; l < 16; ++l) {
        // Signed codes where the offset is fixed, as unpack_amx_tile.
        const __m512i row_j = fixed_code_offset<Format>() != 0 ? _mm512_sub_epi8(out[l], offset) : out[l];
        _mm512_storeu_si512(b_tiles + 32 * kAmxRows * l + 64 * j, row_j);
      }
    }
    transpose_group_floats(&scales[0][0], 16, 16, tile.scales.data() + b * 16 * kAmxRows);
    if constexpr (fixed_code_offset<Format>() == 0) {  // signed codes have no bias term
      transpose_group_floats(&biases[0][0], 16, 16, tile.biases.data() + b * 16 * kAmxRows);
    }
  }
}

// Token codes for A tiles: each token's codes in column order.
template <typename Format>
void prepare_amx_gemm(const uint8_t* quantized, size_t row_bytes, int64_t n_tokens, int64_t cols,
                      GemmActivations& out) {
  const auto copy_group = [](const int8_t* group_codes, int64_t g, int8_t* codes) {
    std::memcpy(codes + g * Format::kGroup, group_codes, Format::kGroup);
  };
  prepare_tokens<Format>(quantized, row_bytes, n_tokens, cols, kAmxTokens, copy_group, false, out);
}

// acc[t] += sums[t] (token t's dots with the 16 rows, one group) times the rows' scales, times token t's
// activation scale where kActivationScales (else the caller applies it), plus the bias term where kBias.
template <bool kActivationScales, bool kBias>
void add_scaled_sums(const int32_t sums[kAmxTokens][kAmxRows], const float* w_scales, const float* w_biases,
                     const float* a_scales, const float* a_sums, int64_t a_groups, __m512 acc[kAmxTokens]) {
  const __m512 w_scale = _mm512_loadu_ps(w_scales);
  for (int t = 0; t < kAmxTokens; ++t) {
    const __m512 scale = kActivationScales ? _mm512_mul_ps(w_scale, _mm512_set1_ps(a_scales[t * a_groups])) : w_scale;
    acc[t] = _mm512_fmadd_ps(to_floats(_mm512_load_si512(sums[t])), scale, acc[t]);
    if constexpr (kBias) {
      acc[t] = _mm512_fmadd_ps(_mm512_loadu_ps(w_biases), _mm512_set1_ps(a_sums[t * a_groups]), acc[t]);
    }
  }
}

// out[t][r] = the 16 rows of `tile` (k_groups groups) . 16 tokens' codes (a_codes, a_cols apart; their
// group scales and sums a_groups apart). Two groups per step: the first's tile product in tiles 0 (sums),
// 2 (tokens) and 4 (weights), the second's in 1, 3 and 5, both issued before either is scaled. (GCC's
// tile intrinsics take literal tile numbers.) The accumulators are local so that they stay in registers.
// Q8_K's activation scale d holds for kScaleGroups groups (a super-block): the groups' sums and bias terms
// (the activation group sums without d: prepare_amx_gemm) are added up and multiplied by d once.
template <typename Format>
void multiply_token_block(const uint8_t* w_codes, const float* w_scales, const float* w_biases, int64_t k_groups,
                          const int8_t* a_codes, int64_t a_cols, const float* a_scales, const float* a_sums,
                          int64_t a_groups, float out[kAmxTokens][kAmxRows]) {
  constexpr int kGroup = Format::kGroup;
  constexpr int kWeightBytes = kAmxRows * kGroup;
  constexpr bool kSignedWeights = fixed_code_offset<Format>() != 0;
  constexpr int kScaleGroups = Format::kActivation == TensorType::Q8_K ? 256 / kGroup : 1;
  static_assert(kScaleGroups == 1 || kScaleGroups % 2 == 0);
  __m512 acc[kAmxTokens];
  for (__m512& v : acc) v = _mm512_setzero_ps();
  __m512 total[kAmxTokens];
  for (__m512& v : total) v = _mm512_setzero_ps();
  alignas(64) int32_t sums[2][kAmxTokens][kAmxRows];
  for (int64_t g = 0; g < k_groups; g += 2) {  // k_groups is even: chunks are multiples of 512 columns
    _tile_loadd(2, a_codes + g * kGroup, a_cols);
    _tile_loadd(4, w_codes + g * kWeightBytes, 4 * kAmxRows);
    _tile_zero(0);
    if constexpr (kSignedWeights) {
      _tile_dpbssd(0, 2, 4);
    } else {
      _tile_dpbsud(0, 2, 4);
    }
    _tile_loadd(3, a_codes + (g + 1) * kGroup, a_cols);
    _tile_loadd(5, w_codes + (g + 1) * kWeightBytes, 4 * kAmxRows);
    _tile_zero(1);
    if constexpr (kSignedWeights) {
      _tile_dpbssd(1, 3, 5);
    } else {
      _tile_dpbsud(1, 3, 5);
    }
    _tile_stored(0, sums[0], 4 * kAmxRows);
    _tile_stored(1, sums[1], 4 * kAmxRows);
    for (int k = 0; k < 2; ++k) {
      add_scaled_sums<kScaleGroups == 1, !kSignedWeights>(sums[k], w_scales + (g + k) * kAmxRows,
                                                         w_biases + (g + k) * kAmxRows, a_scales + g + k,
                                                         a_sums + g + k, a_groups, acc);
    }
    if constexpr (kScaleGroups > 1) {
      if ((g + 2) % kScaleGroups == 0) {
        for (int t = 0; t < kAmxTokens; ++t) {
          total[t] = _mm512_fmadd_ps(acc[t], _mm512_set1_ps(a_scales[t * a_groups + g]), total[t]);
          acc[t] = _mm512_setzero_ps();
        }
      }
    }
  }
  for (int t = 0; t < kAmxTokens; ++t) _mm512_store_ps(out[t], kScaleGroups > 1 ? total[t] : acc[t]);
}

template <typename Format>
void multiply_amx_gemm(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                       const GemmActivations& a, int64_t n_tokens, float* y, int64_t y_stride) {
  constexpr int kGroup = Format::kGroup;
  static const AmxTileConfig kConfig = amx_tile_config<kGroup>();
  _tile_loadconfig(&kConfig);
  const int64_t a_cols = a.padded_cols, a_groups = a_cols / kGroup;
  const int64_t chunk = std::min(kChunkCols, a_cols);
  AmxWeightTile tile;
  for (int64_t row0 = 0; row0 < row_count; row0 += kAmxRows) {
    const int64_t rows = std::min<int64_t>(kAmxRows, row_count - row0);
    const __mmask16 row_mask = static_cast<__mmask16>((1u << rows) - 1);
    for (int64_t k0 = 0; k0 < a_cols; k0 += chunk) {
      const int64_t k_len = std::min(chunk, a_cols - k0), k_groups = k_len / kGroup;
      const int64_t blocks = std::clamp<int64_t>(cols - k0, 0, k_len) / Format::kBlockSize;
      const uint8_t* first = weight_rows + static_cast<size_t>(row0) * row_bytes +
                             static_cast<size_t>(k0 / Format::kBlockSize) * sizeof(typename Format::Block);
      if constexpr (is_interleaved<Format>()) {
        unpack_interleaved_amx_tile<Format>(first, row_bytes, rows, blocks, k_len, tile);
      } else {
        unpack_amx_tile<Format>(first, row_bytes, rows, blocks, k_len, tile);
      }
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kAmxTokens) {
        alignas(64) float out[kAmxTokens][kAmxRows];
        multiply_token_block<Format>(tile.codes.data(), tile.scales.data(), tile.biases.data(), k_groups,
                                     a.codes.data() + t0 * a_cols + k0, a_cols,
                                     a.scales.data() + t0 * a_groups + k0 / kGroup,
                                     a.group_sums.data() + t0 * a_groups + k0 / kGroup, a_groups, out);
        const int64_t tokens = std::min<int64_t>(kAmxTokens, n_tokens - t0);
        for (int64_t t = 0; t < tokens; ++t) {
          float* y_row = y + (t0 + t) * y_stride + row0;
          const __m512 sum = _mm512_load_ps(out[t]);
          _mm512_mask_storeu_ps(y_row, row_mask,
                                k0 == 0 ? sum : _mm512_add_ps(sum, _mm512_maskz_loadu_ps(row_mask, y_row)));
        }
      }
    }
  }
  _tile_release();
}

// Below this many tokens the interleaved layouts' batched decode products beat AMX (which pays for
// unpacking 16 rows per 16 tokens): TinyLlama, 2 threads, lowbit bench -p N, batched / AMX: N = 8: Q4_0
// 150 / 66 t/s, Q4_K_M 137 / 77, Q8_0 116 / 65; N = 16: 169 / 138, 143 / 131, 143 / 123; N = 32: 186 / 210,
// 152 / 186, 172 / 191.
constexpr int64_t kMinAmxTokensInterleaved = 32;

template <typename Format>
constexpr int64_t min_amx_tokens() {
  return is_interleaved<Format>() ? kMinAmxTokensInterleaved : min_gemm_tokens<Format>();
}

template <typename Format>
constexpr GemmKernel kAmxGemm{Format::kActivation, min_amx_tokens<Format>(), prepare_amx_gemm<Format>,
                              multiply_amx_gemm<Format>};

const GemmKernel* find_amx_gemm_kernel(TensorType weight) {
  return find_gemm_format(weight, []<typename Format>() -> const GemmKernel* { return &kAmxGemm<Format>; });
}

}  // namespace
}  // namespace lowbit
