// lowbit's 4-bit code-book formats (NF4 and FP4 E2M1, core/codebooks.h), as quant/codebook_quant.h
// quantizes them: each block of 64 consecutive row elements stores its absmax as the scale and one
// 4-bit code per element, the code-book value nearest element / absmax; r' = absmax * value(code).
// Dequantized values equal quantize_codebook's for the schemes "nf4-g64-f32", "nf4-g64-f16",
// "fp4-g64-f32", "fp4-g64-f16" (tests/formats/test_lowbit_codebook.cpp checks it).
//
// Block layout (little-endian, no padding); codes in formats/bitpack.h's LSB-first stream, so byte j
// holds element 2j in its low nibble and element 2j + 1 in its high nibble:
//   FP32 absmax: offset 0 float32 absmax, offset 4: 32 bytes of codes   = 36 bytes, 4.5 bits/weight
//   FP16 absmax: offset 0 FP16 absmax,    offset 2: 32 bytes of codes   = 34 bytes, 4.25 bits/weight
//
// Double-quantized NF4 (QLoRA section 3, quant/double_quant.h): the FP32 absmax of each 64-element
// block is itself quantized to 8 bits. QLoRA centres the scales on the mean of the whole tensor and
// shares one FP32 second-level scale among 256 of them (a 16384-element super-block). A block of
// lowbit's type table must fit in a row, and rows of 16384 elements are rare (LLaMA-7B's are 4096 and
// 11008), so lowbit's super-block holds `blocks` blocks of 64 (16 in lb_nf4_dq: 1024 elements, which
// rows of 4096, 8192 or 14336 hold) and carries its own mean:
//   offset 0:  float32 mean of the super-block's absmax values
//   offset 4:  float32 second-level scale c = max |absmax - mean| / 127
//   offset 8:  int8 codes[blocks], absmax_b ~ mean + codes[b] * c, in -127..127
//   then:      blocks * 32 bytes of 4-bit element codes, block after block
// lb_nf4_dq: 8 + 16 + 512 = 536 bytes per 1024 elements = 4.1875 bits/weight (QLoRA's 256-block
// super-block: 4.127). Its values equal quantize_codebook's for "nf4-g64-dq" applied to each
// super-block on its own.
//
// Non-finite inputs are stored as 0 (the converters cannot report errors; see lowbit_block_common.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/type_traits.h"
#include "formats/weighted_search.h"

namespace lowbit {

inline constexpr int64_t kLowbitCodebookBlock = 64;

struct LowbitCodebookFormat {
  enum class Book { NF4, FP4 };
  Book book;
  enum class Scale { F32, F16, DoubleQuantized };
  Scale scale;
  int64_t blocks_per_super_block = 1;  // DoubleQuantized only: 64-element blocks sharing a mean and scale
};

constexpr int64_t lowbit_codebook_block_size(LowbitCodebookFormat f) {
  return f.scale == LowbitCodebookFormat::Scale::DoubleQuantized ? kLowbitCodebookBlock * f.blocks_per_super_block
                                                                 : kLowbitCodebookBlock;
}

constexpr size_t lowbit_codebook_block_bytes(LowbitCodebookFormat f) {
  constexpr size_t kCodeBytes = kLowbitCodebookBlock / 2;
  switch (f.scale) {
    case LowbitCodebookFormat::Scale::F32: return 4 + kCodeBytes;
    case LowbitCodebookFormat::Scale::F16: return 2 + kCodeBytes;
    case LowbitCodebookFormat::Scale::DoubleQuantized:
      return 8 + static_cast<size_t>(f.blocks_per_super_block) * (1 + kCodeBytes);
  }
  return 0;
}
static_assert(lowbit_codebook_block_bytes({LowbitCodebookFormat::Book::NF4, LowbitCodebookFormat::Scale::F32}) == 36);
static_assert(lowbit_codebook_block_bytes({LowbitCodebookFormat::Book::NF4, LowbitCodebookFormat::Scale::F16}) == 34);
static_assert(lowbit_codebook_block_bytes({LowbitCodebookFormat::Book::NF4, LowbitCodebookFormat::Scale::DoubleQuantized, 16}) == 536);

// n is a multiple of lowbit_codebook_block_size(f).
void quantize_row_lowbit_codebook(LowbitCodebookFormat f, const float* src, void* dst, int64_t n);
void dequantize_row_lowbit_codebook(LowbitCodebookFormat f, const void* src, float* dst, int64_t n);

template <LowbitCodebookFormat F>
void quantize_row_lowbit_codebook(const float* src, void* dst, int64_t n) {
  quantize_row_lowbit_codebook(F, src, dst, n);
}
template <LowbitCodebookFormat F>
void dequantize_row_lowbit_codebook(const void* src, float* dst, int64_t n) {
  dequantize_row_lowbit_codebook(F, src, dst, n);
}

// One 64-element block of an F32- or F16-scaled format by a weighted scale search, w[0..64).
void search_block_lowbit_codebook(LowbitCodebookFormat f, const float* src, const float* w, void* dst);

// Importance-weighted (TypeTraits::from_float_weighted, formats/weighted_search.h) for the F32- and
// F16-scaled formats: per block the weighted search's block or the absmax one, whichever has the
// smaller sum importance * error^2; importance[0..n).
template <LowbitCodebookFormat F>
void quantize_row_lowbit_codebook_weighted(const float* src, const float* importance, void* dst, int64_t n) {
  static_assert(F.scale != LowbitCodebookFormat::Scale::DoubleQuantized);
  constexpr WeightedQuantizer kQuantizer{kLowbitCodebookBlock, lowbit_codebook_block_bytes(F), quantize_row_lowbit_codebook<F>,
                                         dequantize_row_lowbit_codebook<F>,
                                         [](const float* x, const float* w, void* block, int64_t) {
                                           search_block_lowbit_codebook(F, x, w, block);
                                         }};
  quantize_row_weighted(kQuantizer, src, importance, dst, n);
}

// The double-quantized format has no weighted quantizer: its block scales are coded together.
template <LowbitCodebookFormat F>
constexpr TypeTraits lowbit_codebook_traits(TensorType type, const char* name) {
  static_assert(F.blocks_per_super_block >= 1 && F.blocks_per_super_block <= 256);
  if constexpr (F.scale == LowbitCodebookFormat::Scale::DoubleQuantized) {
    return TypeTraits{type, name, lowbit_codebook_block_size(F), lowbit_codebook_block_bytes(F), true,
                      dequantize_row_lowbit_codebook<F>, quantize_row_lowbit_codebook<F>};
  } else {
    return TypeTraits{type, name, lowbit_codebook_block_size(F), lowbit_codebook_block_bytes(F), true,
                      dequantize_row_lowbit_codebook<F>, quantize_row_lowbit_codebook<F>,
                      quantize_row_lowbit_codebook_weighted<F>};
  }
}

}  // namespace lowbit
