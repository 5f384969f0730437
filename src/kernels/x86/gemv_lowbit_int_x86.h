// The AVX-512 decode kernels (kernels/gemv_kernels.h) for lowbit's integer formats (layout in
// formats/lowbit_int.h): 128 elements per step (4, 2 or 1 blocks of g32, g64 or g128; the per-row formats
// are g64 blocks). Include only from kernels/avx512*/; everything here has internal linkage.
//
// A block's elements are S (u - zu) (u the stored code, zu the zero code), each 32 of them meeting one
// Q8_1 activation block (d, s = d Σq, codes q), so a block adds S Σ (d (u . q) - zu s) over its
// activation blocks, as the scalar reference does (kernels/scalar/dot_scalar.cpp). A step's codes come
// out as two vectors of 64 bytes whose int32 lane j covers 4 elements of activation block j / 4 in
// both, so one set of per-lane arithmetic serves both. Where those elements sit is the Codes policy's
// choice, the activations laid out to match:
// - NibbleCodes (4 bits): byte i of a block's codes holds element 2i in its low nibble and 2i + 1 in
//   its high one, so the low nibbles of the step make one vector (even elements) and the high nibbles
//   the other (odd elements); blocks read as Q4_0's are on Intel cores (x86/gemv_x86.h's block_loads).
// - PermutedCodes (2, 3, 5 and 6 bits; x86/gemv_lowbit_int_vbmi_x86.h): AVX-512 VBMI byte permutes.
#pragma once

#include <immintrin.h>

#include <array>
#include <cstdint>

#include "formats/ggml_q8_1.h"
#include "formats/lowbit_int.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/gemv_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

template <LowbitIntFormat F>
struct LowbitIntStep {
  static_assert(128 % F.group == 0);
  struct Block {
    uint8_t bytes[lowbit_int_block_bytes(F)];  // FP16 S first, as block_scale_halves reads it
  };
  static constexpr int kBlocks = 128 / F.group;
  static constexpr int kBlockLanes = kCodeLanes / kBlocks;
  static constexpr int kStepBytes = kBlocks * sizeof(Block);
};

template <LowbitIntFormat F>
struct NibbleCodes {
  using Step = LowbitIntStep<F>;
  static_assert(F.bits == 4);

  static void place(const BlockQ8_1& block, int k, int8_t* codes) {
    for (int i = 0; i < 16; ++i) {
      codes[16 * k + i] = block.qs[2 * i];
      codes[64 + 16 * k + i] = block.qs[2 * i + 1];
    }
  }

  static void code_vectors(const uint8_t* step, __m512i out[2]) {
    const uint8_t* codes = step + lowbit_int_codes_offset(F);
    constexpr size_t kBlockBytes = sizeof(typename Step::Block);
    if constexpr (Step::kBlocks == 1) {
      split_nibbles(_mm512_loadu_si512(codes), out);
    } else if constexpr (Step::kBlocks == 2) {
      const auto half = [&](int k) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(codes + k * kBlockBytes)); };
      split_nibbles(_mm512_inserti64x4(_mm512_castsi256_si512(half(0)), half(1), 1), out);
    } else {
      split_nibbles(load_four_runs(codes, kBlockBytes), out);
    }
  }
};

// A block Format (x86/gemv_batched_x86.h) whose blocks are steps of 128 elements.
template <LowbitIntFormat F, typename Codes>
struct LowbitIntSteps {
  using Step = LowbitIntStep<F>;
  struct Block {
    typename Step::Block blocks[Step::kBlocks];
  };
  static constexpr TensorType kActivationType = TensorType::Q8_1;
  static constexpr int64_t kBlockSize = 128;
  static constexpr int kOneTokenChains = 2;
  struct Unpacked {
    __m512i codes[2];
    __m512 scales, zero_codes;
  };

  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    prepare_q8_1_steps(quantized, cols, out, Codes::place);
  }

  // The zero codes of the step's blocks as floats, one per lane.
  static __m512 zero_codes(const uint8_t* step) {
    if constexpr (F.symmetric) return _mm512_set1_ps(static_cast<float>(lowbit_int_zero_code(F, step)));
    uint32_t packed = 0;
    for (int b = 0; b < Step::kBlocks; ++b) {
      packed |= static_cast<uint32_t>(lowbit_int_zero_code(F, step + b * sizeof(typename Step::Block))) << (8 * b);
    }
    // 128-bit lane k (int32 lanes 4k .. 4k + 3, all of one block) takes its block's byte of the word into
    // each int32's low byte.
    alignas(64) static constexpr auto kSpread = [] {
      std::array<uint8_t, 64> spread{};
      for (int byte = 0; byte < 64; ++byte) {
        spread[byte] = byte % 4 == 0 ? static_cast<uint8_t>(4 * (byte / 16) / Step::kBlockLanes) : 0x80;
      }
      return spread;
    }();
    const __m512i spread = _mm512_load_si512(kSpread.data());
    return _mm512_cvtepi32_ps(_mm512_shuffle_epi8(_mm512_set1_epi32(static_cast<int32_t>(packed)), spread));
  }

  static Unpacked unpack(const Block& block) {
    const auto* step = reinterpret_cast<const uint8_t*>(&block);
    Unpacked w;
    Codes::code_vectors(step, w.codes);
    w.scales = _mm512_cvtph_ps(block_scale_halves<Step>(step, load_scale_spread<Step>()));
    w.zero_codes = zero_codes(step);
    return w;
  }

  static __m512 add_block(const Unpacked& w, int64_t g, const GemvActivations& a, __m512 acc) {
    const __m512i dots = q8_1_step_dots(w.codes, a, g);
    // Per lane d (u . q) - zu s, s only in each activation block's first lane.
    const __m512 s = _mm512_castsi512_ps(_mm512_load_si512(a.sums.data() + g * kCodeLanes));
    const __m512 sums = _mm512_fmsub_ps(_mm512_cvtepi32_ps(dots), _mm512_load_ps(a.scales.data() + g * kCodeLanes),
                                        _mm512_mul_ps(w.zero_codes, s));
    return _mm512_fmadd_ps(sums, w.scales, acc);
  }
};

template <LowbitIntFormat F, typename Codes>
using LowbitIntGemv = BatchedGemv<LowbitIntSteps<F, Codes>>;

}  // namespace
}  // namespace lowbit
