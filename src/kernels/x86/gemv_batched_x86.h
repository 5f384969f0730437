// The row loop shared by the AVX-512 decode kernels written as a block Format (x86/gemv_interleaved_x86.h,
// x86/gemv_k_x86.h), in one-token and batched form (GemvKernel::multiply_tokens). A Format has
//   Block, kBlockSize (weights per block), kActivationType, prepare (GemvKernel::prepare),
//   Unpacked unpack(const Block&): what of a block every token uses (its codes in registers, its scales),
//   __m512 add_block(const Unpacked&, int64_t b, const GemvActivations&, __m512 acc): acc plus block b's
//     product with one token, in 16 float lanes;
// and optionally kOneTokenChains and kPrefetchReach (below).
// A batch unpacks each block once for four tokens. Include only from kernels/avx512/; as in
// x86/dot_x86.h, everything here has internal linkage.
#pragma once

#include <immintrin.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "kernels/gemv_kernels.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// Accumulator chains of the one-token form: Format::kOneTokenChains where the Format sets it (formats with
// small blocks alternate two, to hide the multiply-add latency), else one.
template <typename Format>
constexpr int one_token_chains() {
  if constexpr (requires { Format::kOneTokenChains; }) {
    return Format::kOneTokenChains;
  } else {
    return 1;
  }
}

// How far ahead the kernel asks for lines (x86/simd_common.h): Format::kPrefetchReach where the Format
// sets it, else kFar.
template <typename Format>
constexpr PrefetchReach prefetch_reach() {
  if constexpr (requires { Format::kPrefetchReach; }) {
    return Format::kPrefetchReach;
  } else {
    return PrefetchReach::kFar;
  }
}

// y[t * y_stride + r] for T tokens: per block, Format::unpack once, then Format::add_block per token into
// that token's 16 float lanes (summed at the end; with one token, consecutive blocks go to kChains
// alternating accumulators).
template <typename Format, int T>
void multiply_block_rows(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                         const GemvActivations* tokens, float* y, int64_t y_stride) {
  using Block = typename Format::Block;
  constexpr int kChains = T == 1 ? one_token_chains<Format>() : 1;
  const int64_t blocks = cols / Format::kBlockSize;
  const LinePrefetcher prefetch(prefetch_reach<Format>());
  for (int64_t r = 0; r < row_count; ++r) {
    const auto* w = reinterpret_cast<const Block*>(weight_rows + static_cast<size_t>(r) * row_bytes);
    __m512 acc[kChains][T];
    for (auto& chain : acc) {
      for (__m512& each : chain) each = _mm512_setzero_ps();
    }
    const auto add = [&](int64_t b, __m512* chain) {
      prefetch.ahead(reinterpret_cast<const uint8_t*>(&w[b]), sizeof(Block));
      const typename Format::Unpacked unpacked = Format::unpack(w[b]);
      for (int t = 0; t < T; ++t) chain[t] = Format::add_block(unpacked, b, tokens[t], chain[t]);
    };
    int64_t b = 0;
    for (; b + kChains <= blocks; b += kChains) {
      for (int c = 0; c < kChains; ++c) add(b + c, acc[c]);
    }
    for (; b < blocks; ++b) add(b, acc[0]);
    for (int t = 0; t < T; ++t) {
      __m512 sum = acc[0][t];
      for (int c = 1; c < kChains; ++c) sum = _mm512_add_ps(sum, acc[c][t]);
      y[t * y_stride + r] = _mm512_reduce_add_ps(sum);
    }
  }
}

// The GemvKernel of a block Format. Batches go four tokens at a time (four accumulators beside a block's
// unpacked registers); a piece of rows is re-read from cache for every four tokens. On the interleaved
// layouts, with rows of 2048-5632 columns, that ran 1.2-1.5 times as fast as the GEMM kernels (one
// core's share of the weights unpacked into a scratch), at 14336 columns about as fast.
template <typename Format>
struct BatchedGemv {
  static void multiply(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                       const GemvActivations& a, float* y) {
    multiply_block_rows<Format, 1>(weight_rows, row_bytes, row_count, cols, &a, y, 0);
  }

  static void multiply_tokens(const uint8_t* weight_rows, size_t row_bytes, int64_t row_count, int64_t cols,
                              const GemvActivations* tokens, int64_t n_tokens, float* y, int64_t y_stride) {
    for (int64_t t = 0; t < n_tokens; t += 4) {
      const auto rows = [&]<int T>() {
        multiply_block_rows<Format, T>(weight_rows, row_bytes, row_count, cols, tokens + t, y + t * y_stride,
                                       y_stride);
      };
      switch (std::min<int64_t>(n_tokens - t, 4)) {
        case 1: rows.template operator()<1>(); break;
        case 2: rows.template operator()<2>(); break;
        case 3: rows.template operator()<3>(); break;
        default: rows.template operator()<4>(); break;
      }
    }
  }

  static constexpr GemvKernel kKernel{Format::kActivationType, Format::kBlockSize, alignof(typename Format::Block),
                                      Format::prepare,         multiply,           multiply_tokens};
};

}  // namespace
}  // namespace lowbit
