// The AVX-512 decode kernels (kernels/gemv_kernels.h) for the legacy formats with a fifth bit or a minimum:
// Q5_0 (times Q8_0 activations, as Q4_0), Q4_1 and Q5_1 (times Q8_1). Four 32-element blocks per step, read
// as x86/gemv_x86.h's block_loads do on every CPU (nibble_code_vectors: an unaligned load per block's 16
// nibble bytes; the FP16 fields by scalar loads). Include only from kernels/avx512/; everything here has
// internal linkage.
//
// As for Q4_0, code vector 0 holds the low nibbles (elements 0-15 of each block, block k in bytes
// 16k .. 16k+15) and code vector 1 the high nibbles (elements 16-31), so lane l covers block l / 4.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "formats/ggml_q4_1.h"
#include "formats/ggml_q5_0.h"
#include "formats/ggml_q5_1.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/gemv_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

// Q5_0: codes q + 16 (0 to 31), read as Q4_0's are by block loads (BlockLoadsGroups), the activations
// laid out by prepare_gemv as for Q4_0, the offset 16.
struct Q5_0Gemv {
  using Block = BlockQ5_0;
  static constexpr int kBlocks = 4;
  static constexpr int kCodeVectors = 2;
  static constexpr int kOffset = 16;
  static constexpr int first_element(int v) { return 16 * v; }

  static void block_code_vectors(const uint8_t* group, __m512i out[kCodeVectors]) {
    nibble_code_vectors<Block, true>(group, out);
  }
};

// Q4_1 and Q5_1: a block adds d da (q . qa) + m s, s = da (sum of qa) being Q8_1's stored sum.
// Activations per step: prepare_q8_1_steps with the codes as for Q4_0 (place_q8_1_halves).
template <typename BlockType, bool kFifthBit>
struct MinimumGemv {
  // What block_scale_halves and load_scale_spread read: the ggml block and the blocks per group.
  struct Scales {
    using Block = BlockType;
    static constexpr int kBlocks = 4;
  };
  // A block Format (x86/gemv_batched_x86.h) of groups of four blocks.
  struct Block {
    BlockType blocks[Scales::kBlocks];
  };
  static constexpr TensorType kActivationType = TensorType::Q8_1;
  static constexpr int64_t kBlockSize = 32 * Scales::kBlocks;
  static constexpr int kOneTokenChains = 2;
  struct Unpacked {
    __m512i codes[2];
    __m512 scales, minimums;
  };

  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    prepare_q8_1_steps(quantized, cols, out, place_q8_1_halves);
  }

  static Unpacked unpack(const Block& group) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&group);
    const __m256i spread = load_scale_spread<Scales>();
    Unpacked w;
    nibble_code_vectors<BlockType, kFifthBit>(bytes, w.codes);
    w.scales = _mm512_cvtph_ps(block_scale_halves<Scales>(bytes, spread));
    w.minimums = _mm512_cvtph_ps(block_scale_halves<Scales>(bytes + offsetof(BlockType, m), spread));
    return w;
  }

  static __m512 add_block(const Unpacked& w, int64_t g, const GemvActivations& a, __m512 acc) {
    const __m512i dots = q8_1_step_dots(w.codes, a, g);
    const __m512 scale = _mm512_mul_ps(w.scales, _mm512_load_ps(a.scales.data() + g * kCodeLanes));
    const __m512 s = _mm512_castsi512_ps(_mm512_load_si512(a.sums.data() + g * kCodeLanes));
    return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), scale, _mm512_fmadd_ps(w.minimums, s, acc));
  }
};

constexpr GemvKernel kQ5_0Gemv = BatchedGemv<BlockLoadsGroups<Q5_0Gemv>>::kKernel;
using Q4_1Gemv = BatchedGemv<MinimumGemv<BlockQ4_1, false>>;
using Q5_1Gemv = BatchedGemv<MinimumGemv<BlockQ5_1, true>>;

}  // namespace
}  // namespace lowbit
