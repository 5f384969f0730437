// lowbit's FP8 block formats: quant/fp8_quant.h's FP8 quantization with one FP32 scale per block of 32
// consecutive row elements instead of one per tensor (a per-tensor scale does not fit the type table's
// block model, and a per-block one follows outliers locally). scale = absmax / (largest finite FP8
// value); each element is the FP8 code (core/fp8.h, round to nearest even, saturating) of
// element / scale, and r' = scale * value(code). Dequantized values equal quantize_fp8's when it is
// applied to each 32-element block as a tensor of its own.
//
// The scale stays FP32 because the codes are chosen for the exact scale; rounding it to FP16 afterwards
// would shift every value. 32-element blocks fit every row length lowbit's other 32-element types fit.
//
// Block layout (little-endian, no padding):
//   offset 0: float32 scale
//   offset 4: 32 FP8 codes, one byte per element (E4M3 "FN" or E5M2 bit patterns)
// 36 bytes per 32 elements = 9 bits per weight.
//
// Non-finite inputs are stored as 0 (the converters cannot report errors; see lowbit_block_common.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "formats/type_traits.h"

namespace lowbit {

inline constexpr int64_t kLowbitFp8Block = 32;
inline constexpr size_t kLowbitFp8BlockBytes = 4 + kLowbitFp8Block;
static_assert(kLowbitFp8BlockBytes == 36);

enum class LowbitFp8Format { E4M3, E5M2 };

// n is a multiple of kLowbitFp8Block.
void quantize_row_lowbit_fp8(LowbitFp8Format f, const float* src, void* dst, int64_t n);
void dequantize_row_lowbit_fp8(LowbitFp8Format f, const void* src, float* dst, int64_t n);

template <LowbitFp8Format F>
void quantize_row_lowbit_fp8(const float* src, void* dst, int64_t n) {
  quantize_row_lowbit_fp8(F, src, dst, n);
}
template <LowbitFp8Format F>
void dequantize_row_lowbit_fp8(const void* src, float* dst, int64_t n) {
  dequantize_row_lowbit_fp8(F, src, dst, n);
}

template <LowbitFp8Format F>
constexpr TypeTraits lowbit_fp8_traits(TensorType type, const char* name) {
  return TypeTraits{type, name, kLowbitFp8Block, kLowbitFp8BlockBytes, true, dequantize_row_lowbit_fp8<F>,
                    quantize_row_lowbit_fp8<F>};
}

}  // namespace lowbit
