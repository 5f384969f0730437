// The AVX-512 decode kernels (kernels/gemv_kernels.h) for the legacy block formats whose blocks are an
// FP16 scale followed by their codes: Q4_0 (18 bytes, nibbles) and Q8_0 (34 bytes, signed bytes).
// Include only from kernels/avx512/ (x86/gemv_k_x86.h adds the K formats and shares the helpers here); as in
// x86/dot_x86.h, everything here has internal linkage.
//
// A group is the blocks one 512-bit code vector covers (4 Q4_0 blocks, 2 Q8_0 blocks). Two ways to read
// it (GemvLoads, kernels/gemv_kernels.h): the blocks' codes and scales sit at even offsets, so 16-bit
// permutations (AVX-512 BW) pick them out of the cache lines that hold the group (aligned_lines); or one
// unaligned load per block's codes and scalar loads of the scales (block_loads).
#pragma once

#include <immintrin.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <utility>

#include "formats/ggml_q4_0.h"
#include "formats/ggml_q8_0.h"
#include "formats/ggml_q8_1.h"
#include "kernels/gemv_kernels.h"
#include "kernels/x86/gemv_batched_x86.h"
#include "kernels/x86/simd_common.h"

namespace lowbit {
namespace {

constexpr int kCodeLanes = 16;  // int32 lanes of a 512-bit vector

// Word indices for vpermt2w over a window of two aligned cache lines: 0-31 pick words of the first
// line, 32-63 of the second.
using WordIndex = std::array<uint16_t, 32>;
inline __m512i load_index(const WordIndex& index) { return _mm512_loadu_si512(index.data()); }

// Four 16-byte runs `stride` bytes apart from p, as one vector (run k in bytes 16k .. 16k + 15).
inline __m512i load_four_runs(const uint8_t* p, size_t stride) {
  const auto run = [&](int k) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + k * stride)); };
  __m512i bytes = _mm512_castsi128_si512(run(0));
  bytes = _mm512_inserti32x4(bytes, run(1), 1);
  bytes = _mm512_inserti32x4(bytes, run(2), 2);
  return _mm512_inserti32x4(bytes, run(3), 3);
}

// The low nibbles of `bytes` as one code vector, the high nibbles as another.
inline void split_nibbles(__m512i bytes, __m512i out[2]) {
  const __m512i low_nibbles = _mm512_set1_epi8(15);
  out[0] = _mm512_and_si512(bytes, low_nibbles);
  out[1] = _mm512_and_si512(_mm512_srli_epi16(bytes, 4), low_nibbles);
}

// The two code vectors of four consecutive blocks with 16 nibble bytes each (Q4_0, Q5_0, Q4_1, Q5_1):
// low nibbles, then high nibbles; with kFifthBit, bit j of a block's little-endian qh word added as 16 to
// its element j (vector 0 takes bits 0-15, vector 1 bits 16-31).
template <typename Block, bool kFifthBit>
void nibble_code_vectors(const uint8_t* group, __m512i out[2]) {
  split_nibbles(load_four_runs(group + offsetof(Block, qs), sizeof(Block)), out);
  if constexpr (kFifthBit) {
    uint64_t low_halves = 0, high_halves = 0;  // bit 16k + j: block k's bit j, resp. j + 16
    for (int k = 0; k < 4; ++k) {
      uint32_t qh;
      std::memcpy(&qh, group + k * sizeof(Block) + offsetof(Block, qh), sizeof(qh));
      low_halves |= uint64_t{qh & 0xffff} << (16 * k);
      high_halves |= uint64_t{qh >> 16} << (16 * k);
    }
    const __m512i sixteen = _mm512_set1_epi8(16);
    out[0] = _mm512_mask_add_epi8(out[0], _cvtu64_mask64(low_halves), out[0], sixteen);
    out[1] = _mm512_mask_add_epi8(out[1], _cvtu64_mask64(high_halves), out[1], sixteen);
  }
}

