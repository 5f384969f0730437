// A lossless change of a tensor's layout: the same values, the same bytes per row, another type whose
// layout a kernel reads faster (formats/lowbit_q4_0x16.h, lowbit_q4_kx2.h, lowbit_q8_0x16.h). Rows must
// be whole blocks of both types.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/tensor.h"

namespace lowbit {

struct LayoutConversion {
  TensorType from, to;
  // n elements of `from` at src -> `to` at dst (not overlapping).
  void (*convert)(const void* src, void* dst, int64_t n);
};

// The interleaved layouts keep 16 groups of codes four bytes at a time per 32-bit lane of each 64-byte
// vector, so that a u8 x s8 dot product instruction sums one group per lane: byte `byte` of group `group`
// (< 16) lies at this offset.
constexpr int interleaved_byte(int group, int byte) { return 64 * (byte / 4) + 4 * group + byte % 4; }

// ggml's 32-element blocks without a minimum (an FP16 d, then the code bytes qs: Q4_0, Q8_0) to and from
// their interleaved layout (`Interleaved`: the 16 blocks' code bytes qs by interleaved_byte, then their
// 16 scales d), n elements (a multiple of 16 blocks).
template <typename Block, typename Interleaved>
void interleave_blocks(const void* src, void* dst, int64_t n) {
  constexpr int kBytes = sizeof(Block::qs);
  const auto* blocks = static_cast<const Block*>(src);
  auto* out = static_cast<Interleaved*>(dst);
  for (int64_t b = 0; b < n / (16 * 32); ++b, blocks += 16) {
    for (int l = 0; l < 16; ++l) {
      out[b].d[l] = blocks[l].d;
      for (int j = 0; j < kBytes; ++j) out[b].qs[interleaved_byte(l, j)] = blocks[l].qs[j];
    }
  }
}

template <typename Block, typename Interleaved>
void deinterleave_blocks(const void* src, void* dst, int64_t n) {
  constexpr int kBytes = sizeof(Block::qs);
  const auto* blocks = static_cast<const Interleaved*>(src);
  auto* out = static_cast<Block*>(dst);
  for (int64_t b = 0; b < n / (16 * 32); ++b, out += 16) {
    for (int l = 0; l < 16; ++l) {
      out[l].d = blocks[b].d[l];
      for (int j = 0; j < kBytes; ++j) out[l].qs[j] = blocks[b].qs[interleaved_byte(l, j)];
    }
  }
}

// A layout type's quantizer and dequantizer through its source format's, one block of the layout
// (kElements elements, kSourceBytes in the source format, kBlockBytes in the layout) at a time.
template <int64_t kElements, size_t kSourceBytes, size_t kBlockBytes>
struct ThroughSourceFormat {
  // quantize(first, source): elements first .. first + kElements - 1 in the source format.
  template <typename Quantize>
  static void quantize(void (*to_layout)(const void*, void*, int64_t), int64_t n, void* dst, const Quantize& quantize) {
    alignas(64) uint8_t source[kSourceBytes];
    for (int64_t b = 0; b < n / kElements; ++b) {
      quantize(b * kElements, source);
      to_layout(source, static_cast<uint8_t*>(dst) + b * kBlockBytes, kElements);
    }
  }

  static void dequantize(void (*to_source)(const void*, void*, int64_t),
                         void (*source_to_float)(const void*, float*, int64_t), const void* src, float* y, int64_t n) {
    alignas(64) uint8_t source[kSourceBytes];
    for (int64_t b = 0; b < n / kElements; ++b) {
      to_source(static_cast<const uint8_t*>(src) + b * kBlockBytes, source, kElements);
      source_to_float(source, y + b * kElements, kElements);
    }
  }
};

}  // namespace lowbit
