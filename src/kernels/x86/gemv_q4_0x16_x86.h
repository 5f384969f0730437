// The AVX-512 decode kernel (kernels/gemv_kernels.h) for lb_q4_0x16 (formats/lowbit_q4_0x16.h): per
// 512-weight block, four 64-byte loads of codes, each split into its low and high nibbles by one AND
// apiece, eight u8 x s8 dot products that leave one Q4_0 block's sum in each int32 lane, and one scaling
// of the 16 lanes by their FP16 scales. About 23 vector operations per 288 bytes, where the Q4_0 kernel
// (x86/gemv_x86.h) takes about 15 per 72: with rows in L2 one core ran 47 GB/s against 19-22, and two
// threads streaming from DRAM read 29-31 GB/s, as fast as a plain read loop, against 25-27 (Intel VM).
// Include only from kernels/avx512/; as in x86/dot_x86.h, everything here has internal linkage.
#pragma once

#include <immintrin.h>

#include <cstdint>

#include "formats/ggml_q8_0.h"
#include "formats/lowbit_q4_0x16.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

struct Q4_0x16Gemv {
  static constexpr int kBlocks = 16;  // Q4_0 blocks (and Q8_0 activation blocks) per lb_q4_0x16 block

  // Per weight block: 512 code bytes, vector v (< 4) lane l holding activation elements 4v..4v+3 of
  // Q8_0 block l (the weight's low nibbles), vector 4 + v elements 16+4v..16+4v+3 (the high ones); per
  // lane the Q4_0 offset, -8 times the block's sum of codes (sums), and the block's scale (scales).
  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    const int64_t blocks = cols / kQ4_0x16Block;
    out.codes.resize(static_cast<size_t>(blocks * kQ4_0x16Block));
    out.sums.resize(static_cast<size_t>(blocks * kBlocks));
    out.scales.resize(static_cast<size_t>(blocks * kBlocks));
    const auto* a = reinterpret_cast<const BlockQ8_0*>(quantized);
    for (int64_t b = 0; b < blocks; ++b) {
      int8_t* codes = out.codes.data() + b * kQ4_0x16Block;
      for (int l = 0; l < kBlocks; ++l) {
        const BlockQ8_0& block = a[b * kBlocks + l];
        int32_t sum = 0;
        for (int j = 0; j < 16; ++j) {
          const int index = q4_0x16_index(l, j);
          codes[index] = block.qs[j];
          codes[256 + index] = block.qs[16 + j];
          sum += block.qs[j] + block.qs[16 + j];
        }
        out.sums[b * kBlocks + l] = -8 * sum;
        out.scales[b * kBlocks + l] = half_to_float(block.d);
      }
    }
  }

  // The high nibbles are multiplied in place (16 times their value, an AND instead of a shift and an AND)
  // and their sums shifted back once per block: they are exact multiples of 16.
  static void multiply(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                       const GemvActivations& a, float* y) {
    const __m512i low_nibbles = _mm512_set1_epi8(0x0f);
    const __m512i high_nibbles = _mm512_set1_epi8(static_cast<char>(0xf0));
    const int64_t blocks = cols / kQ4_0x16Block;
    for (int64_t r = 0; r < row_count; ++r) {
      const auto* w = reinterpret_cast<const BlockQ4_0x16*>(weight_rows + static_cast<size_t>(r) * row_bytes);
      __m512 acc = _mm512_setzero_ps();
      for (int64_t b = 0; b < blocks; ++b) {
        prefetch_ahead(reinterpret_cast<const uint8_t*>(&w[b]), sizeof(BlockQ4_0x16));
        const int8_t* codes = a.codes.data() + b * kQ4_0x16Block;
        __m512i low = _mm512_load_si512(a.sums.data() + b * kBlocks);
        __m512i high = _mm512_setzero_si512();
        for (int v = 0; v < 4; ++v) {
          const __m512i packed = _mm512_loadu_si512(w[b].qs + 64 * v);
          low = _mm512_dpbusd_epi32(low, _mm512_and_si512(packed, low_nibbles), _mm512_load_si512(codes + 64 * v));
          high = _mm512_dpbusd_epi32(high, _mm512_and_si512(packed, high_nibbles),
                                     _mm512_load_si512(codes + 256 + 64 * v));
        }
        const __m512i dots = _mm512_add_epi32(low, _mm512_srai_epi32(high, 4));
        const __m512 weight_scales = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[b].d)));
        const __m512 scales = _mm512_mul_ps(weight_scales, _mm512_load_ps(a.scales.data() + b * kBlocks));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), scales, acc);
      }
      y[r] = _mm512_reduce_add_ps(acc);
    }
  }

  static constexpr GemvKernel kKernel{TensorType::Q8_0, kQ4_0x16Block, 1, prepare, multiply};
};

}  // namespace
}  // namespace lowbit