// Q4_0: group = 4 blocks = 72 bytes. Codes come out as two vectors, the blocks' low nibbles (elements
// 0-15 of blocks 0-3) and high nibbles (elements 16-31), so lane l covers block l / 4 in both.
struct Q4_0Gemv {
  using Block = BlockQ4_0;
  static constexpr int kBlocks = 4;
  static constexpr int kCodeVectors = 2;
  static constexpr int kOffset = 8;
  // Word j of the code vector: block k = j / 8's code bytes are words 9k+1 .. 9k+8 of the group.
  static constexpr int code_word(int j) { return 9 * (j / 8) + 1 + j % 8; }
  // The scale of lane l's block, word 9k.
  static constexpr int scale_word(int lane) { return 9 * (lane / 4); }
  static void codes(__m512i bytes, __m512i out[kCodeVectors]) { split_nibbles(bytes, out); }
  // The code vectors of the group at `group`, by one unaligned load per block.
  static void block_code_vectors(const uint8_t* group, __m512i out[kCodeVectors]) {
    nibble_code_vectors<Block, false>(group, out);
  }
  // Code vector v holds, for each block in turn, its 16 consecutive elements from this one on.
  static constexpr int first_element(int v) { return 16 * v; }
};

// Q8_0: group = 2 blocks = 68 bytes. Codes in order (lanes 0-7 block 0, 8-15 block 1), made unsigned by
// adding 128 (a sign-bit flip), which the offset takes back out.
struct Q8_0Gemv {
  using Block = BlockQ8_0;
  static constexpr int kBlocks = 2;
  static constexpr int kCodeVectors = 1;
  static constexpr int kOffset = 128;
  static constexpr int code_word(int j) { return 17 * (j / 16) + 1 + j % 16; }
  static constexpr int scale_word(int lane) { return 17 * (lane / 8); }
  static void codes(__m512i bytes, __m512i out[kCodeVectors]) {
    out[0] = _mm512_xor_si512(bytes, _mm512_set1_epi8(static_cast<char>(0x80)));
  }
  static void block_code_vectors(const uint8_t* group, __m512i out[kCodeVectors]) {
    const auto block_codes = [group](int k) {
      return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(group + k * sizeof(Block) + offsetof(Block, qs)));
    };
    codes(_mm512_inserti64x4(_mm512_castsi256_si512(block_codes(0)), block_codes(1), 1), out);
  }
  static constexpr int first_element(int /*v*/) { return 0; }
};

// Loads that straddle two cache lines stream from memory at about 60% of the rate of aligned ones
// (measured, Zen 5), so a group is read as the two aligned lines holding it and picked out of them by
// indices shifted by its phase (its byte offset in its first line). Every phase of a row is a multiple of
// kAlignment (rows are a whole number of groups and start at such a multiple), and at those phases the
// group ends within the second line. Those lines also hold bytes before and after the group: harmless
// inside the rows, but before the first group and after the last one of a call they may lie outside the
// caller's buffer, so those two groups take two unaligned loads that start and end exactly at the group.
template <typename Format>
struct GemvLayout {
  static constexpr int kGroupBytes = Format::kBlocks * sizeof(typename Format::Block);
  static constexpr int kAlignment = [] {
    int alignment = 2;
    while (64 - alignment + kGroupBytes > 128) alignment *= 2;
    return alignment;
  }();
  struct alignas(64) Indices {
    WordIndex codes, scales;
  };
  // Word w of a group that starts the first vector, the second vector starting second_start words later.
  static constexpr uint16_t window_word(int w, int second_start) {
    return static_cast<uint16_t>(w < 32 ? w : 32 + w - second_start);
  }
  static constexpr Indices indices_for(int second_start) {
    Indices indices{};
    for (int j = 0; j < 32; ++j) indices.codes[j] = window_word(Format::code_word(j), second_start);
    for (int lane = 0; lane < kCodeLanes; ++lane) indices.scales[lane] = window_word(Format::scale_word(lane), second_start);
    return indices;
  }
  // Two whole lines with the group at phase 0; at phase p every index is p / 2 (words) larger.
  static constexpr Indices kLineIndices = indices_for(32);
  // Two loads, the second ending at the group's last byte.
  static constexpr Indices kExactIndices = indices_for((kGroupBytes - 64) / 2);
};

// Q8_0 activations (one row, cols long) in Format's layout, per group: its kCodeVectors x 64 code bytes
// in the order of the weight codes (each block owns 64 / kBlocks consecutive bytes of every code vector,
// consecutive elements from Format::first_element), and per lane the offset (-kOffset x the lane's
// activation sum over all code vectors) and the activation block's scale. Decode prepares once per
// product while the other threads wait, so this stays a few copies and one dot product per group.
template <typename Format>
void prepare_gemv(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
  constexpr int kBlockBytes = 64 / Format::kBlocks;      // per block in each code vector
  constexpr int kBlockLanes = kCodeLanes / Format::kBlocks;
  const int64_t groups = cols / (32 * Format::kBlocks);
  out.codes.resize(static_cast<size_t>(groups * Format::kCodeVectors * 64));
  out.sums.resize(static_cast<size_t>(groups * kCodeLanes));
  out.scales.resize(static_cast<size_t>(groups * kCodeLanes));
  const auto* blocks = reinterpret_cast<const BlockQ8_0*>(quantized);
  const __m512i ones = _mm512_set1_epi8(1);
  for (int64_t g = 0; g < groups; ++g) {
    const BlockQ8_0* group = blocks + g * Format::kBlocks;
    int8_t* codes = out.codes.data() + g * Format::kCodeVectors * 64;
    __m512i lane_sums = _mm512_setzero_si512();
    for (int v = 0; v < Format::kCodeVectors; ++v) {
      for (int b = 0; b < Format::kBlocks; ++b) {
        std::memcpy(codes + v * 64 + b * kBlockBytes, group[b].qs + Format::first_element(v), kBlockBytes);
      }
      lane_sums = _mm512_dpbusd_epi32(lane_sums, ones, _mm512_load_si512(codes + v * 64));
    }
    const __m512i offsets = _mm512_mullo_epi32(lane_sums, _mm512_set1_epi32(-Format::kOffset));
    _mm512_store_si512(out.sums.data() + g * kCodeLanes, offsets);
    for (int lane = 0; lane < kCodeLanes; ++lane) {
      out.scales[g * kCodeLanes + lane] = half_to_float(group[lane / kBlockLanes].d);
    }
  }
}

// Q8_1 activations per step of 128 elements (four blocks): the step's 128 code bytes as
// place_codes(block, k, codes) lays out block k's, per lane its block's d (scales, lanes 4k .. 4k + 3) and
// its block's s in the block's first lane, 0 in the others (sums, as float bits).
template <typename PlaceCodes>
void prepare_q8_1_steps(const uint8_t* quantized, int64_t cols, GemvActivations& out, const PlaceCodes& place_codes) {
  const int64_t steps = cols / 128;
  out.codes.resize(static_cast<size_t>(steps * 128));
  out.sums.assign(static_cast<size_t>(steps * kCodeLanes), 0);
  out.scales.resize(static_cast<size_t>(steps * kCodeLanes));
  const auto* blocks = reinterpret_cast<const BlockQ8_1*>(quantized);
  for (int64_t step = 0; step < steps; ++step) {
    for (int k = 0; k < 4; ++k) {
      const BlockQ8_1& block = blocks[step * 4 + k];
      place_codes(block, k, out.codes.data() + step * 128);
      const float s = half_to_float(block.s);
      std::memcpy(&out.sums[step * kCodeLanes + 4 * k], &s, sizeof s);
      for (int lane = 0; lane < 4; ++lane) out.scales[step * kCodeLanes + 4 * k + lane] = half_to_float(block.d);
    }
  }
}

// A place_codes for prepare_q8_1_steps: block k's elements 0-15 at bytes 16k .. 16k+15 of the first code
// vector, 16-31 at the same bytes of the second.
inline void place_q8_1_halves(const BlockQ8_1& block, int k, int8_t* codes) {
  for (int v = 0; v < 2; ++v) std::memcpy(codes + 64 * v + 16 * k, block.qs + 16 * v, 16);
}

// Per int32 lane, the dot of a step's two code vectors with step g's activation codes (prepare_q8_1_steps).
inline __m512i q8_1_step_dots(const __m512i codes[2], const GemvActivations& a, int64_t g) {
  const int8_t* activation_codes = a.codes.data() + g * 128;
  return _mm512_dpbusd_epi32(
      _mm512_dpbusd_epi32(_mm512_setzero_si512(), codes[0], _mm512_load_si512(activation_codes)), codes[1],
      _mm512_load_si512(activation_codes + 64));
}

// The FP16 scales of a group's blocks, one per int32 lane (lanes of block b: b x 16 / kBlocks on), in the
// low 256 bits: scalar loads packed into one word, spread over the lanes by a byte shuffle (scalar loads
// and one shuffle leave the single shuffle port of an Intel core freer than a two-source permute).
// `spread` is load_scale_spread<Format>().
template <typename Format>
__m256i load_scale_spread() {
  static_assert(Format::kBlocks <= 4, "the blocks' FP16 scales are packed into one 64-bit word");
  // Bytes 2b, 2b + 1 (block b's scale in the packed word) for each of the block's lanes, in both 128-bit
  // halves (the word is broadcast to every 64-bit element).
  alignas(32) static constexpr auto kSpread = [] {
    std::array<uint8_t, 32> spread{};
    for (int word = 0; word < 16; ++word) {
      const int block = word / (kCodeLanes / Format::kBlocks);
      spread[2 * word % 16 + 16 * (word / 8)] = static_cast<uint8_t>(2 * block);
      spread[2 * word % 16 + 16 * (word / 8) + 1] = static_cast<uint8_t>(2 * block + 1);
    }
    return spread;
  }();
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(kSpread.data()));
}

template <typename Format>
__m256i block_scale_halves(const uint8_t* group, __m256i spread) {
  uint64_t packed_scales = 0;
  for (int b = 0; b < Format::kBlocks; ++b) {
    uint16_t scale;
    std::memcpy(&scale, group + b * sizeof(typename Format::Block), sizeof(scale));
    packed_scales |= uint64_t{scale} << (16 * b);
  }
  return _mm256_shuffle_epi8(_mm256_set1_epi64x(static_cast<int64_t>(packed_scales)), spread);
}

// One group of one weight row from its code vectors (Format::codes' output) and its blocks' scales per
// lane: per lane, the integer dot scaled by the lane's weight and activation scales, added to acc.
template <typename Format>
__m512 add_gemv_code_vectors(const __m512i codes[Format::kCodeVectors], __m512 weight_scales,
                             const int8_t* activation_codes, const int32_t* offsets, const float* activation_scales,
                             __m512 acc) {
  __m512i dots = _mm512_load_si512(offsets);
  for (int v = 0; v < Format::kCodeVectors; ++v) {
    dots = _mm512_dpbusd_epi32(dots, codes[v], _mm512_load_si512(activation_codes + v * 64));
  }
  const __m512 scale = _mm512_mul_ps(weight_scales, _mm512_load_ps(activation_scales));
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(dots), scale, acc);
}

// The same from the group's code bytes, in code_word order, and its FP16 scales.
template <typename Format>
__m512 add_gemv_group(__m512i code_bytes, __m256i weight_scale_halves, const int8_t* activation_codes,
                      const int32_t* offsets, const float* activation_scales, __m512 acc) {
  __m512i codes[Format::kCodeVectors];
  Format::codes(code_bytes, codes);
  return add_gemv_code_vectors<Format>(codes, _mm512_cvtph_ps(weight_scale_halves), activation_codes, offsets,
                                       activation_scales, acc);
}

// The same with the group's bytes picked out of `first` and `second` by the indices.
template <typename Format>
__m512 add_gemv_group(__m512i first, __m512i second, __m512i code_index, __m512i scale_index,
                      const int8_t* activation_codes, const int32_t* offsets, const float* activation_scales,
                      __m512 acc) {
  const __m256i weight_scale_halves = _mm512_castsi512_si256(_mm512_permutex2var_epi16(first, scale_index, second));
  return add_gemv_group<Format>(_mm512_permutex2var_epi16(first, code_index, second), weight_scale_halves,
                                activation_codes, offsets, activation_scales, acc);
}

// The rows of a call are one contiguous run of groups (a ggml row is exactly its blocks, so row_bytes is
// groups x kGroupBytes), read in order as a stream of cache lines: each line is loaded once (a group's
// second line is usually the next group's first), as memory streams fastest with the fewest loads per
// byte. Accumulators alternate between groups to hide the multiply-add latency and are summed at the end
// of each row.
template <typename Format>
void multiply_gemv(const uint8_t* weight_rows, size_t /*row_bytes*/, int64_t row_count, int64_t cols,
                   const GemvActivations& a, float* y) {
  using Layout = GemvLayout<Format>;
  constexpr int64_t kCodeBytes = Format::kCodeVectors * 64;
  const int64_t groups = cols / (32 * Format::kBlocks);
  const int64_t total = row_count * groups;
  const __m512i line_codes = load_index(Layout::kLineIndices.codes);
  const __m512i line_scales = load_index(Layout::kLineIndices.scales);
  const uint8_t* held_line = nullptr;  // the line in `held`, if any
  __m512i held = _mm512_setzero_si512();
  __m512 acc = _mm512_setzero_ps(), other_acc = _mm512_setzero_ps();
  const LinePrefetcher prefetch;
  for (int64_t i = 0, g = 0, r = 0; i < total; ++i) {
    const uint8_t* group = weight_rows + i * Layout::kGroupBytes;
    prefetch.ahead(group, Layout::kGroupBytes);
    __m512i first, second, code_index, scale_index;
    if (i == 0 || i == total - 1) {
      first = _mm512_loadu_si512(group);
      second = _mm512_loadu_si512(group + Layout::kGroupBytes - 64);
      code_index = load_index(Layout::kExactIndices.codes);
      scale_index = load_index(Layout::kExactIndices.scales);
      held_line = nullptr;
    } else {
      const auto address = reinterpret_cast<uintptr_t>(group);
      const auto* line = reinterpret_cast<const uint8_t*>(address & ~uintptr_t{63});
      first = line == held_line ? held : _mm512_load_si512(line);
      second = _mm512_load_si512(line + 64);
      held_line = line + 64;
      held = second;
      const __m512i phase_words = _mm512_set1_epi16(static_cast<int16_t>((address & 63) / 2));
      code_index = _mm512_add_epi16(line_codes, phase_words);
      scale_index = _mm512_add_epi16(line_scales, phase_words);
    }
    acc = add_gemv_group<Format>(first, second, code_index, scale_index, a.codes.data() + g * kCodeBytes,
                                 a.sums.data() + g * kCodeLanes, a.scales.data() + g * kCodeLanes, acc);
    std::swap(acc, other_acc);
    if (++g == groups) {
      y[r++] = _mm512_reduce_add_ps(_mm512_add_ps(acc, other_acc));
      acc = other_acc = _mm512_setzero_ps();
      g = 0;
    }
  }
}

// GemvLoads::block_loads (kernels/gemv_kernels.h) as a block Format (x86/gemv_batched_x86.h) of groups of
// Format::kBlocks blocks: each group's code vectors by Format::block_code_vectors (unaligned loads per
// block) and its blocks' scales by block_scale_halves.
template <typename Format>
struct BlockLoadsGroups {
  struct Block {
    typename Format::Block blocks[Format::kBlocks];
  };
  static constexpr TensorType kActivationType = TensorType::Q8_0;
  static constexpr int64_t kBlockSize = 32 * Format::kBlocks;
  static constexpr int kOneTokenChains = 2;
  static constexpr int64_t kCodeBytes = Format::kCodeVectors * 64;
  struct Unpacked {
    __m512i codes[Format::kCodeVectors];
    __m512 weight_scales;
  };

  static void prepare(const uint8_t* quantized, int64_t cols, GemvActivations& out) {
    prepare_gemv<Format>(quantized, cols, out);
  }

  static Unpacked unpack(const Block& group) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&group);
    Unpacked w;
    Format::block_code_vectors(bytes, w.codes);
    w.weight_scales = _mm512_cvtph_ps(block_scale_halves<Format>(bytes, load_scale_spread<Format>()));
    return w;
  }

  static __m512 add_block(const Unpacked& w, int64_t g, const GemvActivations& a, __m512 acc) {
    return add_gemv_code_vectors<Format>(w.codes, w.weight_scales, a.codes.data() + g * kCodeBytes,
                                         a.sums.data() + g * kCodeLanes, a.scales.data() + g * kCodeLanes, acc);
  }
};

template <typename Format>
constexpr GemvKernel gemv_kernel() {
  return {TensorType::Q8_0, 32 * Format::kBlocks, GemvLayout<Format>::kAlignment, prepare_gemv<Format>,
          multiply_gemv<Format>};
}

constexpr GemvKernel kQ4_0Gemv = gemv_kernel<Q4_0Gemv>();
constexpr GemvKernel kQ8_0Gemv = gemv_kernel<Q8_0Gemv>();

constexpr GemvKernel kQ4_0BlockLoadsGemv = BatchedGemv<BlockLoadsGroups<Q4_0Gemv>>::kKernel;
constexpr GemvKernel kQ8_0BlockLoadsGemv = BatchedGemv<BlockLoadsGroups<Q8_0Gemv>>::kKernel;

}  // namespace
}  // namespace lowbit
